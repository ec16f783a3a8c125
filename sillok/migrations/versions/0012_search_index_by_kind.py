"""the search index split by record kind (PostgreSQL; no change on SQLite)

PostgreSQL's one GIN index over every search document could not restrict a match by record
kind: a search among acts for a surname (``Lee``) took from the index every person spelled
that way and dropped them on the heap, one row at a time, linear in the archive. From this
revision each kind has a partial GIN index of its own (``WHERE doc BETWEEN`` the kind's id
range, as the dialect's match writes it), and the index over all is dropped. The documents
are unchanged. On SQLite nothing changes: FTS5 reads a kind's range from its doclists.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    config = op.get_context().config
    assert config is not None  # sillok.store runs migrations with its config
    config.attributes["sillok_dialect"].index_search_by_kind(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_search_docs_tokens ON search_docs USING GIN (tokens)"
        )
        for kind in ("source", "event", "act", "person", "place", "organization", "statement"):
            op.execute(f"DROP INDEX IF EXISTS ix_search_docs_tokens_{kind}")
