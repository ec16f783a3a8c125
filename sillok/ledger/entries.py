"""Log entries and content commitments: the bytes the archive's log hashes for each row.

A row written to a logged table becomes one entry (docs/ledger.md, "The archive's log"):

- its *content commitment* (:func:`content_commitment`) is SHA-256 over the canonical JSON of
  the row's *committed object* (:func:`committed_object`), in which the columns some role may
  not read are replaced by salted hashes of their values (:func:`field_commitment`), so a
  proof bundle can withhold them and still verify;
- its *entry* (:func:`entry_bytes`) names the table, the row, its version, the operation and
  that commitment, in the canonical JSON of :func:`canonical_entry` (an RFC 8785 subset),
  and is hashed as an RFC 9162 leaf (:mod:`sillok.ledger.merkle`).

This module is pure computation; :mod:`sillok.ledger.log` persists the entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, LargeBinary, String, Table

from sillok.ledger.merkle import leaf_hash
from sillok.model import RECORD_TABLES as _RECORD_TABLES
from sillok.model import (
    act_perpetrators,
    act_sources,
    attachment_custody,
    audit_events,
    evidence_keys,
    person_contacts,
    person_names,
    seal_keys,
    statement_events,
    statement_person_signatories,
    statement_signatories,
    users,
)
from sillok.security.policy import redactable
from sillok.security.seal import is_sealed

ENTRY_FORMAT = 1
COMMITMENT_FORMAT = 1
OPS = ("insert", "update", "delete")
_MAX_ENTRY_DEPTH = 64
# RFC 8785 numbers are IEEE 754 doubles: only integers in this range survive a round trip.
_MAX_SAFE_INTEGER = (1 << 53) - 1

#: every table whose rows the log covers
LOGGED_TABLES: tuple[Table, ...] = (
    *_RECORD_TABLES.values(),
    person_names,
    person_contacts,
    act_sources,
    act_perpetrators,
    statement_signatories,
    statement_person_signatories,  # persons who sign (0011): the table commits the kind
    statement_events,
    users,
    audit_events,
    attachment_custody,
    # the wrapped field keys, committed as they are (ciphertext): a key erased or swapped
    # behind the log, which would destroy or misattribute sealed identities, breaks verify
    seal_keys,
    # the wrapped data keys of evidence files, for the same reason (a key erased or swapped
    # behind the log would destroy evidence unnoticed)
    evidence_keys,
)
#: tables logged since a later version, whose rows an older archive logs when first opened
NEWLY_LOGGED: tuple[Table, ...] = (seal_keys,)
LOGGED_BY_NAME: dict[str, Table] = {t.name: t for t in LOGGED_TABLES}

#: tables whose plaintext can later be sealed by protecting a person: (the column naming the
#: person, the column then sealed). A plaintext value is committed with a row secret keyed by
#: the person's commit key (:class:`sillok.security.seal.CommitKeys`), not the salt key.
PERSON_COMMITTED: dict[str, tuple[str, str]] = {"person_names": ("person_id", "name")}

Json = None | bool | int | str
#: an entry not yet appended: (table, row id, second key part, version, op, content)
PendingEntry = tuple[str, int, int | None, int | None, str, bytes | None]


class CanonicalEntryError(ValueError):
    """A log entry cannot be encoded canonically (a float, a non-NFC string, a bytes value...).

    The message names the position of the offending value (for example ``$.names[2].text``)
    and its type, never its content: entries may hold protected text.
    """


def _as_datetime(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a datetime: {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    # isoformat: YYYY-MM-DDTHH:MM:SS, and .ffffff only when there are microseconds
    return f"{value.isoformat()}Z"


def _as_date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return str(value.isoformat())


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _as_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_hex(value: Any) -> str | None:
    return None if value is None else bytes(value).hex()


def _converter(column: Any) -> Callable[[Any], Json]:
    kind = column.type
    if isinstance(kind, Boolean):
        return _as_bool
    if isinstance(kind, Integer):
        return _as_int
    if isinstance(kind, DateTime):
        return _as_datetime
    if isinstance(kind, Date):
        return _as_date
    if isinstance(kind, String):
        return _as_str
    if isinstance(kind, LargeBinary):
        return _as_hex
    raise TypeError(f"{column.table.name}.{column.name}: no log encoding for {kind!r}")


@dataclass(frozen=True)
class TableShape:
    """How the log sees one table: its key columns, whether versioned, how values encode."""

    table: Table
    key: tuple[str, ...]
    versioned: bool
    converters: tuple[tuple[str, Callable[[Any], Json]], ...]
    redactable: frozenset[str]

    def values(self, row: Mapping[Any, Any]) -> dict[str, Json]:
        """Every column of the row, as the JSON value the commitment covers."""
        return {name: conv(row.get(name)) for name, conv in self.converters}

    def key_of(self, row: Mapping[Any, Any]) -> tuple[int, int | None]:
        """(row id, second key part or None)."""
        first = int(row[self.key[0]])
        return first, (int(row[self.key[1]]) if len(self.key) > 1 else None)


#: general columns committed salted all the same: a ref may name a person, and must be able
#: to leave a kept version (``withheld:v1:``) when they are protected
SALTED_GENERAL: dict[str, frozenset[str]] = {"persons": frozenset({"ref"})}


def _shape(table: Table, legacy: bool = False) -> TableShape:
    key = tuple(c.name for c in table.primary_key.columns)
    if len(key) not in (1, 2):
        raise TypeError(f"{table.name}: the log needs a one- or two-column primary key")
    salted = SALTED_GENERAL.get(table.name, frozenset()) if not legacy else frozenset()
    converters = tuple((c.name, _converter(c)) for c in table.columns)
    return TableShape(table, key, "version" in table.c, converters, redactable(table.name) | salted)


SHAPES: dict[str, TableShape] = {t.name: _shape(t) for t in LOGGED_TABLES}
#: how rows were logged before :data:`SALTED_GENERAL` (those columns in the clear): verify and
#: proofs try this form when the other does not match (each hashes every value)
LEGACY_SHAPES = {name: _shape(SHAPES[name].table, legacy=True) for name in SALTED_GENERAL}

_EXACT_TYPE: dict[Callable[[Any], Json], type] = {_as_str: str, _as_int: int, _as_bool: bool}
_MEMO_CONVERTERS = (_as_datetime, _as_date)


def batch_values(shape: TableShape) -> Callable[[Mapping[Any, Any]], dict[str, Json]]:
    """A function equal to ``shape.values``, made for converting the many rows of one batch.

    Its dicts hold the columns in sorted order. It copies the row into a dict of every column
    in one step and converts only what needs it: the rows of a batch mostly hold the same
    types, so the columns to convert are worked out once per combination of value types.
    Dates and times, which repeat within a batch (one timestamp for every row written), are
    converted once each.
    """
    # in sorted order: the entries' encoder relies on it (see entries_for)
    columns = sorted(shape.converters, key=lambda pair: pair[0])
    template: dict[str, Json] = dict.fromkeys(name for name, _conv in columns)
    size = len(template)
    memo: dict[Callable[[Any], Json], dict[tuple[Any, Any], Json]] = {
        c: {} for c in _MEMO_CONVERTERS
    }
    plans: dict[tuple[type, ...], list[tuple[str, Callable[[Any], Json], Any]]] = {}

    def plan(types: tuple[type, ...]) -> list[tuple[str, Callable[[Any], Json], Any]]:
        steps = []
        for (name, conv), kind in zip(columns, types, strict=True):
            if kind is type(None) or _EXACT_TYPE.get(conv) is kind:
                continue
            steps.append((name, conv, memo.get(conv)))
        return steps

    def values(row: Mapping[Any, Any]) -> dict[str, Json]:
        obj = template.copy()
        obj.update(row)
        if len(obj) != size:
            for extra in [k for k in obj if k not in template]:
                del obj[extra]
        types = tuple(map(type, obj.values()))
        steps = plans.get(types)
        if steps is None:
            steps = plans[types] = plan(types)
        for name, conv, seen in steps:
            value = obj[name]
            if seen is None:
                obj[name] = conv(value)
                continue
            # the zone is part of the key: equal instants in two zones can fall on two dates
            key = (value, getattr(value, "tzinfo", None))
            if key not in seen:
                seen[key] = conv(value)
            obj[name] = seen[key]
        return obj

    return values


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _one_shot_encoder(sort_keys: bool = True) -> Callable[[Any], str]:
    # JSONEncoder.encode builds a new C encoder on every call, which was a fifth of the log's
    # cost during an import; this one is made once, with _ENCODER's settings, so it writes the
    # same text (without the circular-reference check: the log's values are flat).
    make: Any = getattr(json.encoder, "c_make_encoder", None)  # the C accelerator, if built
    if make is None:
        return _ENCODER.encode if sort_keys else _IN_ORDER.encode
    iterencode = make(
        None, _ENCODER.default, encode_basestring, None, ":", ",", sort_keys, False, True
    )
    return lambda value: "".join(iterencode(value, 0))


_IN_ORDER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_encode = _one_shot_encoder()
#: ``_encode`` for objects whose keys are already in sorted order, at every level
_encode_sorted = _one_shot_encoder(sort_keys=False)


def _jcs(value: Any) -> bytes:
    # RFC 8785 for the values the log holds (ASCII keys, strings, integers, booleans, null):
    # Python's encoder escapes exactly the characters RFC 8785 escapes, the same way.
    return _encode(value).encode()


def _jcs_scalar(value: Json) -> bytes:
    """``_jcs`` of one column value, without the encoder's machinery for containers."""
    if value is None:
        return b"null"
    kind = type(value)
    if kind is str:
        return encode_basestring(value).encode()  # type: ignore[arg-type]
    if kind is int:
        return int.__repr__(value).encode()
    return _jcs(value)


