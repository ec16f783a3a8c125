"""The archive's Merkle log: every row written becomes a log entry, and tree heads are signed.

The store layer calls :meth:`ArchiveLog.append` (through the archive's write hooks) for every
record version inserted or updated, every link row (names, sources of an act, perpetrators,
signatories) inserted or deleted, every user change and every audit event, in the same
transaction as the write. An append:

1. computes each row's *content commitment* (:func:`content_commitment`): SHA-256 over the
   canonical JSON of the row, in which the columns some role may not read are replaced by
   salted hashes of their values, so a proof bundle can withhold them and still verify;
2. builds each row's *log entry* (:func:`entry_bytes`), hashes it as an RFC 9162 leaf, and
   inserts the entries with one executemany;
3. extends the persisted compact range (O(log n) per leaf, no read of older leaves) and signs
   a checkpoint of the new tree head with the archive's Ed25519 key.

The formats are specified in docs/ledger.md ("The archive's log").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from sillok.ledger.checkpoint import Checkpoint, Signer, open_checkpoint
from sillok.ledger.merkle import CompactRange, leaf_hash
from sillok.model import RECORD_TABLES as _RECORD_TABLES
from sillok.model import (
    act_perpetrators,
    act_sources,
    attachment_custody,
    audit_events,
    ledger_checkpoints,
    ledger_entries,
    ledger_state,
    person_contacts,
    person_names,
    statement_events,
    statement_signatories,
    users,
)
from sillok.security.policy import redactable
from sillok.store.dialects import Dialect

ENTRY_FORMAT = 1
_SIGNED_IN = "sillok_checkpoint_signed_in"  # conn.info: (transaction, size) last signed
COMMITMENT_FORMAT = 1
OPS = ("insert", "update", "delete")

#: every table whose rows the log covers
LOGGED_TABLES: tuple[Table, ...] = (
    *_RECORD_TABLES.values(),
    person_names,
    person_contacts,
    act_sources,
    act_perpetrators,
    statement_signatories,
    statement_events,
    users,
    audit_events,
    attachment_custody,
)
LOGGED_BY_NAME: dict[str, Table] = {t.name: t for t in LOGGED_TABLES}

Json = None | bool | int | str


class LogError(RuntimeError):
    """The log cannot be appended to (it was not set up, or its state is damaged)."""


# --- row values and content commitments -----------------------------------------------------


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


def _shape(table: Table) -> TableShape:
    key = tuple(c.name for c in table.primary_key.columns)
    if len(key) not in (1, 2):
        raise TypeError(f"{table.name}: the log needs a one- or two-column primary key")
    return TableShape(
        table=table,
        key=key,
        versioned="version" in table.c,
        converters=tuple((c.name, _converter(c)) for c in table.columns),
        redactable=redactable(table.name),
    )


SHAPES: dict[str, TableShape] = {t.name: _shape(t) for t in LOGGED_TABLES}

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
    # in sorted order: the entries' encoder relies on it (see ArchiveLog.entries_for)
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


def field_commitment(salt: bytes, value: Json) -> str:
    """The hex commitment to a withheld field: SHA-256(salt || canonical JSON of the value)."""
    return hashlib.sha256(salt + _jcs_scalar(value)).hexdigest()


def committed_object(
    shape: TableShape,
    salt_key: bytes,
    values: Mapping[str, Json],
    key: tuple[int, int | None],
    version: int | None,
) -> dict[str, Any]:
    """The JSON object a row's content commitment hashes: redactable fields as ``{"c": hex}``."""
    obj: dict[str, Any] = dict(values)
    if shape.redactable:
        secret = _row_secret(salt_key, shape.table.name, key, version)
        for column in shape.redactable:
            if column in obj:
                salt = hashlib.sha256(secret + column.encode()).digest()
                obj[column] = {"c": field_commitment(salt, obj[column])}
    return obj


