"""camera rollups (cumulative accounted time per camera at each UTC midnight), index on interval start

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_rollups",
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("intact_us", sa.BigInteger(), nullable=False),
        sa.Column("degraded_us", sa.BigInteger(), nullable=False),
        sa.Column("offline_us", sa.BigInteger(), nullable=False),
        sa.Column("carry_state", sa.String(length=16), nullable=True),
        sa.Column("carry_end", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("day", "camera_id", name=op.f("pk_camera_rollups")),
    )
    op.create_table(
        "rollup_days",
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cameras", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_rollup_days")),
    )
    with op.batch_alter_table("state_intervals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_state_intervals_start"), ["start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("state_intervals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_state_intervals_start"))
    op.drop_table("rollup_days")
    op.drop_table("camera_rollups")
