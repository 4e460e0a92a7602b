"""Shared fixtures: real databases (SQLite files and PostgreSQL schemas) on this machine, and
free loopback ranges and ports (tests/net.py) so concurrent test runs do not collide."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

from probes.sim.loopback import LoopbackRange
from tests.net import free_port, loopback_range

PG_BASE = os.environ.get("CAMWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(PG_BASE.replace("postgresql+asyncpg", "postgresql"), timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_reason() -> str | None:
    return _pg_available()


def _pg_schema_url(schema: str) -> str:
    return f"{PG_BASE}?search_path={schema}"


def _pg_exec(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_BASE)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def fresh_pg_schema(pg_reason: str | None, *, also_drop: tuple[str, ...] = ()) -> Iterator[str]:
    """A fresh PostgreSQL schema's URL, dropped after (with the schemas named ``<schema><suffix>``
    for each suffix of *also_drop*). Skipped when the server is down on a developer machine; CI
    sets CAMWATCH_TEST_REQUIRE_POSTGRES=1 and then a missing server fails the run."""
    if pg_reason is not None:
        if os.environ.get("CAMWATCH_TEST_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL required but unavailable: {pg_reason}")
        pytest.skip(f"PostgreSQL not running here ({pg_reason}); CI requires it")
    schema = "cw_" + uuid.uuid4().hex[:12]
    _pg_exec(f'CREATE SCHEMA "{schema}"')
    try:
        yield _pg_schema_url(schema)
    finally:
        _pg_exec("; ".join(f'DROP SCHEMA IF EXISTS "{schema}{x}" CASCADE' for x in ("", *also_drop)))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path, pg_reason) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of each kind: a SQLite file, and a fresh PostgreSQL schema.

    PostgreSQL tests are skipped only when the server is down on a developer machine;
    CI sets CAMWATCH_TEST_REQUIRE_POSTGRES=1 and then a missing server fails the run.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'camwatch.db'}"
        return
    with fresh_pg_schema(pg_reason) as url:
        yield url


@pytest.fixture
def loopback() -> Iterator[LoopbackRange]:
    """Two free /16 blocks of 127.0.0.0/8 held for the test: cameras, then their routers."""
    with loopback_range(2) as rng:
        yield rng


@pytest.fixture
def http_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    return free_port()
