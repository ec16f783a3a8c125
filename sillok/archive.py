"""The archive: a folder holding the key file, the store location and (for the embedded store)
one SQLCipher database file.

``Archive.create`` makes one, ``Archive.open`` unlocks one with a passphrase. Everything else is
reached through its sub-objects: ``archive.records``, ``archive.ingest``, ``archive.searcher``,
``archive.stats``, ``archive.exports``, ``archive.places``, ``archive.organizations``.

Folder layout::

    ARCHIVE/archive.json   format version and where the data lives ("sqlcipher:archive.db" or a
                           PostgreSQL URL)
    ARCHIVE/keys.json      the data key, wrapped under each holder's passphrase
    ARCHIVE/archive.db     the SQLCipher database (embedded store only)
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from sillok.archive_log import ArchiveHooks, ArchiveLog
from sillok.audit import AuditTrail, note_failed_login
from sillok.directory import Directory
from sillok.errors import ArchiveError, WrongPassphrase
from sillok.keys import ArchiveKeys, KeyFile, WrappedKey, derive_key
from sillok.model import archive_meta, ledger_state, organizations, places, seal_keys, users
from sillok.policy import may_open_sealed
from sillok.seal import Disclosure, Protection, Sealer
from sillok.settings import Settings
from sillok.store import Store, head_revision
from sillok.store.dialects import dialect_for
from sillok.store.records import HOOKS_OPTION, insert_rows, now
from sillok.users import User, Users, open_store

if TYPE_CHECKING:
    from sillok.attachments import Attachments
    from sillok.backup import Backups
    from sillok.export import Exports
    from sillok.ingest import Importer
    from sillok.links import Links
    from sillok.proofs import Proofs
    from sillok.records import RecordBook
    from sillok.search import Searcher
    from sillok.stats import Stats
    from sillok.verify import Verification

ARCHIVE_FORMAT = 1
ARCHIVE_FILE = "archive.json"
KEYS_FILE = "keys.json"
DB_FILE = "archive.db"


class Archive:
    """An open archive."""

    def __init__(
        self,
        folder: Path,
        store: Store,
        keys: ArchiveKeys | bytes,
        settings: Settings,
        user: User | None = None,
    ) -> None:
        self.folder = folder
        self.store = store
        self.keys = keys if isinstance(keys, ArchiveKeys) else ArchiveKeys(keys, keys)
        self.user = user or User(settings.actor, "admin")
        # Changes are recorded under the name of the user who opened the archive.
        self.settings = replace(settings, actor=self.user.name)
        self.log = ArchiveLog(
            store.dialect,
            self.key_for("ledger field salts"),
            self.key_for("checkpoint signing key"),
        )
        self.sealer = Sealer(
            store.dialect, self.keys.seal if may_open_sealed(self.user.role) else None
        )
        self.hooks = ArchiveHooks(self.log, self.sealer, self._audit_write)
        # Set when a key rotation was interrupted (see Users.rotate_keys).
        self.pending_keys: ArchiveKeys | None = None
        self.previous_keys: ArchiveKeys | None = None
        self.opened_with_pending = False
        # Every connection the store hands out carries the hooks, so every write through
        # sillok.store.records is sealed and logged, whichever service makes it.
        store.engine = store.engine.execution_options(**{HOOKS_OPTION: self.hooks})

    # --- opening and creating -------------------------------------------------------------

    @classmethod
    def create(
        cls,
        folder: Path,
        passphrase: str,
        database: str | None = None,
        settings: Settings | None = None,
    ) -> Archive:
        """Create a new archive in ``folder`` (which must not hold one already).

        Args:
            folder: where the archive lives; created if missing, must be empty otherwise.
            passphrase: unlocks the archive; argon2id wraps the random data key under it.
            database: a PostgreSQL URL to keep the data on a server instead of in an
                SQLCipher file in the folder.
        """
        settings = settings or Settings()
        if not passphrase:
            raise ArchiveError("an empty passphrase is not allowed")
        folder = Path(folder)
        if folder.exists() and any(folder.iterdir()):
            raise ArchiveError(f"{folder} is not empty: an archive needs a folder of its own")
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        location = database or f"sqlcipher:{DB_FILE}"
        keyfile, keys = KeyFile.create_keys(
            folder / KEYS_FILE, passphrase, settings.kdf, holder=settings.actor
        )
        try:
            store = Store(dialect_for(location, folder), derive_key(keys.database, "database"))
            store.migrate()
            archive = cls(folder, store, keys, settings, User(settings.actor, "admin"))
            archive._seed()
        except Exception:
            for name in (KEYS_FILE, DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm"):
                (folder / name).unlink(missing_ok=True)
            raise
        _write_json(folder / ARCHIVE_FILE, {"format": ARCHIVE_FORMAT, "store": location})
        del keyfile
        return archive

    @classmethod
    def open(
        cls,
        folder: Path,
        passphrase: str,
        settings: Settings | None = None,
        user: str | None = None,
    ) -> Archive:
        """Unlock an archive as ``user`` (default: the user made at init).

        Raises:
            WrongPassphrase: the passphrase is not the user's (noted for the audit trail).
            ArchiveError: the archive is missing, damaged, or its records disagree with
                ``keys.json`` about the user.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise ArchiveError(f"{folder}: no such archive")
        from sillok.wipe import wiped_at

        when = wiped_at(folder)
        if when is not None:
            raise ArchiveError(f"{folder}: this archive was wiped at {when}; it cannot be opened")
        info = _read_json(folder / ARCHIVE_FILE)
        if info.get("format") != ARCHIVE_FORMAT:
            raise ArchiveError(f"{folder}: archive format {info.get('format')!r} is not supported")
        keyfile = KeyFile.load(folder / KEYS_FILE)
        try:
            wrapped, keys, pending = keyfile.unlock_holder(passphrase, user)
        except WrongPassphrase:
            note_failed_login(folder, user)
            raise
        location = str(info.get("store", ""))
        if location.startswith("sqlcipher:") and not (folder / location[10:]).is_file():
            raise ArchiveError(f"{folder}: the database file {location[10:]} is missing")
        store, opened = open_store(dialect_for(location, folder), keys, pending)
        try:
            if store.schema_revision() != head_revision():
                store.migrate()
            archive = cls(
                folder, store, opened, settings or Settings(), User(wrapped.holder, wrapped.role)
            )
            if pending is not None:
                archive._resume_with(keys, pending, opened is pending)
            archive._login(passphrase, wrapped, keyfile)
        except BaseException:
            store.close()
            raise
        return archive

    def _resume_with(self, current: ArchiveKeys, pending: ArchiveKeys, with_pending: bool) -> None:
        """An interrupted key rotation: field keys may be wrapped under either master key."""
        self.pending_keys = pending
        self.opened_with_pending = with_pending
        self.previous_keys = current if with_pending else None
        other = current if with_pending else pending
        if self.sealer.can_open and other.seal is not None:
            self.sealer = Sealer(self.store.dialect, self.keys.seal, older=[other.seal])
            self.hooks.sealer = self.sealer

    def _login(self, passphrase: str, wrapped: WrappedKey, keyfile: KeyFile) -> None:
        """Bring an older archive up to date, check the user, audit the login."""
        with self.store.transaction() as conn:
            if conn.execute(select(ledger_state.c.id)).first() is None:
                archive_id = self.meta_value(conn, "archive_id") or os.urandom(8).hex()
                self.log.setup(conn, f"sillok/{archive_id}")
                self.log.backfill(conn)
            known = {r.name: r for r in conn.execute(select(users))}
            if not known:
                # An archive made before users existed: its key holders are its users.
                stamp = now()
                insert_rows(
                    conn,
                    self.store.dialect,
                    users,
                    [
                        {
                            "name": w.holder,
                            "role": w.role,
                            "active": True,
                            "created_by": self.user.name,
                            "created_at": stamp,
                            "updated_at": stamp,
                        }
                        for w in keyfile.wrapped
                    ],
                )
                known = {r.name: r for r in conn.execute(select(users))}
            record = known.get(wrapped.holder)
            if record is None or not record.active:
                raise ArchiveError(f"user {wrapped.holder!r} is not a user of this archive")
            if record.role != wrapped.role:
                raise ArchiveError(
                    f"keys.json gives {wrapped.holder!r} the role {wrapped.role!r} but the "
                    f"archive's records say {record.role!r}: keys.json was altered"
                )
            failed = self.audit.import_failed_logins(conn)
            self.audit.record("login", conn=conn)
            no_seal_keys = conn.execute(select(seal_keys.c.id).limit(1)).first() is None
        if failed:
            self.audit.forget_failed_logins()
        if wrapped.version == 1:
            # A copy from before users existed: give it a key pair, and the archive a seal
            # master key if none was ever used.
            keys = self.keys
            if keys.seal is None and no_seal_keys and may_open_sealed(wrapped.role):
                keys = ArchiveKeys(keys.database, keys.archive, os.urandom(32))
            fresh = WrappedKey.seal(keys, passphrase, wrapped.holder, wrapped.role, wrapped.kdf)
            keyfile.replaced(fresh).save()
            self.keys = keys
            self.sealer = Sealer(self.store.dialect, keys.seal)
            self.hooks.sealer = self.sealer

    def meta_value(self, conn: Any, key: str) -> str | None:
        """One value of the archive's metadata table."""
        value: str | None = conn.execute(
            select(archive_meta.c.value).where(archive_meta.c.key == key)
        ).scalar()
        return value

    def _audit_write(self, conn: Any, table_name: str, op: str, ids: list[int]) -> None:
        detail: dict[str, Any] = {"table": table_name, "op": op, "rows": len(ids)}
        if ids:
            detail["first_id"], detail["last_id"] = min(ids), max(ids)
        self.audit.record("write", detail=detail, conn=conn)

    def _seed(self) -> None:
        directories = (self.places, self.organizations)
        archive_id = os.urandom(8).hex()
        with self.store.transaction() as conn:
            conn.execute(
                insert(archive_meta),
                [
                    {"key": "format", "value": str(ARCHIVE_FORMAT)},
                    {"key": "created_at", "value": now().isoformat()},
                    {"key": "archive_id", "value": archive_id},
                ],
            )
            self.log.setup(conn, f"sillok/{archive_id}")
            stamp = now()
            insert_rows(
                conn,
                self.store.dialect,
                users,
                [
                    {
                        "name": self.user.name,
                        "role": "admin",
                        "active": True,
                        "created_by": self.user.name,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                ],
            )
            for directory in directories:
                directory.seed(conn, self.store.dialect, self.settings.actor)

    def close(self) -> None:
        """Release the store."""
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def key_for(self, purpose: str) -> bytes:
        """A key derived from the archive secret for one purpose (keyed hashes, sealing)."""
        return derive_key(self.keys.archive, purpose)

    @property
    def role(self) -> str:
        """The role of the user who opened the archive."""
        return self.user.role

    def meta(self) -> dict[str, str]:
        """The archive's metadata table."""
        with self.store.reading() as conn:
            return {r.key: r.value for r in conn.execute(select(archive_meta))}

    # --- sub-objects ----------------------------------------------------------------------

    @cached_property
    def places(self) -> Directory:
        """Places, from the places vocabulary and what imports added."""
        with self.store.reading() as conn:
            return Directory(places, "places").load(conn)

    @cached_property
    def organizations(self) -> Directory:
        """Organizations, from the agencies vocabulary and what imports added."""
        with self.store.reading() as conn:
            return Directory(organizations, "agencies").load(conn)

    @cached_property
    def records(self) -> RecordBook:
        """Reading records: show, history, titles."""
        from sillok.records import RecordBook

        return RecordBook(self)

    @cached_property
    def ingest(self) -> Importer:
        """Importing flat acts files."""
        from sillok.ingest import Importer

        return Importer(self)

    @cached_property
    def searcher(self) -> Searcher:
        """Searching across scripts."""
        from sillok.search import Searcher

        return Searcher(self)

    @cached_property
    def links(self) -> Links:
        """Record linkage: candidate pairs, review decisions, resolved identities."""
        from sillok.links import Links

        return Links(self)

    @cached_property
    def stats(self) -> Stats:
        """Counting acts."""
        from sillok.stats import Stats

        return Stats(self)

    @cached_property
    def disclosure(self) -> Disclosure:
        """Rows as the current user may see them (the access policy, sealed fields)."""
        return Disclosure(self)

    @cached_property
    def protection(self) -> Protection:
        """Protecting persons, their sealed contacts, crypto-shredding."""
        return Protection(self)

    @cached_property
    def attachments(self) -> Attachments:
        """Evidence files: sealed, streamed, with chain of custody."""
        from sillok.attachments import Attachments

        return Attachments(self)

    @cached_property
    def backups(self) -> Backups:
        """Backups and replicas."""
        from sillok.backup import Backups

        return Backups(self)

    @cached_property
    def audit(self) -> AuditTrail:
        """The audit trail."""
        return AuditTrail(self)

    @cached_property
    def users(self) -> Users:
        """Users, their passphrases and the archive's keys."""
        return Users(self)

    @cached_property
    def proofs(self) -> Proofs:
        """Proof bundles for outside verifiers."""
        from sillok.proofs import Proofs

        return Proofs(self)

    @cached_property
    def verification(self) -> Verification:
        """Verifying the Merkle log and every stored row against it."""
        from sillok.verify import Verification

        return Verification(self)

    @cached_property
    def exports(self) -> Exports:
        """Exporting to the flat acts format."""
        from sillok.export import Exports

        return Exports(self)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchiveError(f"{path.parent} is not a Sillok archive ({path.name} missing)") from None
    except (ValueError, UnicodeDecodeError):
        raise ArchiveError(f"{path} is damaged") from None
    if not isinstance(data, dict):
        raise ArchiveError(f"{path} is damaged")
    return data
