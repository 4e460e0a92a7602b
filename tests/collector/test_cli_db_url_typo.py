"""Mistakes of the command line and the config file: `--db sqlite://camwatch.db` (two slashes: the
file name read as a host) is exit 2 and a line saying how a SQLite URL is written, not a driver's
English (exit 3); a config that does not validate is said in its own `language:` when it has one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collector.test_cli_inventory import camwatch
from tests.conftest import PG_BASE


def test_a_sqlite_url_with_two_slashes_is_a_usage_error(tmp_path: Path) -> None:
    r = camwatch(tmp_path, "--db", "sqlite://camwatch.db", "inventory", "summary")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "不是 SQLite 文件网址" in r.stderr and "sqlite:///" in r.stderr and "Traceback" not in r.stderr
    r = camwatch(tmp_path, "--lang", "en", "--db", "sqlite://camwatch.db", "inventory", "summary")
    assert r.returncode == 2 and "not a SQLite file URL" in r.stderr
    assert not (tmp_path / "camwatch.db").exists()


def test_a_bad_config_is_said_in_its_own_language(tmp_path: Path) -> None:
    (tmp_path / "camwatch.yaml").write_text("language: en\ncollector:\n  intervl_s: 5\n", encoding="utf-8")
    r = camwatch(tmp_path, "inventory", "summary")
    assert r.returncode == 2 and "unknown key (did you mean interval_s?)" in r.stderr, r.stderr
    r = camwatch(tmp_path, "--lang", "zh", "inventory", "summary")
    assert r.returncode == 2 and "未知的键" in r.stderr, r.stderr
    (tmp_path / "camwatch.yaml").write_text("collector:\n  intervl_s: 5\n", encoding="utf-8")
    r = camwatch(tmp_path, "inventory", "summary")
    assert r.returncode == 2 and "未知的键" in r.stderr, r.stderr


@pytest.mark.postgres
def test_a_postgresql_database_that_does_not_exist_is_said_in_chinese(tmp_path: Path, pg_reason: str | None) -> None:
    if pg_reason is not None:
        pytest.fail(f"PostgreSQL required: {pg_reason}")
    url = PG_BASE.rsplit("/", 1)[0] + "/camwatch_no_such_db"
    r = camwatch(tmp_path, "--db", url, "inventory", "summary")
    assert r.returncode == 3 and "数据库不存在" in r.stderr and "createdb" in r.stderr, r.stderr
    r = camwatch(tmp_path, "--lang", "en", "--db", url, "inventory", "summary")
    assert r.returncode == 3 and "does not exist" in r.stderr and "数据库" not in r.stderr, r.stderr


def test_config_check_names_an_unreadable_metrics_token(tmp_path: Path) -> None:
    (tmp_path / "camwatch.yaml").write_text(f"http:\n  metrics_token: file:{tmp_path / 'missing'}\n", encoding="utf-8")
    assert camwatch(tmp_path, "init").returncode == 0
    r = camwatch(tmp_path, "config", "check")
    assert r.returncode == 1 and "http.metrics_token" in r.stderr and "503" in r.stderr, r.stderr
    (tmp_path / "token").write_text("s3cret-scrape\n", encoding="utf-8")
    (tmp_path / "camwatch.yaml").write_text(f"http:\n  metrics_token: file:{tmp_path / 'token'}\n", encoding="utf-8")
    r = camwatch(tmp_path, "config", "check")
    assert r.returncode == 0 and "metrics_token" not in r.stderr and "s3cret" not in r.stdout + r.stderr, r.stderr


def test_a_file_the_system_refuses_is_said_in_chinese(tmp_path: Path) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    r = camwatch(tmp_path, "report", "monthly", "--month", "2026-11", "--out", str(tmp_path / "no" / "such" / "x.xlsx"))
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert "不存在" in r.stderr and "No such file" not in r.stderr, r.stderr
