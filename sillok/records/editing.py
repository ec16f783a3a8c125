"""Editing a record: one record's fields changed by a person, as a new version.

``archive.editor.form(kind, id)`` gives what an edit page shows (only what the role may read;
a sealed value stays closed unless it is revealed, and each opening is audited);
``archive.editor.edit(kind, id, changes, expected_version)`` checks every value as the entry
form and an import do (vocabulary terms in any spelling, uncertain dates, places and agencies
from the directories, the sharing levels), then writes the record's next version in one
transaction: the old one stays in the history, the Merkle log commits the new one, the
search index follows. A bad value raises :class:`EditRefused` naming each field and what was
typed, and nothing is written; a record changed by someone else since ``expected_version``
raises :class:`StaleVersion`.

What the role may not read (a redacted field, a sealed value it does not open) is *withheld*:
it is not shown, and a change to it is refused without saying what it holds. A withheld
marker typed back (``[protected]``, ``[redacted]``) leaves the field as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sillok import vocab
from sillok.dates import DateError, parse_date
from sillok.directory import Directory, Entry
from sillok.errors import InvalidInput, NotFound, SillokError
from sillok.messages import Message, Words, no_such, not_one_of
from sillok.model import PERSON_STATUSES, RECORD_TABLES, person_names
from sillok.names import is_hangul
from sillok.records.flatacts import SEXES, SHARING, SOURCE_TYPES, ParsedRow
from sillok.records.index import act_document, event_document, person_document
from sillok.security.policy import (
    PROTECTED,
    REDACTED,
    SHARING_LEVELS,
    Access,
    access,
    may,
    may_open_sealed,
    may_see,
)
from sillok.security.seal import ERASED, is_sealed
from sillok.store import queries
from sillok.store import rows as store_rows
from sillok.store import search as index_store
from sillok.store.dialects import doc_id

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from sillok.records.reading import RecordBook
    from sillok.vault import Vault

EDITABLE_KINDS = ("source", "event", "act", "person", "place", "organization")
PLACE_KINDS = ("country", "province", "city", "county", "district", "town", "facility")
ORGANIZATION_KINDS = ("state_agency", "government", "ngo", "organization", "other")
#: what a form or a request sends back for a value it was not shown: the field stays as it is
WITHHELD_MARKERS = frozenset({PROTECTED, REDACTED, ERASED})
MAX_TEXT = 20_000
MAX_NAMES = 20


@dataclass(frozen=True)
class Field:
    """One editable field of a kind of record.

    ``name`` is what forms, the API and errors call it; ``column`` the table column it writes
    (for a date, the prefix of its three columns); ``kind`` how its value is read.
    """

    name: str
    kind: str  # text, long_text, date, choice, act_type, facility_type, place, facility,
    # organization... (see RecordEditor._parse)
    column: str
    choices: tuple[str, ...] = ()
    required: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """The table columns the field writes."""
        if self.kind == "date":
            return tuple(f"{self.column}_{part}" for part in ("edtf", "lower", "upper"))
        return () if self.kind == "names" else (self.column,)


_SHARING_FIELD = Field("sharing", "choice", "sharing", SHARING_LEVELS, required=True)

FIELDS: dict[str, tuple[Field, ...]] = {
    "source": (
        Field("source_type", "choice", "source_type", tuple(SOURCE_TYPES), required=True),
        Field("date", "date", "date"),
        Field("language", "text", "language"),
        Field("title", "text", "title"),
        Field("narrative", "long_text", "narrative"),
        Field("reliability", "text", "reliability"),
        _SHARING_FIELD,
    ),
    "event": (
        Field("title", "text", "title"),
        Field("date", "date", "date"),
        Field("place", "place", "place_id"),
        Field("description", "long_text", "description"),
        _SHARING_FIELD,
    ),
    "act": (
        Field("act_type", "act_type", "act_type", required=True),
        Field("date", "date", "date"),
        Field("place", "place", "place_id"),
        Field("facility", "facility", "facility_id"),
        Field("facility_type", "facility_type", "facility_type"),
        Field("description", "long_text", "description"),
        _SHARING_FIELD,
    ),
    "person": (
        Field("names", "names", "names"),
        Field("sex", "choice", "sex", tuple(SEXES)),
        Field("birth", "date", "birth"),
        Field("origin", "place", "origin_place_id"),
        Field("status", "choice", "status", PERSON_STATUSES, required=True),
    ),
    "place": (
        Field("name_ko", "text", "name_ko"),
        Field("name_en", "text", "name_en"),
        Field("kind", "choice", "kind", PLACE_KINDS, required=True),
        Field("within", "place", "parent_id"),
        Field("facility_type", "facility_type", "facility_type"),
        Field("aliases", "aliases", "aliases"),
        Field("latitude", "latitude", "latitude"),
        Field("longitude", "longitude", "longitude"),
        Field("unverified", "flag", "unverified"),
    ),
    "organization": (
        Field("name_ko", "text", "name_ko"),
        Field("name_en", "text", "name_en"),
        Field("kind", "choice", "kind", ORGANIZATION_KINDS, required=True),
        Field("aliases", "aliases", "aliases"),
        Field("unverified", "flag", "unverified"),
    ),
}

#: choice fields that also take the entry form's other spellings (Korean, short forms)
_SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "source_type": SOURCE_TYPES,
    "sharing": SHARING,
    "sex": SEXES,
}


class EditRefused(InvalidInput):
    """Values an edit cannot take; nothing was written. ``fields``: field name -> reason."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in self.fields.items()))


