"""Migration 0006 on SQLite and PostgreSQL: exclusions stored before it are approved (they keep
counting), the new columns are empty, and it goes down again."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import text

from inventory.db import create_engine, downgrade, upgrade


def _run(url: str, sql: str, params: dict[str, object] | None = None) -> list[tuple[object, ...]]:
    async def go() -> list[tuple[object, ...]]:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                res = await conn.execute(text(sql), params or {})
                return [tuple(r) for r in res.all()] if res.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_existing_exclusions_become_approved(db_url: str) -> None:
    upgrade(db_url, "0005")
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    _run(db_url, "INSERT INTO regions (code, name, level, parent_code, derived, created_at, updated_at) "
                 "VALUES ('330000000000', '县', 'county', NULL, false, :s, :s)", {"s": start})
    _run(db_url, 'INSERT INTO exclusions (region_code, start, "end", reason, approver, created_at) '
                 "VALUES ('330000000000', :s, :e, '停电', '县局', :s)",
         {"s": start, "e": start + dt.timedelta(hours=2)})
    upgrade(db_url, "0006")
    rows = _run(db_url, "SELECT status, proposer, decider, decided_at, decision_note FROM exclusions")
    assert rows == [("approved", None, None, None, None)]
    downgrade(db_url, "0005")
    assert _run(db_url, "SELECT reason FROM exclusions") == [("停电",)]
    upgrade(db_url)
