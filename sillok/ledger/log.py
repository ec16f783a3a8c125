"""The archive's Merkle log: every row written becomes a log entry, and tree heads are signed.

The store layer calls :meth:`ArchiveLog.record_rows` (through the archive's write hooks,
:mod:`sillok.ledger.hooks`) for every record version inserted or updated, every link row
(names, sources of an act, perpetrators, signatories of either kind) inserted or deleted,
every user change and every audit event, in the same transaction as the write. An append:

1. computes each row's content commitment and builds its log entry
   (:mod:`sillok.ledger.entries`), hashes it as an RFC 9162 leaf, and inserts the entries with
   one executemany;
2. extends the persisted compact range (O(log n) per leaf, no read of older leaves) and
   writes a checkpoint of the new tree head, signed by its author: with the writer's own
   Ed25519 author key (every user's copy holds one, :attr:`ArchiveKeys.author`), and with the
   organisation's key as well when the writer holds it (administrators; docs/threat-model.md:
   the organisation's key is the administrators' alone). ``verify`` refuses a head signed by
   no known author, or by one whose role may not write what its batch holds
   (:mod:`sillok.ledger.authorship`).

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

from sillok.ledger.checkpoint import (
    Checkpoint,
    KeyTransition,
    Signer,
    add_signature,
    author_key_name,
    follow_transitions,
    is_signed,
    only_signed_by,
    open_checkpoint,
    sign_transition,
    signed_by,
)
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

    def __init__(
        self,
        dialect: Dialect,
        salt_key: bytes,
        signing_seal_key: bytes | None,
        author_seed: bytes | None = None,
    ) -> None:
        """Args:
        dialect: the store's dialect (for driver-level bulk inserts).
        salt_key: secret for the salts of redactable fields.
        signing_seal_key: AES-256-GCM key under which the Ed25519 seed is stored; None for a
            writer who does not hold it (their checkpoints carry no organisation signature).
        author_seed: the writer's own Ed25519 author seed; None for a copy made before
            authorship (their checkpoints carry no author signature).
        """
        self._dialect = dialect
        self._salt_key = salt_key
        self._signing_seal_key = signing_seal_key
        self._other_seal_keys: list[bytes] = []
        self._signer: Signer | None = None
        self._author_seed = author_seed
        self._author: Signer | None = None
        #: the persons' commit keys, every role's copies wrapped under a key of the salt key
        self.commit_keys = CommitKeys(dialect, derive_key(salt_key, "person commit keys"))

    # -- setting up --

    @property
    def signs(self) -> bool:
        """Whether this writer signs checkpoints (holds the signing key)."""
        return self._signing_seal_key is not None

    def use_author(self, seed: bytes | None) -> None:
        """Sign with the author key ``seed`` from now on (a key copy rewritten at login)."""
        self._author_seed, self._author = seed, None

    def author_signer(self, origin: str) -> Signer | None:
        """The writer's own author key (None for a copy made before authorship); besides
        checkpoints it signs the record of the writer's last verification."""
        return self._author_signer(origin)

    def _author_signer(self, origin: str) -> Signer | None:
        if self._author_seed is None:
            return None
        if self._author is None or self._author.name != author_key_name(origin):
            self._author = Signer.from_private_bytes(author_key_name(origin), self._author_seed)
        return self._author

    def _sealed_seed(self, signer: Signer, seal_key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(seal_key).encrypt(nonce, signer.private_bytes(), _SIGNING_KEY_AAD)

    def setup(self, conn: Connection, origin: str) -> None:
        """Create the log's state and signing key (once, when the archive is created)."""
        if self._signing_seal_key is None:
            raise LogError("setting up the log needs the signing key (an administrator's copy)")
        signer = Signer.generate(origin)
        sealed = self._sealed_seed(signer, self._signing_seal_key)
        store.create_log_state(
            conn, CompactRange().to_bytes(), origin, signer.verifier_key(), sealed
        )
        self._signer = signer
        self._sign(conn, CompactRange(), origin)

    def _load_signer(self, state: Any) -> Signer:
        if self._signing_seal_key is None:
            raise LogError("this key copy does not hold the checkpoint-signing key")
        if self._signer is None or self._signer.verifier_key() != state.verifier_key:
            seed = self._open_seed(state)
            if seed is None:
                raise LogError("the log's signing key does not open with this archive's key")
            self._signer = Signer.from_private_bytes(state.origin, seed)
            if self._signer.verifier_key() != state.verifier_key:
                raise LogError("the log's signing key does not match its verifier key")
        return self._signer

    def _open_seed(self, state: Any) -> bytes | None:
        raw = bytes(state.signing_key)
        for key in [k for k in (self._signing_seal_key, *self._other_seal_keys) if k]:
            try:
                seed = AESGCM(key).decrypt(raw[:12], raw[12:], _SIGNING_KEY_AAD)
            except InvalidTag:
                continue
            self._signing_seal_key = key  # during a rotation: the key it is sealed under now
            return seed
        return None

    def accept_signing_key(self, key: bytes | None) -> None:
        """Also try ``key`` for the sealed seed (the other key of an unfinished rotation)."""
        if key is not None and self._signing_seal_key is not None:
            self._other_seal_keys.append(key)

    def seed_sealed_under(self, conn: Connection, key: bytes) -> bool:
        """Whether the signing seed is sealed under ``key`` (a rotation already replaced it)."""
        raw = bytes(self._state(conn, lock=False).signing_key)
        try:
            AESGCM(key).decrypt(raw[:12], raw[12:], _SIGNING_KEY_AAD)
        except InvalidTag:
            return False
        return True

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
        if self.signs:
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

    def _sign(
        self, conn: Connection, frontier: CompactRange, origin: str, author: bool = True
    ) -> None:
        root = frontier.root()
        checkpoint = Checkpoint(origin, frontier.size, root)
        signers = [self._author_signer(origin) if author else None]
        signers.append(self._signer if self.signs else None)
        note = signed_by(checkpoint.body(), [s for s in signers if s is not None])
        # One checkpoint per transaction: a later append in the same transaction replaces the
        # one signed before it, which nobody outside the transaction ever saw.
        transaction = conn.get_transaction()
        earlier = conn.info.get(_SIGNED_IN)
        if earlier is not None and transaction is not None and earlier[0]() is transaction:
            store.delete_checkpoint(conn, earlier[1])
        store.insert_checkpoint(conn, frontier.size, root, note)
        if transaction is not None:
            conn.info[_SIGNED_IN] = (weakref.ref(transaction), frontier.size)

    # -- rotating the organisation's key --

    def rotate_signer(self, conn: Connection, new_seal_key: bytes) -> KeyTransition:
        """Replace the checkpoint-signing key at the log's current size (in the rotation's
        transaction): a new Ed25519 key, sealed under ``new_seal_key``, and the transition,
        signed by the old and the new key, added to the chain ``verify`` follows."""
        state = self._state(conn, lock=True)
        old = self._load_signer(state)
        new = Signer.generate(state.origin)
        transition = sign_transition(old, new, state.origin, int(state.size))
        first, notes = checkpoint_key_chain(conn, state.verifier_key)
        store.save_key_chain(conn, json.dumps({"first": first, "notes": [*notes, transition.note]}))
        store.replace_signing_key(conn, new.verifier_key(), self._sealed_seed(new, new_seal_key))
        self._signing_seal_key = new_seal_key
        self._signer = new
        return transition

    def reseal_signer(self, conn: Connection, new_seal_key: bytes) -> None:
        """Keep the signing key, sealed under a new key (a legacy copy's migration)."""
        signer = self._load_signer(self._state(conn, lock=True))
        store.reseal_signing_key(conn, self._sealed_seed(signer, new_seal_key))
        self._signing_seal_key = new_seal_key

    # -- reading --

    def key_chain(self, conn: Connection) -> tuple[str, list[KeyTransition]]:
        """The first checkpoint key and the checked transitions since (see :func:`verify`)."""
        state = self._state(conn, lock=False)
        first, notes = checkpoint_key_chain(conn, state.verifier_key)
        return first, follow_transitions(first, notes, state.origin)

    def head(self, conn: Connection) -> LogHead:
        """The current size, root and signed checkpoint."""
        state = self._state(conn, lock=False)
        frontier = CompactRange.from_bytes(bytes(state.frontier))
        note = store.checkpoint_note(conn, state.size)
        if note is None:
            raise LogError(f"the log has no checkpoint for its size {state.size}")
        return LogHead(state.size, frontier.root(), note, state.verifier_key, state.origin)

    def sign_head(self, conn: Connection) -> bool:
        """Countersign the current head with the organisation's key when this writer holds it
        and the head is not signed with it yet (an administrator countersigning others'
        writes: the author's signature stays on the note); returns whether a new signature
        was written."""
        if not self.signs:
            return False
        state = self._state(conn, lock=True)
        signed = store.newest_signed_checkpoint(conn, state.origin)
        if signed is not None and int(signed.size) == state.size:
            return False  # already signed
        note = store.checkpoint_note(conn, state.size)
        if self._signer is None:
            self._signer = self._load_signer(state)
        frontier = CompactRange.from_bytes(bytes(state.frontier))
        if note is not None:
            store.delete_checkpoint(conn, state.size)
        if note is not None and is_signed(note):
            store.insert_checkpoint(
                conn, state.size, frontier.root(), add_signature(note, self._signer)
            )
        else:
            # an unsigned head (written before authorship): the organisation's key alone
            self._sign(conn, frontier, state.origin, author=False)
        return True

    def signed_head(self, conn: Connection) -> LogHead:
        """The newest tree head signed with the organisation's key, with its signature line
        alone (what proofs and replicas use: heads written by non-administrators carry only
        their author's signature until an administrator's session countersigns a later one,
        and no author's signature leaves the archive)."""
        state = self._state(conn, lock=False)
        row = store.newest_signed_checkpoint(conn, state.origin)
        if row is None:
            raise LogError("the log has no checkpoint signed by the organisation's key")
        note = only_signed_by(row.note, state.origin)  # who wrote the batch stays inside
        return LogHead(int(row.size), bytes(row.root), note, state.verifier_key, state.origin)

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


def checkpoint_key_chain(conn: Connection, current_key: str) -> tuple[str, list[str]]:
    """(first checkpoint key, transition notes) as stored; an archive never rotated has
    its current key as the first and no transitions."""
    stored = store.key_chain(conn)
    if stored is None:
        return current_key, []
    data = json.loads(stored)
    return str(data["first"]), [str(n) for n in data["notes"]]


def open_head(note: str, verifier_key: str, origin: str) -> Checkpoint:
    """Check a stored checkpoint note with the archive's verifier key."""
    return open_checkpoint(note, [verifier_key], origin=origin)


__all__ = ["ArchiveLog", "LogError", "LogHead", "checkpoint_key_chain", "open_head"]
