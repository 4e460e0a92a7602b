"""What an operator reads when a replica starts, or may not (README "Replicas on one PostgreSQL"):
real `camwatch run` processes on the local PostgreSQL. A replica that may not join (another
``collector.shards``, a lone collector on the database) says so in one line, before it loads
anything; a lone collector is named in ``camwatch replicas``; a replica whose alert links would
name its own console warns; ``camwatch replicas`` words a bad database URL as every command does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.collector.test_cli_inventory import camwatch
from tests.collector.test_replicas import SHARDS, Replica, _env, replicas_listed, wait_for
from tests.conftest import fresh_pg_schema
from tests.net import free_port

EXE = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
BASE_URL_WARNING = "is this replica's own console"


@pytest.fixture
def pg_url(pg_reason: str | None) -> Iterator[str]:
    with fresh_pg_schema(pg_reason) as url:
        yield url


def _hooked(url: str, name: str, **extra: str) -> dict[str, str]:
    """A replica's environment with a webhook channel (on a loopback port nobody answers: no
    camera here, so nothing is sent)."""
    env = _env(url, free_port(), name)
    env.update({
        "CAMWATCH_ALERTS__CHANNELS": json.dumps({"critical": ["hook"], "normal": ["hook"], "low": ["hook"]}),
        "CAMWATCH_ALERTS__ESCALATION": "[]",
        "CAMWATCH_NOTIFY__CHANNELS": json.dumps([{"name": "hook", "kind": "webhook",
                                                  "url": f"http://127.0.0.1:{free_port()}/hook"}]),
        **extra,
    })
    return env


@pytest.mark.postgres
def test_a_replica_with_another_shard_count_says_so_in_one_line_and_links_warn(tmp_path: Path, pg_url: str) -> None:
    assert camwatch(tmp_path, "--db", pg_url, "db", "upgrade").returncode == 0
    a = Replica(tmp_path, pg_url, "a")
    hooked: list[subprocess.Popen[str]] = []
    try:
        wait_for(lambda: len(a.shards()) == SHARDS, 60, "a holds every shard")
        other = {**_env(pg_url, free_port(), "b"), "CAMWATCH_COLLECTOR__SHARDS": "1024"}
        for lang, words in (("en", f"collector.shards = {SHARDS}, this one 1024"), ("zh", f"collector.shards 为 {SHARDS}，本副本为 1024")):
            r = subprocess.run([EXE, "run"], cwd=tmp_path, env={**other, "CAMWATCH_LANGUAGE": lang}, capture_output=True,
                               text=True, timeout=60)
            lines = r.stderr.strip().splitlines()  # (no log line of a start before it: it stops first)
            assert r.returncode == 3 and len(lines) == 1 and lines[0].startswith("camwatch: ") and words in lines[0], r.stderr
        assert len(a.shards()) == SHARDS and a.health()["replica"]["live_replicas"] == 1
        # alert links: the leading replica's own console unless alerts.base_url is set
        logs = {}
        for name, extra in (("c", {}), ("d", {"CAMWATCH_ALERTS__BASE_URL": "https://camwatch.example"})):
            logs[name] = tmp_path / f"{name}.log"
            with logs[name].open("w") as out:
                hooked.append(subprocess.Popen([EXE, "run"], cwd=tmp_path, env=_hooked(pg_url, name, **extra),
                                               stdout=out, stderr=subprocess.STDOUT, text=True))
        wait_for(lambda: all("coordination session open" in p.read_text() for p in logs.values()), 60, "c and d started")
        assert BASE_URL_WARNING in logs["c"].read_text(), logs["c"].read_text()[-2000:]
        assert BASE_URL_WARNING not in logs["d"].read_text(), logs["d"].read_text()[-2000:]
        assert BASE_URL_WARNING not in a.log.read_text()  # (no channel: no message, no link)
    finally:
        for p in hooked:
            p.terminate()
            p.wait(timeout=30)
        a.stop()


@pytest.mark.postgres
def test_beside_a_lone_collector_a_replica_says_so_in_one_line_and_the_lone_one_is_named(tmp_path: Path,
                                                                                     pg_url: str) -> None:
    assert camwatch(tmp_path, "--db", pg_url, "db", "upgrade").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    port = free_port()
    lone = subprocess.Popen([EXE, "run"], cwd=tmp_path, env={**env, "CAMWATCH_DB": pg_url, "CAMWATCH_HTTP__PORT": str(port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).status == 200, 30,
                 "lone collector up")
        r = subprocess.run([EXE, "run"], cwd=tmp_path, env=_env(pg_url, free_port(), "r"), capture_output=True, text=True,
                           timeout=60)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 3 and len(lines) == 1 and "without collector.replicas" in lines[0], r.stderr
        # a second lone collector: the database named, its password not (trust authentication ignores it)
        with_pw = make_url(pg_url).set(password="hunter22").render_as_string(hide_password=False)
        shown = make_url(with_pw).render_as_string(hide_password=True)
        r = camwatch(tmp_path, "--lang", "en", "run", env={"CAMWATCH_DB": with_pw, "CAMWATCH_HTTP__PORT": str(free_port())})
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 3 and len(lines) == 1 and f"using this PostgreSQL database ({shown}, schema" in lines[0], r.stderr
        assert "hunter22" not in r.stderr and "***" in lines[0], r.stderr
        # camwatch replicas names it (collector.collector_id) with its last heartbeat
        wait_for(lambda: replicas_listed(tmp_path, pg_url)["alone"]["heartbeat_at"] is not None, 30, "lone heartbeat")
        alone = replicas_listed(tmp_path, pg_url)["alone"]
        assert alone["replica"] == "default" and alone["shards"] == 0, alone
        said = camwatch(tmp_path, "--db", pg_url, "replicas")
        assert said.returncode == 0 and said.stdout.startswith("一个采集器单独运行（未启用副本）：default，来自 "), said
        assert "最近心跳" in said.stdout and "秒前" in said.stdout, said
    finally:
        lone.terminate()
        lone.wait(timeout=30)


def test_replicas_words_a_bad_database_url_as_every_command_does(tmp_path: Path) -> None:
    """A mistake of the command line: exit status 2, in the user's language, no password."""
    for url, zh, en in (("mysql://ops:hunter22@db/cw", "不支持的数据库 'mysql'", "unsupported database 'mysql'"),
                        ("postgresql://ops:hunter22@db:notaport/cw", "不是数据库网址", "not a database URL")):
        for lang, words in (("zh", zh), ("en", en)):
            r = camwatch(tmp_path, "--lang", lang, "--db", url, "replicas")
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 2 and len(lines) == 1 and words in lines[0], r.stderr
            assert "hunter22" not in r.stderr + r.stdout
