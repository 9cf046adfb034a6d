"""quiz items keep every document version they came from (their provenance)

Items banked before this have none (NULL): they are re-checked against the material
before they are next shown, and kept only if their provenance can be re-established.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quiz_items") as batch:
        batch.add_column(sa.Column("sources", sa.JSON(), nullable=True))
        batch.alter_column("audience", type_=sa.String(512))


def downgrade() -> None:
    with op.batch_alter_table("quiz_items") as batch:
        batch.drop_column("sources")
        batch.alter_column("audience", type_=sa.String(64))
