"""The rollup write lock on PostgreSQL is per schema: a rollup build of one deployment (or test
run) in another schema of the same database never makes this one wait; the same schema does."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from collector.accounting.sql.rollups import lock_for_write
from inventory.db import create_engine
from tests.conftest import fresh_pg_schema

pytestmark = pytest.mark.postgres


def test_the_rollup_lock_is_per_schema(pg_reason: str | None) -> None:
    with fresh_pg_schema(pg_reason) as url_a, fresh_pg_schema(pg_reason) as url_b:

        async def go() -> tuple[bool, bool]:
            a, b = create_engine(url_a), create_engine(url_b)
            try:
                async with a.connect() as holder:
                    await holder.begin()
                    await lock_for_write(holder)  # schema A's build holds the lock

                    async def try_lock(eng) -> bool:  # type: ignore[no-untyped-def]
                        async with eng.connect() as conn:
                            await conn.begin()
                            await conn.execute(text("SET LOCAL lock_timeout = '1s'"))
                            try:
                                await lock_for_write(conn)
                            except Exception as exc:  # noqa: BLE001 - the lock timeout is the answer
                                assert "lock timeout" in str(exc)
                                return False
                            return True

                    other_schema = await try_lock(b)
                    same_schema = await try_lock(a)
                    await holder.rollback()
                return other_schema, same_schema
            finally:
                await a.dispose()
                await b.dispose()

        other_schema, same_schema = asyncio.run(go())
    assert other_schema, "a rollup in another schema waited for this one"
    assert not same_schema, "two writers of one schema did not exclude each other"
