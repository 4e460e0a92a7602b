"""Delivery of a closed month's workbook by e-mail (DESIGN §12, issue 17 point 5).

Each entry of ``reports.recipients`` gets one message through the e-mail notification channel
(``reports.channel``, default the first ``email`` channel of ``notify.channels``) with the
month's workbook attached: the whole county's, or — for an entry with a ``region`` — that
township's alone (its rows, villages, faults, orders, exclusions and score deductions), in the
entry's language. Attempts follow ``notify.retry``; every outcome is written to the audit log
(actor ``camwatch``), so an assessor can see who was sent what.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.alerting.delivery.config import ChannelSettings, RetrySettings
from collector.alerting.delivery.mail import Attachment, email_channel, send_mail
from collector.alerting.delivery.sender import DeliveryError
from collector.reports.model import Kind, RegionRow, Report
from collector.reports.scope import restrict
from collector.reports.score import score_note, unmonitored
from collector.reports.workbook import Seal, workbook_bytes
from collector.settings import Settings
from inventory.models import AuditEntry

log = logging.getLogger("camwatch.reports")
ACTOR = "camwatch"


@dataclass(frozen=True, slots=True)
class Delivery:
    to: tuple[str, ...]
    region: str  # "" = the whole county
    filename: str
    ok: bool
    attempts: int
    reason: str = ""


def workbook_name(report: Report, lang: str) -> str:
    """The file name of a report's workbook: ``示范县城关镇在线率月报-2026-11.xlsx`` /
    ``camwatch-monthly-2026-11-331082101.xlsx`` (a region's code when restricted)."""
    monthly = report.kind is Kind.MONTHLY
    if lang == "en":
        where = report.region or (report.counties[0].code if report.counties else "county")
        return f"camwatch-{report.kind.value}-{report.period.label}-{where}.xlsx"
    county = report.counties[0].name if report.counties else ""
    where = county + (report.region_name if report.region_name and report.region_name != county else "")
    return f"{where}{'在线率月报' if monthly else '在线率季报'}-{report.period.label}.xlsx"


def _head(report: Report) -> RegionRow | None:
    rows = report.townships if report.region and report.townships and not report.counties else report.counties
    if report.region:
        rows = tuple(r for r in (*report.counties, *report.townships) if r.code == report.region) or rows
    return rows[0] if rows else None


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.2f}%"


def _score(report: Report) -> str:
    """The score as the score sheet shows it: none ("—") for a period nobody watched."""
    return "—" if unmonitored(report.completeness) else f"{report.score.total:g}"


def _gap(report: Report, lang: str) -> list[str]:
    """The score sheet's warning when the region was known less than MIN_KNOWN_SHARE of the period."""
    note = score_note(report.completeness, lang)
    return [] if note is None else [note]


def message_words(report: Report, content_hash: str, lang: str) -> tuple[str, str]:
    """(subject, text) of the message that carries *report*'s workbook."""
    head = _head(report)
    name = head.name if head else report.region_name
    label = report.period.label
    if lang == "en":
        subject = f"{name} online rate report {label} (closed)"
        lines = [f"The {report.kind.value} report of {name} for {label}, closed and frozen.",
                 f"Snapshot hash (sha256): {content_hash}"]
        if head is not None:
            lines.append(f"Online rate {_pct(head.rate)} (without exclusions {_pct(head.rate_without_exclusions)}), "
                         f"target {_pct(head.target)}" + (f", rank {head.rank}" if head.rank else ""))
        lines += [f"Contract score: {_score(report)}", *_gap(report, lang), "The workbook is attached."]
    else:
        y, _, m = label.partition("-")
        subject = f"{name} {y}年{int(m)}月 视频监控在线率月报（已结）" if report.kind is Kind.MONTHLY else \
            f"{name} {label} 视频监控在线率季报（已结）"
        lines = [f"{name} {label} 在线率报表，已结账冻结。", f"快照校验码（sha256）：{content_hash}"]
        if head is not None:
            lines.append(f"在线率 {_pct(head.rate)}（不扣除报备 {_pct(head.rate_without_exclusions)}），"
                         f"目标 {_pct(head.target)}" + (f"，排名 {head.rank}" if head.rank else ""))
        lines += [f"考核得分：{_score(report)}", *_gap(report, lang), "Excel 工作簿见附件。"]
    return subject, "\n".join(lines)


