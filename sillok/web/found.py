"""The matches of a search a role may be shown, kept for every page of it, compactly.

A search finds every match (not a window of them) so that its totals and facets are exact;
a server keeps what a role is shown of them until the archive changes
(:mod:`sillok.web.caches`). Kept as a run of 8-byte ids per kind, a search of 100,000 matches
holds under a megabyte.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

#: the most matches kept shared by every role (a broader search is matched again per role)
SHARED_MATCHES = 10_000


@dataclass(frozen=True)
class Found:
    """Matches a role may be shown, in order, kept compact: a run of ids per kind (the hits
    come grouped by kind), 8 bytes a match, however many a search finds."""

    runs: tuple[tuple[str, array[int]], ...] = ()

    @classmethod
    def of(cls, hits: Sequence[tuple[str, int]]) -> Found:
        """The hits, in their order."""
        runs: list[tuple[str, array[int]]] = []
        for kind, rid in hits:
            if not runs or runs[-1][0] != kind:
                runs.append((kind, array("q")))
            runs[-1][1].append(rid)
        return cls(tuple(runs))

    def __len__(self) -> int:
        return sum(len(ids) for _kind, ids in self.runs)

    def page(self, offset: int, limit: int) -> list[tuple[str, int]]:
        """The matches from ``offset``, at most ``limit``."""
        shown: list[tuple[str, int]] = []
        for kind, ids in self.runs:
            if offset >= len(ids):
                offset -= len(ids)
                continue
            shown += [(kind, rid) for rid in ids[offset : offset + limit - len(shown)]]
            offset = 0
            if len(shown) >= limit:
                break
        return shown
