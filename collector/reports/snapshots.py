"""Frozen months (DESIGN §4, §12): a closed month's report is stored once, with its sha256, and
every later report of that month comes from the stored text, whatever changes afterwards.

A snapshot is a ``report_snapshots`` row (period = the month's label, kind = ``monthly``) whose
``data`` holds ``{"schema", "sha256", "report"}``: the report's stable JSON text
(:func:`collector.reports.model.to_json`) and its hash, checked on every read. Closing and
reopening are written to the audit log (``audit_log``: actor, action, object, detail).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.reports.build import Settingsish, build_report
from collector.reports.model import Kind, Report, ReportPeriod, content_hash, from_json, later_defaults, to_json
from collector.reports.periods import parse_month
from inventory.models import AuditEntry, ReportSnapshot

CLOSE = "report.close"
REOPEN = "report.reopen"


class ReportError(Exception):
    """A request about a month that cannot be met (not over, not closed, altered snapshot)."""

    def __init__(self, zh: str, en: str, *, status: int = 1) -> None:
        super().__init__(en)
        self.zh, self.en, self.status = zh, en, status

    def words(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True, slots=True)
class Snapshot:
    period: str
    kind: str
    created_at: dt.datetime
    sha256: str
    report: Report


def _object(period: ReportPeriod) -> str:
    return f"report:{period.kind.value}:{period.label}"


def actor_name() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


async def load_snapshot(engine: AsyncEngine, period: ReportPeriod) -> Snapshot | None:
    """The stored snapshot of *period*, its hash checked; None when the period is not closed."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(ReportSnapshot.created_at, ReportSnapshot.data).where(
            ReportSnapshot.period == period.label, ReportSnapshot.kind == period.kind.value))).first()
    if row is None:
        return None
    data: dict[str, Any] = dict(row.data)
    text = str(data.get("report", ""))
    report = from_json(text)
    if content_hash(report) != data.get("sha256") or to_json(report) != text:
        raise ReportError(f"{period.label} 的冻结报表内容与其校验值不符（存储被改动）",
                          f"the frozen report of {period.label} does not match its hash (the stored copy was altered)")
    return Snapshot(period.label, period.kind.value, row.created_at, str(data["sha256"]), report)


async def _audit(engine: AsyncEngine, *, actor: str, action: str, obj: str, detail: str, now: dt.datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(AuditEntry).values(at=now, actor=actor[:64], action=action, object=obj[:255],
                                                     detail=detail[:4000]))


async def close_month(engine: AsyncEngine, settings: Settingsish, month: ReportPeriod | str, now: dt.datetime, *,
                      actor: str = "camwatch") -> Snapshot:
    """Freeze *month* (a label ``YYYY-MM`` or a period): its report built from the intervals at
    *now*, stored with its hash, audited. A month already closed is returned as stored. The
    collector calls this on ``reports.close_day``."""
    period = parse_month(month, settings.accounting.timezone) if isinstance(month, str) else month
    if period.kind is not Kind.MONTHLY:
        raise ReportError("只能结算月份", "only months are closed", status=2)
    if now < period.end:
        raise ReportError(f"{period.label} 尚未结束，不能结算", f"{period.label} is not over yet: it cannot be closed")
    existing = await load_snapshot(engine, period)
    if existing is not None:
        return existing
    report = await build_report(engine, settings, period, now)
    text, digest = to_json(report), content_hash(report)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(ReportSnapshot).values(
                period=period.label, kind=period.kind.value, created_at=now,
                data={"schema": report.schema, "sha256": digest, "report": text}))
    except IntegrityError:  # closed at the same moment elsewhere: that one stands
        stored = await load_snapshot(engine, period)
        if stored is None:
            raise
        return stored
    await _audit(engine, actor=actor, action=CLOSE, obj=_object(period), detail=f"sha256={digest}", now=now)
    return Snapshot(period.label, period.kind.value, now, digest, report)


