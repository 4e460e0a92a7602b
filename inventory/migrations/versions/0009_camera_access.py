"""cameras: 接入方式 (access: direct, gb28181 or both; existing cameras are direct)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(sa.Column(
            "access", sa.Enum("direct", "gb28181", "both", name="access", native_enum=False, length=16),
            server_default="direct", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.drop_column("access")