class StaleVersion(SillokError):
    """The record changed since the version the edit started from; nothing was written."""

    def __init__(self, kind: str, record_id: int, expected: int, current: int | None) -> None:
        now = f"; it is now version {current}" if current is not None else ""
        super().__init__(
            f"{kind} {record_id} was changed by someone else since you opened it (you edited "
            f"version {expected}{now}): nothing was saved"
        )
        self.expected = expected
        self.current = current


@dataclass
class EditForm:
    """A record as its edit page shows it: each field's value as text, and the fields the
    role is not shown (left as they are when the edit is saved)."""

    kind: str
    id: int
    version: int
    sharing: str | None
    values: dict[str, str] = field(default_factory=dict)
    withheld: list[str] = field(default_factory=list)
    #: withheld fields that the role could open (sealed, and the role holds the seal key)
    openable: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Edited:
    """What an edit did: the version the record is at now and the fields that changed."""

    kind: str
    id: int
    version: int
    changed: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"kind": self.kind, "id": self.id, "version": self.version,
                "changed": list(self.changed)}


def fields_of(kind: str) -> tuple[Field, ...]:
    """The editable fields of a kind.

    Raises:
        NotFound: the kind has no edit (statements, links, attachments have their own).
    """
    if kind not in FIELDS:
        raise NotFound(f"records of kind {kind!r} are not edited here "
                       f"(one of {', '.join(EDITABLE_KINDS)})")
    return FIELDS[kind]


