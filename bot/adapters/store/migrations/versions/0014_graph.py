"""knowledge graph: documents' concepts and relations per version (retrieval/graph), in
SQL; Chroma keeps the concept vectors, matched to these rows by position

Documents indexed before this keep their graph in Chroma's concept metadata (the reader
falls back to it) until they are ingested again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _version() -> list[sa.Column[object]]:
    # the primary key's prefix (doc_id, version) is the index every read and delete uses
    return [
        sa.Column("doc_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
    ]


def upgrade() -> None:
    op.create_table(
        "graph_concepts",
        *_version(),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
    )
    op.create_table(
        "graph_relations",
        *_version(),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("graph_relations")
    op.drop_table("graph_concepts")
