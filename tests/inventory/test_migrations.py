"""Migrations run up (and down) on empty SQLite and PostgreSQL databases and match the models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from inventory.db import create_engine, current_revision, downgrade, head_revision, upgrade
from inventory.models import Base

TABLES = {"regions", "points", "devices", "cameras", "state_intervals", "exclusions",
          "work_orders", "alert_log", "report_snapshots", "alembic_version"}


def _inspect(url: str) -> tuple[set[str], list[object]]:
    async def go() -> tuple[set[str], list[object]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                def work(sync_conn):  # type: ignore[no-untyped-def]
                    names = set(inspect(sync_conn).get_table_names())
                    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                    return names, compare_metadata(ctx, Base.metadata)
                return await conn.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_upgrade_empty_database_matches_models(db_url: str) -> None:
    assert current_revision(db_url) is None
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()
    tables, diff = _inspect(db_url)
    assert tables >= TABLES
    assert diff == [], f"migrations and models disagree: {diff}"


def test_upgrade_is_idempotent_and_downgrade_empties(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    downgrade(db_url, "base")
    tables, _ = _inspect(db_url)
    assert tables <= {"alembic_version"}
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()
