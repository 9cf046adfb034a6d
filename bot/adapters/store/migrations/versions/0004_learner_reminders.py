"""learners: e-mail (to link accounts), time zone and review reminder settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("learners") as batch:
        batch.add_column(sa.Column("email", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("reminders", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_learners_email", ["email"])


def downgrade() -> None:
    with op.batch_alter_table("learners") as batch:
        batch.drop_index("ix_learners_email")
        batch.drop_column("reminded_at")
        batch.drop_column("reminders")
        batch.drop_column("timezone")
        batch.drop_column("email")
