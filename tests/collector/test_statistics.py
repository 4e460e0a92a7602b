"""Planner statistics kept fresh by camwatch (collector/accounting/sql/statistics.py): the rule,
and ANALYZE on the real local PostgreSQL (whose autovacuum may be off: this machine's is)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting import Period
from collector.accounting.sql.group_rates import sql_group_times
from collector.accounting.sql.statistics import STALE_MIN_ROWS, refresh_statistics, stale
from tests.collector.test_accounting_sql import DAY_US, at, inventory_db, store_random


@pytest.mark.parametrize(("live", "changed", "never", "want"), [
    (0, 0, True, False),  # an empty table never analysed: nothing to learn
    (0, 10, True, True),  # rows, never analysed
    (1_000_000, 0, True, True),
    (1_000_000, 0, False, False),  # analysed, unchanged since
    (1_000_000, 150_000, False, False),  # 15 % changed: not yet
    (1_000_000, 200_000, False, True),  # 20 %
    (100, STALE_MIN_ROWS - 1, False, False),  # a small table: at least STALE_MIN_ROWS changes
    (100, STALE_MIN_ROWS, False, True),
])
def test_stale_rule(live: int, changed: int, never: bool, want: bool) -> None:
    assert stale(live, changed, never) is want


async def _analysed(engine: AsyncEngine, table: str) -> bool:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables"
                                       " WHERE schemaname = current_schema() AND relname = :t"), {"t": table})).scalar()
    return bool(row)


async def test_fresh_intervals_are_analysed_before_the_figures(db_url: str) -> None:
    async with inventory_db(db_url) as (engine, cams):
        await store_random(engine, random.Random(7), cams)
        if engine.dialect.name != "postgresql":
            assert await refresh_statistics(engine) == ()  # (SQLite: nothing to do)
            return
        assert not await _analysed(engine, "state_intervals")
        # the figures' query analyses what was never analysed (the server's counters may lag a moment)
        deadline = time.monotonic() + 10
        while True:
            await sql_group_times(engine, Period(at(0), at(7 * DAY_US)), at(10 * DAY_US), exclusions=())
            if await _analysed(engine, "state_intervals") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert await _analysed(engine, "state_intervals")
        assert "state_intervals" not in await refresh_statistics(engine)  # fresh now: not again
