"""How documented a person is, as the search index holds it: a weight token per person.

A person's search document carries the binary logarithm of how many acts name them as victim
(:func:`sillok.records.index.weight_token`), so that a query word naming thousands of persons
(a surname alone) reads its most documented persons first, bucket by bucket, instead of an
arbitrary first few hundred (docs/design.md, "A surname's persons by relevance"). An import
writes the bucket into every person document it writes, and rewrites the documents of the
persons whose bucket its new acts moved (:func:`reweigh`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection

from sillok.records.index import IndexChanges, person_document, weight_bucket
from sillok.records.person_refs import opened_names
from sillok.store.dialects import doc_id
from sillok.store.seals import protected_persons

if TYPE_CHECKING:
    from sillok.security.seal import Sealer


def reweigh(
    conn: Connection,
    sealer: Sealer,
    added: dict[int, int],
    counts: dict[int, int],
    written: set[int],
    changes: IndexChanges,
) -> None:
    """Add to ``changes`` the documents of the victims whose weight bucket moved when
    ``added`` acts (per victim) were written, now named by ``counts`` acts, and that are not
    ``written`` anyway. A bucket moves about log2(n) times in a person's life, so this is
    rare. Protected persons have no document; neither do persons without a name."""
    moved = [
        pid
        for pid, n in added.items()
        if pid not in written
        and weight_bucket(counts.get(pid, 0)) != weight_bucket(counts.get(pid, 0) - n)
    ]
    if not moved:
        return
    plain = set(moved) - set(protected_persons(conn, moved))
    names = opened_names(conn, sealer, sorted(plain))
    for pid in sorted(plain):
        if names.get(pid):
            did = doc_id("person", pid)
            changes.stale.append(did)
            changes.documents.append((did, person_document(names[pid], counts[pid])))