def content_commitment(committed: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical JSON of a committed object."""
    return hashlib.sha256(_jcs(committed)).digest()


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
    against :func:`sillok.ledger.merkle.canonical_entry` for arbitrary values.
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


# --- the log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogHead:
    """The log's size, root and latest signed checkpoint."""

    size: int
    root: bytes
    checkpoint: str
    verifier_key: str
    origin: str


class ArchiveLog:
    """The Merkle log of one archive."""

    def __init__(self, dialect: Dialect, salt_key: bytes, signing_seal_key: bytes) -> None:
        """Args:
        dialect: the store's dialect (for driver-level bulk inserts).
        salt_key: secret for the salts of redactable fields.
        signing_seal_key: AES-256-GCM key under which the Ed25519 seed is stored.
        """
        self._dialect = dialect
        self._salt_key = salt_key
        self._signing_seal_key = signing_seal_key
        self._signer: Signer | None = None

    # -- setting up --

    def setup(self, conn: Connection, origin: str) -> None:
        """Create the log's state and signing key (once, when the archive is created)."""
        signer = Signer.generate(origin)
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(self._signing_seal_key).encrypt(
            nonce, signer.private_bytes(), b"sillok checkpoint signing key"
        )
        conn.execute(
            insert(ledger_state),
            {
                "id": 1,
                "size": 0,
                "frontier": CompactRange().to_bytes(),
                "origin": origin,
                "verifier_key": signer.verifier_key(),
                "signing_key": sealed,
            },
        )
        self._signer = signer
        self._sign(conn, CompactRange(), origin)

    def _load_signer(self, state: Any) -> Signer:
        if self._signer is None or self._signer.verifier_key() != state.verifier_key:
            raw = bytes(state.signing_key)
            try:
                seed = AESGCM(self._signing_seal_key).decrypt(
                    raw[:12], raw[12:], b"sillok checkpoint signing key"
                )
            except InvalidTag:
                raise LogError(
                    "the log's signing key does not open with this archive's key"
                ) from None
            self._signer = Signer.from_private_bytes(state.origin, seed)
            if self._signer.verifier_key() != state.verifier_key:
                raise LogError("the log's signing key does not match its verifier key")
        return self._signer

    def _state(self, conn: Connection, lock: bool) -> Any:
        stmt = select(ledger_state).where(ledger_state.c.id == 1)
        if lock:
            stmt = stmt.with_for_update()
        state = conn.execute(stmt).first()
        if state is None:
            raise LogError("the archive has no log: it was made before the log existed")
        return state

    # -- appending --

    def record_rows(
        self, conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], op: str
    ) -> None:
        """Append one entry per row (rows carry every column; deletes need only the key)."""
        batch = self.entries_for(table, rows, op)
        if batch:
            self.append(conn, batch)

    def entries_for(
        self, table: Table, rows: Sequence[Mapping[str, Any]], op: str
    ) -> list[tuple[str, int, int | None, int | None, str, bytes | None]]:
        """The entries (table, row id, sub, version, op, content) of rows, not yet appended."""
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
        salt_key, sha256, encode = self._salt_key, hashlib.sha256, _encode_sorted
        batch: list[tuple[str, int, int | None, int | None, str, bytes | None]] = []
        for row in rows:
            key = shape.key_of(row)
            version = int(row["version"]) if shape.versioned else None
            obj: dict[str, Any] = values_of(row)
            if redacted:
                secret = _row_secret(salt_key, name, key, version)
                for column, column_bytes in redacted:
                    salt = sha256(secret + column_bytes).digest()
                    obj[column] = {"c": sha256(salt + _jcs_scalar(obj[column])).hexdigest()}
            content = sha256(encode(obj).encode()).digest()
            batch.append((name, key[0], key[1], version, op, content))
        return batch

    def append(
        self,
        conn: Connection,
        batch: Sequence[tuple[str, int, int | None, int | None, str, bytes | None]],
    ) -> None:
        """Append entries (table, row id, sub, version, op, content) and sign the new head."""
        state = self._state(conn, lock=True)
        frontier = CompactRange.from_bytes(bytes(state.frontier))
        if frontier.size != state.size:
            raise LogError("the log's state is damaged (frontier and size disagree)")
        start = frontier.size
        leaves = [leaf_hash(entry_bytes(*entry)) for entry in batch]
        frontier.extend(leaves)
        rows = [
            {
                "seq": seq,
                "tbl": tbl,
                "row_id": rid,
                "row_sub": sub,
                "row_version": ver,
                "op": op,
                "content": content,
                "leaf_hash": leaf,
            }
            for seq, (tbl, rid, sub, ver, op, content), leaf in zip(
                range(start, start + len(batch)), batch, leaves, strict=True
            )
        ]
        self._dialect.bulk_insert(conn, ledger_entries, rows)
        conn.execute(
            update(ledger_state)
            .where(ledger_state.c.id == 1, ledger_state.c.size == start)
            .values(size=frontier.size, frontier=frontier.to_bytes())
        )
        self._signer = self._load_signer(state)
        self._sign(conn, frontier, state.origin)

    def backfill(self, conn: Connection) -> int:
        """Log every row of an archive made before the log existed (oldest versions first)."""
        from sillok.model import RECORD_TABLES, record_versions

        kinds = {t.name: k for k, t in RECORD_TABLES.items()}
        batch: list[tuple[str, int, int | None, int | None, str, bytes | None]] = []
        for table in LOGGED_TABLES:
            shape = SHAPES[table.name]
            order = [table.c[k] for k in shape.key]
            rows = [dict(r._mapping) for r in conn.execute(select(table).order_by(*order))]
            if not shape.versioned:
                batch += self.entries_for(table, rows, "insert")
                continue
            kept: dict[int, list[dict[str, Any]]] = {}
            for r in conn.execute(
                select(record_versions)
                .where(record_versions.c.record_kind == kinds[table.name])
                .order_by(record_versions.c.record_id, record_versions.c.version)
            ):
                kept.setdefault(int(r.record_id), []).append(json.loads(r.data))
            for row in rows:
                for version in [*kept.get(int(row["id"]), []), row]:
                    op = "insert" if int(version["version"]) == 1 else "update"
                    batch += self.entries_for(table, [version], op)
        for start in range(0, len(batch), 10_000):
            self.append(conn, batch[start : start + 10_000])
        return len(batch)

    def _sign(self, conn: Connection, frontier: CompactRange, origin: str) -> None:
        from sillok.store.rows import now

        assert self._signer is not None
        root = frontier.root()
        note = self._signer.sign(Checkpoint(origin, frontier.size, root))
        # One checkpoint per transaction: a later append in the same transaction replaces the
        # one signed before it, which nobody outside the transaction ever saw.
        transaction = conn.get_transaction()
        earlier = conn.info.get(_SIGNED_IN)
        if earlier is not None and transaction is not None and earlier[0]() is transaction:
            conn.execute(
                delete(ledger_checkpoints).where(ledger_checkpoints.c.size == earlier[1])
            )
        conn.execute(
            insert(ledger_checkpoints),
            {"size": frontier.size, "root": root, "note": note, "signed_at": now()},
        )
        if transaction is not None:
            conn.info[_SIGNED_IN] = (weakref.ref(transaction), frontier.size)

    # -- reading --

    def head(self, conn: Connection) -> LogHead:
        """The current size, root and signed checkpoint."""
        state = self._state(conn, lock=False)
        frontier = CompactRange.from_bytes(bytes(state.frontier))
        note = conn.execute(
            select(ledger_checkpoints.c.note).where(ledger_checkpoints.c.size == state.size)
        ).scalar()
        if note is None:
            raise LogError(f"the log has no checkpoint for its size {state.size}")
        return LogHead(state.size, frontier.root(), note, state.verifier_key, state.origin)

    def leaf_hashes(self, conn: Connection, size: int) -> list[bytes]:
        """The first ``size`` leaf hashes, in order."""
        return [
            bytes(h)
            for (h,) in conn.execute(
                select(ledger_entries.c.leaf_hash)
                .where(ledger_entries.c.seq < size)
                .order_by(ledger_entries.c.seq)
            )
        ]

    def entries_of(self, conn: Connection, table: str, row_id: int) -> list[Entry]:
        """Every entry about one row (any second key part), oldest first."""
        rows = conn.execute(
            select(ledger_entries)
            .where(ledger_entries.c.tbl == table, ledger_entries.c.row_id == row_id)
            .order_by(ledger_entries.c.seq)
        )
        return [Entry.from_row(r) for r in rows]

    def checkpoint(self, conn: Connection, size: int) -> str | None:
        """The signed checkpoint of one tree size, if one was signed."""
        note: str | None = conn.execute(
            select(ledger_checkpoints.c.note).where(ledger_checkpoints.c.size == size)
        ).scalar()
        return note

    def checkpoints(self, conn: Connection) -> Iterator[tuple[int, bytes, str]]:
        """Every signed checkpoint (size, root, note), smallest first."""
        for row in conn.execute(select(ledger_checkpoints).order_by(ledger_checkpoints.c.size)):
            yield int(row.size), bytes(row.root), row.note

    def committed(
        self, shape: TableShape, row: Mapping[Any, Any], version: int | None
    ) -> dict[str, Any]:
        """The committed object of a row (what its content commitment hashes)."""
        key = shape.key_of(row)
        return committed_object(shape, self._salt_key, shape.values(row), key, version)

    def salt(
        self, table: str, key: tuple[int, int | None], version: int | None, column: str
    ) -> bytes:
        """The salt of one redactable field (disclosed in a proof bundle that shows the field)."""
        return field_salt(self._salt_key, table, key, version, column)


