"""Sillok's controlled vocabularies: act types, facility types, agencies and places.

Each vocabulary is a versioned JSON document shipped in ``sillok/vocab/data/`` (see
docs/vocabularies.md for the format and the sources). :func:`load` reads one; a
:class:`Vocabulary` answers key look-ups, free-text look-ups (:meth:`Vocabulary.lookup`) and
hierarchy queries. An archive adds its own terms with :meth:`Vocabulary.extended`; terms are never
deleted, only deprecated.

Free-text look-up resolves in this order, so a spelling can never be claimed twice:
1. the key itself (exact, case-insensitive: "KP-08", "torture");
2. a Korean or English label, folded (:func:`sillok.names.fold`: case, diacritics, apostrophes,
   hyphens, spaces and DPRK/ROK initial sounds do not matter);
3. an alias, folded;
4. a romanization (RR, McCune-Reischauer, DPRK style) of a Hangul label or alias, folded.
At each level live terms win over deprecated ones. Two live terms sharing a folded label, or a
folded alias, is an error that :func:`validate` reports; any other tie (a romanization two terms
share, a text two deprecated terms share) resolves to neither.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from importlib import resources
from types import MappingProxyType
from typing import Any

from sillok.errors import InvalidInput, NotFound
from sillok.names import fold, is_hangul, romanize

__all__ = [
    "VOCABULARY_NAMES",
    "InvalidVocabulary",
    "Term",
    "UnknownTerm",
    "UnknownVocabulary",
    "Vocabulary",
    "load",
    "validate",
]

VOCABULARY_NAMES: tuple[str, ...] = ("act_types", "facility_types", "agencies", "places")

LANGUAGES: tuple[str, ...] = ("ko", "en")
_TERM_FIELDS = frozenset(
    {"key", "labels", "aliases", "parent", "legal_refs", "deprecated", "extra"}
)
_DOC_FIELDS = frozenset({"name", "version", "description", "terms", "sources"})
_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$")
_KEY = re.compile(r"^\S+$")
_ESF = re.compile(r"^\d{12}$")  # a HURIDOCS micro-thesaurus code (sillok.vocab.esf)
_LEVEL_NAMES = ("key", "label", "alias", "romanization")
_ROMANIZATIONS = ("rr", "mr", "dprk")


class UnknownVocabulary(NotFound, ValueError):
    """No shipped vocabulary has that name."""


class UnknownTerm(NotFound, KeyError):
    """A vocabulary has no term with that key."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; show the message as written.
        return str(self.args[0]) if self.args else ""


class InvalidVocabulary(InvalidInput, ValueError):
    """A vocabulary document fails :func:`validate`; ``problems`` lists every failure."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:10]) + ("; ..." if len(problems) > 10 else "")
        super().__init__(f"vocabulary {name!r} is invalid: {shown}")


@dataclass(frozen=True)
class Term:
    """One entry of a vocabulary: key, ko/en labels, aliases, parent and legal references."""

    vocabulary: str
    key: str
    labels: Mapping[str, str]
    aliases: tuple[str, ...] = ()
    parent: str | None = None
    legal_refs: tuple[str, ...] = ()
    deprecated: bool = False
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __hash__(self) -> int:
        return hash((self.vocabulary, self.key))

    def label(self, lang: str = "en") -> str:
        """The label in ``lang``, else the English, else the Korean label, else the key."""
        return self.labels.get(lang) or self.labels.get("en") or self.labels.get("ko") or self.key

    @classmethod
    def from_dict(cls, vocabulary: str, data: Mapping[str, Any]) -> Term:
        """Build a term from its JSON form (the format of the shipped data files)."""
        return cls(
            vocabulary=vocabulary,
            key=data["key"],
            labels=MappingProxyType(dict(data.get("labels") or {})),
            aliases=tuple(data.get("aliases") or ()),
            parent=data.get("parent"),
            legal_refs=tuple(data.get("legal_refs") or ()),
            deprecated=bool(data.get("deprecated", False)),
            extra=MappingProxyType(dict(data.get("extra") or {})),
        )

    def to_dict(self) -> dict[str, Any]:
        """The term in its JSON form."""
        return {
            "key": self.key,
            "labels": dict(self.labels),
            "aliases": list(self.aliases),
            "parent": self.parent,
            "legal_refs": list(self.legal_refs),
            "deprecated": self.deprecated,
            "extra": dict(self.extra),
        }


@dataclass
class _Index:
    """What a vocabulary's queries probe; built once, on first use."""

    by_key: dict[str, Term]
    by_casefold_key: dict[str, Term]
    by_folded: dict[str, Term]
    children: dict[str, list[Term]]


