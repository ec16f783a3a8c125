"""Search: what a record is indexed under, and how a query becomes index lookups.

A search document is a bag of folded tokens (see :mod:`sillok.names`):

* Latin words are folded (no case, diacritics, apostrophes or hyphens);
* Hangul words are indexed whole (DPRK and ROK spelling alike), by every syllable bigram, and
  by their last syllable, so that one- and two-syllable queries (``여정``, ``요덕``) find words
  that contain them without a scan;
* names of persons and places add their romanizations in every family (RR, McCune-Reischauer,
  the DPRK's own, common spellings), so ``Yodok`` finds ``요덕`` and ``김여정`` finds
  ``Kim Yo-jong``.

A query is an AND over its words; each word is an OR over its spellings. The index itself
(FTS5 or a PostgreSQL tsvector) is the store dialect's business.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from sillok import vocab
from sillok.dates import DateError, parse_date
from sillok.errors import InvalidInput
from sillok.names import fold, hangul_normal, is_surname, person_name_tokens, query_terms
from sillok.store import queries
from sillok.store.dialects import Alternative
from sillok.store.queries import ActFilter

if TYPE_CHECKING:
    from sillok.records.reading import RecordBook
    from sillok.vault import Vault

_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
_TOKEN_OK = re.compile(r"^[0-9a-z\uac00-\ud7a3]+$")
_WORD_SPLIT = re.compile(r"[\s,.;:!?()\[\]{}\"“”/]+")

#: the record kinds a search can return, in the order results are listed
SEARCH_KINDS = ("act", "event", "source", "person")
#: how many persons one query word may name and still find their acts by victim
PERSONS_PER_WORD = 300


def hangul_grams(word: str) -> set[str]:
    """A Hangul word, its syllable bigrams and its last syllable."""
    grams: set[str] = set()
    for run in _HANGUL_RUN.findall(hangul_normal(word)):
        grams.add(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
        grams.add(run[-1])
    return grams


def text_tokens(text: str | None) -> set[str]:
    """Tokens of free text (a description, a title, a narrative)."""
    if not text:
        return set()
    tokens: set[str] = set()
    for word in _WORD_SPLIT.split(text):
        if not word:
            continue
        if _HANGUL_RUN.search(word):
            tokens |= hangul_grams(word)
            if _HANGUL_RUN.fullmatch(word):
                continue
        folded = fold(word)
        if folded:
            tokens.add(folded)
    return {t for t in tokens if _TOKEN_OK.match(t)}


_VIRTUAL_PREFIX = {"type": "xt", "person": "xv", "place": "xp", "organization": "xo"}
_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def virtual_token(kind: str, value: object) -> str:
    """The token that stands in an act's document for a linked record or vocabulary term.

    An act is not indexed under every spelling of its victim's name or its place: it carries
    one token per linked record (``xv12`` for person 12), and a query word is expanded to the
    tokens of the records it names. This keeps documents small, so imports stay fast.
    """
    return _VIRTUAL_PREFIX[kind] + _NOT_ALNUM.sub("", str(value).lower())


def name_tokens(names: Iterable[str]) -> set[str]:
    """Tokens of a person's names, in every script and romanization."""
    tokens: set[str] = set()
    for name in names:
        tokens |= person_name_tokens(name)
        if _HANGUL_RUN.search(name):
            tokens |= hangul_grams(name.replace(" ", ""))
    return {t for t in tokens if _TOKEN_OK.match(t)}


def document(tokens: Iterable[str]) -> str:
    """A search document from tokens (sorted, so equal records give equal documents)."""
    return " ".join(sorted(set(tokens)))