def field_salt(
    salt_key: bytes, table: str, key: tuple[int, int | None], version: int | None, column: str
) -> bytes:
    """The secret salt of one redactable field of one row version.

    ``HMAC-SHA256(salt key, "table/id/sub/version")`` is the row's secret; the field's salt is
    ``SHA-256(row secret || column)``, so disclosing one field's salt reveals no other's.
    """
    secret = _row_secret(salt_key, table, key, version)
    return hashlib.sha256(secret + column.encode()).digest()


def _row_secret(
    salt_key: bytes, table: str, key: tuple[int, int | None], version: int | None
) -> bytes:
    sub = "" if key[1] is None else str(key[1])
    ver = "" if version is None else str(version)
    return hmac.digest(salt_key, f"{table}/{key[0]}/{sub}/{ver}".encode(), "sha256")


def secret_key_of(
    table: str,
    salt_key: bytes,
    row: Mapping[Any, Any],
    person_keys: Mapping[int, bytes] | None,
) -> bytes:
    """The key of a row's secret: its person's commit key for a plaintext value that a
    protection could later seal (:data:`PERSON_COMMITTED`), else the salt key.

    Without the person's key (``person_keys`` None or lacking it) the salt key: rows logged
    before commit keys existed were committed that way.
    """
    spec = PERSON_COMMITTED.get(table)
    if spec is None or not person_keys:
        return salt_key
    person, column = spec
    if is_sealed(row.get(column)):
        return salt_key
    return person_keys.get(int(row[person]), salt_key)


