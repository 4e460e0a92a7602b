"""``camwatch report monthly|quarterly|close|diff|reopen``: the workbook assessors sign, frozen months."""

from __future__ import annotations

import json
from dataclasses import replace

import click

from collector.accounting.timeparse import show
from collector.cli.context import CliContext
from collector.cli.errors import unwritable
from collector.cli.exitcodes import DATA, ENVIRONMENT, USAGE
from collector.cli.region_opt import HELP as REGION_HELP
from collector.cli.region_opt import region_option
from collector.cli.runtime import fail
from collector.reports.diff_words import change_lines
from collector.reports.model import Kind, ReportPeriod
from collector.reports.periods import PeriodError, is_future, is_open, parse_month, parse_quarter
from collector.reports.scope import UnknownRegion, restrict
from collector.reports.snapshots import (
    ReportError,
    actor_name,
    close_month,
    diff_month,
    reopen_month,
    sealed_report_for,
)
from collector.reports.workbook import Seal, write_workbook
from inventory.models import utcnow

MONTH_HELP = "month YYYY-MM (local, accounting.timezone); the current month gives a month-to-date report (未结)"
QUARTER_HELP = "quarter YYYYQn, e.g. 2026Q4"


def _period(ctx: CliContext, month: str | None = None, quarter: str | None = None) -> ReportPeriod:
    tz = ctx.settings.accounting.timezone
    try:
        period = parse_month(month, tz) if month is not None else parse_quarter(quarter or "", tz)
    except PeriodError as exc:
        fail(exc.words(ctx.lang), USAGE)
        raise  # unreachable: fail exits
    if is_future(period, utcnow()):
        opt = "--month" if month is not None else "--quarter"
        fail(ctx.t(f"{opt} {period.label} 尚未开始", f"{opt} {period.label} has not begun yet"), USAGE)
    return period


def _in(ctx: CliContext, lang: str | None) -> CliContext:
    """*ctx* speaking the workbook's ``--lang`` (its messages too: one asked an English workbook)."""
    return ctx if lang is None else replace(ctx, lang_override=lang)


def _write(ctx: CliContext, period: ReportPeriod, region: str | None, lang: str | None, out: str) -> None:
    if not out.lower().endswith(".xlsx"):  # (an Excel workbook named x.csv opens as garbage)
        fail(ctx.t(f"--out {out}：报表是 Excel 工作簿，文件名须以 .xlsx 结尾（如 {period.label}.xlsx）",
                   f"--out {out}: the report is an Excel workbook; name the file *.xlsx (e.g. {period.label}.xlsx)"), USAGE)
    why = unwritable(out, ctx.lang)
    if why is not None:
        fail(why, ENVIRONMENT)
    code = region_option(ctx, region)
    now = utcnow()
    try:
        report, snap = ctx.run_db(lambda eng: sealed_report_for(eng, ctx.settings, period, now))
    except ReportError as exc:
        fail(exc.words(ctx.lang), exc.status)
        raise
    seal = None if snap is None else Seal(snap.sha256, snap.created_at)  # (the whole county's hash, as the console's)
    if code is not None:
        try:
            report = restrict(report, code)
        except UnknownRegion:
            fail(ctx.t(f"区划 {code} 不在 {period.label} 的报表中", f"region {code} is not in the report of {period.label}"), DATA)
    path = write_workbook(report, out, lang or ctx.lang, seal)
    if report.closed:
        state = ctx.t("已结（结算快照）", "closed (its frozen snapshot)")
    elif is_open(period, now):
        state = ctx.t("未结（截至目前）", "not closed (to date)")
    elif period.kind is Kind.MONTHLY:
        state = ctx.t(f"未结（本月已过，尚未结算：camwatch report close --month {period.label}）",
                      f"not closed (the month is over, not yet frozen: camwatch report close --month {period.label})")
    else:
        state = ctx.t("未结（按当前数据计算）", "not closed (computed from the current data)")
    click.echo(ctx.t(f"已写入 {path}：{period.label}，{state}", f"wrote {path}: {period.label}, {state}"))