def query_groups(query: str) -> list[list[Alternative]]:
    """A query as AND-groups of alternatives (token, is_prefix) for the store's index.

    In a query of several words, the first word that may be a surname ("Kim", "김") is matched
    whole, not as a prefix: as a prefix it matches a fifth of all names (and free text such as
    김책시, Kimchaek), and the index reads every token a prefix covers however selective the
    other words are. Its Hangul syllable is also looked up joined to the first syllable of the
    other words ("김영" for "Kim Yong-chol"), the bigram under which free text that writes the
    name as one word is indexed. Later words keep their prefixes ("Kim Yong" finds "Kim
    Yongsu").
    """
    raw_words = [fold(w) for w in _WORD_SPLIT.split(query) if fold(w)]
    terms_of = [sorted(t for t in terms if _TOKEN_OK.match(t)) for terms in query_terms(query)]
    terms_of = [terms for terms in terms_of if terms]
    heads = [{t[0] for t in terms if _HANGUL_RUN.fullmatch(t)} for terms in terms_of]
    surnames = [any(t in raw_words and is_surname(t) for t in terms) for terms in terms_of]
    surname_at = surnames.index(True) if len(terms_of) > 1 and any(surnames) else None
    groups: list[list[Alternative]] = []
    for i, terms in enumerate(terms_of):
        surname = i == surname_at
        following = sorted(set().union(*heads[:i], *heads[i + 1 :])) if surname else []
        alternatives: list[Alternative] = []
        for term in terms:
            hangul = _HANGUL_RUN.fullmatch(term) is not None
            if hangul and len(term) == 1:
                alternatives.append((term, not surname))
                alternatives.extend((term + head, False) for head in following)
            elif hangul and len(term) > 2:
                alternatives.append((term, False))
                bigrams = tuple(sorted({term[i : i + 2] for i in range(len(term) - 1)}))
                alternatives.append((bigrams, False))
            else:
                prefix = not (hangul or surname) and term in raw_words and len(term) >= 3
                alternatives.append((term, prefix))
        groups.append(list(dict.fromkeys(alternatives)))
    return groups


@dataclass(frozen=True)
class Hit:
    """One search result."""

    kind: str
    id: int
    title: str

    def to_json(self) -> dict[str, object]:
        """The JSON form: kind, id, title."""
        return {"kind": self.kind, "id": self.id, "title": self.title}


