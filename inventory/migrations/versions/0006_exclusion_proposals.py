"""exclusion proposals: status (proposed/approved/rejected/ended), proposer, decider, decision time and note;
rows from before are approved

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exclusions") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), server_default=sa.text("'approved'"), nullable=False))
        batch.add_column(sa.Column("proposer", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("decider", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("decision_note", sa.Text(), nullable=True))
        batch.create_index(batch.f("ix_exclusions_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exclusions") as batch:
        batch.drop_index(batch.f("ix_exclusions_status"))
        batch.drop_column("decision_note")
        batch.drop_column("decided_at")
        batch.drop_column("decider")
        batch.drop_column("proposer")
        batch.drop_column("status")
