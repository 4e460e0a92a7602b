"""Migration 0017 on SQLite: exclusions' ids never reused, also a number removed before the upgrade
(named in the audit log, above the highest left); downgrade and upgrade again keep the rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command

from inventory.db import alembic_config


def test_numbers_named_in_the_audit_log_are_not_given_again(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    cfg = alembic_config(f"sqlite:///{db}")
    command.upgrade(cfg, "0016")
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO audit_log (at, actor, action, object) VALUES ('2026-12-01 00:00:00', 'cli',"
                  " 'exclusion remove', 'exclusion:9')")
    command.upgrade(cfg, "head")
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT seq FROM sqlite_sequence WHERE name = 'exclusions'").fetchall() == [(9,)]
        assert "AUTOINCREMENT" in c.execute("SELECT sql FROM sqlite_master WHERE name = 'exclusions'").fetchone()[0]
    command.downgrade(cfg, "0016")
    command.upgrade(cfg, "head")
