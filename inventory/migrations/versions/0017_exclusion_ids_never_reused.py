"""exclusions: ids never reused on SQLite (AUTOINCREMENT). An exclusion removed before it began
freed its number, the next one took it, and the audit rows of the removed one then named a live
exclusion. PostgreSQL's sequence never reuses a number: nothing to do there.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # rebuilt with its rows (their ids kept): SQLite's sequence then starts above the highest
    with op.batch_alter_table("exclusions", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
        pass
    # and above every number the audit log names (``exclusion:N``): one removed before this upgrade
    # (its number above the highest left) is not given again either
    bind = op.get_bind()
    named = [int(m.group(1)) for (obj,) in bind.execute(sa.text("SELECT object FROM audit_log WHERE object LIKE 'exclusion:%'"))
             if (m := re.fullmatch(r"exclusion:(\d+)", obj or ""))]
    top = max([*named, bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM exclusions")).scalar_one()])
    if top:
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'exclusions'"))
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('exclusions', :top)"), {"top": top})


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("exclusions", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
        pass
