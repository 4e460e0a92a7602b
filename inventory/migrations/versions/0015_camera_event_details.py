"""camera_events: whether a camera's parent device answered when it went offline (the alerts say
which side failed: "上联设备在线，疑似摄像机侧断电或故障"), and the changes that made a camera
flapping (its digest counts from them)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("camera_events") as batch:
        batch.add_column(sa.Column("upstream_up", sa.Boolean()))
        batch.add_column(sa.Column("changes", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("camera_events") as batch:
        batch.drop_column("changes")
        batch.drop_column("upstream_up")
