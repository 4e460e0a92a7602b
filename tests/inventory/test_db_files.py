"""Database files are private: a SQLite database (and its -wal/-shm files) created 0600."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from sqlalchemy import text

from inventory.db import create_engine, upgrade


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_sqlite_file_made_by_the_engine_is_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which would give 0644
    try:
        db = tmp_path / "camwatch.db"

        async def go() -> None:
            engine = create_engine(f"sqlite:///{db}")
            try:
                async with engine.begin() as c:
                    await c.execute(text("CREATE TABLE t (x INTEGER)"))
                    await c.execute(text("INSERT INTO t VALUES (1)"))
                assert all(_mode(p) == 0o600 for p in tmp_path.glob("camwatch.db*")), \
                    {p.name: oct(_mode(p)) for p in tmp_path.glob("camwatch.db*")}
            finally:
                await engine.dispose()

        asyncio.run(go())
    finally:
        os.umask(old)


def test_sqlite_file_made_by_a_migration_is_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = tmp_path / "m.db"
        upgrade(f"sqlite:///{db}")
        assert _mode(db) == 0o600
    finally:
        os.umask(old)


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    db.touch(mode=0o640)
    db.chmod(0o640)
    upgrade(f"sqlite:///{db}")
    assert _mode(db) == 0o640