class RecordEditor:
    """``archive.editor``: edits records on behalf of the user who opened the archive."""

    def __init__(self, vault: Vault, records: RecordBook) -> None:
        self.vault = vault
        self.records = records
        self.act_types = vocab.load("act_types")
        self.facility_types = vocab.load("facility_types")

    def form(self, kind: str, record_id: int, reveal: bool = False,
             lang: str = "en") -> EditForm:
        """The record's editable values as text, as the role may read them (``reveal``: open
        the sealed ones the role may open; each opening is audited).

        Raises:
            InvalidInput: the role may not change records.
            NotFound: there is no such record the role may see.
        """
        self._require_write()
        fields = fields_of(kind)
        with self.vault.store.reading() as conn:
            row = self._row(conn, kind, record_id)
            sharing = getattr(row, "sharing", None)
            form = EditForm(kind, record_id, int(row.version), sharing)
            for spec in fields:
                text = self._shown(conn, kind, row, spec, reveal, lang)
                if text is None:
                    form.withheld.append(spec.name)
                    if may_open_sealed(self.vault.role) and not reveal:
                        form.openable.append(spec.name)
                else:
                    form.values[spec.name] = text
        return form

    def _shown(self, conn: Connection, kind: str, row: Any, spec: Field, reveal: bool,
               lang: str) -> str | None:
        """A field's value as text, or None when the role is not shown it."""
        table = RECORD_TABLES[kind].name
        sharing = getattr(row, "sharing", None)
        if spec.kind == "names":
            return self._names_text(conn, row, reveal)
        if any(access(self.vault.role, sharing, table, c) is Access.REDACT
               for c in spec.columns):
            return None
        value = getattr(row, spec.columns[0])
        if is_sealed(value):
            value = self.vault.disclosure.open(
                conn, table, spec.column, int(row.id), value, reveal
            )
            if value in WITHHELD_MARKERS:
                return None
        if value is None:
            return ""
        if spec.kind == "act_type" or spec.kind == "facility_type":
            term = (self.act_types if spec.kind == "act_type" else self.facility_types).lookup(
                str(value)
            )
            return term.label(lang) if term else str(value)
        if spec.kind in ("place", "facility"):
            entry = self.vault.places.get(int(value))
            return _entry_name(entry, lang) if entry else ""
        if spec.kind == "aliases":
            return "; ".join(json.loads(value or "[]"))
        if spec.kind == "flag":
            return "yes" if value else "no"
        return str(value)

    def _names_text(self, conn: Connection, row: Any, reveal: bool) -> str | None:
        if access(self.vault.role, None, "person_names", "name") is Access.REDACT:
            return None
        rows = queries.name_rows_of_person(conn, int(row.id))
        names = []
        for r in rows:
            name = self.vault.disclosure.open(conn, "person_names", "name", r.id, r.name, reveal)
            if name in WITHHELD_MARKERS:
                return None
            names.append(name)
        return "\n".join(names)

    def edit(self, kind: str, record_id: int, changes: Mapping[str, Any],
             expected_version: int) -> Edited:
        """Check ``changes`` (field name -> text; "" or None clears a field) and write them as
        the record's next version, in one transaction; fields not named stay as they are.

        Raises:
            InvalidInput: the role may not change records.
            NotFound: there is no such record the role may see.
            StaleVersion: the record is no longer at ``expected_version``.
            EditRefused: naming each field whose value cannot be taken (nothing written).
        """
        self._require_write()
        fields = {f.name: f for f in fields_of(kind)}
        unknown = [name for name in changes if name not in fields]
        if unknown:
            raise EditRefused({
                name: Message(
                    "not a field of a {kind} (the fields: {fields})",
                    kind=kind, fields=Words(fields),
                )
                for name in unknown
            })
        table = RECORD_TABLES[kind]
        with self.vault.store.transaction() as conn:
            row = self._row(conn, kind, record_id)
            if int(row.version) != int(expected_version):
                raise StaleVersion(kind, record_id, int(expected_version), int(row.version))
            values, names, errors = self._check(conn, kind, row, fields, changes)
            if errors:
                raise EditRefused(errors)
            columns = store_rows.changed_fields(row, values)
            if columns:
                columns = self.vault.hooks.unchanged(conn, table, row, columns)
            renamed = names is not None and names != self._plain_names(conn, row)
            changed = sorted(
                {spec.name for spec in fields.values() if set(spec.columns) & set(columns)}
                | ({"names"} if renamed else set())
            )
            if not changed:
                return Edited(kind, record_id, int(row.version), ())
            actor = self.vault.settings.actor
            try:
                version = store_rows.update_record(conn, kind, row, columns, actor)
            except RuntimeError:  # written by another transaction since it was read
                raise StaleVersion(kind, record_id, int(expected_version), None) from None
            if renamed and names is not None:
                self._write_names(conn, int(row.id), names)
            self._reindex(conn, kind, record_id, bool(renamed))
        if kind in ("place", "organization"):
            with self.vault.store.reading() as conn:
                self._directory(kind).reload(conn)
        return Edited(kind, record_id, version, tuple(changed))

    def _check(
        self, conn: Connection, kind: str, row: Any, fields: Mapping[str, Field],
        changes: Mapping[str, Any],
    ) -> tuple[dict[str, Any], list[str] | None, dict[str, str]]:
        """(column values, the person's new names or None, field -> reason)."""
        role = self.vault.role
        table = RECORD_TABLES[kind].name
        old_level = getattr(row, "sharing", None)
        new_level = old_level
        values: dict[str, Any] = {}
        names: list[str] | None = None
        errors: dict[str, str] = {}
        for name, raw in changes.items():
            spec = fields[name]
            text = _text(raw)
            if text in WITHHELD_MARKERS:
                continue  # a value the form was not shown: it stays as it is
            if len(text) > MAX_TEXT:
                errors[name] = Message(
                    "{n} characters, more than {most}", n=len(text), most=MAX_TEXT
                )
                continue
            refusal = self._refusal(conn, table, row, spec, old_level)
            if refusal:
                errors[name] = refusal
                continue
            try:
                parsed = self._parse(kind, row, spec, text)
            except InvalidInput as exc:
                errors[name] = exc.args[0] if exc.args else str(exc)
                continue
            if spec.kind == "names":
                names = parsed
            else:
                values.update(parsed)
            if spec.name == "sharing":
                new_level = parsed["sharing"]
        if new_level != old_level and "sharing" not in errors:
            refused = [
                spec.name for spec in fields.values()
                if any(access(role, new_level, table, c) is not Access.CHANGE
                       for c in spec.columns)
            ]
            if not may_see(role, new_level) or refused:
                errors["sharing"] = Message(
                    "{level!r}: your role may not change a {kind} at this sharing level",
                    level=new_level, kind=Message(kind),
                )
        return values, names, errors

    def _refusal(self, conn: Connection, table: str, row: Any, spec: Field,
                 level: str | None) -> str | None:
        """Why the role may not change a field (without a word of what it holds), or None."""
        role = self.vault.role
        if spec.kind == "names":
            if access(role, None, "person_names", "name") is not Access.CHANGE:
                return Message("your role may not change this field")
            sealed = any(is_sealed(r.name)
                         for r in queries.name_rows_of_person(conn, int(row.id)))
            if sealed and not may_open_sealed(role):
                return Message("this field is sealed; your role may not change it")
            return None
        if any(access(role, level, table, c) is not Access.CHANGE for c in spec.columns):
            return "your role may not change this field"
        if is_sealed(getattr(row, spec.columns[0])) and not may_open_sealed(role):
            return "this field is sealed; your role may not change it"
        return None

    def _parse(self, kind: str, row: Any, spec: Field, text: str) -> Any:
        """A field's typed text as column values (a person's names: a list of names).

        Raises:
            InvalidInput: naming what was typed and what is expected.
        """
        if not text:
            if spec.required:
                raise InvalidInput(Message("a {field} is required", field=spec.name))
            if spec.kind == "names":
                return []
            if spec.kind == "aliases":
                return {spec.column: "[]"}
            if spec.kind == "flag":
                return {spec.column: False}
            return {c: None for c in spec.columns}
        if spec.kind in ("text", "long_text"):
            return {spec.column: text}
        if spec.kind == "choice":
            return {spec.column: _choice(spec, text)}
        if spec.kind == "date":
            try:
                date = parse_date(text)
            except DateError as exc:
                raise InvalidInput(exc.args[0]) from None
            return dict(zip(spec.columns, (date.edtf, date.lower, date.upper), strict=True))
        if spec.kind in ("act_type", "facility_type"):
            terms = self.act_types if spec.kind == "act_type" else self.facility_types
            term = terms.lookup(text)
            if term is None:
                raise InvalidInput(Message(
                    "unknown {what} {value!r}: choose one from the list",
                    what=Message(spec.name.replace("_", " ")), value=text,
                ))
            return {spec.column: term.key}
        if spec.kind in ("place", "facility"):
            entry = self._entry(self.vault.places, text, getattr(row, spec.column),
                                spec.kind == "facility")
            if entry is None:
                raise InvalidInput(Message(
                    "no place is called {value!r}: choose one from the list", value=text
                ))
            if spec.column == "parent_id" and int(entry.id) in self.vault.places.within(
                    int(row.id)):
                raise InvalidInput(Message("{value!r} lies within this place", value=text))
            return {spec.column: entry.id}
        if spec.kind == "aliases":
            parts = list(dict.fromkeys(p.strip() for p in text.split(";") if p.strip()))
            return {spec.column: json.dumps(parts, ensure_ascii=False)}
        if spec.kind in ("latitude", "longitude"):
            return {spec.column: _coordinate(spec.kind, text)}
        if spec.kind == "flag":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise InvalidInput(not_one_of(text, ("yes", "no")))
            return {spec.column: text.lower() in ("true", "1", "yes", "on")}
        if spec.kind == "names":
            found = list(dict.fromkeys(n.strip() for n in text.splitlines() if n.strip()))
            if len(found) > MAX_NAMES:
                raise InvalidInput(
                    Message("{n} names, more than {most}", n=len(found), most=MAX_NAMES)
                )
            return found
        raise InvalidInput(f"{spec.name} cannot be edited")  # pragma: no cover

    @staticmethod
    def _entry(directory: Directory, text: str, current: int | None,
               facility: bool) -> Entry | None:
        """The entry a typed name means; the record's own entry when it is one of its names
        (so that a name two places share does not move the record to the other)."""
        known = directory.get(current)
        if known is not None and (text in known.names() or text == known.label):
            return known
        return directory.resolve(text, facility=facility)

    def _plain_names(self, conn: Connection, row: Any) -> list[str]:
        """The person's names as stored, sealed ones opened (to compare, not shown)."""
        rows = queries.name_rows_of_person(conn, int(row.id))
        sealer = self.vault.sealer
        return [
            sealer.open_value(conn, "person_names", "name", int(r.id), r.name)
            if is_sealed(r.name) and sealer.can_open else r.name
            for r in rows
        ]

    def _write_names(self, conn: Connection, person_id: int, names: list[str]) -> None:
        """Replace a person's names (the first is their birth name; the write hooks seal
        them when the person is protected)."""
        dialect = self.vault.store.dialect
        store_rows.delete_rows(conn, person_names, "person_id", [person_id])
        store_rows.insert_rows(conn, dialect, person_names, [
            {"person_id": person_id, "name": name, "script": "Hang" if is_hangul(name) else "Latn",
             "kind": "birth" if number == 0 else "alias"}
            for number, name in enumerate(names)
        ])

    def _reindex(self, conn: Connection, kind: str, record_id: int, renamed: bool) -> None:
        """The record's search document made anew (as an import makes it)."""
        row = store_rows.get(conn, kind, record_id)
        did = doc_id(kind, record_id) if kind in ("act", "event", "person") else None
        if row is None or did is None:
            return
        dialect = self.vault.store.dialect
        document: str | None = None
        if kind == "act":
            description = row.description if not is_sealed(row.description) else None
            parsed = ParsedRow(
                0, {"description": description or ""}, "", None, row.act_type, None, None, None,
                row.sharing, row.facility_type, [], [], "",
            )
            perpetrators = queries.perpetrators_of_acts(conn, [record_id]).get(record_id, [])
            organizations = [
                e for o, _p, _r in perpetrators if (e := self.vault.organizations.get(o))
            ]
            document = act_document(parsed, dict(row._mapping), self.vault.places, organizations)
        elif kind == "event":
            document = event_document(row.ref or "", None if is_sealed(row.title) else row.title)
        elif renamed and not row.protected:
            weight = index_store.acts_per_victim(conn, [record_id]).get(record_id, 0)
            document = person_document(self._plain_names(conn, row), weight)
        elif not renamed:
            return
        index_store.write_documents(conn, dialect, [(did, document)] if document else [], [did])
        if kind != "person" and row.sharing == "confidential":
            # a record made confidential: its earlier words leave the index's segments
            index_store.compact_index(conn, dialect)

    def _row(self, conn: Connection, kind: str, record_id: int) -> Any:
        row = store_rows.get(conn, kind, record_id)
        if row is None or not may_see(self.vault.role, getattr(row, "sharing", None)):
            raise NotFound(no_such(kind, record_id))
        return row

    def _require_write(self) -> None:
        if not may(self.vault.role, "write"):
            raise InvalidInput(f"the {self.vault.role} role may not change records")

    def _directory(self, kind: str) -> Directory:
        return self.vault.places if kind == "place" else self.vault.organizations


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value).strip()


def _choice(spec: Field, text: str) -> str:
    spellings = _SPELLINGS.get(spec.column, {})
    wanted = text.casefold()
    for key in spec.choices:
        if wanted == key.casefold() or wanted in (s.casefold() for s in spellings.get(key, ())):
            return key
    raise InvalidInput(not_one_of(text, spec.choices))


def _coordinate(kind: str, text: str) -> str:
    limit = 90.0 if kind == "latitude" else 180.0
    try:
        number = float(text)
    except ValueError:
        raise InvalidInput(Message(
            "{value!r} is not a {kind} (a number like 39.03)", value=text, kind=Message(kind)
        )) from None
    if not -limit <= number <= limit:
        raise InvalidInput(Message(
            "{value!r} is not a {kind} (between -{limit:g} and {limit:g})",
            value=text, kind=Message(kind), limit=limit,
        ))
    return text


def _entry_name(entry: Entry, lang: str) -> str:
    return (entry.name_ko if lang == "ko" else entry.name_en) or entry.name_ko or entry.label


__all__ = ["EDITABLE_KINDS", "FIELDS", "EditForm", "EditRefused", "Edited", "Field",
           "RecordEditor", "StaleVersion", "fields_of"]
