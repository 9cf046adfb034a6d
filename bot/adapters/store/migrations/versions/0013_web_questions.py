"""web console: questions waiting for their answer stream, in the store so that any
replica of the console serves the stream (they were held in the serving process)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_questions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_key", sa.String(255), nullable=False),
        sa.Column("conversation", sa.String(64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("web_questions")
