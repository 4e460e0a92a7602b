"""the replicas' leader: camera_events (every replica's state machine events), leader_cursors,
alert_deliveries (delivery keys persisted before sending)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("old", sa.String(16)),
        sa.Column("new", sa.String(16)),
        sa.Column("cause", sa.String(32)),
        sa.Column("start", sa.DateTime(timezone=True)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flapping", sa.Boolean()),
        sa.Column("checks", sa.JSON()),
        sa.Column("replica", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_camera_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_camera_events_at", "camera_events", ["at"])
    op.create_table(
        "leader_cursors",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replica", sa.String(64)),
        sa.PrimaryKeyConstraint("name", name="pk_leader_cursors"),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("incident_key", sa.String(128)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replica", sa.String(64)),
        sa.PrimaryKeyConstraint("key", name="pk_alert_deliveries"),
    )
    op.create_index("ix_alert_deliveries_incident_key", "alert_deliveries", ["incident_key"])
    op.create_index("ix_alert_deliveries_status", "alert_deliveries", ["status"])


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("leader_cursors")
    op.drop_table("camera_events")
