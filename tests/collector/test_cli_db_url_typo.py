"""`--db sqlite://camwatch.db` (two slashes: the file name read as a host) is a mistake of the
command line: exit 2 and a line saying how a SQLite URL is written, not a driver's English (exit 3)."""

from __future__ import annotations

from pathlib import Path

from tests.collector.test_cli_inventory import camwatch


def test_a_sqlite_url_with_two_slashes_is_a_usage_error(tmp_path: Path) -> None:
    r = camwatch(tmp_path, "--db", "sqlite://camwatch.db", "inventory", "summary")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "不是 SQLite 文件网址" in r.stderr and "sqlite:///" in r.stderr and "Traceback" not in r.stderr
    r = camwatch(tmp_path, "--lang", "en", "--db", "sqlite://camwatch.db", "inventory", "summary")
    assert r.returncode == 2 and "not a SQLite file URL" in r.stderr
    assert not (tmp_path / "camwatch.db").exists()
