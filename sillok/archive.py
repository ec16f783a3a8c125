"""The archive: the front door of the library.

``Archive.create`` makes one, ``Archive.open`` unlocks one with a passphrase. Opening builds a
:class:`~sillok.vault.Vault` (the opened state: keys, store, user, log, sealer) and, on it, the
services, reached as sub-objects: ``archive.records``, ``archive.ingest``, ``archive.searcher``,
``archive.stats``, ``archive.exports``, ``archive.links``, ``archive.users``... The files of an
archive folder are described in :mod:`sillok.folder`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from sillok.custody.backup import Backups, discard, unpack
from sillok.custody.proofs import Proofs
from sillok.custody.protection import Protection
from sillok.custody.rotation import open_store
from sillok.custody.users import Users
from sillok.custody.verify import Verification
from sillok.directory import Directory
from sillok.errors import ArchiveError, SillokError, WrongPassphrase
from sillok.folder import ARCHIVE_FORMAT, DB_FILE, KEYS_FILE, read_info, wiped_at, write_info
from sillok.ledger.hooks import ArchiveHooks
from sillok.ledger.log import ArchiveLog
from sillok.linkage.archive import Links
from sillok.records.attachments import Attachments
from sillok.records.editing import RecordEditor
from sillok.records.export import Exports
from sillok.records.ingest import Importer
from sillok.records.reading import RecordBook
from sillok.records.search import Searcher
from sillok.records.statements import Statements
from sillok.records.stats import Stats
from sillok.security.audit import AuditTrail, note_failed_login, note_key, publish_note_key
from sillok.security.disclosure import Disclosure
from sillok.security.keycopy import author_public
from sillok.security.keyfile import KeyFile, WrappedKey, remembering_locators
from sillok.security.keys import KEY_FILE, SEAL, SIGNING, ArchiveKeys, derive_key
from sillok.security.passphrases import check_strength
from sillok.security.policy import User, may, may_open_sealed
from sillok.security.seal import Sealer
from sillok.settings import Settings
from sillok.store import Store, head_revision, meta
from sillok.store import users as store_users
from sillok.store.dialects import dialect_for
from sillok.store.rows import now
from sillok.vault import Vault


def refuse_wiped(folder: Path) -> None:
    """Refuse an archive that was wiped, before anything of it is read."""
    when = wiped_at(folder)
    if when is not None:
        raise ArchiveError(f"{folder}: this archive was wiped at {when}; it cannot be opened")


def _unlock(
    folder: Path, passphrase: str, user: str | None
) -> tuple[KeyFile, WrappedKey, ArchiveKeys, ArchiveKeys | None]:
    """The key file, the user's copy, keys and any pending keys of a rotation; a wrong
    passphrase is noted in the folder for the audit trail. A wiped archive is refused first."""
    refuse_wiped(folder)
    keyfile = KeyFile.load(folder / KEYS_FILE)
    try:
        return (keyfile, *keyfile.unlock_holder(passphrase, user))
    except WrongPassphrase:
        note_failed_login(folder, user)
        raise

class Archive:
    """An open archive: the vault and the services built on it."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.records = RecordBook(vault)
        self.editor = RecordEditor(vault, self.records)
        self.ingest = Importer(vault)
        self.searcher = Searcher(vault, self.records)
        self.links = Links(vault, self.records)
        self.stats = Stats(vault)
        self.exports = Exports(vault, self.records)
        self.statements = Statements(vault, self.records)
        self.attachments = Attachments(vault)
        self.protection = Protection(vault)
        self.users = Users(vault)
        self.backups = Backups(vault)
        self.proofs = Proofs(vault)
        self.verification = Verification(vault, self.attachments)

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
            passphrase: unlocks the archive; argon2id wraps the random data key under it. A
                passphrase easy to guess is refused (:mod:`sillok.security.passphrases`).
            database: a PostgreSQL URL to keep the data on a server instead of in an
                SQLCipher file in the folder.
        """
        settings = settings or Settings()
        folder = Path(folder)
        check_strength(passphrase, (settings.actor, folder.name))
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
            archive = cls(Vault(folder, store, keys, settings, User(settings.actor, "admin")))
            archive._seed()
        except Exception:
            for name in (KEYS_FILE, DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm"):
                (folder / name).unlink(missing_ok=True)
            raise
        write_info(folder, location)
        publish_note_key(folder, keys)
        del keyfile
        return archive

    @classmethod
    @remembering_locators
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
        refuse_wiped(folder)
        info = read_info(folder)
        keyfile, wrapped, keys, pending = _unlock(folder, passphrase, user)
        location = str(info.get("store", ""))
        if location.startswith("sqlcipher:") and not (folder / location[10:]).is_file():
            raise ArchiveError(f"{folder}: the database file {location[10:]} is missing")
        store, opened = open_store(dialect_for(location, folder), keys, pending)
        try:
            if store.schema_revision() != head_revision():
                store.migrate()
            vault = Vault(
                folder, store, opened, settings or Settings(), User(wrapped.holder, wrapped.role)
            )
            if pending is not None:
                vault.resume_rotation(keys, pending, opened is pending)
            archive = cls(vault)
            archive._login(passphrase, wrapped, keyfile)
        except BaseException:
            store.close()
            raise
        return archive

    @classmethod
    def open_beside(
        cls, server: Archive, passphrase: str, user: str, settings: Settings | None = None
    ) -> Archive:
        """Unlock the archive ``server`` holds open as ``user``, on ``server``'s pool of
        connections (:meth:`Store.view`): a web server's logins open no database connection
        or file of their own. The user's keys, role and write hooks are their own, so every
        read and write goes through the access policy as ``user`` (as :meth:`open`).

        When the user's copy opens another database key than the server's (a rotation is
        under way), this is :meth:`open`, with a store of the user's own.

        Raises:
            WrongPassphrase: the passphrase is not the user's (noted for the audit trail).
            ArchiveError: as :meth:`open`.
        """
        folder = server.folder
        keyfile, wrapped, keys, pending = _unlock(folder, passphrase, user)
        shared = server.vault
        if (
            pending is not None
            or shared.pending_keys is not None
            or keys.database != shared.keys.database
            or shared.store.closed
        ):
            return cls.open(folder, passphrase, settings, user)
        store = shared.store.view()
        try:
            vault = Vault(
                folder, store, keys, settings or Settings(), User(wrapped.holder, wrapped.role)
            )
            archive = cls(vault)
            archive._login(passphrase, wrapped, keyfile)
        except BaseException:
            store.close()
            raise
        return archive

    @classmethod
    def restore(
        cls, backup: Path, target: Path, passphrase: str, user: str | None = None
    ) -> dict[str, Any]:
        """Copy a backup (or a replica's copy) into a new folder and prove it whole.

        Checks the files against the manifest, opens the copy, runs the full verification, and
        compares the row counts and the Merkle root at the backup's tree size with the manifest.
        On any failure the new folder is removed.
        """
        manifest = unpack(backup, target)
        try:
            with cls.open(target, passphrase, user=user) as restored:
                return restored.backups.check_restored(manifest, restored.verification)
        except (SillokError, OSError) as exc:
            discard(target, exc)

    def _login(self, passphrase: str, wrapped: WrappedKey, keyfile: KeyFile) -> None:
        """Bring an older archive up to date, check the user, audit the login."""
        vault = self.vault
        with vault.store.transaction() as conn:
            if not meta.ledger_started(conn):
                archive_id = meta.meta_value(conn, "archive_id") or os.urandom(8).hex()
                vault.log.setup(conn, f"sillok/{archive_id}")
                vault.log.backfill(conn)
            vault.log.cover_new_tables(conn)
            known = store_users.users_by_name(conn)
            if not known:
                # An archive made before users existed: its key holders are its users.
                store_users.add_users(
                    conn,
                    vault.store.dialect,
                    [(w.holder, w.role) for w in keyfile.wrapped],
                    vault.user.name,
                )
                known = store_users.users_by_name(conn)
            record = known.get(wrapped.holder)
            if record is None or not record.active:
                raise ArchiveError(f"user {wrapped.holder!r} is not a user of this archive")
            if record.role != wrapped.role:
                raise ArchiveError(
                    f"keys.json gives {wrapped.holder!r} the role {wrapped.role!r} but the "
                    f"archive's records say {record.role!r}: keys.json was altered"
                )
            failed = vault.audit.import_failed_logins(conn, note_key(vault.keys))
            vault.audit.record("login", conn=conn)
            no_seal_keys = not meta.has_seal_keys(conn)
        if failed:
            vault.audit.forget_failed_logins()
        publish_note_key(vault.folder, vault.keys)
        if wrapped.version == 1:
            # A copy from before users existed: give it a key pair, and the archive a seal
            # master key if none was ever used.
            keys = vault.keys
            if keys.seal is None and no_seal_keys and may_open_sealed(wrapped.role):
                keys = replace(keys, purposes={**keys.purposes, SEAL: os.urandom(32)})
            fresh = WrappedKey.seal_named(
                keys.for_role(wrapped.role), passphrase, wrapped.holder, wrapped.role, wrapped.kdf
            )
            keyfile = keyfile.replaced(fresh)
            keyfile.save()
            vault.keys = keys
            vault.use_sealer(Sealer(vault.store.dialect, keys.seal))
        admin = may(wrapped.role, "keys") and vault.pending_keys is None
        if vault.keys.is_legacy() and admin:
            keyfile = self._migrate_keys(keyfile)
        if keyfile.format == 1 and admin and all(w.version == 2 for w in keyfile.wrapped):
            self._convert_keyfile(keyfile, passphrase, wrapped.holder)
        elif wrapped.version == 3 and wrapped.named_aad:
            # converted by an administrator: the private key is resealed without the name
            own = keyfile.holder(wrapped.holder)
            if own is not None:
                keyfile.replaced(own.with_new_passphrase(passphrase, passphrase, own.kdf)).save()

    def _convert_keyfile(self, keyfile: KeyFile, passphrase: str, holder: str) -> None:
        """Bring a format-1 key file (names and roles in the clear) to format 2 (an
        administrator's open): see :meth:`KeyFile.converted`."""
        vault = self.vault
        converted = keyfile.converted(vault.keys, vault.settings.kdf)
        own = converted.holder(holder)
        if own is not None:
            converted = converted.replaced(
                own.with_new_passphrase(passphrase, passphrase, own.kdf)
            )
        mine = converted.holder(holder)
        if mine is not None:
            vault.keys = mine.opened(passphrase)[1]
            vault.log.use_author(vault.keys.author)
        with vault.store.transaction() as conn:
            vault.audit.record(
                "keys_rotate",
                detail={"key_file_format": converted.format, "users": len(converted.wrapped)},
                conn=conn,
            )
            # every user's new author key, registered in this administrator's signed write
            registered = [
                {"user": w.holder, "role": w.role, "author": w.author} for w in converted.wrapped
            ]
            vault.audit.record_many(
                [("author_key", None, None, detail) for detail in registered], conn=conn
            )
            converted.save()

    def _migrate_keys(self, keyfile: KeyFile) -> KeyFile:
        """Bring the copies of an archive made before the purpose keys to them (an
        administrator's open): every copy rewritten with only its role's keys.

        The purpose keys keep the values the old code derived from the archive secret, so old
        ciphertexts and commitments still open, except three that every old copy could derive
        and that guard what other roles must not reach: the evidence key (the old one retired,
        so files sealed before still open), the key-file key (new), and the checkpoint-signing
        key, replaced by a new Ed25519 key with the transition in the log's key chain.
        A ``keys rotate`` afterwards also replaces the database key (docs/security.md).
        """
        vault = self.vault
        old = vault.keys
        keys = old.migrated()
        with vault.store.transaction() as conn:
            vault.log.rotate_signer(conn, keys.purposes[SIGNING])
            vault.audit.record(
                "keys_rotate", detail={"migration": True, "users": len(keyfile.wrapped)}, conn=conn
            )
            # Written inside the transaction: if it fails, the log keeps the old signing key.
            # Trust on first use: the entries as they are now become the authenticated ones.
            migrated = KeyFile(
                keyfile.path,
                tuple(
                    w.with_keys(keys.for_role(w.role)).authenticated(keys.purposes[KEY_FILE])
                    if w.version == 2
                    else w
                    for w in keyfile.wrapped
                ),
            )
            migrated.save()
        vault.keys = keys
        return migrated

    def _seed(self) -> None:
        vault = self.vault
        archive_id = os.urandom(8).hex()
        with vault.store.transaction() as conn:
            meta.write_meta(
                conn,
                {
                    "format": str(ARCHIVE_FORMAT),
                    "created_at": now().isoformat(),
                    "archive_id": archive_id,
                },
            )
            vault.log.setup(conn, f"sillok/{archive_id}")
            admin = [(vault.user.name, "admin")]
            store_users.add_users(conn, vault.store.dialect, admin, vault.user.name)
            if vault.keys.author is not None:
                author = {"user": vault.user.name, "role": "admin"}
                author["author"] = author_public(vault.keys.author)
                vault.audit.record("author_key", detail=author, conn=conn)
            for directory in (vault.places, vault.organizations):
                directory.seed(conn, vault.store.dialect, vault.settings.actor)

    def close(self) -> None:
        """Release the store."""
        self.vault.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the vault's state, for scripts and the entry points ------------------------------

    @property
    def folder(self) -> Path:
        """The archive's folder."""
        return self.vault.folder

    @property
    def store(self) -> Store:
        """The store (changes with a key rotation)."""
        return self.vault.store

    @property
    def keys(self) -> ArchiveKeys:
        """The keys of the user who opened the archive."""
        return self.vault.keys

    @property
    def user(self) -> User:
        """The user who opened the archive."""
        return self.vault.user

    @property
    def role(self) -> str:
        """The role of the user who opened the archive."""
        return self.vault.role

    @property
    def settings(self) -> Settings:
        """The settings the archive was opened with (``actor`` is the user)."""
        return self.vault.settings

    @property
    def log(self) -> ArchiveLog:
        """The Merkle log."""
        return self.vault.log

    @property
    def sealer(self) -> Sealer:
        """Sealing and opening protected fields."""
        return self.vault.sealer

    @property
    def hooks(self) -> ArchiveHooks:
        """The write hooks every connection carries."""
        return self.vault.hooks

    @property
    def audit(self) -> AuditTrail:
        """The audit trail."""
        return self.vault.audit

    @property
    def disclosure(self) -> Disclosure:
        """Rows as the current user may see them (the access policy, sealed fields)."""
        return self.vault.disclosure

    @property
    def places(self) -> Directory:
        """Places, from the places vocabulary and what imports added."""
        return self.vault.places

    @property
    def organizations(self) -> Directory:
        """Organizations, from the agencies vocabulary and what imports added."""
        return self.vault.organizations

    def key_for(self, purpose: str) -> bytes:
        """The key of one purpose, if this user's copy holds it."""
        return self.vault.key_for(purpose)

    def meta(self) -> dict[str, str]:
        """The archive's metadata table."""
        with self.vault.store.reading() as conn:
            return meta.read_meta(conn)

    def meta_value(self, conn: Any, key: str) -> str | None:
        """One value of the archive's metadata table."""
        return meta.meta_value(conn, key)
