"""``camwatch alerts silence|silences|unsilence`` and ``camwatch workorders list|ack|close``."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting.timeparse import TimeParseError, parse_time, show
from collector.alerting import incident_store as store
from collector.alerting.model import Silence
from collector.alerting.workorders import WorkOrder, WorkOrderError, color, is_picture, order_title
from collector.cli.context import CliContext
from collector.cli.region_opt import HELP as REGION_HELP
from collector.cli.region_opt import region_option
from collector.cli.runtime import fail
from inventory.models import Camera, Region, utcnow

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd])\s*$")
COLOR_ZH = {"green": "绿", "yellow": "黄", "red": "红"}
STATUS_ZH = {"open": "待处理", "acknowledged": "处理中", "resolved": "已完成"}  # (the console's and the workbook's words)


def parse_until(text: str, tz: str, now: dt.datetime) -> dt.datetime:
    """``2h``, ``90m``, ``1d`` from now, or a time as every ``--to`` takes it (a day alone: until
    the end of that day); :class:`TimeParseError` names ``--until`` and the formats."""
    m = _SPAN.match(text)
    if m:
        n, unit = float(m.group(1)), m.group(2)
        return now + dt.timedelta(minutes=n) * {"m": 1, "h": 60, "d": 1440}[unit]
    try:
        return parse_time(text, tz, option="--until", end=True)
    except TimeParseError as exc:
        raise TimeParseError("--until", f"{exc.zh}；或时长 2h、90m、1d", f"{exc.en}; or a span: 2h, 90m, 1d") from None


async def _region_names(eng: AsyncEngine, codes: set[str]) -> dict[str, str]:
    """The names of the regions *codes* (those still in the inventory)."""
    if not codes:
        return {}
    async with eng.connect() as conn:
        rows = (await conn.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))).all()
    return {code: name for code, name in rows}


async def _english_titles(engine: AsyncEngine, orders: list[WorkOrder]) -> dict[int, str]:
    """Each order's title in English (the stored one is the Chinese alert's), from its fields and
    the names of its camera, village and township, as the console's work-order page says it."""
    cams = sorted({o.camera_id for o in orders if o.camera_id is not None})
    async with engine.connect() as conn:
        regions = {r.code: (r.name, r.parent_code) for r in (await conn.execute(
            select(Region.code, Region.name, Region.parent_code))).all()}
        names: dict[int, str] = {}
        for i in range(0, len(cams), 500):
            rows = (await conn.execute(select(Camera.id, Camera.name).where(Camera.id.in_(cams[i:i + 500])))).all()
            names.update((cid, name) for cid, name in rows)
        checks = await store.picture_checks(conn, [o.incident_key for o in orders if is_picture(o)])
    out = {}
    for o in orders:
        village, parent = regions.get(o.region_code or "", ("", None))
        township = regions.get(parent or "", ("", None))[0]
        out[o.id] = order_title(o, "en", camera=names.get(o.camera_id or 0, ""), village=village, township=township,
                                checks=checks.get(o.incident_key, ()))
    return out


def _hours(s: float | None) -> str:
    return "" if s is None else f"{s / 3600:.2f}h"