async def _audit(engine: AsyncEngine, now: dt.datetime, d: Delivery, kind: str, label: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(AuditEntry).values(
            at=now, actor=ACTOR, action="report.delivered" if d.ok else "report.delivery_failed",
            object=f"report:{kind}:{label} {d.region or 'county'}"[:255],
            detail=(f"to {', '.join(d.to)}; {d.filename}" + (f"; {d.reason}" if d.reason else ""))[:4000]))


async def deliver_month(engine: AsyncEngine, settings: Settings, report: Report, content_hash: str,
                        clock: Callable[[], dt.datetime], *, closed_at: dt.datetime | None = None,
                        environ: Mapping[str, str] | None = None,
                        sleep: Callable[[float], object] = asyncio.sleep) -> list[Delivery]:
    """Send *report*'s workbook to every configured recipient; the outcomes, also audited.

    Every workbook carries the closing it comes from (:class:`~collector.reports.workbook.Seal`:
    the snapshot's *content_hash* and its close time, *closed_at*, by default the closed report's
    own time, which the snapshot's is), a township's cut too, as ``camwatch report export`` and
    the console's download write them."""
    rs = settings.reports
    seal = Seal(content_hash, report.generated_at if closed_at is None else closed_at)
    if not rs.recipients:
        return []
    ch = email_channel(settings.notify, rs.channel)
    out: list[Delivery] = []
    retry = settings.notify.retry
    for r in rs.recipients:
        lang = r.lang or settings.language
        try:
            part = restrict(report, r.region) if r.region else report
        except LookupError:
            d = Delivery(tuple(r.to), r.region, "", False, 0, f"no township or county {r.region!r} in the report")
        else:
            name = workbook_name(part, lang)
            if ch is None:
                d = Delivery(tuple(r.to), r.region, name, False, 0, f"no e-mail channel {rs.channel!r} in notify.channels"
                             if rs.channel else "no e-mail channel in notify.channels")
            else:
                content = await asyncio.to_thread(workbook_bytes, part, lang, seal)
                subject, text = message_words(part, content_hash, lang)
                d = await _send(ch, r.to, subject, text, Attachment(name, content), retry, environ, sleep)
                d = Delivery(tuple(r.to), r.region, name, d.ok, d.attempts, d.reason)
        (log.info if d.ok else log.error)("report %s for %s to %s: %s", report.period.label, d.region or "the county",
                                          ", ".join(d.to), "sent" if d.ok else f"not sent ({d.reason})")
        await _audit(engine, clock(), d, report.kind.value, report.period.label)
        out.append(d)
    return out


async def _send(ch: ChannelSettings, to: list[str], subject: str, text: str, att: Attachment, retry: RetrySettings,
                environ: Mapping[str, str] | None, sleep: Callable[[float], object]) -> Delivery:
    reason = ""
    for attempt in range(1, retry.attempts + 1):
        try:
            await send_mail(ch, to, subject, text, [att], environ=environ)
            return Delivery(tuple(to), "", att.name, True, attempt)
        except DeliveryError as exc:
            reason = exc.reason
            if not exc.retryable or attempt == retry.attempts:
                return Delivery(tuple(to), "", att.name, False, attempt, reason)
            waited = sleep(retry.backoff(attempt))
            if asyncio.iscoroutine(waited):
                await waited
    return Delivery(tuple(to), "", att.name, False, retry.attempts, reason)


__all__ = ["ACTOR", "Delivery", "deliver_month", "message_words", "workbook_name"]
