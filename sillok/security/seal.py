"""Sealed fields: AES-256-GCM on top of the file encryption, per-person keys, crypto-shredding.

Some values are sealed before they reach the database (the rules are :func:`seal_rules`):

* the names and contacts of a *protected* person (an informant, a witness, a victim marked
  protected), under that person's own key;
* a source's narrative (the testimony text), under its informant's key when it has one;
* the description of a confidential act or event, under the archive-wide seal key.

A sealed value is the text ``sealed:v1:<key id>:<base64(nonce || ciphertext)>``. The
associated data is ``table|column|row id``, so a ciphertext copied into another row or column
fails to open. Field keys are random, kept in ``seal_keys`` wrapped under the *seal master
key*, which only the roles of :data:`sillok.security.policy.SEAL_ROLES` receive with their copy of
the
archive key: a viewer who decrypts the database file still sees only ciphertext.

Deleting a person's wrapped key (:meth:`Sealer.shred`) erases every value sealed under it for
good: the ciphertext stays (the Merkle log commits to it, so the log still verifies) but
nothing can open it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Table

from sillok.errors import SillokError
from sillok.store import seals as store
from sillok.store.dialects import Dialect

PREFIX = "sealed:v1:"
_READERS_PREFIX = "commit-readers:"
ARCHIVE_SUBJECT = "archive"
ERASED = "[erased]"
"""What a value sealed under a shredded key shows."""


class SealError(SillokError):
    """A sealed value cannot be sealed or opened (no seal key, a moved ciphertext...).

    The message names the table, column and row, never the value.
    """


def is_sealed(value: Any) -> bool:
    """Whether a stored value is a sealed text."""
    return isinstance(value, str) and value.startswith(PREFIX)


def _aad(table: str, column: str, row_id: int) -> bytes:
    return f"{table}|{column}|{int(row_id)}".encode()


def _key_aad(key_id: int, subject: str) -> bytes:
    return f"sillok seal key|{key_id}|{subject}".encode()


def _seal_with(key_id: int, key: bytes, table: str, column: str, row_id: int, value: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, value.encode("utf-8"), _aad(table, column, row_id))
    return f"{PREFIX}{key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def person_subject(person_id: int) -> str:
    """The key subject of one person."""
    return f"person:{int(person_id)}"


def commit_subject(person_id: int) -> str:
    """The subject of the seal holders' copy of a person's commit key (under the seal master)."""
    return f"commit:person:{int(person_id)}"


def readers_subject(person_id: int) -> str:
    """The subject of every role's copy of a person's commit key (while they are unprotected)."""
    return f"commit-readers:person:{int(person_id)}"


def wrap_key(wrapping: bytes, key_id: int, subject: str, key: bytes) -> bytes:
    """A key wrapped (AES-256-GCM) under another, bound to its row id and subject."""
    nonce = os.urandom(12)
    return nonce + AESGCM(wrapping).encrypt(nonce, key, _key_aad(key_id, subject))


def unwrap_key(wrapping: bytes, key_id: int, subject: str, wrapped: bytes) -> bytes | None:
    """The key :func:`wrap_key` wrapped; None if ``wrapping`` does not open it."""
    raw = bytes(wrapped)
    try:
        return AESGCM(wrapping).decrypt(raw[:12], raw[12:], _key_aad(key_id, subject))
    except (InvalidTag, ValueError):
        return None


def seal_rules(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> list[list[tuple[str, str]]]:
    """For each row, the (column, key subject) pairs to seal."""
    name = table.name
    if name == "person_names":
        ids = sorted({int(r["person_id"]) for r in rows})
        protected = store.protected_persons(conn, ids)
        return [
            [("name", person_subject(r["person_id"]))] if r["person_id"] in protected else []
            for r in rows
        ]
    if name == "person_contacts":
        return [[("value", person_subject(r["person_id"]))] for r in rows]
    if name == "sources":
        return [
            [
                (
                    "narrative",
                    person_subject(r["informant_id"]) if r.get("informant_id") else ARCHIVE_SUBJECT,
                )
            ]
            if r.get("narrative") is not None
            else []
            for r in rows
        ]
    if name in ("acts", "events"):
        return [
            [("description", ARCHIVE_SUBJECT)]
            if r.get("sharing") == "confidential" and r.get("description") is not None
            else []
            for r in rows
        ]
    return [[] for _ in rows]


class Sealer:
    """Seals and opens field values with per-subject keys wrapped under the seal master key."""

    def __init__(
        self, dialect: Dialect, master_key: bytes | None, older: Sequence[bytes] = ()
    ) -> None:
        """``master_key`` is None for a role that may not open sealed fields; ``older`` are
        seal master keys a field key may still be wrapped under (during a key rotation)."""
        self._dialect = dialect
        self._master = AESGCM(master_key) if master_key is not None else None
        self._older = [AESGCM(k) for k in older]
        self._keys: dict[tuple[int, bytes], bytes] = {}

    @property
    def can_open(self) -> bool:
        """Whether this sealer holds the seal master key."""
        return self._master is not None

    def _need_master(self, what: str) -> AESGCM:
        if self._master is None:
            raise SealError(f"{what}: this user's key does not include the seal key")
        return self._master

    # -- keys --

    def _unwrap(self, key_id: int, subject: str, wrapped: bytes | None) -> bytes | None:
        """A field key from its stored row (None when shredded), cached by its exact bytes."""
        if wrapped is None:
            return None
        raw = bytes(wrapped)
        # Cached by id *and* wrapped bytes: a key made in a transaction that rolled back can
        # never be mistaken for another key that later takes its id.
        cached = self._keys.get((key_id, raw))
        if cached is not None:
            return cached
        key = self._try_masters(raw, _key_aad(key_id, subject))
        if key is None:
            raise SealError(f"seal key {key_id} does not open with this seal master key")
        self._keys[(key_id, raw)] = key
        return key

    def _try_masters(self, raw: bytes, aad: bytes) -> bytes | None:
        for master in [self._need_master("opening a sealed field"), *self._older]:
            try:
                return master.decrypt(raw[:12], raw[12:], aad)
            except InvalidTag:
                continue
        return None

    def _keys_for(self, conn: Connection, subjects: set[str]) -> dict[str, tuple[int, bytes]]:
        """The field key of each subject, made (and stored wrapped) where missing."""
        found: dict[str, tuple[int, bytes]] = {}
        wanted = sorted(subjects)
        for row in store.seal_keys_of(conn, wanted):
            key = self._unwrap(int(row.id), row.subject, row.wrapped)
            if key is None:
                raise SealError(
                    f"the seal key of {row.subject} was shredded: nothing can be sealed for it"
                )
            found[row.subject] = (int(row.id), key)
        missing = [s for s in wanted if s not in found]
        if missing:
            master = self._need_master(f"sealing for {missing[0]}")
            ids = store.new_seal_key_ids(conn, self._dialect, len(missing))
            made = []
            for key_id, subject in zip(ids, missing, strict=True):
                key = AESGCM.generate_key(bit_length=256)
                nonce = os.urandom(12)
                wrapped = nonce + master.encrypt(nonce, key, _key_aad(key_id, subject))
                made.append((int(key_id), subject, wrapped))
                found[subject] = (int(key_id), key)
            store.insert_seal_keys(conn, self._dialect, made)
        return found

    def subject_key(self, conn: Connection, subject: str) -> bytes:
        """The field key of a subject, made (and stored wrapped) if it has none yet.

        For keyed hashes that only the seal key's holders may compute (person refs, see
        :mod:`sillok.security.refs`): the key is random, so it survives a key rotation
        (re-wrapped), and no other key copy derives it.
        """
        return self._keys_for(conn, {subject})[subject][1]

    def _load(self, conn: Connection, key_id: int) -> bytes | None:
        row = store.seal_key(conn, key_id)
        if row is None:
            raise SealError(f"seal key {key_id} does not exist")
        return self._unwrap(key_id, row.subject, row.wrapped)

    # -- values --

    def seal_value(
        self, conn: Connection, subject: str, table: str, column: str, row_id: int, value: str
    ) -> str:
        """Seal one value for one row and column."""
        key_id, key = self._keys_for(conn, {subject})[subject]
        return _seal_with(key_id, key, table, column, row_id, value)

    def open_value(self, conn: Connection, table: str, column: str, row_id: int, value: str) -> str:
        """The plaintext of a sealed value; :data:`ERASED` if its key was shredded."""
        if not is_sealed(value):
            return value
        where = f"{table}.{column} of row {row_id}"
        try:
            key_text, blob = value[len(PREFIX) :].split(":", 1)
            raw = base64.b64decode(blob, validate=True)
            key_id = int(key_text)
        except ValueError:
            raise SealError(f"{where} is not a well-formed sealed value") from None
        key = self._load(conn, key_id)
        if key is None:
            return ERASED
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], _aad(table, column, row_id)).decode()
        except InvalidTag:
            raise SealError(
                f"{where} does not open: it was altered or moved from another row"
            ) from None

    # -- the write hooks --

    def seal_rows(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Seal, in place, every value the rules name that is not sealed yet."""
        rules = seal_rules(conn, table, rows)
        todo = [
            (row, column, subject)
            for row, columns in zip(rows, rules, strict=True)
            for column, subject in columns
            if row.get(column) is not None and not is_sealed(row.get(column))
        ]
        if not todo:
            return
        keys = self._keys_for(conn, {subject for _r, _c, subject in todo})
        for row, column, subject in todo:
            key_id, key = keys[subject]
            row[column] = _seal_with(
                key_id, key, table.name, column, int(row["id"]), str(row[column])
            )

    def real_changes(
        self, conn: Connection, table: Table, current: Any, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """``changes`` minus sealed values whose plaintext is what is being written again."""
        out = dict(changes)
        for column, new in changes.items():
            stored = current._mapping.get(column)
            if is_sealed(stored) and not is_sealed(new) and self.can_open:
                try:
                    if self.open_value(conn, table.name, column, int(current.id), stored) == new:
                        del out[column]
                except SealError:
                    pass  # unreadable: write the new value, sealed again
        return out

    def keep(self, conn: Connection, subject: str, key: bytes) -> None:
        """Store a given key wrapped under the seal master key (a person's commit key)."""
        master = self._need_master(f"keeping the key of {subject}")
        row = store.seal_key_of(conn, subject)
        if row is not None:
            nonce = os.urandom(12)
            wrapped = nonce + master.encrypt(nonce, key, _key_aad(int(row.id), subject))
            store.rewrap_seal_key(conn, int(row.id), wrapped)
            return
        (key_id,) = store.new_seal_key_ids(conn, self._dialect, 1)
        nonce = os.urandom(12)
        wrapped = nonce + master.encrypt(nonce, key, _key_aad(int(key_id), subject))
        store.insert_seal_keys(conn, self._dialect, [(int(key_id), subject, wrapped)])

    # -- shredding --

    def shred(self, conn: Connection, subject: str) -> bool:
        """Destroy the wrapped key of a subject; False if it had none."""
        row = store.seal_key_of(conn, subject)
        if row is None or row.wrapped is None:
            return False
        store.shred_seal_key(conn, row.id)
        return True

    def rewrap(self, conn: Connection, new_master: bytes) -> int:
        """Re-wrap every live field key under a new seal master key; returns how many.

        All are written in one statement and one batch of log entries
        (:func:`sillok.store.seals.rewrap_seal_keys`); keys already under the new master (an
        interrupted rotation run again) are left.
        """
        fresh = AESGCM(new_master)
        rewrapped: list[tuple[int, bytes]] = []
        for row in store.live_seal_keys(conn):
            if row.subject.startswith(_READERS_PREFIX):
                continue  # every role's copy of a commit key: not under the seal master
            raw = bytes(row.wrapped)
            aad = _key_aad(int(row.id), row.subject)
            try:
                fresh.decrypt(raw[:12], raw[12:], aad)
                continue  # already re-wrapped (a rotation that was interrupted)
            except InvalidTag:
                pass
            key = self._try_masters(raw, aad)
            if key is None:
                raise SealError(f"seal key {row.id} opens with no known seal master key")
            nonce = os.urandom(12)
            rewrapped.append((int(row.id), nonce + fresh.encrypt(nonce, key, aad)))
        store.rewrap_seal_keys(conn, rewrapped)
        self._older = [m for m in (self._master, *self._older) if m is not None]
        self._master = fresh
        return len(rewrapped)


class CommitKeys:
    """Per-person commit keys: the secrets of the log's commitments to plaintext names.

    A name of an unprotected person is stored in the clear; the log commits to it with a row
    secret keyed by the person's commit key (:mod:`sillok.ledger.entries`), not by the salt key
    every role holds. While the person is unprotected the key is also wrapped under
    ``readers_key`` (which every role derives), so every role can verify those rows. When the
    person is protected, :meth:`withdraw` keeps a copy under the seal master key and erases
    every role's copy: the log's old commitments can no longer be tested against guesses
    without the seal key; shredding the seal holders' copy ends even that.
    """

    def __init__(self, dialect: Dialect, readers_key: bytes) -> None:
        self._dialect = dialect
        self._readers_key = readers_key
        self._cache: dict[tuple[int, bytes], bytes] = {}

    def of(
        self, conn: Connection, person_ids: Sequence[int], make: bool = False
    ) -> dict[int, bytes]:
        """Every role's copy of the commit keys of these persons, made where missing if
        ``make`` (a person protected since has none, until new plaintext names need one)."""
        wanted = sorted({int(p) for p in person_ids})
        subjects = {readers_subject(p): p for p in wanted}
        found: dict[int, bytes] = {}
        emptied: dict[int, int] = {}
        for row in store.seal_keys_of(conn, list(subjects)):
            person = subjects[row.subject]
            key = None
            if row.wrapped is not None:
                key = self._unwrap(int(row.id), row.subject, bytes(row.wrapped))
            if key is not None:
                found[person] = key
            else:
                emptied[person] = int(row.id)
        if make:
            fresh = [p for p in wanted if p not in found and p not in emptied]
            ids = store.new_seal_key_ids(conn, self._dialect, len(fresh)) if fresh else []
            made = []
            for key_id, person in zip(ids, fresh, strict=True):
                found[person] = AESGCM.generate_key(bit_length=256)
                subject = readers_subject(person)
                made.append(
                    (
                        int(key_id),
                        subject,
                        wrap_key(self._readers_key, int(key_id), subject, found[person]),
                    )
                )
            if made:
                store.insert_seal_keys(conn, self._dialect, made)
            for person, key_id in emptied.items():
                found[person] = AESGCM.generate_key(bit_length=256)
                subject = readers_subject(person)
                wrapped = wrap_key(self._readers_key, key_id, subject, found[person])
                store.rewrap_seal_key(conn, key_id, wrapped)
        return found

    def _unwrap(self, key_id: int, subject: str, wrapped: bytes) -> bytes | None:
        cached = self._cache.get((key_id, wrapped))
        if cached is None:
            cached = unwrap_key(self._readers_key, key_id, subject, wrapped)
            if cached is not None:
                self._cache[(key_id, wrapped)] = cached
        return cached

    def withdraw(self, conn: Connection, person_id: int, sealer: Sealer) -> bool:
        """Protecting a person: their commit key is kept under the seal master key only.

        Returns False if the person had no commit key (no plaintext name was ever logged
        with one)."""
        row = store.seal_key_of(conn, readers_subject(person_id))
        if row is None or row.wrapped is None:
            return False
        key = self._unwrap(int(row.id), row.subject, bytes(row.wrapped))
        if key is None:
            raise SealError(f"the commit key of person {person_id} does not open")
        sealer.keep(conn, commit_subject(person_id), key)
        store.shred_seal_key(conn, int(row.id))
        self._cache = {k: v for k, v in self._cache.items() if k[0] != int(row.id)}
        return True


__all__ = [
    "ERASED",
    "CommitKeys",
    "SealError",
    "Sealer",
    "commit_subject",
    "is_sealed",
    "person_subject",
    "readers_subject",
    "seal_rules",
    "unwrap_key",
    "wrap_key",
]
