"""compact the search index once (no schema change)

An archive imported before imports compacted the search index keeps it in many FTS5 segments,
each looked up by every query token; merging them once makes its searches as fast as those of
an archive imported now. On PostgreSQL this refreshes the search table's statistics.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    config = op.get_context().config
    assert config is not None  # sillok.store runs migrations with its config
    config.attributes["sillok_dialect"].compact_search_index(op.get_bind())


def downgrade() -> None:
    pass  # nothing to undo: the index holds the same documents