def register(group: click.Group) -> None:
    alerts = group.commands.get("alerts")
    if not isinstance(alerts, click.Group):
        @group.group("alerts")
        def alerts() -> None:
            """Alerts (告警): silences, test messages."""

    assert isinstance(alerts, click.Group)

    @alerts.command("silence")
    @click.option("--camera", "camera_id", type=int, help="camera id")
    @click.option("--region", "region_code", help=REGION_HELP)
    @click.option("--until", "until", required=True, help="end: a span (2h, 90m, 1d), or YYYY-MM-DD (the end of that day), "
                  "YYYY-MM-DD HH:MM[:SS], ISO 8601 with a zone, or epoch seconds")
    @click.option("--reason", default="", help="why (施工, 停电...)")
    @click.pass_obj
    def silence_cmd(ctx: CliContext, camera_id: int | None, region_code: str | None, until: str, reason: str) -> None:
        """Silence alert messages for a camera or region (incidents are still recorded)."""
        s = ctx.settings
        if (camera_id is None) == (region_code is None):
            fail(ctx.t("请指定 --camera 或 --region（二选一）", "give exactly one of --camera and --region"), 2)
        now = utcnow()
        tz = s.accounting.timezone
        try:
            end = parse_until(until, tz, now)
        except TimeParseError as exc:
            fail(exc.words(ctx.lang), 2)
        if end <= now:
            fail(ctx.t(f"--until：“{until}”（{show(end, tz)}）已过去，须在将来", f"--until: {until!r} ({show(end, tz)}) is not in the future"), 2)
        region_code = region_option(ctx, region_code)
        try:
            sid = ctx.run_db(lambda eng: store.add_silence(eng, camera_id=camera_id, region_code=region_code,
                                                           until=end, reason=reason, now=now))
        except store.NotFound:
            fail(ctx.t(f"找不到{'摄像机 ' + str(camera_id) if camera_id is not None else '区划 ' + str(region_code)}",
                    f"no such {'camera ' + str(camera_id) if camera_id is not None else 'region ' + str(region_code)}"), 1)
        local = show(end, tz)
        click.echo(ctx.t(f"已静默 #{sid}，至 {local}", f"silence #{sid} until {local}"))

    @alerts.command("silences")
    @click.option("--all", "include_expired", is_flag=True, help="include silences that ended (by hand or at their end)")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def silences_cmd(ctx: CliContext, include_expired: bool, as_json: bool) -> None:
        """List silences in force (or all)."""
        s = ctx.settings
        now = utcnow()
        tz = s.accounting.timezone

        async def go(eng: AsyncEngine) -> tuple[tuple[Silence, ...], dict[str, str]]:
            found = await store.list_silences(eng, now, include_expired=include_expired)
            return found, await _region_names(eng, {x.region_code for x in found if x.region_code})

        found, names = ctx.run_db(go)
        zone = ZoneInfo(tz)
        if as_json:
            items = [{"id": x.id, "camera": x.camera_id, "region": x.region_code, "region_name": names.get(x.region_code or ""),
                      "until": x.until.astimezone(zone).isoformat(), "reason": x.reason, "active": x.until > now} for x in found]
            click.echo(json.dumps(items, ensure_ascii=False, indent=2))
            return
        if not found:
            click.echo(ctx.t("没有静默", "no silences"))
        for x in found:
            name = names.get(x.region_code or "")
            region = f"{x.region_code}{f' {name}' if name else ''}"
            scope = ctx.t(f"摄像机 {x.camera_id}" if x.camera_id is not None else f"区划 {region}",
                          f"camera {x.camera_id}" if x.camera_id is not None else f"region {region}")
            until = ctx.t(f"至 {show(x.until, tz)}", f"until {show(x.until, tz)}")
            if x.until <= now:  # ended by hand (unsilence: its end set to then) or at its end: not told apart
                until += ctx.t("（已结束）", " (ended)")
            click.echo(f"#{x.id}\t{scope}\t{until}\t{x.reason}")

    @alerts.command("unsilence")
    @click.argument("silence_id", type=int)
    @click.pass_obj
    def unsilence_cmd(ctx: CliContext, silence_id: int) -> None:
        """End a silence now."""
        if not ctx.run_db(lambda eng: store.end_silence(eng, silence_id, utcnow())):
            fail(ctx.t(f"没有静默 #{silence_id}", f"no silence #{silence_id}"), 1)
        click.echo(ctx.t(f"已解除静默 #{silence_id}", f"silence #{silence_id} ended"))

    @group.group("workorders")
    def workorders() -> None:
        """Work orders (工单): repair deadlines, green / yellow / red (三色督办)."""

    @workorders.command("list")
    @click.option("--color", "colour", type=click.Choice(["green", "yellow", "red"]), help="only this colour")
    @click.option("--open", "open_only", is_flag=True, help="only orders not yet resolved")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def list_cmd(ctx: CliContext, colour: str | None, open_only: bool, as_json: bool) -> None:
        """List work orders, newest first, with their colour now."""
        s = ctx.settings
        now = utcnow()
        orders = ctx.run_db(lambda eng: store.list_work_orders(eng, open_only=open_only, cameras=False))
        titles = ctx.run_db(lambda eng: _english_titles(eng, orders)) if ctx.lang == "en" else {}
        zone = ZoneInfo(s.accounting.timezone)

        def loc(t: dt.datetime | None) -> str | None:
            return None if t is None else t.astimezone(zone).isoformat()

        shown = [(o, color(o, now).value) for o in orders]
        shown = [(o, c) for o, c in shown if not colour or c == colour]
        if as_json:
            items = [{"id": o.id, "incident": o.incident_key, "color": c, "status": o.status.value, "severity": o.severity,
                      "title": o.title, "cause": o.cause, "cameras": o.cameras, "camera": o.camera_id, "region": o.region_code,
                      "opened_at": loc(o.opened_at), "deadline": loc(o.deadline), "acknowledged_at": loc(o.acknowledged_at),
                      "resolved_at": loc(o.resolved_at), "resolution": o.resolution.value if o.resolution else None,
                      "response_s": o.response_s, "repair_s": o.repair_s, "note": o.note} for o, c in shown]
            click.echo(json.dumps(items, ensure_ascii=False, indent=2))
            return
        click.echo("\t".join(ctx.t("编号\t颜色\t状态\t期限\t响应\t修复\t内容", "id\tcolour\tstatus\tdeadline\tresponse\trepair\ttitle").split("\t")))
        for o, c in shown:
            click.echo("\t".join(str(x) for x in (
                o.id, ctx.t(COLOR_ZH[c], c), ctx.t(STATUS_ZH[o.status.value], o.status.value),
                show(o.deadline, zone), _hours(o.response_s), _hours(o.repair_s),
                titles.get(o.id, o.title or ""))))

    @workorders.command("ack")
    @click.argument("order_id", type=int)
    @click.pass_obj
    def ack_cmd(ctx: CliContext, order_id: int) -> None:
        """Acknowledge a work order (接单): records the response time."""
        _transition(ctx, order_id, None)

    @workorders.command("close")
    @click.argument("order_id", type=int)
    @click.option("--note", required=True, help="what was done (必填)")
    @click.pass_obj
    def close_cmd(ctx: CliContext, order_id: int, note: str) -> None:
        """Close a work order by hand, with a note (办结)."""
        _transition(ctx, order_id, note)


def _transition(ctx: CliContext, order_id: int, note: str | None) -> None:
    from collector.reports.snapshots import actor_name  # lazy: it brings the report builder

    now = utcnow()

    async def go(eng: AsyncEngine) -> WorkOrder:
        if note is None:
            return await store.acknowledge_order(eng, order_id, now, actor_name())
        return await store.close_order(eng, order_id, now, note)

    try:
        o = ctx.run_db(go)
    except store.NotFound:
        fail(ctx.t(f"没有工单 #{order_id}", f"no work order #{order_id}"), 1)
    except WorkOrderError as exc:
        if "note" in str(exc):
            fail(ctx.t("关闭工单须填写说明（--note）", str(exc)), 2)
        fail(ctx.t(f"工单 #{order_id} 已完成", str(exc)), 1)
    if note is None:
        click.echo(ctx.t(f"已接单 #{order_id}（响应 {_hours(o.response_s)}）", f"work order #{order_id} acknowledged (response {_hours(o.response_s)})"))
    else:
        click.echo(ctx.t(f"工单 #{order_id} 已完成（修复 {_hours(o.repair_s)}）", f"work order #{order_id} closed (repair {_hours(o.repair_s)})"))
