"""``camwatch rates``, ``camwatch coverage`` and ``camwatch exclusion ...``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import Level
from collector.accounting.ranking import change_words
from collector.accounting.sql.load import load_accounting
from collector.accounting.sql.rate_tables import CoverageLevel, Method, RateQuery, coverage_table, load_rate_table
from collector.accounting.timeparse import TimeParseError, parse_period, show
from collector.cli.context import CliContext
from collector.cli.region_opt import HELP as REGION_HELP
from collector.cli.region_opt import region_option
from collector.cli.runtime import fail
from collector.reports.exclusion_end import Ending, Step, clock, closed_months, closed_words, end_exclusion, kept_words
from inventory.models import COUNTED_EXCLUSIONS, AuditEntry, Camera, Exclusion, Region, utcnow


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.2f}%"


def _pm(pp: float | None) -> str:
    return "—" if pp is None else f"±{pp:.2f}"


def rate_lines(table: dict[str, Any], lang: str, tz: str) -> list[str]:
    """``camwatch rates`` as text lines (tab-separated), in the user's language; with ranks when
    the table has them."""
    zh = lang != "en"
    to = dt.datetime.fromisoformat(table["to"])
    lo, hi = show(dt.datetime.fromisoformat(table["from"]), tz), show(to, tz, seconds=bool(to.second or to.microsecond))
    method = table["method"]
    method_zh = {"time": "按时长加权", "snapshot": "抽查", "intact": "完好率"}.get(method, method)
    out = [f"统计区间 {lo} 至 {hi}（{method_zh}）" if zh else f"period {lo} to {hi} ({method})"]
    ranked = "previous" in table
    if ranked:
        plo = show(dt.datetime.fromisoformat(table["previous"]["from"]), tz)
        phi = show(dt.datetime.fromisoformat(table["previous"]["to"]), tz)
        out.append(f"排名变化对比 {plo} 至 {phi}" if zh else f"rank change against {plo} to {phi}")
    head = (["代码", "名称", "摄像机", "在线率", "误差(百分点)", "不扣除报备", "目标", "达标", "监测时长占比"] if zh else
            ["code", "name", "cameras", "rate", "± pp", "rate w/o exclusions", "target", "met", "known time"])
    if ranked:
        head += ["排名", "变化"] if zh else ["rank", "change"]
    out.append("\t".join(head))
    for r in table["rows"]:
        met = "—" if r["compliant"] is None else (("是" if r["compliant"] else "否") if zh else ("yes" if r["compliant"] else "NO"))
        cells = [r["key"], r["name"], "" if r["cameras"] is None else r["cameras"], _pct(r["ratio"]),
                 _pm(r["uncertainty_pp"]), _pct(r["ratio_without_exclusions"]), f"{r['target'] * 100:.2f}%", met,
                 _pct(r["known_share"])]
        if ranked:
            cells += ["—" if r["rank"] is None else r["rank"], change_words(r["rank_change"], lang)]
        out.append("\t".join(str(x) for x in cells))
    return out


def ending_words(e: Ending, lang: str, tz: str) -> str:
    """What ``exclusion end|remove`` did to (or why it kept) *e*, in *lang*; local times."""
    zh = lang != "en"
    what = e.described(lang, tz)
    if e.step is Step.END:
        kept, planned = f"{show(e.start, tz)} — {clock(e.at, tz, e.start)}", clock(e.end, tz, e.at)
        return (f"报备 #{e.id} 已于 {show(e.at, tz)} 结束（已生效的 {kept} 保留，仍扣除；原定至 {planned}）" if zh else
                f"exclusion #{e.id} ended at {show(e.at, tz)} (the elapsed {kept} is kept, still excluded; "
                f"it was to run until {planned})")
    if e.step is Step.REMOVE:
        if e.status in COUNTED_EXCLUSIONS:
            return f"已删除报备 #{e.id}（尚未开始：{what}）" if zh else f"exclusion #{e.id} removed (it had not begun: {what})"
        state = _NOT_COUNTED.get(e.status, (e.status, e.status))[0 if zh else 1]
        return (f"已删除报备 #{e.id}（{state}，未计入在线率：{what}）" if zh else
                f"exclusion #{e.id} removed ({state}, never counted in the rates: {what})")
    months = ("、" if zh else ", ").join(e.months)
    if e.done:
        return (f"已删除已结束的报备 #{e.id}（{what}）：这段时间不再扣除，{months} 的在线率随之改变；已记入审计日志" if zh else
                f"deleted the ended exclusion #{e.id} ({what}): that time is no longer excluded, the rates of {months} "
                "change; written to the audit log")
    if e.closed:
        m, rest = e.closed[0], ("、" if zh else ", ").join(e.closed[1:])
        return (f"报备 #{e.id}（{what}）{closed_words(e.closed, lang)}，未删除，--force 也不行："
                f"须先 camwatch report reopen --month {m} --reason \"…\"（记入审计日志{'；' + rest + ' 同样' if rest else ''}），"
                f"删除后再 camwatch report close --month {m}" if zh else
                f"exclusion #{e.id} ({what}) {closed_words(e.closed, lang)}: not removed, "
                f"not even with --force. Reopen the month first: camwatch report reopen --month {m} --reason \"…\" "
                f"(audited{'; likewise ' + rest if rest else ''}), and after removing close it again: "
                f"camwatch report close --month {m}")
    return kept_words(e, lang, tz, force="--force")  # (the console's and the API's words, with the CLI's flag)


_NOT_COUNTED = {"proposed": ("待审批", "proposed"), "rejected": ("已驳回", "rejected")}


def added_detail(camera_id: int | None, region_code: str | None, lo: dt.datetime, hi: dt.datetime, reason: str,
                 approver: str, closed: tuple[str, ...]) -> str:
    """The audit row's detail of ``exclusion add`` (UTC), as ``exclusion end`` writes its own."""
    scope = f"camera={camera_id}" if camera_id is not None else f"region={region_code}"
    months = f" closed_months={','.join(closed)}" if closed else ""
    return f"add; {scope} start={lo.isoformat()} end={hi.isoformat()} reason={reason} approver={approver}{months}"