async def reopen_month(engine: AsyncEngine, period: ReportPeriod, *, reason: str, actor: str,
                       now: dt.datetime) -> Snapshot:
    """Drop *period*'s snapshot (its reports are computed from the intervals again until it is
    closed anew); the reason, the actor and the dropped hash go to the audit log."""
    if not reason.strip():
        raise ReportError("重新开放须说明原因（--reason）", "reopening needs a reason (--reason)", status=2)
    stored = await load_snapshot(engine, period)
    if stored is None:
        raise ReportError(f"{period.label} 未结算，无需重新开放", f"{period.label} is not closed")
    async with engine.begin() as conn:
        await conn.execute(delete(ReportSnapshot).where(ReportSnapshot.period == period.label,
                                                        ReportSnapshot.kind == period.kind.value))
        await conn.execute(insert(AuditEntry).values(
            at=now, actor=actor[:64], action=REOPEN, object=_object(period),
            detail=f"reason={reason.strip()[:3000]}; sha256={stored.sha256}"))
    return stored


async def live_report(engine: AsyncEngine, settings: Settingsish, period: ReportPeriod, now: dt.datetime) -> Report:
    """*period*'s report computed now from the intervals: not closed (``closed`` False) even when
    the period is over, since closed means frozen by ``report close`` (the console, the API and
    the workbook say so alike); until then its figures may still change."""
    return dataclasses.replace(await build_report(engine, settings, period, now), closed=False)


async def report_for(engine: AsyncEngine, settings: Settingsish, period: ReportPeriod, now: dt.datetime) -> Report:
    """The report of *period*: a closed month from its snapshot, anything else :func:`live_report`."""
    return (await sealed_report_for(engine, settings, period, now))[0]


async def sealed_report_for(engine: AsyncEngine, settings: Settingsish, period: ReportPeriod, now: dt.datetime
                            ) -> tuple[Report, Snapshot | None]:
    """:func:`report_for` with the snapshot it comes from (None: not closed), whose hash and
    close time the workbook carries."""
    if period.kind is Kind.MONTHLY:
        stored = await load_snapshot(engine, period)
        if stored is not None:
            return stored.report, stored
    return await live_report(engine, settings, period, now), None


@dataclass(frozen=True, slots=True)
class Change:
    where: str  # e.g. "townships/130123101000" or "score"
    field: str
    frozen: Any
    now: Any


def _rows(items: tuple[Any, ...], key: str) -> dict[str, dict[str, Any]]:
    return {str(getattr(i, key)): {f.name: getattr(i, f.name) for f in dataclasses.fields(i)} for i in items}


_COMPARED = (("counties", "code"), ("townships", "code"), ("villages", "code"), ("faults", "camera_id"),
             ("work_orders", "id"), ("exclusions", "id"), ("completeness", "code"))


def differences(frozen: Report, fresh: Report) -> tuple[Change, ...]:
    """What *fresh* (recomputed) changes against *frozen*, field by field (times of generation aside);
    a field added since the month was frozen (:func:`collector.reports.model.later`, not recorded in
    it) is no change."""
    out: list[Change] = []
    for part, key in _COMPARED:
        old, new = _rows(getattr(frozen, part), key), _rows(getattr(fresh, part), key)
        rows = getattr(frozen, part) or getattr(fresh, part)
        unrecorded = later_defaults(type(rows[0])) if rows else {}
        for k in sorted(old.keys() | new.keys()):
            a, b = old.get(k), new.get(k)
            if a is None or b is None:
                out.append(Change(f"{part}/{k}", "*", a is not None, b is not None))
                continue
            out.extend(Change(f"{part}/{k}", f, a[f], b[f]) for f in a
                       if a[f] != b.get(f) and not (f in unrecorded and a[f] == unrecorded[f]))
    if frozen.score.total != fresh.score.total:
        out.append(Change("score", "total", frozen.score.total, fresh.score.total))
    return tuple(out)


async def diff_month(engine: AsyncEngine, settings: Settingsish, period: ReportPeriod, now: dt.datetime
                     ) -> tuple[Snapshot, Report, tuple[Change, ...]]:
    stored = await load_snapshot(engine, period)
    if stored is None:
        raise ReportError(f"{period.label} 未结算，没有可比较的冻结报表", f"{period.label} is not closed: nothing frozen to compare")
    fresh = await build_report(engine, settings, period, now)
    return stored, fresh, differences(stored.report, fresh)


__all__ = ["CLOSE", "REOPEN", "Change", "ReportError", "Snapshot", "actor_name", "close_month", "diff_month",
           "differences", "live_report", "load_snapshot", "reopen_month", "report_for", "sealed_report_for"]
