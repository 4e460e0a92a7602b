"""daily rollups: the cumulative half probe gaps of the transitions (unc_us); rows rebuilt

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("camera_rollups") as batch:
        batch.add_column(sa.Column("unc_us", sa.BigInteger(), server_default="0", nullable=False))
    # the rows are a cache: built again (with the new column) by the collector or `camwatch db rollup`
    op.execute("DELETE FROM camera_rollups")
    op.execute("DELETE FROM rollup_days")


def downgrade() -> None:
    with op.batch_alter_table("camera_rollups") as batch:
        batch.drop_column("unc_us")
