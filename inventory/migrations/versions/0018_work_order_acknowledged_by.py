"""work_orders.acknowledged_by: who took an order (an account's name, cli:USER, api), so that an
escalation resumed after the order's deadline says who took it and when

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(sa.Column("acknowledged_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("acknowledged_by")
