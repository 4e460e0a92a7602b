"""Ending an exclusion (报备) without rewriting figures already counted: the rule of the console's
"end" (:mod:`collector.web.pages.exclusions_page`), shared by ``camwatch exclusion end|remove``.

- one in force (counted, begun, not over) **ends at this moment**: its end is moved to *now* and
  its status becomes ``ended``; the elapsed part stays excluded from the rates and on the
  report's 报备 sheet;
- one to come (not begun), or one never counted (a proposal, a rejected one) is **removed**;
- one already over and counted is **past**: its time is part of the figures assessors sign, so it
  is kept unless removal is forced; and never removed, even forced, while any local month it
  touches is closed (frozen by ``report close``): that month is reopened first
  (``report reopen --reason``, audited), as for any other correction of a signed month.

:func:`step_for` is the pure rule; :func:`end_exclusion` applies it in the caller's transaction
and, when asked, writes the audit row in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from collector.accounting.timeparse import show
from collector.reports.model import Kind
from collector.reports.periods import containing
from inventory.models import COUNTED_EXCLUSIONS, AuditEntry, Exclusion, ExclusionStatus, ReportSnapshot


class Step(enum.StrEnum):
    END = "end"  # in force: ends now, the elapsed part kept
    REMOVE = "remove"  # not begun yet, or never counted: deleted
    PAST = "past"  # over and counted: kept unless forced (never in a closed month)


def step_for(status: str, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> Step:
    """What ending the exclusion [*start*, *end*) of *status* at *now* does."""
    if status not in COUNTED_EXCLUSIONS or start >= now:  # (begun exactly now: nothing elapsed to keep)
        return Step.REMOVE
    return Step.END if end > now else Step.PAST


def clock(t: dt.datetime, tz: str, since: dt.datetime | None = None) -> str:
    """*t* as ``show`` prints it; only its time of day when it falls on *since*'s local day."""
    zone = ZoneInfo(tz)
    if since is not None and t.astimezone(zone).date() == since.astimezone(zone).date():
        return t.astimezone(zone).strftime("%H:%M")
    return show(t, tz)


def months_of(start: dt.datetime, end: dt.datetime, tz: str) -> tuple[str, ...]:
    """The local months (``YYYY-MM``) that [*start*, *end*) touches, in order."""
    out: list[str] = []
    month = containing(Kind.MONTHLY, start, tz)
    while month.start < end:
        out.append(month.label)
        month = containing(Kind.MONTHLY, month.end, tz)
    return tuple(out)


async def closed_months(conn: AsyncConnection, start: dt.datetime, end: dt.datetime, tz: str) -> tuple[str, ...]:
    """The months [*start*, *end*) touches that are closed (have a frozen report snapshot)."""
    labels = months_of(start, end, tz)
    found = set((await conn.execute(select(ReportSnapshot.period).where(
        ReportSnapshot.kind == Kind.MONTHLY.value, ReportSnapshot.period.in_(labels)))).scalars().all())
    return tuple(m for m in labels if m in found)


@dataclass(frozen=True, slots=True)
class Ending:
    """What :func:`end_exclusion` did (or refused) to one exclusion, with the row as it was."""

    id: int
    camera_id: int | None
    region_code: str | None
    start: dt.datetime
    end: dt.datetime  # as it was (for END: the planned end)
    status: str  # as it was
    reason: str
    approver: str
    step: Step
    at: dt.datetime  # the moment of the change (for END: the new end)
    done: bool  # False: a past one kept (not forced, or in a closed month)
    months: tuple[str, ...] = ()  # PAST: the months its time counts in
    closed: tuple[str, ...] = ()  # PAST: those of them that are closed

    def described(self, lang: str, tz: str) -> str:
        """The exclusion in a message, in *lang*: its scope, span (local times), reason and approver."""
        zh = lang != "en"
        scope = (f"摄像机 {self.camera_id}" if zh else f"camera {self.camera_id}") if self.camera_id is not None else (
            f"区划 {self.region_code}" if zh else f"region {self.region_code}")
        span = f"{show(self.start, tz)} — {clock(self.end, tz, self.start)}"
        return (f"{scope}，{span}，{self.reason}，批准人 {self.approver}" if zh else
                f"{scope}, {span}, {self.reason}, approved by {self.approver}")

    def detail(self) -> str:
        """The audit row's detail: the row as it was and what became of it (UTC)."""
        scope = f"camera={self.camera_id}" if self.camera_id is not None else f"region={self.region_code}"
        new_end = f" end->{self.at.isoformat()}" if self.step is Step.END else ""
        return (f"{self.step.value}{new_end}; {scope} start={self.start.isoformat()} end={self.end.isoformat()} "
                f"status={self.status} reason={self.reason} approver={self.approver}")


