"""each person's search document holds how documented the person is (a weight token)

From this revision a person's search document carries ``xw`` and the binary logarithm of how
many acts name them as victim (sillok.records.weights; docs/design.md, "A surname's persons by
relevance"), which a search naming many persons reads first. Imports write it from now on;
this revision writes it into the documents of the persons acts already name: each such person
who is not protected (a protected person has no document) and none of whose names is sealed
is indexed anew from their names, as an import indexes them, and the index is merged after.
Rows are unchanged, and so is the log.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_CHUNK = 2000


def upgrade() -> None:
    from sillok.records.index import person_document
    from sillok.security.seal import is_sealed
    from sillok.store.dialects import doc_id

    config = op.get_context().config
    assert config is not None  # sillok.store runs migrations with its config
    dialect = config.attributes["sillok_dialect"]
    bind = op.get_bind()
    counts: dict[int, int] = {
        int(victim): int(count)
        for victim, count in bind.execute(sa.text(
            "SELECT victim_id, count(*) FROM acts WHERE victim_id IS NOT NULL GROUP BY victim_id"
        ))
    }
    ids = sorted(counts)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        names: dict[int, list[str]] = {}
        sealed: set[int] = set()
        rows = bind.execute(
            sa.text(
                "SELECT n.person_id, n.name FROM person_names n JOIN persons p "
                "ON p.id = n.person_id WHERE n.person_id IN :ids AND NOT p.protected "
                "ORDER BY n.id"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": chunk},
        )
        for person_id, name in rows:
            if is_sealed(name):
                sealed.add(person_id)
            names.setdefault(person_id, []).append(name)
        docs = [
            (doc_id("person", pid), person_document(every, counts[pid]))
            for pid, every in sorted(names.items())
            if pid not in sealed
        ]
        dialect.unindex_documents(bind, [did for did, _document in docs])
        dialect.index_documents(bind, [(did, document) for did, document in docs if document])
    if ids:
        # Rewritten documents leave FTS5's index in many segments (and deleted ones marked);
        # merged, searches read it as fast as before (at 1M acts, without this step, a
        # place name's search took 41 ms of CPU against 6.6 before the migration).
        dialect.compact_search_index(bind)


def downgrade() -> None:
    pass  # the weight tokens order searches; an older revision's code ignores them
