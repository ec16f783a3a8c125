"""What a record is indexed under, and a query as index terms.

A search document is a bag of folded tokens (see :mod:`sillok.names`):

* Latin words are folded (no case, diacritics, apostrophes or hyphens);
* Hangul words are indexed whole (DPRK and ROK spelling alike), by every syllable bigram, and
  by their last syllable, so that one- and two-syllable queries (``여정``, ``요덕``) find words
  that contain them without a scan;
* names of persons and places add their romanizations in every family (RR, McCune-Reischauer,
  the DPRK's own, common spellings), so ``Yodok`` finds ``요덕`` and ``김여정`` finds
  ``Kim Yo-jong``;
* an act carries one virtual token per linked record or vocabulary term (its victim, places,
  agencies, act type) instead of their words (:func:`virtual_token`).

An import builds the documents of the records it writes here (:class:`IndexChanges`);
:data:`INDEXED_FIELDS` names the fields they are made from, which the search service's access
rule reads. A query is an AND over its words; each word is an OR over its spellings
(:func:`query_groups`). The index itself (FTS5 or a PostgreSQL tsvector) is the store
dialect's business.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sillok.directory import Directory, Entry
from sillok.names import fold, hangul_normal, is_surname, person_name_tokens, query_terms
from sillok.records.flatacts import ParsedRow
from sillok.store.dialects import Alternative, doc_id
from sillok.store.rows import UpsertResult

_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
_TOKEN_OK = re.compile(r"^[0-9a-z\uac00-\ud7a3]+$")
_WORD_SPLIT = re.compile(r"[\s,.;:!?()\[\]{}\"“”/]+")


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

    The first word that may be a surname ("Kim", "김", "Lee") is matched whole, not as a
    prefix, alone or among other words: as a prefix it matches a fifth of all names and free
    text such as 김책시 (Kimchaek) or "Kimberly", and the index reads every token a prefix
    covers, however selective the other words are. Written with a star ("Kim*", "김*"), it is
    a prefix again, as the person asked. In a query of several words, that surname's Hangul
    syllable is also looked up joined to the first syllable of the other words ("김영" for
    "Kim Yong-chol"), the bigram under which free text that writes the name as one word is
    indexed. Later words, and other Latin words of three letters or more, keep their
    prefixes ("Kim Yong" finds "Kim Yongsu"); a star makes a shorter word a prefix too.
    """
    raw_words = [fold(w) for w in _WORD_SPLIT.split(query) if fold(w)]
    starred = {fold(w) for w in _WORD_SPLIT.split(query) if w.endswith("*") and fold(w)}
    terms_of = [sorted(t for t in terms if _TOKEN_OK.match(t)) for terms in query_terms(query)]
    terms_of = [terms for terms in terms_of if terms]
    heads = [{t[0] for t in terms if _HANGUL_RUN.fullmatch(t)} for terms in terms_of]
    stars = [bool(starred.intersection(terms)) for terms in terms_of]
    surnames = [
        not star and any(t in raw_words and is_surname(t) for t in terms)
        for terms, star in zip(terms_of, stars, strict=True)
    ]
    surname_at = surnames.index(True) if any(surnames) else None
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
                prefix = not (hangul or surname) and term in raw_words and (
                    len(term) >= 3 or stars[i]
                )
                alternatives.append((term, prefix))
        groups.append(list(dict.fromkeys(alternatives)))
    return groups


#: kind -> the fields its search document is made from, beyond those every role reads: a word
#: that matches the document may have matched any of them (see the documents below)
INDEXED_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "act": (("acts", "victim_id"), ("acts", "description")),
    "event": (("events", "title"),),
    "person": (("person_names", "name"),),
    "source": (),
}


# --- the documents an import writes ---------------------------------------------------------

# An import meets the same descriptions and names many times over: the tokenizing that costs
# most is memoised, for a bounded number of distinct values.


@lru_cache(maxsize=20_000)
def _text_tokens(text: str | None) -> frozenset[str]:
    return frozenset(text_tokens(text))


@lru_cache(maxsize=4096)
def _names_document(names: tuple[str, ...]) -> str:
    return document(name_tokens(names))


def act_document(
    row: ParsedRow, values: dict[str, Any], places: Directory, organizations: Sequence[Entry]
) -> str:
    """An act's document: the words of its description (unless confidential), and the
    virtual tokens of its type, victim, places (and the places they are in) and agencies."""
    # A confidential description is sealed (sillok.security.seal): its words stay out of the
    # index, where anyone holding the database key could read them.
    tokens = (
        set(_text_tokens(row.raw.get("description")))
        if row.sharing != "confidential"
        else set()
    )
    tokens.add(virtual_token("type", row.act_type))
    if values["victim_id"] is not None:
        tokens.add(virtual_token("person", values["victim_id"]))
    for entry_id in (values["place_id"], values["facility_id"]):
        for entry in places.ancestors(entry_id)[:2] if entry_id else ():
            tokens.add(virtual_token("place", entry.id))
    for org in organizations:
        tokens.add(virtual_token("organization", org.id))
    return document(tokens)


#: how many weight buckets a person's document may carry (bucket ``b`` holds persons named
#: by 2**b to 2**(b+1) - 1 acts; the last holds every larger number)
WEIGHT_BUCKETS = 21


def weight_bucket(acts: int) -> int | None:
    """The bucket of a person named by ``acts`` acts as victim (None for none): the binary
    logarithm, so that a person's document changes about log2(n) times as acts are added."""
    if acts <= 0:
        return None
    return min(acts.bit_length() - 1, WEIGHT_BUCKETS - 1)


def weight_token(bucket: int) -> str:
    """The token a person's document holds for its :func:`weight_bucket`: how documented the
    person is, read in order by a search that names many persons (a surname alone), most
    documented first (docs/design.md, "A surname's persons by relevance")."""
    return f"xw{bucket}"


def person_document(names: Sequence[str], acts: int = 0) -> str:
    """A person's document: their names, in every script and romanization, and the weight
    token of how many acts name them as victim."""
    names_document = _names_document(tuple(names))
    bucket = weight_bucket(acts)
    if bucket is None or not names_document:
        return names_document
    return f"{names_document} {weight_token(bucket)}"


def source_document(ref: str) -> str:
    """A source's document: its ref (its narrative and title are not indexed)."""
    return document(text_tokens(ref))


def event_document(ref: str, title: str | None) -> str:
    """An event's document: its ref and the words of its title."""
    return document(text_tokens(ref) | _text_tokens(title))


@dataclass
class IndexChanges:
    """The search documents an import's batch writes, and those they replace."""

    documents: list[tuple[int, str]] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)

    def add(
        self,
        kind: str,
        result: UpsertResult,
        refs: Iterable[str],
        document_of: Callable[[str], str],
        also: Collection[str] = (),
    ) -> None:
        """Documents for the records among ``refs`` that the upsert created or changed (and
        those in ``also``); a changed record's old document is replaced."""
        changed = result.created | result.updated | set(also)
        for ref in refs:
            if ref in changed:
                did = doc_id(kind, result.ids[ref])
                if ref not in result.created:
                    self.stale.append(did)
                self.documents.append((did, document_of(ref)))
