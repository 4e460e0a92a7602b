"""Whether a month was monitored (the automatic close's guard) reads the spans by the accounting's
cutting rule: a stale open span (end NULL, left by a crash) that the camera's next span cuts before
the month does not reach into it, so a month with no other state recorded stays "not monitored".

On real SQLite and PostgreSQL; February 2026 in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select

from collector.reports.model import Kind
from collector.reports.periods import containing
from collector.runtime.report_close import ReportCloser, monitored_in
from collector.settings import load_settings
from inventory.models import ReportSnapshot, StateInterval
from tests.collector.test_accounting_sql import inventory_db

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
MONTH = containing(Kind.MONTHLY, dt.datetime(2026, 2, 10, tzinfo=SH), TZ)


def local(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, tzinfo=SH)


def _span(cid: int, state: str, start: dt.datetime, end: dt.datetime | None) -> dict[str, Any]:
    return {"camera_id": cid, "state": state, "cause": None, "start": start, "end": end}


async def test_a_stale_span_cut_before_the_month_is_no_monitoring(db_url: str) -> None:
    async with inventory_db(db_url) as (engine, cams):
        a, b = cams[0].camera_id, cams[1].camera_id

        async def stored(*rows: dict[str, Any]) -> bool:
            async with engine.begin() as conn:
                await conn.execute(delete(StateInterval))
                if rows:
                    await conn.execute(insert(StateInterval), list(rows))
            return await monitored_in(engine, MONTH)

        assert MONTH.label == "2026-02"
        assert not await stored()
        # online Jan 1, never closed (a crash), then offline Jan 5 - Jan 20: camwatch stopped
        # before February; the stale span overlaps February but is cut on Jan 5
        stale = (_span(a, "online", local(1, 1), None), _span(a, "offline", local(1, 5), local(1, 20)))
        assert not await stored(*stale)
        # (also when another camera's last span ends exactly at the month's start)
        assert not await stored(*stale, _span(b, "online", local(1, 3), MONTH.start))
        # a span reaching into the month (open, or ending in it) is monitoring
        assert await stored(*stale, _span(b, "online", local(1, 3), None))
        assert await stored(*stale, _span(b, "online", local(1, 3), MONTH.start + dt.timedelta(seconds=1)))
        # a span starting in the month too; and the stale one cut only inside the month
        assert await stored(*stale, _span(a, "online", local(2, 27), None))
        assert await stored(_span(a, "online", local(1, 1), None), _span(a, "offline", local(2, 5), local(2, 6)))
        # a span starting at the month's end is the next month's
        assert not await stored(*stale, _span(a, "online", MONTH.end, None))


async def test_the_closer_leaves_a_month_seen_only_through_a_stale_span_open(db_url: str) -> None:
    """The job (``camwatch run``): February is due in March; with only a stale span reaching
    (uncut) into it, nothing is frozen; once a state is recorded in it, the month is closed."""
    async with inventory_db(db_url) as (engine, cams):
        cid = cams[0].camera_id
        async with engine.begin() as conn:
            await conn.execute(insert(StateInterval), [
                _span(cid, "online", local(1, 1), None), _span(cid, "offline", local(1, 5), local(1, 20))])
        settings = load_settings(None, db_url=db_url, environ={"CAMWATCH_REPORTS__CLOSE_DAY": "3",
                                                            "CAMWATCH_ACCOUNTING__TIMEZONE": TZ})
        now = local(3, 5)

        async def snapshots() -> int:
            async with engine.connect() as conn:
                return int((await conn.execute(select(func.count()).select_from(ReportSnapshot))).scalar_one())

        out = await ReportCloser(engine, settings, clock=lambda: now).tick()
        assert out is not None and out.month == "2026-02" and out.not_monitored and not out.closed_here
        assert await snapshots() == 0
        async with engine.begin() as conn:
            await conn.execute(insert(StateInterval), [_span(cid, "online", local(2, 20), None)])
        out = await ReportCloser(engine, settings, clock=lambda: now).tick()
        assert out is not None and out.closed_here and not out.not_monitored
        assert await snapshots() == 1
