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
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from sillok.archive_log import ArchiveHooks, ArchiveLog
from sillok.directory import Directory
from sillok.errors import ArchiveError
from sillok.keys import KeyFile, derive_key
from sillok.model import archive_meta, organizations, places
from sillok.settings import Settings
from sillok.store import Store, head_revision
from sillok.store.dialects import dialect_for
from sillok.store.records import HOOKS_OPTION, now

if TYPE_CHECKING:
    from sillok.export import Exports
    from sillok.ingest import Importer
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

    def __init__(self, folder: Path, store: Store, data_key: bytes, settings: Settings) -> None:
        self.folder = folder
        self.store = store
        self.settings = settings
        self._data_key = data_key
        self.log = ArchiveLog(
            store.dialect,
            self.key_for("ledger field salts"),
            self.key_for("checkpoint signing key"),
        )
        self.hooks = ArchiveHooks(self.log)
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
        keyfile, data_key = KeyFile.create(folder / KEYS_FILE, passphrase, settings.kdf)
        try:
            store = Store(dialect_for(location, folder), derive_key(data_key, "database"))
            store.migrate()
            archive = cls(folder, store, data_key, settings)
            archive._seed()
        except Exception:
            for name in (KEYS_FILE, DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm"):
                (folder / name).unlink(missing_ok=True)
            raise
        _write_json(folder / ARCHIVE_FILE, {"format": ARCHIVE_FORMAT, "store": location})
        del keyfile
        return archive

    @classmethod
    def open(cls, folder: Path, passphrase: str, settings: Settings | None = None) -> Archive:
        """Unlock an archive; :class:`~sillok.errors.WrongPassphrase` if the passphrase fails."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ArchiveError(f"{folder}: no such archive")
        info = _read_json(folder / ARCHIVE_FILE)
        if info.get("format") != ARCHIVE_FORMAT:
            raise ArchiveError(f"{folder}: archive format {info.get('format')!r} is not supported")
        data_key = KeyFile.load(folder / KEYS_FILE).unlock(passphrase)
        location = str(info.get("store", ""))
        if location.startswith("sqlcipher:") and not (folder / location[10:]).is_file():
            raise ArchiveError(f"{folder}: the database file {location[10:]} is missing")
        store = Store(dialect_for(location, folder), derive_key(data_key, "database"))
        store.check()
        if store.schema_revision() != head_revision():
            store.migrate()
        return cls(folder, store, data_key, settings or Settings())

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
        """A key derived from the data key for one purpose (keyed hashes, sealing)."""
        return derive_key(self._data_key, purpose)

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
    def stats(self) -> Stats:
        """Counting acts."""
        from sillok.stats import Stats

        return Stats(self)

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
