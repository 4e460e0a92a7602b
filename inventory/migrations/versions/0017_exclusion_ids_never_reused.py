"""exclusions: ids never reused on SQLite (AUTOINCREMENT). An exclusion removed before it began
freed its number, the next one took it, and the audit rows of the removed one then named a live
exclusion. PostgreSQL's sequence never reuses a number: nothing to do there.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""
from __future__ import annotations

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


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("exclusions", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
        pass
