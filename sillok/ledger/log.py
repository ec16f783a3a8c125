"""The archive's Merkle log: every row written becomes a log entry, and tree heads are signed.

The store layer calls :meth:`ArchiveLog.record_rows` (through the archive's write hooks,
:mod:`sillok.ledger.hooks`) for every record version inserted or updated, every link row
(names, sources of an act, perpetrators, signatories) inserted or deleted, every user change
and every audit event, in the same transaction as the write. An append:

1. computes each row's content commitment and builds its log entry
   (:mod:`sillok.ledger.entries`), hashes it as an RFC 9162 leaf, and inserts the entries with
   one executemany;
2. extends the persisted compact range (O(log n) per leaf, no read of older leaves) and signs
   a checkpoint of the new tree head with the archive's Ed25519 key.

The formats are specified in docs/ledger.md ("The archive's log").
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Table

from sillok.ledger.checkpoint import Checkpoint, Signer, open_checkpoint
from sillok.ledger.entries import (
    LOGGED_TABLES,
    NEWLY_LOGGED,
    PERSON_COMMITTED,
    SHAPES,
    Entry,
    PendingEntry,
    TableShape,
    committed_object,
    entries_for,
    entry_bytes,
    field_salt,
    secret_key_of,
)
from sillok.ledger.merkle import CompactRange, leaf_hash
from sillok.model import RECORD_TABLES
from sillok.security.keys import derive_key
from sillok.security.seal import CommitKeys, is_sealed
from sillok.store import ledger as store
from sillok.store.dialects import Dialect

_SIGNED_IN = "sillok_checkpoint_signed_in"  # conn.info: (transaction, size) last signed
_SIGNING_KEY_AAD = b"sillok checkpoint signing key"
_BACKFILL_BATCH = 10_000


class LogError(RuntimeError):
    """The log cannot be appended to (it was not set up, or its state is damaged)."""


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
        #: the persons' commit keys, every role's copies wrapped under a key of the salt key
        self.commit_keys = CommitKeys(dialect, derive_key(salt_key, "person commit keys"))

    # -- setting up --

    def setup(self, conn: Connection, origin: str) -> None:
        """Create the log's state and signing key (once, when the archive is created)."""
        signer = Signer.generate(origin)
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(self._signing_seal_key).encrypt(
            nonce, signer.private_bytes(), _SIGNING_KEY_AAD
        )
        store.create_log_state(
            conn, CompactRange().to_bytes(), origin, signer.verifier_key(), sealed
        )
        self._signer = signer
        self._sign(conn, CompactRange(), origin)

    def _load_signer(self, state: Any) -> Signer:
        if self._signer is None or self._signer.verifier_key() != state.verifier_key:
            raw = bytes(state.signing_key)
            try:
                seed = AESGCM(self._signing_seal_key).decrypt(raw[:12], raw[12:], _SIGNING_KEY_AAD)
            except InvalidTag:
                raise LogError(
                    "the log's signing key does not open with this archive's key"
                ) from None
            self._signer = Signer.from_private_bytes(state.origin, seed)
            if self._signer.verifier_key() != state.verifier_key:
                raise LogError("the log's signing key does not match its verifier key")
        return self._signer

    def _state(self, conn: Connection, lock: bool) -> Any:
        state = store.log_state(conn, lock=lock)
        if state is None:
            raise LogError("the archive has no log: it was made before the log existed")
        return state

    # -- appending --

    def record_rows(
        self, conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], op: str
    ) -> None:
        """Append one entry per row (rows carry every column; deletes need only the key)."""
        keys = None
        if op != "delete" and table.name in PERSON_COMMITTED:
            keys = self.person_keys(conn, table.name, rows, make=True)
        batch = self.entries_for(table, rows, op, keys)
        if batch:
            self.append(conn, batch)

    def entries_for(
        self,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        op: str,
        person_keys: Mapping[int, bytes] | None = None,
    ) -> list[PendingEntry]:
        """The entries (table, row id, sub, version, op, content) of rows, not yet appended."""
        return entries_for(self._salt_key, table, rows, op, person_keys)

    def person_keys(
        self, conn: Connection, table: str, rows: Sequence[Mapping[str, Any]], make: bool = False
    ) -> dict[int, bytes] | None:
        """The commit keys of the persons whose plaintext the rows hold (None for a table
        without such values); ``make`` makes the missing ones (when appending)."""
        spec = PERSON_COMMITTED.get(table)
        if spec is None:
            return None
        person, column = spec
        plain = [int(r[person]) for r in rows if not is_sealed(r.get(column))]
        return self.commit_keys.of(conn, plain, make=make) if plain else {}

    def append(self, conn: Connection, batch: Sequence[PendingEntry]) -> None:
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
        store.insert_entries(conn, self._dialect, rows)
        store.advance_log_state(conn, start, frontier.size, frontier.to_bytes())
        self._signer = self._load_signer(state)
        self._sign(conn, frontier, state.origin)

    def backfill(self, conn: Connection) -> int:
        """Log every row of an archive made before the log existed (oldest versions first)."""
        kinds = {t.name: k for k, t in RECORD_TABLES.items()}
        batch: list[PendingEntry] = []
        for table in LOGGED_TABLES:
            shape = SHAPES[table.name]
            rows = store.rows_in_key_order(conn, table, shape.key)
            if not shape.versioned:
                batch += self.entries_for(table, rows, "insert")
                continue
            kept: dict[int, list[dict[str, Any]]] = {}
            for record_id, data in store.kept_versions(conn, kinds[table.name]):
                kept.setdefault(record_id, []).append(json.loads(data))
            for row in rows:
                for version in [*kept.get(int(row["id"]), []), row]:
                    op = "insert" if int(version["version"]) == 1 else "update"
                    batch += self.entries_for(table, [version], op)
        for start in range(0, len(batch), _BACKFILL_BATCH):
            self.append(conn, batch[start : start + _BACKFILL_BATCH])
        return len(batch)

    def cover_new_tables(self, conn: Connection) -> int:
        """Log the rows of tables an older version did not log (``seal_keys``), once.

        Rows written behind the log before then cannot be told apart from the others: the
        log covers them from here on. Returns how many entries were appended.
        """
        batch: list[PendingEntry] = []
        for table in NEWLY_LOGGED:
            if store.entry_id_range(conn, table.name)[0] is not None:
                continue
            shape = SHAPES[table.name]
            batch += self.entries_for(
                table, store.rows_in_key_order(conn, table, shape.key), "insert"
            )
        if batch:
            self.append(conn, batch)
        return len(batch)

    def _sign(self, conn: Connection, frontier: CompactRange, origin: str) -> None:
        assert self._signer is not None
        root = frontier.root()
        note = self._signer.sign(Checkpoint(origin, frontier.size, root))
        # One checkpoint per transaction: a later append in the same transaction replaces the
        # one signed before it, which nobody outside the transaction ever saw.
        transaction = conn.get_transaction()
        earlier = conn.info.get(_SIGNED_IN)
        if earlier is not None and transaction is not None and earlier[0]() is transaction:
            store.delete_checkpoint(conn, earlier[1])
        store.insert_checkpoint(conn, frontier.size, root, note)
        if transaction is not None:
            conn.info[_SIGNED_IN] = (weakref.ref(transaction), frontier.size)

    # -- reading --

    def head(self, conn: Connection) -> LogHead:
        """The current size, root and signed checkpoint."""
        state = self._state(conn, lock=False)
        frontier = CompactRange.from_bytes(bytes(state.frontier))
        note = store.checkpoint_note(conn, state.size)
        if note is None:
            raise LogError(f"the log has no checkpoint for its size {state.size}")
        return LogHead(state.size, frontier.root(), note, state.verifier_key, state.origin)

    def leaf_hashes(self, conn: Connection, size: int) -> list[bytes]:
        """The first ``size`` leaf hashes, in order."""
        return store.leaf_hashes(conn, size)

    def entries_of(self, conn: Connection, table: str, row_id: int) -> list[Entry]:
        """Every entry about one row (any second key part), oldest first."""
        return [Entry.from_row(r) for r in store.entries_about(conn, table, row_id)]

    def checkpoint(self, conn: Connection, size: int) -> str | None:
        """The signed checkpoint of one tree size, if one was signed."""
        return store.checkpoint_note(conn, size)

    def checkpoints(self, conn: Connection) -> Iterator[tuple[int, bytes, str]]:
        """Every signed checkpoint (size, root, note), smallest first."""
        return store.checkpoints(conn)

    def committed(
        self,
        shape: TableShape,
        row: Mapping[Any, Any],
        version: int | None,
        person_keys: Mapping[int, bytes] | None = None,
    ) -> dict[str, Any]:
        """The committed object of a row (what its content commitment hashes); a plaintext
        name needs its person's commit key (:meth:`person_keys`)."""
        key = shape.key_of(row)
        secret_key = secret_key_of(shape.table.name, self._salt_key, row, person_keys)
        return committed_object(shape, secret_key, shape.values(row), key, version)

    def salt(
        self, table: str, key: tuple[int, int | None], version: int | None, column: str
    ) -> bytes:
        """The salt of one redactable field (disclosed in a proof bundle that shows the field)."""
        return field_salt(self._salt_key, table, key, version, column)


def open_head(note: str, verifier_key: str, origin: str) -> Checkpoint:
    """Check a stored checkpoint note with the archive's verifier key."""
    return open_checkpoint(note, [verifier_key], origin=origin)


__all__ = ["ArchiveLog", "LogError", "LogHead", "open_head"]