def register(group: click.Group) -> None:
    @group.group("report")
    def report() -> None:
        """Monthly and quarterly reports (Excel), frozen months (结算)."""

    lang_opt = click.option("--lang", "report_lang", type=click.Choice(["zh", "en"]), default=None,
                            help="language of the workbook (default: camwatch's)")
    region_opt = click.option("--region", help=REGION_HELP + "; default the whole county")
    out_opt = click.option("--out", required=True, type=click.Path(dir_okay=False), help="the .xlsx file to write")

    @report.command("monthly")
    @click.option("--month", required=True, help=MONTH_HELP)
    @region_opt
    @lang_opt
    @out_opt
    @click.pass_obj
    def monthly(ctx: CliContext, month: str, region: str | None, report_lang: str | None, out: str) -> None:
        """The month's workbook; a closed month's from its frozen snapshot."""
        ctx = _in(ctx, report_lang)
        _write(ctx, _period(ctx, month=month), region, report_lang, out)

    @report.command("quarterly")
    @click.option("--quarter", required=True, help=QUARTER_HELP)
    @region_opt
    @lang_opt
    @out_opt
    @click.pass_obj
    def quarterly(ctx: CliContext, quarter: str, region: str | None, report_lang: str | None, out: str) -> None:
        """The quarter's workbook (township rankings against the quarter before)."""
        ctx = _in(ctx, report_lang)
        _write(ctx, _period(ctx, quarter=quarter), region, report_lang, out)

    @report.command("close")
    @click.option("--month", required=True, help="month YYYY-MM, over")
    @click.pass_obj
    def close_cmd(ctx: CliContext, month: str) -> None:
        """Freeze a month: store its figures with a content hash (sha256)."""
        period = _period(ctx, month=month)
        now = utcnow()
        try:
            snap = ctx.run_db(lambda eng: close_month(eng, ctx.settings, period, now, actor=actor_name()))
        except ReportError as exc:
            fail(exc.words(ctx.lang), exc.status)
            raise
        fresh = snap.created_at == now
        at = show(snap.created_at, ctx.settings.accounting.timezone)  # local with its zone, as camwatch prints times
        click.echo(ctx.t(f"{period.label} {'已结算' if fresh else '早已结算'}（{at}），sha256 {snap.sha256}",
                         f"{period.label} {'closed' if fresh else 'was already closed'} ({at}), sha256 {snap.sha256}"))

    @report.command("diff")
    @click.option("--month", required=True, help="a closed month YYYY-MM")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def diff_cmd(ctx: CliContext, month: str, as_json: bool) -> None:
        """What a recomputation from the intervals would change in a closed month (late exclusions, edits)."""
        period = _period(ctx, month=month)
        now = utcnow()
        try:
            snap, fresh, changes = ctx.run_db(lambda eng: diff_month(eng, ctx.settings, period, now))
        except ReportError as exc:
            fail(exc.words(ctx.lang), exc.status)
            raise
        if as_json:
            click.echo(json.dumps({"month": period.label, "sha256": snap.sha256, "changes": [
                {"where": c.where, "field": c.field, "frozen": c.frozen, "now": c.now} for c in changes]},
                ensure_ascii=False, indent=2, default=str))
            return
        if not changes:
            click.echo(ctx.t(f"{period.label}：重新计算与冻结报表一致", f"{period.label}: a recomputation gives the frozen figures"))
            return
        click.echo(ctx.t(f"{period.label}：重新计算将改变 {len(changes)} 项（冻结值 → 现值）",
                         f"{period.label}: a recomputation changes {len(changes)} figures (frozen -> now)"))
        for line in change_lines(changes, snap.report, fresh, ctx.lang):
            click.echo(line)

    @report.command("reopen")
    @click.option("--month", required=True, help="a closed month YYYY-MM")
    @click.option("--reason", required=True, help="why the month is reopened (audited)")
    @click.pass_obj
    def reopen_cmd(ctx: CliContext, month: str, reason: str) -> None:
        """Reopen a closed month (its snapshot dropped, the reason audited); close it again after."""
        period = _period(ctx, month=month)
        now = utcnow()
        try:
            snap = ctx.run_db(lambda eng: reopen_month(eng, period, reason=reason, actor=actor_name(), now=now))
        except ReportError as exc:
            fail(exc.words(ctx.lang), exc.status)
            raise
        click.echo(ctx.t(f"{period.label} 已重新开放（原 sha256 {snap.sha256}），原因已记入审计日志",
                         f"{period.label} reopened (was sha256 {snap.sha256}); the reason is in the audit log"))


__all__ = ["register"]
