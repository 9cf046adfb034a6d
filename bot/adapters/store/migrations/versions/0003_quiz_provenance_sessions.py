"""quiz items keep their passage and document version; quiz sessions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("quiz_items") as batch:
        batch.add_column(sa.Column("passage", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("doc_version", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("origin", sa.String(16), nullable=False, server_default="cloze"))
    op.create_table(
        "quiz_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "learner_id",
            sa.String(64),
            sa.ForeignKey("learners.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("asked_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("quiz_sessions")
    with op.batch_alter_table("quiz_items") as batch:
        batch.drop_column("origin")
        batch.drop_column("doc_version")
        batch.drop_column("passage")
