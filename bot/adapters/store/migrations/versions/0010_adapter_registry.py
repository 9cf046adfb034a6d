"""adapters: the learning loop's adapter registry, shared by every bot pod and worker

It was a JSON file beside the adapters' files; each process that finds this table empty
and a `registry.json` in its adapter folder imports that file once (see
bot/adapters/store/registry.py): a migration job need not mount the adapters volume.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table(
        "adapters",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("base_model", sa.String(255), nullable=False),
        sa.Column("prompt_version", sa.String(32), nullable=False),
        sa.Column("dataset_hash", sa.String(128), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
    )
    # one active adapter, whatever two promotions at once try
    op.create_index(
        "one_active_adapter",
        "adapters",
        ["status"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("one_active_adapter", table_name="adapters")
    op.drop_table("adapters")
