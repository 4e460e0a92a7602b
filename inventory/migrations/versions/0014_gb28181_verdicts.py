"""gb28181_verdicts: with collector replicas, the leader's GB/T 28181 platform writes each
GB28181-only camera's latest verdict here; the replica owning the camera follows it (``seq``:
on PostgreSQL a sequence, handed out in commit order under a transaction lock).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gb28181_verdicts",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True)),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("replica", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("camera_id", name="pk_gb28181_verdicts"),
    )
    op.create_index("ix_gb28181_verdicts_seq", "gb28181_verdicts", ["seq"])
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE gb28181_verdict_seq")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS gb28181_verdict_seq")
    op.drop_index("ix_gb28181_verdicts_seq", table_name="gb28181_verdicts")
    op.drop_table("gb28181_verdicts")