def field_commitment(salt: bytes, value: Json) -> str:
    """The hex commitment to a withheld field: SHA-256(salt || canonical JSON of the value)."""
    return hashlib.sha256(salt + _jcs_scalar(value)).hexdigest()


WITHHELD_PREFIX = "withheld:v1:"
"""What a superseded version kept in ``record_versions`` holds in place of a value that left
the history (its record became confidential): ``withheld:v1:{commitment hex}``, the field's
commitment in the log, so the version still verifies."""


def is_withheld(value: Any) -> bool:
    """Whether a kept value is a withheld field's commitment (:data:`WITHHELD_PREFIX`)."""
    return isinstance(value, str) and value.startswith(WITHHELD_PREFIX)


def committed_object(
    shape: TableShape,
    salt_key: bytes,
    values: Mapping[str, Json],
    key: tuple[int, int | None],
    version: int | None,
) -> dict[str, Any]:
    """The JSON object a row's content commitment hashes: redactable fields as ``{"c": hex}``
    (a withheld field of a kept version is its commitment already)."""
    obj: dict[str, Any] = dict(values)
    if shape.redactable:
        secret = _row_secret(salt_key, shape.table.name, key, version)
        for column in shape.redactable:
            if column in obj and is_withheld(obj[column]):
                obj[column] = {"c": str(obj[column])[len(WITHHELD_PREFIX) :]}
            elif column in obj:
                salt = hashlib.sha256(secret + column.encode()).digest()
                obj[column] = {"c": field_commitment(salt, obj[column])}
    return obj


