"""inventory_revision: one counter that every write to cameras, points, regions or devices bumps
(database triggers, so every writer counts: imports, the web console, hand-written SQL). A
collector's 30 s reload reads it first and skips rebuilding its inventory when it has not moved.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("cameras", "points", "regions", "devices")
BUMP = "UPDATE inventory_revision SET revision = revision + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "inventory_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inventory_revision"),
    )
    op.execute("INSERT INTO inventory_revision (id, revision) VALUES (1, 0)")
    if op.get_context().dialect.name == "postgresql":
        # one bump per statement (an import's batch of 500 rows: one bump)
        op.execute("CREATE FUNCTION camwatch_bump_inventory() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN {BUMP}; RETURN NULL; END $$")
        for t in TABLES:
            op.execute(f"CREATE TRIGGER bump_inventory_{t} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t}"
                       " FOR EACH STATEMENT EXECUTE FUNCTION camwatch_bump_inventory()")
    else:  # SQLite has row triggers only
        for t in TABLES:
            for what in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER bump_inventory_{t}_{what.lower()} AFTER {what} ON {t}"
                           f" BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for t in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS bump_inventory_{t} ON {t}")
        op.execute("DROP FUNCTION IF EXISTS camwatch_bump_inventory()")
    else:
        for t in TABLES:
            for what in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS bump_inventory_{t}_{what}")
    op.drop_table("inventory_revision")