def order_hits(found: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Hits grouped by kind in :data:`SEARCH_KINDS` order, newest record first within a kind."""
    rank = {k: i for i, k in enumerate(SEARCH_KINDS)}
    return sorted(set(found), key=lambda h: (rank.get(h[0], 99), -h[1]))


class Searcher:
    """Search over an archive's sources, events, acts and persons."""

    def __init__(self, vault: Vault, records: RecordBook) -> None:
        self.vault = vault
        self.records = records

    def act_filter(
        self,
        act_type: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        place: str | None = None,
        facility: str | None = None,
        agency: str | None = None,
    ) -> ActFilter:
        """An act filter from what a person typed; each name is resolved in any script.

        Raises:
            InvalidInput: naming the option and value that cannot be resolved.
        """
        act_types = facility_ids = place_ids = None
        facility_type = lower = upper = None
        if act_type:
            term = vocab.load("act_types").lookup(act_type)
            if term is None:
                raise InvalidInput(f"--act-type: unknown act type {act_type!r}")
            act_types = frozenset(
                [term.key, *(t.key for t in vocab.load("act_types").descendants(term.key))]
            )
        try:
            if date_from:
                lower = parse_date(date_from).lower
            if date_to:
                upper = parse_date(date_to).upper
        except DateError as exc:
            raise InvalidInput(f"--from/--to: {exc}") from None
        if place:
            entry = self.vault.places.resolve(place)
            if entry is None:
                raise InvalidInput(f"--place: unknown place {place!r}")
            place_ids = frozenset(self.vault.places.within(entry.id))
        if facility:
            entry = self.vault.places.resolve(facility, facility=True)
            ftype = vocab.load("facility_types").lookup(facility)
            if ftype is not None:
                facility_type = ftype.key
            elif entry is not None and entry.kind == "facility":
                facility_ids = frozenset(self.vault.places.within(entry.id))
            else:
                raise InvalidInput(f"--facility: unknown facility or facility type {facility!r}")
        return ActFilter(
            act_types,
            lower,
            upper,
            place_ids,
            facility_ids,
            _orgs(self.vault, agency),
            facility_type,
        )

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
        self, conn: Connection, groups: list[list[Alternative]]
    ) -> tuple[list[list[Alternative]], list[tuple[str, int]]]:
        """Each query word's alternatives plus the virtual tokens of what it names, and the
        persons the whole query names (the first :data:`PERSONS_PER_WORD`).

        An act is indexed under its victim's token, not their names, so a word also stands for
        the persons it names; for a query of several words, also for the persons named by all
        of them (the victims of "Kim Yong-chol"), who are found with the words' index lookups
        intersected, where one word alone ("Kim") names more persons than are expanded.
        """
        dialect = self.vault.store.dialect
        named_by_all: list[tuple[str, int]] = []
        if len(groups) > 1:
            named_by_all = queries.search_documents(
                conn, dialect, groups, ["person"], ActFilter(), PERSONS_PER_WORD
            )
        expanded = []
        for group in groups:
            tokens = {t for t, _prefix in group if isinstance(t, str)}
            virtual: set[str] = set()
            for token in tokens:
                places, orgs = self.vault.places, self.vault.organizations
                virtual.update(virtual_token("place", i) for i in places.ids_for(token))
                virtual.update(virtual_token("organization", i) for i in orgs.ids_for(token))
                virtual.update(virtual_token("type", k) for k in self._type_keys.get(token, ()))
            persons = queries.search_documents(
                conn, dialect, [group], ["person"], ActFilter(), PERSONS_PER_WORD
            )
            virtual.update(virtual_token("person", rid) for _kind, rid in persons + named_by_all)
            expanded.append([*group, *((v, False) for v in sorted(virtual))])
            if len(groups) == 1:
                named_by_all = persons
        return expanded, named_by_all

    def search(
        self, query: str, act_filter: ActFilter | None = None, limit: int | None = None
    ) -> list[Hit]:
        """Records matching a query (any script) and, when given, an act filter."""
        found = self.find(query, act_filter, limit)
        titles = self.records.titles(found)
        return [Hit(kind, rid, titles.get((kind, rid), f"{kind} {rid}")) for kind, rid in found]

    def find(
        self, query: str, act_filter: ActFilter | None = None, limit: int | None = None
    ) -> list[tuple[str, int]]:
        """(kind, id) of the records :meth:`search` finds, in its order, without titles: a
        page that shows 20 of 100 matches makes titles for those 20 only."""
        act_filter = act_filter or ActFilter()
        limit = limit or self.vault.settings.search_limit
        groups = query_groups(query) if query.strip() else []
        if query.strip() and not groups:
            return []
        kinds = ("act",) if not act_filter.is_empty() else SEARCH_KINDS
        with self.vault.store.reading() as conn:
            if groups:
                expanded, named = self._expand(conn, groups)
                found: list[tuple[str, int]] = []
                for kind in kinds:  # acts first, then events, sources, persons
                    wanted = limit - len(found)
                    if kind == "person" and wanted <= PERSONS_PER_WORD:
                        # the query that found the persons to expand, with a larger limit
                        found += named[:wanted]
                        break
                    # only acts' documents hold virtual tokens: the others are searched
                    # without them, which spares the index hundreds of lookups
                    found += queries.search_documents(
                        conn, self.vault.store.dialect, expanded if kind == "act" else groups,
                        [kind], act_filter, wanted,
                    )
                    if len(found) >= limit:
                        break
            else:
                found = [("act", i) for i in queries.filter_acts(conn, act_filter, limit)]
        return order_hits(found)


def _orgs(vault: Vault, agency: str | None) -> frozenset[int] | None:
    if not agency:
        return None
    entry = vault.organizations.resolve(agency)
    if entry is None:
        raise InvalidInput(f"--agency: unknown agency {agency!r}")
    return frozenset({entry.id})
