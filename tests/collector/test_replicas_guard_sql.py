"""The SQL that tells live replicas apart. Two camwatch deployments on one PostgreSQL server, in two databases with the same schema name (the
usual layout: schema public in each): advisory locks are each database's own, but pg_locks lists every
database's. The replicas of one must not count, lead or refuse because of the other's locks. Real
PostgreSQL: a second database made for the test."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import asyncpg
import pytest

from collector.cli.run_guard import ALONE_SQL, Refused, _may_join
from collector.runtime.replica_list import _HOLDERS_SQL, _LEADER_SQL, _SHARDS_SQL
from collector.runtime.replicas import GUARD_KEY, LEADER_KEY, LEADER_SQL, LIVE_SQL
from collector.runtime.shards import COUNT_LOW, LOCK_KEY_SQL, SHARD_COUNTS_SQL, SHARD_TAG, from_pg_name, pg_name
from tests.collector.test_cli_inventory import camwatch
from tests.conftest import PG_BASE

BASE = PG_BASE.replace("postgresql+asyncpg", "postgresql")


@pytest.mark.postgres
def test_locks_of_another_database_are_not_counted(pg_reason: str | None) -> None:
    if pg_reason is not None:
        pytest.fail(f"PostgreSQL required: {pg_reason}")
    other_db, schema = f"cw_other_{uuid.uuid4().hex[:8]}", f"cw_{uuid.uuid4().hex[:12]}"

    async def go() -> None:
        admin = await asyncpg.connect(BASE)
        await admin.execute(f'CREATE DATABASE "{other_db}"')
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        other_url = BASE.rsplit("/", 1)[0] + f"/{other_db}"
        held = mine = None
        try:
            setup = await asyncpg.connect(other_url)
            await setup.execute(f'CREATE SCHEMA "{schema}"')
            await setup.close()
            # a replica of the other deployment: the guard shared, the leader's lock, a shard, its shard count
            held = await asyncpg.connect(other_url, server_settings={"search_path": schema, "application_name": "theirs"})
            await held.execute(f"SELECT pg_advisory_lock_shared({GUARD_KEY})")
            await held.execute(f"SELECT pg_advisory_lock({LEADER_KEY})")
            await held.execute(f"SELECT pg_advisory_lock({LOCK_KEY_SQL.format(low=SHARD_TAG + 3)})")
            await held.execute(f"SELECT pg_advisory_lock({LOCK_KEY_SQL.format(low=COUNT_LOW + 255)})")
            # this deployment, same schema name in the test database: sees none of it
            mine = await asyncpg.connect(BASE, server_settings={"search_path": schema})
            assert await mine.fetchval(LIVE_SQL) == 0
            assert await mine.fetchval(LEADER_SQL) is None
            assert await mine.fetch(SHARD_COUNTS_SQL) == []
            for sql in (_HOLDERS_SQL, _LEADER_SQL, _SHARDS_SQL):
                assert await mine.fetch(sql) == [], sql
            # and the other's side sees its own (the filter keeps what it should)
            assert await held.fetchval(LIVE_SQL) == 1 and await held.fetchval(LEADER_SQL) == "theirs"
            assert [r[0] for r in await held.fetch(SHARD_COUNTS_SQL)] == [256]
            # a lone collector there does not stop a replica joining here
            await held.execute(f"SELECT pg_advisory_unlock_shared({GUARD_KEY})")
            await held.execute(f"SELECT pg_advisory_lock({GUARD_KEY})")
            assert await held.fetchval(ALONE_SQL) is True
            assert await mine.fetchval(ALONE_SQL) is False
        finally:
            for c in (held, mine):
                if c is not None:
                    await c.close()
            await admin.execute(f'DROP DATABASE IF EXISTS "{other_db}"')
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await admin.close()

    asyncio.run(go())


@pytest.mark.postgres
def test_a_second_replica_of_one_replica_id_is_refused(pg_reason: str | None) -> None:
    if pg_reason is not None:
        pytest.fail(f"PostgreSQL required: {pg_reason}")
    schema = f"cw_{uuid.uuid4().hex[:12]}"

    async def go() -> None:
        admin = await asyncpg.connect(BASE)
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        running = None
        try:
            settings = {"search_path": schema}
            running = await asyncpg.connect(BASE, server_settings={**settings, "application_name": "r1"})
            await running.execute(f"SELECT pg_advisory_lock_shared({GUARD_KEY})")  # a live replica named r1
            with pytest.raises(Refused) as err:
                await _may_join(BASE, dict(settings), 256, "zh", "r1")
            assert "replica_id r1" in str(err.value)
            with pytest.raises(Refused, match="already running"):
                await _may_join(BASE, dict(settings), 256, "en", "r1")
            await _may_join(BASE, dict(settings), 256, "zh", "r2")  # another name joins
            # a long Chinese id: PostgreSQL keeps 63 bytes of it, the check compares the same bytes
            long_id = "示范县城关镇采集副本" * 4
            named = await asyncpg.connect(BASE, server_settings={**settings, "application_name": pg_name(long_id)})
            try:
                await named.execute(f"SELECT pg_advisory_lock_shared({GUARD_KEY})")
                with pytest.raises(Refused):
                    await _may_join(BASE, dict(settings), 256, "zh", long_id)
            finally:
                await named.close()
            await _may_join(BASE, dict(settings), 256, "zh", None)  # (the default id is made unique)
        finally:
            if running is not None:
                await running.close()
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await admin.close()

    asyncio.run(go())


def test_replicas_json_on_sqlite_is_json(tmp_path: Path) -> None:
    r = camwatch(tmp_path, "--db", f"sqlite:///{tmp_path / 'x.db'}", "replicas", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"replicas": [], "alone": None, "shards": None, "shards_held": 0, "backend": "sqlite"}


def test_replica_ids_as_postgresql_keeps_them() -> None:
    """application_name keeps printable ASCII only (else "?") and 63 bytes: ids are written so that
    two Chinese ones stay apart and read back whole."""
    a, b = pg_name("城关镇副本"), pg_name("东风镇副本")
    assert a != b and a.isascii() and b.isascii()
    assert from_pg_name(a) == "城关镇副本" and from_pg_name(pg_name("r1@host:42")) == "r1@host:42"
    for long_id in ("示范县城关镇采集副本" * 4, "r-" + "示范县城关镇采集副本" * 4):  # (cut at 63 bytes, between characters)
        assert len(pg_name(long_id).encode()) <= 63 and long_id.startswith(from_pg_name(pg_name(long_id)))
