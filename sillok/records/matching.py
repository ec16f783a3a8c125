"""What the index holds for a query: the query's words, the records they name, and the
records indexed under either.

A query word also stands for the persons, places, agencies and act types it names (acts are
indexed under those records' virtual tokens, not their names); a word that names a person is
matched through the acts' victim index; a word naming many persons reads the most documented
first (:mod:`sillok.records.weights`). :class:`IndexMatcher` does this for
:class:`sillok.records.search.Searcher`, which applies the access rule to what it finds.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from sillok import vocab
from sillok.records.index import (
    WEIGHT_BUCKETS,
    query_groups,
    text_tokens,
    virtual_token,
    weight_token,
)
from sillok.store import search as index_store
from sillok.store.dialects import Alternative
from sillok.store.queries import ActFilter

if TYPE_CHECKING:
    from sillok.vault import Vault

#: the record kinds a search can return, in the order results are listed
SEARCH_KINDS = ("act", "event", "source", "person")
#: how many persons one query word may name and still find their acts by victim
PERSONS_PER_WORD = 300
#: how many times as many persons as it expands a word's most documented are read from the
#: index to be ordered by their exact number of acts
OVERREAD = 4
#: the weight buckets a word naming many persons reads, in this order: the rare heavy ones
#: (32 acts or more) in one lookup, then one lookup per bucket
_BUCKET_STEPS = (tuple(range(WEIGHT_BUCKETS - 1, 4, -1)), (4,), (3,), (2,), (1,), (0,))


class IndexMatcher:
    """Finds a query's records in the archive's index (before any access rule)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    @cached_property
    def _type_keys(self) -> dict[str, set[str]]:
        """Token -> the act types whose key, labels or aliases contain it."""
        found: dict[str, set[str]] = {}
        for term in vocab.load("act_types").terms:
            words = [term.key.replace("_", " "), *term.labels.values(), *term.aliases]
            for token in set().union(*(text_tokens(w) for w in words)):
                found.setdefault(token, set()).add(term.key)
        return found

    def _expand(
        self, conn: Connection, groups: list[list[Alternative]], limit: int | None
    ) -> tuple[list[list[Alternative]], list[tuple[str, int]], list[int]]:
        """Each query word's alternatives plus the virtual tokens of what it names, the
        persons the whole query names, and the persons whose acts match as victims' acts
        without a virtual token (those of a one-word query).

        An act is indexed under its victim's token, not their names, so a word also stands for
        the persons it names; for a query of several words, also for the persons named by all
        of them (the victims of "Kim Yong-chol"), who are found with the words' index lookups
        intersected, where one word alone ("Kim") names more persons than are expanded (the
        first :data:`PERSONS_PER_WORD`). A query of one word finds its persons' acts by the
        acts' victim index instead: as 300 alternatives of the index's query they took 127 of
        the 166 ms of a search for "Kim" at 100,000 acts (docs/benchmarks.md); its persons
        are every one it names when ``limit`` is None, else the :data:`PERSONS_PER_WORD` most
        documented (:meth:`_persons_by_weight`).
        """
        dialect = self.vault.store.dialect
        named_by_all: list[tuple[str, int]] = []
        if len(groups) > 1:
            named_by_all = index_store.search_documents(
                conn, dialect, groups, ["person"], ActFilter(), PERSONS_PER_WORD
            )
        expanded = []
        victims: list[int] = []
        for group in groups:
            tokens = {t for t, _prefix in group if isinstance(t, str)}
            virtual: set[str] = set()
            for token in tokens:
                places, orgs = self.vault.places, self.vault.organizations
                virtual.update(virtual_token("place", i) for i in places.ids_for(token))
                virtual.update(virtual_token("organization", i) for i in orgs.ids_for(token))
                virtual.update(virtual_token("type", k) for k in self._type_keys.get(token, ()))
            if len(groups) == 1:
                named_by_all = self._persons_by_weight(
                    conn, group, None if limit is None else PERSONS_PER_WORD
                )
                victims = [rid for _kind, rid in named_by_all]
            else:
                persons = index_store.search_documents(
                    conn, dialect, [group], ["person"], ActFilter(), PERSONS_PER_WORD
                )
                virtual.update(
                    virtual_token("person", rid) for _kind, rid in persons + named_by_all
                )
            expanded.append([*group, *((v, False) for v in sorted(virtual))])
        return expanded, named_by_all, victims

    def _persons_by_weight(
        self, conn: Connection, group: list[Alternative], limit: int | None
    ) -> list[tuple[str, int]]:
        """The persons one query word names, the most documented first; at most ``limit``,
        every one (in the index's order) with None.

        A word naming fewer than :data:`OVERREAD` times ``limit`` persons has them all read
        and ordered by how many acts name each. One naming more (a surname alone) has them
        read bucket by bucket (the word AND a weight token, the heaviest first:
        :mod:`sillok.records.weights`), up to that many, then ordered the same way, the
        persons no act names last. So a surname that names a fifth of all persons is not
        read in full for a page of its most documented, and the order is exact among all the
        persons read; only within the last bucket read are those left out the index's
        (oldest first).
        """
        dialect = self.vault.store.dialect
        if limit is None:
            return index_store.search_documents(
                conn, dialect, [group], ["person"], ActFilter(), None
            )
        wanted = limit * OVERREAD
        plain = index_store.search_documents(
            conn, dialect, [group], ["person"], ActFilter(), wanted
        )
        found: list[tuple[str, int]] = []
        if len(plain) < wanted:
            found = plain  # every person the word names: ordered below
        else:
            for buckets in _BUCKET_STEPS:
                if len(found) >= limit:
                    break
                found += index_store.search_documents(
                    conn, dialect, [group, [(weight_token(b), False) for b in buckets]],
                    ["person"], ActFilter(), wanted - len(found),
                )
            seen = set(found)  # then those no act names (perpetrators, persons entered alone)
            found += [hit for hit in plain if hit not in seen][: max(0, limit - len(found))]
        counts = index_store.acts_per_victim(conn, [rid for _kind, rid in found])
        found.sort(key=lambda hit: -counts.get(hit[1], 0))
        return found[:limit]

    def find(
        self, query: str, act_filter: ActFilter, limit: int | None
    ) -> tuple[list[tuple[str, int]], dict[tuple[str, int], int]]:
        """(kind, id) of what the index holds for a query and an act filter, acts first
        (at most ``limit``; every one with None), and the weights :func:`order_hits` orders
        them by."""
        groups = query_groups(query) if query.strip() else []
        weights: dict[tuple[str, int], int] = {}
        if query.strip() and not groups:
            return [], weights
        kinds = ("act",) if not act_filter.is_empty() else SEARCH_KINDS
        with self.vault.store.reading() as conn:
            if not groups:
                found = [("act", i) for i in index_store.filter_acts(conn, act_filter, limit)]
                return found, weights
            expanded, named, victims = self._expand(conn, groups, limit)
            found = []
            for kind in kinds:  # acts first, then events, sources, persons
                wanted = None if limit is None else limit - len(found)
                if kind == "person" and wanted is not None and wanted <= PERSONS_PER_WORD:
                    # the query that found the persons to expand, with a larger limit
                    found += named[:wanted]
                    break
                if kind == "act" and victims:
                    found += self._victims_acts(conn, expanded, victims, act_filter, wanted,
                                                weights)
                else:
                    # only acts' documents hold virtual tokens: the others are searched
                    # without them, which spares the index hundreds of lookups
                    found += index_store.search_documents(
                        conn, self.vault.store.dialect, expanded if kind == "act" else groups,
                        [kind], act_filter, wanted,
                    )
                if limit is not None and len(found) >= limit:
                    break
        return found, weights

    def _victims_acts(
        self,
        conn: Connection,
        groups: list[list[Alternative]],
        victims: list[int],
        act_filter: ActFilter,
        limit: int | None,
        weights: dict[tuple[str, int], int],
    ) -> list[tuple[str, int]]:
        """The acts of a one-word query: those of the persons it names (through the acts'
        victim index) and those its words match, the acts of the most documented persons
        first (how many of the matched acts name each: ``weights`` gets it for each such
        person and act), then the newest; at most ``limit``."""
        by_words = index_store.search_documents(
            conn, self.vault.store.dialect, groups, ["act"], act_filter, limit
        )
        pairs = index_store.acts_of_victims(conn, victims, act_filter)
        per_victim = Counter(victim for _act, victim in pairs)
        for act, victim in pairs:
            weights[("act", act)] = per_victim[victim]
        for victim, count in per_victim.items():
            weights[("person", victim)] = count
        merged = {*by_words, *(("act", act) for act, _victim in pairs)}
        ordered = sorted(merged, key=lambda hit: (-weights.get(hit, 0), -hit[1]))
        return ordered if limit is None else ordered[:limit]

