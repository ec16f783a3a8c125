"""Sealed fields: AES-256-GCM on top of the file encryption, per-person keys, crypto-shredding.

Some values are sealed before they reach the database (the rules are :func:`seal_rules`):

* the names and contacts of a *protected* person (an informant, a witness, a victim marked
  protected), under that person's own key;
* a source's narrative (the testimony text), under its informant's key when it has one;
* the description of a confidential act or event, under the archive-wide seal key.

A sealed value is the text ``sealed:v1:<key id>:<base64(nonce || ciphertext)>``. The
associated data is ``table|column|row id``, so a ciphertext copied into another row or column
fails to open. Field keys are random, kept in ``seal_keys`` wrapped under the *seal master
key*, which only the roles of :data:`sillok.policy.SEAL_ROLES` receive with their copy of the
archive key: a viewer who decrypts the database file still sees only ciphertext.

Deleting a person's wrapped key (:meth:`Sealer.shred`) erases every value sealed under it for
good: the ciphertext stays (the Merkle log commits to it, so the log still verifies) but
nothing can open it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Table, insert, select, update

from sillok.errors import SillokError
from sillok.model import persons, seal_keys
from sillok.policy import PROTECTED, may_open_sealed, redact_row
from sillok.store.dialects import Dialect
from sillok.store.records import now

PREFIX = "sealed:v1:"
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


@contextmanager
def _erasing(store: Any) -> Iterator[Connection]:
    """A write transaction in which deleted bytes are overwritten (SQLCipher's
    ``secure_delete``; PostgreSQL's freed space is not reachable through the archive)."""
    with store.transaction() as conn:
        if store.dialect.name == "sqlcipher":
            conn.exec_driver_sql("PRAGMA secure_delete = ON")
        yield conn


def _truncate_wal(store: Any) -> None:
    """Copy the write-ahead log into the database and empty it (SQLCipher store only), so
    old page images holding erased values leave the files."""
    raw = store.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def person_subject(person_id: int) -> str:
    """The key subject of one person."""
    return f"person:{int(person_id)}"


def seal_rules(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> list[list[tuple[str, str]]]:
    """For each row, the (column, key subject) pairs to seal."""
    name = table.name
    if name == "person_names":
        ids = sorted({int(r["person_id"]) for r in rows})
        protected = _protected_persons(conn, ids)
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


def _protected_persons(conn: Connection, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            r[0]
            for r in conn.execute(
                select(persons.c.id).where(persons.c.id.in_(chunk), persons.c.protected.is_(True))
            )
        )
    return found


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
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for row in conn.execute(select(seal_keys).where(seal_keys.c.subject.in_(chunk))):
                key = self._unwrap(int(row.id), row.subject, row.wrapped)
                if key is None:
                    raise SealError(
                        f"the seal key of {row.subject} was shredded: nothing can be sealed for it"
                    )
                found[row.subject] = (int(row.id), key)
        missing = [s for s in wanted if s not in found]
        if missing:
            master = self._need_master(f"sealing for {missing[0]}")
            ids = self._dialect.allocate_ids(conn, seal_keys, len(missing))
            stamp = now()
            rows = []
            for key_id, subject in zip(ids, missing, strict=True):
                key = AESGCM.generate_key(bit_length=256)
                nonce = os.urandom(12)
                rows.append(
                    {
                        "id": key_id,
                        "subject": subject,
                        "wrapped": nonce + master.encrypt(nonce, key, _key_aad(key_id, subject)),
                        "created_at": stamp,
                    }
                )
                found[subject] = (int(key_id), key)
            conn.execute(insert(seal_keys), rows)
        return found

    def _load(self, conn: Connection, key_id: int) -> bytes | None:
        row = conn.execute(select(seal_keys).where(seal_keys.c.id == key_id)).first()
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

    # -- shredding --

    def shred(self, conn: Connection, subject: str) -> bool:
        """Destroy the wrapped key of a subject; False if it had none."""
        row = conn.execute(select(seal_keys).where(seal_keys.c.subject == subject)).first()
        if row is None or row.wrapped is None:
            return False
        conn.execute(
            update(seal_keys)
            .where(seal_keys.c.id == row.id)
            .values(wrapped=None, shredded_at=now())
        )
        return True

    def rewrap(self, conn: Connection, new_master: bytes) -> int:
        """Re-wrap every live field key under a new seal master key; returns how many."""
        fresh = AESGCM(new_master)
        count = 0
        for row in conn.execute(select(seal_keys).where(seal_keys.c.wrapped.is_not(None))).all():
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
            conn.execute(
                update(seal_keys)
                .where(seal_keys.c.id == row.id)
                .values(wrapped=nonce + fresh.encrypt(nonce, key, aad))
            )
            count += 1
        self._older = [m for m in (self._master, *self._older) if m is not None]
        self._master = fresh
        return count


__all__ = ["ERASED", "SealError", "Sealer", "is_sealed", "person_subject", "seal_rules"]


class Disclosure:
    """``archive.disclosure``: a row as the current user may see it.

    The policy (:mod:`sillok.policy`) redacts what the role may not read; a sealed value
    that survives is shown as :data:`~sillok.policy.PROTECTED` unless the caller asks to
    reveal it and the role holds the seal key, and then the opening is audited.
    """

    def __init__(self, archive: Any) -> None:
        self.archive = archive

    def pseudonym(self, table: str, row_id: int) -> str:
        """A stable stand-in for a record the role may not identify (``person-3f9a1c2e``)."""
        key = self.archive.key_for("pseudonyms")
        digest = hmac.new(key, f"{table}:{int(row_id)}".encode(), hashlib.sha256).hexdigest()
        return f"{table.rstrip('s')}-{digest[:8]}"

    def row(
        self,
        conn: Connection,
        table: str,
        row: Mapping[str, Any],
        sharing: str | None = None,
        reveal: bool = False,
    ) -> dict[str, Any]:
        """Policy redaction, then sealed values protected or (revealed and audited) opened."""
        data = redact_row(self.archive.role, table, row, sharing, self.pseudonym)
        for column, value in data.items():
            if is_sealed(value):
                data[column] = self.open(conn, table, column, int(row["id"]), value, reveal)
        return data

    def open(
        self, conn: Connection, table: str, column: str, row_id: int, value: str, reveal: bool
    ) -> str:
        """A sealed value for display: opened (and audited) when asked and allowed."""
        if not is_sealed(value):
            return value
        if not reveal or not may_open_sealed(self.archive.role) or not self.archive.sealer.can_open:
            return PROTECTED
        plain = self.archive.sealer.open_value(conn, table, column, row_id, value)
        self.archive.audit.record(
            "open_sealed",
            None,
            None,
            {"table": table, "column": column, "row": int(row_id)},
        )
        return plain


class Protection:
    """``archive.protection``: protect a person, keep their contacts, shred their identity."""

    def __init__(self, archive: Any) -> None:
        self.archive = archive

    def _require(self, action: str) -> None:
        from sillok.errors import InvalidInput
        from sillok.policy import may

        if not may(self.archive.role, action):
            raise InvalidInput(f"the {self.archive.role} role may not do that ({action})")

    def protect(self, person_id: int) -> None:
        """Mark a person protected: their names are sealed under their own key and leave the
        search index. Earlier versions of the names are not kept (only the log's salted
        commitments to them)."""
        from sillok.model import person_names
        from sillok.store.dialects import doc_id
        from sillok.store.records import delete_rows, get, insert_rows, update_record

        self._require("write")
        store = self.archive.store
        sqlite = store.dialect.name == "sqlcipher"
        # The plaintext names are deleted below: overwrite the freed bytes.
        with _erasing(store) as conn:
            person = get(conn, "person", person_id)
            if person is None:
                from sillok.errors import NotFound

                raise NotFound(f"there is no person with id {person_id}")
            if not person.protected:
                update_record(conn, "person", person, {"protected": True}, self.archive.user.name)
            names = conn.execute(
                select(person_names)
                .where(person_names.c.person_id == person_id)
                .order_by(person_names.c.id)
            ).all()
            plain = [dict(r._mapping) for r in names if not is_sealed(r.name)]
            if plain:
                delete_rows(conn, person_names, "id", [r["id"] for r in plain])
                insert_rows(
                    conn,
                    store.dialect,
                    person_names,
                    [{k: v for k, v in r.items() if k != "id"} for r in plain],
                )
            store.dialect.unindex_documents(conn, [doc_id("person", person_id)])
            if sqlite:
                # A contentless FTS5 delete only marks the tokens; merging the segments
                # drops them from the file.
                conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
        if sqlite:
            _truncate_wal(store)

    def add_contact(self, person_id: int, kind: str, value: str) -> int:
        """Keep a contact (phone, email, address...) of a person, always sealed."""
        from sillok.model import person_contacts
        from sillok.store.records import insert_rows

        self._require("write")
        with self.archive.store.transaction() as conn:
            (rid,) = self.archive.store.dialect.allocate_ids(conn, person_contacts, 1)
            insert_rows(
                conn,
                self.archive.store.dialect,
                person_contacts,
                [{"id": rid, "person_id": person_id, "kind": kind, "value": value}],
            )
        return int(rid)

    def contacts(self, person_id: int, reveal: bool = False) -> list[dict[str, Any]]:
        """A person's contacts as the role may see them (opened and audited when revealed)."""
        from sillok.model import person_contacts

        disclosure = self.archive.disclosure
        with self.archive.store.reading() as conn:
            rows = conn.execute(
                select(person_contacts).where(person_contacts.c.person_id == person_id)
            ).all()
            return [
                disclosure.row(conn, "person_contacts", dict(r._mapping), "confidential", reveal)
                for r in rows
            ]

    def shred(self, person_id: int) -> bool:
        """Destroy a person's key: their sealed names and contacts are gone for good.

        On the SQLCipher store the freed bytes are overwritten (``secure_delete``) and the
        write-ahead log is checkpointed and truncated, so the key leaves the files too.
        Returns False if the person had no key.
        """
        self._require("seal.shred")
        store = self.archive.store
        sqlite = store.dialect.name == "sqlcipher"
        with _erasing(store) as conn:
            done = self.archive.sealer.shred(conn, person_subject(person_id))
            if done:
                self.archive.audit.record("shred", "person", person_id, {}, conn=conn)
        if done and sqlite:
            _truncate_wal(store)
        return done