def open_head(note: str, verifier_key: str, origin: str) -> Checkpoint:
    """Check a stored checkpoint note with the archive's verifier key."""
    return open_checkpoint(note, [verifier_key], origin=origin)


__all__ = [
    "ArchiveLog",
    "Entry",
    "LOGGED_TABLES",
    "LogError",
    "LogHead",
    "SHAPES",
    "content_commitment",
    "entry_bytes",
    "entry_object",
]


class ArchiveHooks:
    """The archive's :class:`~sillok.store.rows.WriteHooks`: seal, then log, every row."""

    def __init__(
        self,
        log: ArchiveLog,
        sealer: Sealing | None = None,
        on_write: Callable[[Connection, str, str, list[int]], None] | None = None,
    ) -> None:
        self.log = log
        self.sealer = sealer
        self.on_write = on_write

    def prepare(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Seal the values the sealing rules name."""
        if self.sealer is not None:
            self.sealer.seal_rows(conn, table, rows)

    def written(
        self, conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], op: str
    ) -> None:
        """Append the rows to the log, and note the write in the audit trail."""
        self.log.record_rows(conn, table, rows, op)
        if self.on_write is not None and table.name != "audit_events" and rows:
            key = SHAPES[table.name].key[0] if table.name in SHAPES else None
            ids = [int(r[key]) for r in rows] if key else []
            self.on_write(conn, table.name, op, ids)

    def unchanged(
        self, conn: Connection, table: Table, current: Any, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Drop changes to sealed values that open to the same plaintext."""
        if self.sealer is None:
            return changes
        return self.sealer.real_changes(conn, table, current, changes)


class Sealing(Protocol):
    """What the hooks need of :class:`sillok.security.seal.Sealer`."""

    def seal_rows(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Seal in place."""

    def real_changes(
        self, conn: Connection, table: Table, current: Any, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Changes minus sealed values that did not change."""