@dataclass(frozen=True)
class Vocabulary:
    """A named, versioned set of terms with look-up and hierarchy queries."""

    name: str
    version: str
    description: Mapping[str, str]
    terms: tuple[Term, ...]
    sources: tuple[str, ...] = ()

    def __hash__(self) -> int:
        return hash((self.name, self.version, len(self.terms)))

    def __iter__(self) -> Iterator[Term]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._index.by_key

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        """Build a vocabulary from its JSON document.

        Raises:
            InvalidVocabulary: listing every problem :func:`validate` finds.
        """
        problems = validate(dict(data))
        if problems:
            raise InvalidVocabulary(str(data.get("name", "?")), problems)
        name = data["name"]
        return cls(
            name=name,
            version=data["version"],
            description=MappingProxyType(dict(data["description"])),
            terms=tuple(Term.from_dict(name, t) for t in data["terms"]),
            sources=tuple(data.get("sources") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        """The vocabulary as a JSON document (what :meth:`from_dict` reads)."""
        doc: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": dict(self.description),
        }
        if self.sources:
            doc["sources"] = list(self.sources)
        doc["terms"] = [t.to_dict() for t in self.terms]
        return doc

    def extended(
        self, terms: Iterable[Term | Mapping[str, Any]], version: str | None = None
    ) -> Vocabulary:
        """This vocabulary plus an archive's own terms.

        A term whose key is already present replaces the shipped one in place: that is how an
        archive deprecates a term (``dataclasses.replace(term, deprecated=True)``) or adds
        aliases. Nothing is removed. Terms may be :class:`Term` objects or dicts in the file
        format.

        Args:
            terms: the added or replacing terms.
            version: the new vocabulary's version; defaults to this one's.

        Raises:
            InvalidVocabulary: when the result fails :func:`validate` (duplicate or unknown
                keys, a parent cycle, an alias claimed by two terms...).
        """
        current = {t.key: t for t in self.terms}
        added: list[Term] = []
        for item in terms:
            if isinstance(item, Term):
                term = replace(item, vocabulary=self.name)
            elif isinstance(item, Mapping):
                if not isinstance(item.get("key"), str):
                    raise InvalidVocabulary(self.name, [f"added term without a key: {item!r}"])
                term = Term.from_dict(self.name, item)
            else:
                raise InvalidVocabulary(self.name, [f"not a term: {item!r}"])
            if term.key in current:
                current[term.key] = term
            else:
                added.append(term)
        doc = replace(self, terms=(*current.values(), *added), version=version or self.version)
        problems = validate(doc.to_dict())
        if problems:
            raise InvalidVocabulary(self.name, problems)
        return doc

    def get(self, key: str) -> Term:
        """The term with this key.

        Raises:
            UnknownTerm (a KeyError): naming the key and the vocabulary.
        """
        term = self._index.by_key.get(key)
        if term is None:
            raise UnknownTerm(
                f"no term {key!r} in vocabulary {self.name!r}; "
                f"use lookup() to find a term by label or alias"
            )
        return term

    def lookup(self, text: str) -> Term | None:
        """The term a person's wording names, or None: by key, label, alias or romanization.

        "Yodok camp", "요덕수용소" and "제15호 관리소" find the Yodok camp; "Bowibu" and
        "국가안전보위부" the Ministry of State Security. See the module docstring for the order.
        """
        index = self._index
        term = index.by_key.get(text)
        if term is not None:
            return term
        term = index.by_casefold_key.get(text.strip().casefold())
        if term is not None:
            return term
        folded = fold(text)
        return index.by_folded.get(folded) if folded else None

    def children(self, key: str) -> list[Term]:
        """The terms whose parent is ``key``, in vocabulary order.

        Raises:
            UnknownTerm: when ``key`` is not in the vocabulary.
        """
        self.get(key)
        return list(self._index.children.get(key, ()))

    def ancestors(self, key: str) -> list[Term]:
        """The parent chain of ``key``, nearest first (empty for a top-level term).

        Raises:
            UnknownTerm: when ``key`` is not in the vocabulary.
        """
        chain: list[Term] = []
        parent = self.get(key).parent
        while parent is not None:
            term = self.get(parent)
            chain.append(term)
            parent = term.parent
        return chain

    def descendants(self, key: str) -> list[Term]:
        """Every term below ``key``, depth first, each child before its own children.

        Raises:
            UnknownTerm: when ``key`` is not in the vocabulary.
        """
        self.get(key)
        out: list[Term] = []
        stack = list(reversed(self._index.children.get(key, ())))
        while stack:
            term = stack.pop()
            out.append(term)
            stack.extend(reversed(self._index.children.get(term.key, ())))
        return out

    @cached_property
    def _index(self) -> _Index:
        # cached_property writes the instance __dict__ directly, so it works on a frozen
        # dataclass; the index is built on first use and then every lookup is a dict probe.
        by_key = {t.key: t for t in self.terms}
        children: dict[str, list[Term]] = {}
        for t in self.terms:
            if t.parent is not None:
                children.setdefault(t.parent, []).append(t)
        return _Index(
            by_key=by_key,
            by_casefold_key={t.key.casefold(): t for t in self.terms},
            by_folded=_folded_index(self.terms),
            children=children,
        )


def _romanizations(text: str) -> set[str]:
    """Folded RR, McCune-Reischauer and DPRK-style romanizations of a Hangul text."""
    if not is_hangul(text):
        return set()
    return {fold(romanize(text, system)) for system in _ROMANIZATIONS} - {""}


def _folded_entries(term: Mapping[str, Any]) -> Iterator[tuple[int, str]]:
    """(level, folded text) for every label and alias of a term in its JSON form."""
    labels = term.get("labels") or {}
    for text in labels.values():
        if isinstance(text, str):
            yield 1, fold(text)
    for text in term.get("aliases") or ():
        if isinstance(text, str):
            yield 2, fold(text)


def _folded_index(terms: Iterable[Term]) -> dict[str, Term]:
    """Folded label/alias/romanization -> term: lowest level wins, then live over deprecated.

    Two different terms tied at the winning rank resolve to neither. validate() rules that out
    for live labels and aliases, so in a valid vocabulary only a shared romanization, or a text
    shared by two deprecated terms, is left out.
    """
    best: dict[str, tuple[tuple[int, bool], Term | None]] = {}
    for term in terms:
        entries = set(_folded_entries(term.to_dict()))
        entries |= {
            (3, r) for text in (*term.labels.values(), *term.aliases) for r in _romanizations(text)
        }
        for level, folded in entries:
            if not folded:
                continue
            rank = (level, term.deprecated)
            held = best.get(folded)
            if held is None or rank < held[0]:
                best[folded] = (rank, term)
            elif rank == held[0] and held[1] is not None and held[1].key != term.key:
                best[folded] = (rank, None)
    return {folded: term for folded, (_, term) in best.items() if term is not None}


def validate(data: dict) -> list[str]:
    """Problems in a vocabulary document; an empty list means it is valid.

    Checks the document's fields, every term's fields, duplicate keys (also differing only in
    case), unknown parents, parent cycles, missing Korean or English labels, and labels or
    aliases that fold to the same text in two live terms (an ambiguous look-up).
    """
    if not isinstance(data, dict):
        return [f"a vocabulary document is a JSON object, not {type(data).__name__}"]
    problems: list[str] = []
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"'name' must be a non-empty string, not {name!r}")
    version = data.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        problems.append(f"'version' must look like '1.0.0', not {version!r}")
    problems += _check_labels("description", data.get("description"))
    for unknown in sorted(set(data) - _DOC_FIELDS):
        problems.append(f"unknown field {unknown!r} in the document")
    sources = data.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        problems.append("'sources' must be a list of strings")
    terms = data.get("terms")
    if not isinstance(terms, list):
        return [*problems, f"'terms' must be a list, not {type(terms).__name__}"]
    good: list[dict] = []
    for i, term in enumerate(terms):
        where = f"term {i}"
        if not isinstance(term, dict):
            problems.append(f"{where} is not an object: {term!r}")
            continue
        key = term.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            problems.append(f"{where} has no usable 'key' (a string without spaces): {key!r}")
            continue
        problems += _check_term(f"term {key!r}", term)
        good.append(term)
    problems += _check_keys_and_parents(good)
    problems += _check_ambiguity(good)
    return problems