def closed_note(closed: tuple[str, ...], lang: str) -> str:
    """Said after ``exclusion add`` when the exclusion lies in closed months: stored, but the
    months' frozen (signed) figures do not change until they are reopened and closed again."""
    months = ("、" if lang != "en" else ", ").join(closed)
    m = closed[0]
    if lang != "en":
        return (f"注意：{months} 已结算，其冻结（签字）的数字不因此改变；报备已保存，重新开放该月后才计入其报表（改正后再结算）："
                f"camwatch report reopen --month {m} --reason \"…\"，再 camwatch report close --month {m}"
                f"（camwatch report diff --month {m} 可查看将改变的数字）")
    return (f"note: {months} closed: its frozen (signed) figures do not change; the exclusion is stored, and counts in "
            f"that month's report once the month is reopened (close it again after): camwatch report reopen --month {m} "
            f"--reason \"…\", then camwatch report close --month {m} (camwatch report diff --month {m} shows what would change)")


FROM_HELP = ("start: YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS], ISO 8601 with a zone, or epoch seconds "
             "(local times in accounting.timezone)")
TO_HELP = "end, same formats; a day alone is the END of that day"


def register(group: click.Group) -> None:
    @group.command("rates")
    @click.option("--level", type=click.Choice([lv.value for lv in Level]), default="township", show_default=True)
    @click.option("--from", "start", help=FROM_HELP + "; default: the start of this month")
    @click.option("--to", "end", help=TO_HELP + "; default: now")
    @click.option("--method", type=click.Choice(["time", "snapshot", "intact"]), default="time", show_default=True)
    @click.option("--rank", is_flag=True, help="add each row's rank (排名, 1 = best rate, ties share) and its change "
                  "against the previous period (变化; the previous calendar month for a whole month)")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def rates_cmd(ctx: CliContext, level: str, start: str | None, end: str | None, method: str, rank: bool,
                  as_json: bool) -> None:
        """Online rates (在线率) per region, camera or contractor, with and without exclusions,
        each with its uncertainty (± percentage points, from the probe gaps its transitions were
        dated in) and the time camwatch knew the state."""
        s = ctx.settings
        lang = ctx.lang
        a = s.accounting
        now = utcnow()
        try:
            period = parse_period(start, end, a.timezone, now)
        except TimeParseError as exc:
            fail(exc.words(lang), 2)
        checks = tuple(dt.time.fromisoformat(c) for c in a.check_times)
        query = RateQuery(Level(level), Method(method), period, now, a.timezone, checks, rank=rank)
        table = ctx.run_db(lambda eng: load_rate_table(eng, query, default_target=a.target))
        if as_json:
            click.echo(json.dumps(table, ensure_ascii=False, indent=2))
            return
        for line in rate_lines(table, lang, a.timezone):
            click.echo(line)

    @group.command("coverage")
    @click.option("--level", type=click.Choice(["township", "village"]), default="township", show_default=True)
    @click.option("--from", "start", help="with --from/--to: coverage over the period (online ≥ threshold), default: now; " + FROM_HELP)
    @click.option("--to", "end", help=TO_HELP + "; default: now")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def coverage_cmd(ctx: CliContext, level: str, start: str | None, end: str | None, as_json: bool) -> None:
        """Coverage (覆盖率 / 全覆盖) per village or township, and "built" coverage."""
        s = ctx.settings
        lang = ctx.lang
        a = s.accounting
        now = utcnow()
        over = bool(start or end)
        try:
            period = parse_period(start, end, a.timezone, now)
        except TimeParseError as exc:
            fail(exc.words(lang), 2)
        data = ctx.run_db(lambda eng: load_accounting(eng, period, default_target=a.target))
        table = coverage_table(data, CoverageLevel(level), period if over else None, now, threshold=a.coverage_threshold)
        rows = table["rows"]
        if as_json:
            click.echo(json.dumps(table, ensure_ascii=False, indent=2))
            return
        if level == "village":
            head = ("code", "village", "planned", "covered", "built", "coverage", "built coverage") if lang == "en" else ("代码", "村/社区", "规划点位", "覆盖点位", "已建点位", "覆盖率", "建设覆盖率")
            click.echo("\t".join(head))
            for r in rows:
                click.echo("\t".join(str(x) for x in (r["code"], r["name"], r["planned_points"], r["covered_points"], r["built_points"],
                                                      _pct(r["ratio"]), _pct(r["built_ratio"]))))
        else:
            head = ("code", "township", "villages", "fully covered", "fully built", "coverage", "built coverage") if lang == "en" else ("代码", "乡镇/街道", "村数", "全覆盖村", "全建成村", "覆盖率", "建设覆盖率")
            click.echo("\t".join(head))
            for r in rows:
                click.echo("\t".join(str(x) for x in (r["code"], r["name"], r["villages"], r["fully_covered"], r["fully_built"],
                                                      _pct(r["ratio"]), _pct(r["built_ratio"]))))

    @group.group("exclusion")
    def exclusion() -> None:
        """Exclusions (维护窗口 / 报备): approved intervals kept out of the rates."""

    @exclusion.command("add")
    @click.option("--camera", "camera_id", type=int, help="camera id")
    @click.option("--region", "region_code", help=REGION_HELP)
    @click.option("--from", "start", required=True, help=FROM_HELP)
    @click.option("--to", "end", required=True, help=TO_HELP + " (--from D1 --to D2: both days)")
    @click.option("--reason", required=True, help="why (计划维护, 停电报备...)")
    @click.option("--approver", required=True, help="who approved it")
    @click.pass_obj
    def exclusion_add(ctx: CliContext, camera_id: int | None, region_code: str | None, start: str, end: str, reason: str, approver: str) -> None:
        """Add an exclusion for one camera or a whole region."""
        s = ctx.settings
        if (camera_id is None) == (region_code is None):
            fail(ctx.t("请指定 --camera 或 --region（二选一）", "give exactly one of --camera and --region"), 2)
        tz = s.accounting.timezone
        try:
            window = parse_period(start, end, tz, utcnow())
        except TimeParseError as exc:
            fail(exc.words(ctx.lang), 2)
        lo, hi = window.start, window.end
        region_code = region_option(ctx, region_code)

        from collector.reports.snapshots import actor_name  # lazy: it brings the report builder

        async def go(eng: AsyncEngine) -> tuple[int, tuple[str, ...]] | None:
            async with eng.begin() as conn:
                if camera_id is not None:
                    found = (await conn.execute(select(Camera.id).where(Camera.id == camera_id))).first() is not None
                else:
                    found = (await conn.execute(select(Region.code).where(Region.code == region_code))).first() is not None
                if not found:
                    return None
                now = utcnow()
                res = await conn.execute(insert(Exclusion).values(camera_id=camera_id, region_code=region_code, start=lo, end=hi,
                                                                  reason=reason, approver=approver, created_at=now))
                key = res.inserted_primary_key
                assert key is not None
                xid = int(key[0])
                closed = await closed_months(conn, lo, hi, tz)
                await conn.execute(insert(AuditEntry).values(  # (in the same transaction as the row)
                    at=now, actor=actor_name()[:64], action="exclusion add", object=f"exclusion:{xid}",
                    detail=added_detail(camera_id, region_code, lo, hi, reason, approver, closed)[:4000]))
                return xid, closed

        added = ctx.run_db(go)
        if added is None:
            what = f"camera {camera_id}" if camera_id is not None else f"region {region_code}"
            fail(ctx.t(f"找不到{'摄像机 ' + str(camera_id) if camera_id is not None else '区划 ' + str(region_code)}", f"no such {what}"), 1)
        assert added is not None
        new_id, closed = added
        span = f"{show(lo, tz)} — {show(hi, tz)}"
        click.echo(ctx.t(f"已添加报备 #{new_id}：{span}", f"exclusion #{new_id} added: {span}"))
        if closed:
            click.echo(closed_note(closed, ctx.lang), err=True)

    @exclusion.command("list")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def exclusion_list(ctx: CliContext, as_json: bool) -> None:
        """List exclusions."""
        s = ctx.settings

        async def go(eng: AsyncEngine) -> Sequence[Row[Exclusion]]:
            async with eng.connect() as conn:
                return (await conn.execute(select(Exclusion).order_by(Exclusion.start))).all()

        rows = ctx.run_db(go)
        zone = ZoneInfo(s.accounting.timezone)
        items = [{"id": r.id, "camera": r.camera_id, "region": r.region_code, "from": r.start.astimezone(zone).isoformat(),
                  "to": r.end.astimezone(zone).isoformat(), "reason": r.reason, "approver": r.approver,
                  "status": r.status} for r in rows]
        if as_json:
            click.echo(json.dumps(items, ensure_ascii=False, indent=2))
            return
        from collector.web.pages.i18n import EXCLUSION_STATUS_WORDS  # lazy: the console's words bring aiohttp

        if not rows:
            click.echo(ctx.t("没有报备", "no exclusions"))
        for r in rows:  # (in the reader's words, times as `exclusion add` prints them)
            scope = (ctx.t(f"摄像机 {r.camera_id}", f"camera {r.camera_id}") if r.camera_id is not None
                     else ctx.t(f"区划 {r.region_code}", f"region {r.region_code}"))
            zh, en = EXCLUSION_STATUS_WORDS.get(str(r.status), (str(r.status),) * 2)
            span = f"{show(r.start, zone)} — {show(r.end, zone)}"
            click.echo(f"#{r.id}\t{ctx.t(zh, en)}\t{scope}\t{span}\t{r.reason}\t{r.approver}")

    @exclusion.command("end")
    @click.argument("exclusion_id", type=int)
    @click.option("--force", is_flag=True, help="delete one already over (its time is then no longer excluded); "
                  "never one in a closed month: reopen the month first (camwatch report reopen)")
    @click.pass_obj
    def exclusion_end(ctx: CliContext, exclusion_id: int, force: bool) -> None:
        """End one in force now, remove one to come; one over only with --force.

        As the console's "end": one in force ends at this moment (the elapsed part stays excluded,
        its status becomes ended), one to come (or a proposal, a rejected one) is removed. One
        already over is part of the counted figures: it is kept unless --force, and even then not
        while a month it touches is closed (camwatch report reopen first). `end` and `remove` are
        the same command; each change is written to the audit log."""
        from collector.reports.snapshots import actor_name  # lazy: it brings the report builder

        tz = ctx.settings.accounting.timezone
        now = utcnow()

        async def go(eng: AsyncEngine) -> Ending | None:
            async with eng.begin() as conn:
                return await end_exclusion(conn, exclusion_id, now, tz, force=force, audit_as=actor_name())

        ending = ctx.run_db(go)
        if ending is None:
            fail(ctx.t(f"没有报备 #{exclusion_id}", f"no exclusion #{exclusion_id}"), 1)
        assert ending is not None
        said = ending_words(ending, ctx.lang, tz)
        if not ending.done:
            fail(said, 1)
        click.echo(said)

    exclusion.add_command(exclusion_end, "remove")  # (the older name, kept: the same command)
