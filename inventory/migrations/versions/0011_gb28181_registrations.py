"""GB/T 28181 registrations kept across a restart: gb28181_registrations (one row a device),
gb28181_channels (its catalog, with ON/OFF status)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gb28181_registrations",
        sa.Column("device_id", sa.String(20), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("transport", sa.String(8)),
        sa.Column("host", sa.String(64)),
        sa.Column("port", sa.Integer()),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True)),
        sa.Column("last_keepalive", sa.DateTime(timezone=True)),
        sa.Column("keepalive_status", sa.String(16), nullable=False),
        sa.Column("catalog_at", sa.DateTime(timezone=True)),
        sa.Column("info", sa.Text()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name="pk_gb28181_registrations"),
    )
    op.create_table(
        "gb28181_channels",
        sa.Column("device_id", sa.String(20), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("manufacturer", sa.String(255), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("civil_code", sa.String(32), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("parental", sa.Boolean(), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "channel_id", name="pk_gb28181_channels"),
    )
    op.create_index("ix_gb28181_channels_channel_id", "gb28181_channels", ["channel_id"])


def downgrade() -> None:
    op.drop_table("gb28181_channels")
    op.drop_table("gb28181_registrations")