def _check_labels(where: str, labels: object) -> list[str]:
    if not isinstance(labels, dict):
        return [f"{where} must be an object with 'ko' and 'en' texts, not {labels!r}"]
    missing = [
        f"{where} has no {lang!r} text"
        for lang in LANGUAGES
        if not isinstance(labels.get(lang), str) or not labels[lang].strip()
    ]
    return missing + [
        f"{where} has a non-text {lang!r} entry"
        for lang, text in labels.items()
        if lang not in LANGUAGES and not isinstance(text, str)
    ]


def _check_term(where: str, term: dict) -> list[str]:
    problems = [f"{where}: unknown field {f!r}" for f in sorted(set(term) - _TERM_FIELDS)]
    problems += _check_labels(f"{where} labels", term.get("labels"))
    for fname in ("aliases", "legal_refs"):
        value = term.get(fname, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            problems.append(
                f"{where}: {fname!r} must be a list of non-empty strings, not {value!r}"
            )
    aliases = term.get("aliases", [])
    if isinstance(aliases, list):
        problems += [
            f"{where}: alias {a!r} folds to nothing"
            for a in aliases
            if isinstance(a, str) and a.strip() and not fold(a)
        ]
    parent = term.get("parent")
    if parent is not None and not isinstance(parent, str):
        problems.append(f"{where}: 'parent' must be a key or null, not {parent!r}")
    if not isinstance(term.get("deprecated", False), bool):
        problems.append(f"{where}: 'deprecated' must be true or false")
    extra = term.get("extra", {})
    if not isinstance(extra, dict):
        problems.append(f"{where}: 'extra' must be an object")
    elif "esf" in extra and not (isinstance(extra["esf"], str) and _ESF.match(extra["esf"])):
        problems.append(f"{where}: 'extra.esf' must be a 12-digit ESF code, not {extra['esf']!r}")
    return problems


def _check_keys_and_parents(terms: list[dict]) -> list[str]:
    problems: list[str] = []
    seen: dict[str, str] = {}
    for term in terms:
        key = term["key"]
        other = seen.get(key.casefold())
        if other is not None:
            problems.append(f"duplicate key {key!r} (also {other!r})")
        seen.setdefault(key.casefold(), key)
    parents = {t["key"]: t.get("parent") for t in terms}
    for key, parent in parents.items():
        if isinstance(parent, str) and parent not in parents:
            problems.append(f"term {key!r}: unknown parent {parent!r}")
    reported: set[str] = set()
    for start in parents:
        path: list[str] = []
        node: Any = start
        while isinstance(node, str) and node in parents and node not in path:
            path.append(node)
            node = parents[node]
        if isinstance(node, str) and node in path:
            cycle = path[path.index(node):]
            if not reported & set(cycle):
                problems.append(f"parent cycle: {' -> '.join([*cycle, node])}")
                reported |= set(cycle)
    return problems


def _check_ambiguity(terms: list[dict]) -> list[str]:
    owners: dict[tuple[int, str], str] = {}
    problems: list[str] = []
    for term in terms:
        if term.get("deprecated") is True:
            continue
        for level, folded in set(_folded_entries(term)):
            if not folded:
                continue
            other = owners.setdefault((level, folded), term["key"])
            if other != term["key"]:
                what = _LEVEL_NAMES[level]
                problems.append(f"ambiguous {what} {folded!r}: terms {other!r} and {term['key']!r}")
    return problems


@cache
def load(name: str) -> Vocabulary:
    """The shipped vocabulary ``name`` (one of :data:`VOCABULARY_NAMES`), read once.

    Raises:
        UnknownVocabulary (a ValueError): naming the unknown vocabulary and the known ones.
    """
    if name not in VOCABULARY_NAMES:
        raise UnknownVocabulary(
            f"unknown vocabulary {name!r}; the shipped ones are {', '.join(VOCABULARY_NAMES)}"
        )
    text = resources.files(__name__).joinpath("data").joinpath(f"{name}.json").read_text("utf-8")
    return Vocabulary.from_dict(json.loads(text))