def content_commitment(committed: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical JSON of a committed object."""
    return hashlib.sha256(_jcs(committed)).digest()


def entries_for(
    salt_key: bytes,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    op: str,
    person_keys: Mapping[int, bytes] | None = None,
) -> list[PendingEntry]:
    """The entries (table, row id, sub, version, op, content) of rows, not yet appended.

    Rows carry every column; deletes need only the key. A table the log does not cover gives
    no entries. ``person_keys`` are the commit keys of the persons whose plaintext the rows
    hold (see :func:`secret_key_of`).
    """
    shape = SHAPES.get(table.name)
    if shape is None or not rows:
        return []
    name = str(table.name)  # a plain str: the driver binds a subclass slowly
    if op == "delete":
        return [(name, *shape.key_of(row), None, op, None) for row in rows]
    # committed_object and content_commitment, row after row, with the per-row work that
    # does not depend on the row done once (tests/test_log.py holds the two to one result)
    values_of = batch_values(shape)
    redacted = [(c, c.encode()) for c in sorted(shape.redactable) if c in shape.table.c]
    # values_of keeps the columns in sorted order and a redacted value is {"c": hex}, so
    # the encoder that does not sort writes what _jcs writes, without sorting every row
    sha256, encode = hashlib.sha256, _encode_sorted
    batch: list[PendingEntry] = []
    for row in rows:
        key = shape.key_of(row)
        version = int(row["version"]) if shape.versioned else None
        obj: dict[str, Any] = values_of(row)
        if redacted:
            row_key = secret_key_of(name, salt_key, row, person_keys) if person_keys else salt_key
            secret = _row_secret(row_key, name, key, version)
            for column, column_bytes in redacted:
                salt = sha256(secret + column_bytes).digest()
                obj[column] = {"c": sha256(salt + _jcs_scalar(obj[column])).hexdigest()}
        content = sha256(encode(obj).encode()).digest()
        batch.append((name, key[0], key[1], version, op, content))
    return batch


# --- entries --------------------------------------------------------------------------------


def entry_object(
    table: str,
    row_id: int,
    row_sub: int | None,
    version: int | None,
    op: str,
    content: bytes | None,
) -> dict[str, Any]:
    """A log entry as a JSON object (see docs/ledger.md)."""
    obj: dict[str, Any] = {
        "v": ENTRY_FORMAT,
        "table": table,
        "id": row_id,
        "op": op,
        "content": content.hex() if content is not None else None,
    }
    if row_sub is not None:
        obj["sub"] = row_sub
    if version is not None:
        obj["version"] = version
    return obj


def entry_bytes(
    table: str,
    row_id: int,
    row_sub: int | None,
    version: int | None,
    op: str,
    content: bytes | None,
) -> bytes:
    """The canonical bytes of a log entry: exactly ``canonical_entry(entry_object(...))``.

    Written out by hand because the import appends millions of entries; a test checks it
    against :func:`canonical_entry` for arbitrary values.
    """
    if op not in OPS:
        raise ValueError(f"unknown log operation {op!r}")
    if table not in LOGGED_BY_NAME:
        raise ValueError(f"table {table!r} is not logged")
    body = f'"{content.hex()}"' if content is not None else "null"
    sub = f',"sub":{int(row_sub)}' if row_sub is not None else ""
    ver = f',"version":{int(version)}' if version is not None else ""
    return (
        f'{{"content":{body},"id":{int(row_id)},"op":"{op}"{sub},"table":"{table}",'
        f'"v":{ENTRY_FORMAT}{ver}}}'
    ).encode()


@dataclass(frozen=True)
class Entry:
    """One log entry as stored."""

    seq: int
    table: str
    row_id: int
    row_sub: int | None
    version: int | None
    op: str
    content: bytes | None
    leaf_hash: bytes

    def canonical(self) -> bytes:
        """The entry's canonical bytes."""
        return entry_bytes(
            self.table, self.row_id, self.row_sub, self.version, self.op, self.content
        )

    @classmethod
    def from_row(cls, row: Any) -> Entry:
        """From a ``ledger_entries`` row."""
        return cls(
            int(row.seq),
            row.tbl,
            int(row.row_id),
            None if row.row_sub is None else int(row.row_sub),
            None if row.row_version is None else int(row.row_version),
            row.op,
            None if row.content is None else bytes(row.content),
            bytes(row.leaf_hash),
        )


# --- canonical entries (RFC 8785 subset) ---------------------------------------------------

_STRING_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)}
_STRING_ESCAPES.update(
    {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}
)


