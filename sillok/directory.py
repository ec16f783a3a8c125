"""Directories of named things the archive refers to: places and organizations.

Each is seeded from a shipped vocabulary (places, agencies) and grows with entries an import
adds, marked unverified. A directory is small (hundreds to thousands of entries), so it is held
in memory: resolving a name typed in any script is a dictionary probe, and the place hierarchy
(what lies inside a province) is walked without SQL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, Table

from sillok import vocab
from sillok.model import organizations, places
from sillok.names import fold, place_name_tokens
from sillok.store.dialects import Dialect
from sillok.store.directory import directory_rows
from sillok.store.rows import insert_records

#: keys of first-level divisions (ISO 3166-2:KP), as the places vocabulary keys them
_FIRST_LEVEL = re.compile(r"^KP-\d\d$")


@dataclass
class Entry:
    """One place or organization."""

    id: int
    vocab_key: str | None
    kind: str
    name_ko: str | None
    name_en: str | None
    aliases: tuple[str, ...]
    parent_id: int | None = None
    facility_type: str | None = None
    unverified: bool = False
    tokens: frozenset[str] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        """The name to show: English and Korean where both exist."""
        if self.name_en and self.name_ko:
            return f"{self.name_en} ({self.name_ko})"
        return self.name_en or self.name_ko or self.vocab_key or f"#{self.id}"

    def names(self) -> list[str]:
        """Every name of the entry, in every script."""
        return [n for n in (self.name_ko, self.name_en, *self.aliases) if n]


class Directory:
    """Places or organizations, resolved by any of their names."""

    def __init__(self, table: Table, vocabulary: str) -> None:
        self.table = table
        self.vocabulary = vocab.load(vocabulary)
        self.by_id: dict[int, Entry] = {}
        self._by_key: dict[str, int] = {}
        self._by_fold: dict[str, list[int]] = {}

    def load(self, conn: Connection) -> Directory:
        """Read every entry from the store."""
        has_parent = "parent_id" in self.table.c
        for row in directory_rows(conn, self.table):
            entry = Entry(
                id=row.id,
                vocab_key=row.vocab_key,
                kind=row.kind,
                name_ko=row.name_ko,
                name_en=row.name_en,
                aliases=tuple(json.loads(row.aliases)),
                parent_id=row.parent_id if has_parent else None,
                facility_type=getattr(row, "facility_type", None),
                unverified=row.unverified,
            )
            self._remember(entry)
        return self

    def reload(self, conn: Connection) -> Directory:
        """Read every entry again, after an edit renamed or moved one: the maps are swapped
        whole, so a reader never sees a half-read directory. What others keep on the
        directory about its names (``_names_*``: the web's names by language) is dropped."""
        fresh = Directory(self.table, self.vocabulary.name).load(conn)
        self.by_id, self._by_key, self._by_fold = fresh.by_id, fresh._by_key, fresh._by_fold
        for key in [k for k in vars(self) if k.startswith("_names_")]:
            delattr(self, key)
        return self

    def _remember(self, entry: Entry) -> None:
        entry.tokens = frozenset(t for n in entry.names() for t in place_name_tokens(n))
        self.by_id[entry.id] = entry
        if entry.vocab_key:
            self._by_key[entry.vocab_key] = entry.id
        # Every name, and every spelling of it (romanizations, without suffixes like 군/county).
        for token in {fold(n) for n in entry.names()} | entry.tokens:
            ids = self._by_fold.setdefault(token, [])
            if entry.id not in ids:
                ids.append(entry.id)

    def seed(self, conn: Connection, dialect: Dialect, actor: str) -> int:
        """Add every vocabulary term not yet in the store (parents before children)."""
        pending = [t for t in self.vocabulary.terms if t.key not in self._by_key]
        added = 0
        while pending:
            ready = [t for t in pending if t.parent is None or t.parent in self._by_key]
            if not ready:
                raise ValueError(f"{self.vocabulary.name}: terms with unknown parents")
            values = [self._values_of(t) for t in ready]
            ids = insert_records(conn, dialect, self._kind, values, actor)
            for rid, value in zip(ids, values, strict=True):
                self._remember(self._entry_of(rid, value))
            added += len(ready)
            pending = [t for t in pending if t not in ready]
        return added

    @property
    def _kind(self) -> str:
        return "place" if self.table is places else "organization"

    def _values_of(self, term: vocab.Term) -> dict[str, object]:
        values: dict[str, object] = {
            "vocab_key": term.key,
            "kind": term.extra.get("kind", "state_agency" if self.table is organizations else ""),
            "name_ko": term.labels.get("ko"),
            "name_en": term.labels.get("en"),
            "aliases": json.dumps(list(term.aliases), ensure_ascii=False),
            "unverified": term.extra.get("status") == "unverified",
        }
        if self.table is places:
            values["parent_id"] = self._by_key.get(term.parent) if term.parent else None
            values["facility_type"] = term.extra.get("facility_type")
        return values

    def _entry_of(self, rid: int, values: dict[str, object]) -> Entry:
        return Entry(
            id=rid,
            vocab_key=values.get("vocab_key"),  # type: ignore[arg-type]
            kind=str(values["kind"]),
            name_ko=values.get("name_ko"),  # type: ignore[arg-type]
            name_en=values.get("name_en"),  # type: ignore[arg-type]
            aliases=tuple(json.loads(str(values.get("aliases", "[]")))),
            parent_id=values.get("parent_id"),  # type: ignore[arg-type]
            facility_type=values.get("facility_type"),  # type: ignore[arg-type]
            unverified=bool(values.get("unverified")),
        )

    def resolve(self, text: str, facility: bool = False) -> Entry | None:
        """The entry a name, key or alias refers to, or None.

        A name can be both a town's and a facility's ("요덕" is Yodok county and, loosely, the
        Yodok camp): an exact name of the wanted kind wins, then the vocabulary's own lookup
        (which also knows romanizations and suffixes), then an exact name of any kind.
        """
        candidates = [self.by_id[i] for i in self._by_fold.get(fold(text), [])]
        for entry in candidates:
            if (entry.kind == "facility") == facility:
                return entry
        term = self.vocabulary.lookup(text)
        if term is not None and term.key in self._by_key:
            return self.by_id[self._by_key[term.key]]
        return candidates[0] if candidates else None

    def add_unverified(
        self,
        conn: Connection,
        dialect: Dialect,
        name: str,
        actor: str,
        kind: str,
        facility_type: str | None = None,
    ) -> Entry:
        """Add an entry the vocabularies do not know, marked unverified."""
        script_ko = any("\uac00" <= ch <= "\ud7a3" for ch in name)
        values: dict[str, object] = {
            "vocab_key": None,
            "kind": kind,
            "name_ko": name if script_ko else None,
            "name_en": None if script_ko else name,
            "aliases": "[]",
            "unverified": True,
        }
        if self.table is places:
            values["parent_id"] = None
            values["facility_type"] = facility_type
        (rid,) = insert_records(conn, dialect, self._kind, [values], actor)
        entry = self._entry_of(rid, values)
        self._remember(entry)
        return entry

    def ids_for(self, token: str) -> list[int]:
        """The entries one of whose names or spellings folds to ``token``."""
        return self._by_fold.get(token, [])

    def get(self, entry_id: int | None) -> Entry | None:
        """An entry by id."""
        return self.by_id.get(entry_id) if entry_id is not None else None

    def ancestors(self, entry_id: int) -> list[Entry]:
        """The entry and its parents, nearest first."""
        chain: list[Entry] = []
        current = self.by_id.get(entry_id)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.by_id.get(current.parent_id) if current.parent_id else None
        return chain

    def within(self, entry_id: int) -> set[int]:
        """The ids of the entry and of everything inside it."""
        children: dict[int, list[int]] = {}
        for e in self.by_id.values():
            if e.parent_id is not None:
                children.setdefault(e.parent_id, []).append(e.id)
        found, todo = set(), [entry_id]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo.extend(children.get(current, ()))
        return found

    def province_of(self, entry_id: int | None) -> Entry | None:
        """The first-level division an entry lies in, if known."""
        if entry_id is None:
            return None
        for entry in self.ancestors(entry_id):
            if _FIRST_LEVEL.match(entry.vocab_key or ""):
                return entry
        return None
