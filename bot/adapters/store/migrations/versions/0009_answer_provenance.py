"""answers record what training needs to trust them: prompt version, audiences, place

The adapter that wrote an answer was already kept (`adapter_version`); each passage's
document version and audiences go into the `passages` JSON. Answers from before this have
NULL audiences and are never used for training.

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
NEW = ("history_turns", "channel", "place", "audiences", "asker_audiences")


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(
            sa.Column("prompt_version", sa.String(32), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("asker_audiences", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("audiences", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("place", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("channel", sa.String(255), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("history_turns", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        for column in (*NEW, "prompt_version"):
            batch.drop_column(column)