def _path_key(path: str, key: str) -> str:
    shown = key if len(key) <= 40 else key[:37] + "..."
    if shown.isascii() and shown.isidentifier():
        return f"{path}.{shown}"
    return f"{path}[{json.dumps(shown, ensure_ascii=False)}]"


def _encode_string(s: str, path: str) -> str:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalEntryError(f"{path}: string holds a lone surrogate") from None
    if not unicodedata.is_normalized("NFC", s):
        raise CanonicalEntryError(
            f"{path}: string is not in Unicode NFC; normalise it before logging"
        )
    return '"' + s.translate(_STRING_ESCAPES) + '"'


def _encode_value(value: Any, path: str, depth: int, out: list[str]) -> None:
    if depth > _MAX_ENTRY_DEPTH:
        raise CanonicalEntryError(f"{path}: nested deeper than {_MAX_ENTRY_DEPTH} levels")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_string(value, path))
    elif isinstance(value, int):
        if abs(value) > _MAX_SAFE_INTEGER:
            raise CanonicalEntryError(
                f"{path}: integer outside +-(2**53-1); write it as a decimal string"
            )
        out.append(str(int(value)))
    elif isinstance(value, float):
        raise CanonicalEntryError(f"{path}: floats are not allowed; use an integer or a string")
    elif isinstance(value, Mapping):
        keys = list(value)
        for key in keys:
            if not isinstance(key, str):
                raise CanonicalEntryError(
                    f"{path}: object keys must be strings, got {type(key).__name__}"
                )
        # RFC 8785 orders keys by their UTF-16 code units, which differs from code point
        # order once characters outside the Basic Multilingual Plane appear.
        keys.sort(key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        out.append("{")
        for i, key in enumerate(keys):
            if i:
                out.append(",")
            child = _path_key(path, key)
            out.append(_encode_string(key, child))
            out.append(":")
            _encode_value(value[key], child, depth + 1, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode_value(item, f"{path}[{i}]", depth + 1, out)
        out.append("]")
    else:
        raise CanonicalEntryError(
            f"{path}: values of type {type(value).__name__} are not allowed; "
            "use strings (hex or base64 for bytes, ISO 8601 or EDTF for dates)"
        )


def canonical_entry(obj: Mapping[str, Any]) -> bytes:
    """Encode a log entry as canonical JSON bytes (an RFC 8785 subset; see docs/ledger.md).

    Objects with string keys sorted by UTF-16 code units, arrays, strings, integers within
    +-(2**53-1), true, false and null; no whitespace; UTF-8. Floats, bytes, dates and other
    types are refused, as are strings that are not in Unicode NFC or hold lone surrogates,
    so any RFC 8785 implementation reproduces these bytes from the same JSON value.

    Raises:
        CanonicalEntryError: the entry holds a value that has no canonical encoding here.
    """
    if not isinstance(obj, Mapping):
        raise CanonicalEntryError(f"$: a log entry must be a mapping, got {type(obj).__name__}")
    out: list[str] = []
    _encode_value(obj, "$", 0, out)
    return "".join(out).encode("utf-8")


def entry_hash(obj: Mapping[str, Any]) -> bytes:
    """Return the leaf hash of a log entry: ``leaf_hash(canonical_entry(obj))``."""
    return leaf_hash(canonical_entry(obj))