async def end_exclusion(conn: AsyncConnection, xid: int, now: dt.datetime, tz: str, *, force: bool = False,
                        audit_as: str | None = None) -> Ending | None:
    """End exclusion *xid* at *now* in the transaction of *conn* (see the module's rule); None when
    there is no such exclusion. *force*: delete a past one (not in a closed month). *audit_as*:
    the actor of an audit row written for a change (``exclusion end``, ``exclusion remove``,
    ``exclusion remove --force``)."""
    row = (await conn.execute(select(Exclusion).where(Exclusion.id == xid))).first()
    if row is None:
        return None
    step = step_for(row.status, row.start, row.end, now)
    months: tuple[str, ...] = ()
    closed: tuple[str, ...] = ()
    if step is Step.PAST:
        months = months_of(row.start, row.end, tz)
        closed = await closed_months(conn, row.start, row.end, tz)
    done = step is not Step.PAST or (force and not closed)
    ending = Ending(row.id, row.camera_id, row.region_code, row.start, row.end, row.status, row.reason, row.approver,
                    step, now, done, months, closed)
    if not done:
        return ending
    if step is Step.END:
        changed = await conn.execute(update(Exclusion).where(Exclusion.id == xid, Exclusion.end > now)
                                     .values(end=now, status=ExclusionStatus.ENDED.value))
    else:
        changed = await conn.execute(delete(Exclusion).where(Exclusion.id == xid))
    if changed.rowcount == 0:  # ended or removed meanwhile by another writer: say what it is now
        return None if step is not Step.END else await end_exclusion(conn, xid, now, tz, force=force, audit_as=audit_as)
    if audit_as is not None:
        action = {Step.END: "exclusion end", Step.REMOVE: "exclusion remove", Step.PAST: "exclusion remove --force"}[step]
        await conn.execute(insert(AuditEntry).values(at=now, actor=audit_as[:64], action=action,
                                                     object=f"exclusion:{xid}", detail=ending.detail()[:4000]))
    return ending


def closed_words(closed: tuple[str, ...], lang: str) -> str:
    """That an exclusion's time lies in the closed months *closed*, truthfully: the months' figures
    are frozen; the exclusion itself may not be in them (one added after the close is not), so
    nothing is said of it being signed. The callers say next that the month is reopened first."""
    if lang != "en":
        return f"所在月份 {'、'.join(closed)} 已结算（该月的数字已冻结）"
    return f"lies in {', '.join(closed)}, closed ({'its' if len(closed) == 1 else 'their'} figures are frozen)"


def kept_words(e: Ending, lang: str, tz: str, *, console: bool = False, force: str = "force=true") -> str:
    """Why the exclusion *e*, over and counted, was kept, in *lang* (``zh`` or ``en``), in the words
    of ``camwatch exclusion end``; *console*: said on the console, which offers no force (the CLI's
    ``--force`` is the way), else to an API client (*force*: ``force=true``; the CLI's ``--force``
    for one over, its closed months' words are its own)."""
    zh = lang != "en"
    what = e.described(lang, tz)
    cli = f"camwatch exclusion end {e.id} --force"
    if e.closed:
        m = e.closed[0]
        reopen, close = f'camwatch report reopen --month {m} --reason "…"', f"camwatch report close --month {m}"
        if zh:
            return (f"报备 #{e.id}（{what}）{closed_words(e.closed, lang)}，"
                    + ("不能在此结束或删除" if console else "未删除，force=true 也不行")
                    + f"：须先 {reopen}（记入审计日志），再{'执行 ' + cli if console else '以 force=true 删除'}，之后 {close}")
        return (f"exclusion #{e.id} ({what}) {closed_words(e.closed, lang)}: "
                + ("it cannot be ended or removed here" if console else "not removed, not even with force=true")
                + f". Reopen the month first: {reopen} (audited), then {cli if console else 'remove it with force=true'}"
                + f", and close it again: {close}")
    months = ("、" if zh else ", ").join(e.months)
    if zh:
        return (f"报备 #{e.id}（{what}）已结束，这段时间已在 {months} 的在线率中扣除，是考核数字的一部分："
                + (f"不能在此结束或删除。确需删除请在命令行执行 {cli}（记入审计日志）" if console
                   else f"未删除。确需删除请加 {force}"))
    return (f"exclusion #{e.id} ({what}) is over: its time is already excluded from the rates of {months}, part of "
            "the figures assessors sign; " + (f"it cannot be ended or removed here. To delete it anyway: {cli} "
                                              "(audited)" if console else f"not removed. To delete it anyway, add {force}"))


__all__ = ["Ending", "Step", "clock", "closed_months", "closed_words", "end_exclusion", "kept_words", "months_of",
           "step_for"]
