"""Replicas need PostgreSQL 14 or later: their coordination session relies on
``idle_session_timeout`` (collector/runtime/replicas.py), which older servers do not know. A
replica checks ``server_version_num`` on its first, short session and refuses to start in one
line, in the user's language, naming the version found and the one needed (exit status 3).

**Not run for real:** a replica on an actual PostgreSQL 13 or older. Only PostgreSQL 15 is
installed on this machine and no older server can be had here without downloading one. In its
place: the check is a pure function tested on a table of version numbers, and fed the real
server's ``server_version_num`` (cross-checked against the server's own ``server_version``); and
the refusal path runs for real (``camwatch run`` as a process, on the real server, through the
same query, words and exit status) with the version needed raised just above the real server's,
the only thing changed in that process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from collector.cli.run_guard import pg_version, too_old
from collector.runtime.replicas import PG_NEEDED, pg_connect_args
from tests.collector.test_cli_inventory import camwatch
from tests.collector.test_replicas import SHARDS, Replica, _env, wait_for
from tests.conftest import fresh_pg_schema
from tests.net import free_port

# server_version_num, the version as PostgreSQL writes it, whether a replica may run on it
VERSIONS = [
    (90_624, "9.6.24", False),
    (100_000, "10.0", False),
    (120_017, "12.17", False),
    (130_011, "13.11", False),
    (139_999, "13.9999", False),
    (140_000, "14.0", True),
    (140_010, "14.10", True),
    (150_004, "15.4", True),
    (170_002, "17.2", True),
]
# run `camwatch run` with the version needed (run_guard's PG_NEEDED) given as the first argument
RAISED = ("import sys; import collector.cli.run_guard as g; g.PG_NEEDED = int(sys.argv.pop(1)); "
          "from collector.cli import main; main(sys.argv[1:])")


@pytest.fixture
def pg_url(pg_reason: str | None) -> Iterator[str]:
    with fresh_pg_schema(pg_reason) as url:
        yield url


@pytest.mark.parametrize(("num", "text", "fits"), VERSIONS)
def test_the_version_check_on_a_table_of_server_versions(num: int, text: str, fits: bool) -> None:
    assert PG_NEEDED == 140_000
    assert pg_version(num) == text
    zh, en = too_old(num, "zh"), too_old(num, "en")
    if fits:
        assert zh is None and en is None
        return
    assert zh is not None and en is not None
    assert zh == (f"副本需要 PostgreSQL 14 或更高版本（协调会话依赖 idle_session_timeout），此数据库服务器为 "
                  f"PostgreSQL {text}：请先升级 PostgreSQL")
    assert en == ("replicas need PostgreSQL 14 or later (their coordination session relies on idle_session_timeout), "
                  f"this database server runs PostgreSQL {text}: upgrade PostgreSQL first")
    assert "\n" not in zh + en


def _server_version(url: str) -> tuple[int, str]:
    async def go() -> tuple[int, str]:
        dsn, settings = pg_connect_args(url)
        conn = await asyncpg.connect(dsn, server_settings=settings)
        try:
            return int(await conn.fetchval("SHOW server_version_num")), str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()
    return asyncio.run(go())


@pytest.mark.postgres
def test_the_check_fed_the_real_servers_version_lets_it_through(pg_url: str) -> None:
    num, shown = _server_version(pg_url)
    assert shown.split()[0] == pg_version(num)  # e.g. "15.4 (Debian 15.4-2.pgdg120+1)": read as it names itself
    assert num >= PG_NEEDED and too_old(num, "zh") is None and too_old(num, "en") is None


@pytest.mark.postgres
def test_a_replica_refuses_to_start_on_a_server_older_than_needed(tmp_path: Path, pg_url: str) -> None:
    """`camwatch run` as a replica, on the real server with the version needed raised one above
    it: one line on stderr in the user's language (Chinese by default) naming both versions, exit
    status 3, before it loads anything (no log line before it). With the real requirement the same
    replica starts and takes every shard."""
    assert camwatch(tmp_path, "--db", pg_url, "db", "upgrade").returncode == 0
    num, shown = _server_version(pg_url)
    major, minor = (int(x) for x in shown.split()[0].split(".")[:2])
    found, needed = f"{major}.{minor}", f"{major}.{minor + 1}"
    base = {k: v for k, v in _env(pg_url, free_port(), "old").items() if k != "CAMWATCH_LANGUAGE"}
    cases = (([], {}, f"副本需要 PostgreSQL {needed} 或更高版本（协调会话依赖 idle_session_timeout），此数据库服务器为 "
                      f"PostgreSQL {found}：请先升级 PostgreSQL"),
             (["--lang", "en"], {}, f"replicas need PostgreSQL {needed} or later"),
             ([], {"CAMWATCH_LANG": "en"}, f"this database server runs PostgreSQL {found}: upgrade PostgreSQL first"))
    for args, extra, words in cases:
        r = subprocess.run([sys.executable, "-c", RAISED, str(num + 1), *args, "run"], cwd=tmp_path,
                           env={**base, **extra}, capture_output=True, text=True, timeout=60)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 3 and len(lines) == 1 and lines[0].startswith("camwatch: "), r.stderr[-2000:]
        assert words in lines[0], lines[0]
    new = Replica(tmp_path, pg_url, "new")
    try:
        wait_for(lambda: len(new.shards()) == SHARDS, 60, "the replica holds every shard")
    finally:
        new.stop()
    assert new.proc.returncode == 0 and "replicas need PostgreSQL" not in new.log.read_text(), new.log.read_text()[-2000:]
