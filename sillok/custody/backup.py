"""Backups, restores and replicas: copies that check themselves.

``sillok backup ARCHIVE DEST`` copies the SQLCipher database with SQLite's online backup API (a
consistent snapshot, still encrypted under the same key), the key file and the attachment
store into DEST, and writes ``manifest.json``: the SHA-256 of every file, the row count of
every logged table, and the log's signed checkpoint at the moment of the copy. Anyone can
check the files against the manifest and the checkpoint's signature without a passphrase
(:func:`check_manifest`); ``sillok restore`` copies a backup into a new folder, opens it,
runs the full verification and checks the row counts and the Merkle root against the manifest.

A replica (``sillok replicate ARCHIVE DEST...``) is a backup that remembers the checkpoint it
last accepted. It accepts a new state only with a consistency proof that the new log extends
the one it accepted, signed by the same key, so a rewritten history is refused by every
replica. :class:`FolderReplica` keeps replicas in folders; another store (a remote server, an
object store) implements the same three methods of :class:`Replica`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from sillok.errors import ArchiveError, InvalidInput, SillokError
from sillok.folder import ARCHIVE_FILE, DB_FILE, KEYS_FILE
from sillok.ledger.checkpoint import CheckpointError, open_checkpoint
from sillok.ledger.entries import LOGGED_TABLES
from sillok.ledger.log import ArchiveLog
from sillok.ledger.merkle import ProofError, consistency_proof, root_hash, verify_consistency
from sillok.security.keys import derive_key
from sillok.security.policy import may
from sillok.store import Store
from sillok.store.database_file import copy_database
from sillok.store.dialects import SqlCipherDialect
from sillok.store.meta import row_counts

if TYPE_CHECKING:
    from sillok.custody.verify import Verification
    from sillok.vault import Vault

MANIFEST = "manifest.json"
BACKUP_FORMAT = "sillok-backup/1"
REPLICA_STATE = "replica.json"
#: tables whose rows a restore must find exactly (users and the trail grow at every login)
COUNTED = tuple(t.name for t in LOGGED_TABLES if t.name not in ("audit_events", "users"))
_CHUNK = 1 << 20


class BackupError(SillokError):
    """A backup or replica is missing, damaged, or refuses the new state; the message says why."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in (MANIFEST, REPLICA_STATE):
            yield path


def _fsync_tree(folder: Path) -> None:
    for path in [*_files(folder), folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def private_folder(folder: Path) -> None:
    """Make ``folder`` (new or existing) readable by its owner only, whatever the umask.

    Done before anything is written into it: a file created inside with the umask's modes is
    still out of reach of group and others, who cannot enter the folder.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)


def private_tree(folder: Path) -> None:
    """Give every folder under ``folder`` mode 0700 and every file 0600 (a copy of the files
    carried elsewhere keeps its owner-only modes)."""
    os.chmod(folder, 0o700)
    for path in folder.rglob("*"):
        if not path.is_symlink():
            os.chmod(path, 0o700 if path.is_dir() else 0o600)


#: the largest manifest read (about 600,000 files); a larger one is refused before it is read
MAX_MANIFEST_BYTES = 64 << 20
#: the largest tree size or row count a manifest may state (SQLite's and PostgreSQL's bigint)
_MOST = (1 << 63) - 1
_HEX64 = re.compile(r"[0-9a-f]{64}")
_JSON_KINDS = {bool: "true or false", int: "a number", float: "a number", str: "a string",
               list: "an array", dict: "an object", type(None): "null"}


def _kind(value: Any) -> str:
    return _JSON_KINDS.get(type(value), type(value).__name__)


def _load_json(path: Path, limit: int) -> Any:
    """The JSON in ``path``, read only if at most ``limit`` bytes; :class:`BackupError`
    naming the file for anything that is not such JSON."""
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size > limit:
                raise BackupError(f"{path} is larger than {limit:,} bytes: not a Sillok file")
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise BackupError(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise BackupError(f"{path} cannot be read ({exc.strerror})") from None
    if len(data) > limit:
        raise BackupError(f"{path} is larger than {limit:,} bytes: not a Sillok file")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise BackupError(f"{path} is damaged (not UTF-8 text)") from None
    except RecursionError:
        raise BackupError(f"{path} is damaged (JSON nested too deeply)") from None
    except ValueError as exc:  # not JSON, or an integer past Python's digit limit
        reason = str(exc)[:200].encode("utf-8", "backslashreplace").decode()
        raise BackupError(f"{path} is damaged (not JSON: {reason})") from None


class _Fields:
    """Typed reads of a JSON object's members, each failure a :class:`BackupError` naming the
    file and the field."""

    def __init__(self, path: Path, data: Any) -> None:
        if not isinstance(data, dict):
            raise BackupError(f"{path} must hold a JSON object, not {_kind(data)}")
        self.path, self.data = path, data

    def fail(self, field: str, what: str) -> NoReturn:
        raise BackupError(f"{self.path}: {field} {what}")

    def get(self, field: str) -> Any:
        if field not in self.data:
            self.fail(field, "is missing")
        return self.data[field]

    def text(self, field: str, most: int = 1 << 16) -> str:
        value = self.get(field)
        if not isinstance(value, str):
            self.fail(field, f"must be a string, not {_kind(value)}")
        if len(value) > most:
            self.fail(field, f"is longer than {most:,} characters")
        return value

    def count(self, field: str, value: Any = None) -> int:
        value = self.get(field) if value is None else value
        if type(value) is not int:  # not isinstance: true is not a count
            self.fail(field, f"must be an integer, not {_kind(value)}")
        if not 0 <= value <= _MOST:
            self.fail(field, f"must be between 0 and {_MOST}")
        return value

    def hex64(self, field: str, value: Any = None) -> str:
        value = self.get(field) if value is None else value
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            self.fail(field, "must be 64 lowercase hex digits (a SHA-256)")
        return value

    def object(self, field: str) -> dict[str, Any]:
        value = self.get(field)
        if not isinstance(value, dict):
            self.fail(field, f"must be an object, not {_kind(value)}")
        return value


def _inside(name: str) -> bool:
    """Whether a manifest's file name is a plain relative path inside the backup."""
    parts = name.split("/")
    return (
        0 < len(name) <= 1024
        and "\\" not in name
        and "\x00" not in name
        and all(part not in ("", ".", "..") for part in parts)
        and name not in (MANIFEST, REPLICA_STATE)
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    """A backup's manifest, every member checked for its type and range.

    Raises:
        BackupError: the manifest is missing, too large, not JSON, not a backup manifest, or a
            member is missing or wrong; the message names the file and the member.
    """
    path = Path(folder) / MANIFEST
    try:
        fields = _Fields(path, _load_json(path, MAX_MANIFEST_BYTES))
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a Sillok backup ({MANIFEST} missing)") from None
    if fields.data.get("format") != BACKUP_FORMAT:
        raise BackupError(f"{path} is not a {BACKUP_FORMAT} manifest (format)")
    counts, files = fields.object("row_counts"), fields.object("files")
    for table, count in counts.items():
        fields.count(f"row_counts[{table!r}]", count)
    for name, digest in files.items():
        if not _inside(name):
            fields.fail(f"files[{name[:100]!r}]", "is not a path inside the backup")
        fields.hex64(f"files[{name!r}]", digest)
    return {
        "format": BACKUP_FORMAT,
        "made_at": fields.text("made_at", 100),
        "origin": fields.text("origin", 1000),
        "tree_size": fields.count("tree_size"),
        "root": fields.hex64("root"),
        "checkpoint": fields.text("checkpoint"),
        "verifier_key": fields.text("verifier_key", 1000),
        "row_counts": counts,
        "files": files,
    }


def _links(folder: Path) -> list[str]:
    """The symbolic links under ``folder`` (a backup holds none: one would copy, at a
    restore, whatever file it points to)."""
    found = []
    for root, dirs, names in os.walk(folder):
        for name in [*dirs, *names]:
            if os.path.islink(os.path.join(root, name)):
                found.append(Path(root, name).relative_to(folder).as_posix())
    return sorted(found)


def check_manifest(folder: Path) -> dict[str, Any]:
    """Check a backup's files and signed checkpoint against its manifest (no passphrase).

    Raises:
        BackupError: the manifest is damaged, a file is missing, extra, changed or a link, or
            the checkpoint does not verify.
    """
    manifest = read_manifest(folder)
    links = _links(folder)
    if links:
        raise BackupError(f"{folder}: {links[0]} is a symbolic link; a backup holds none")
    listed: dict[str, str] = manifest["files"]
    present = {p.relative_to(folder).as_posix(): p for p in _files(folder)}
    for name in sorted(set(listed) | set(present)):
        if name not in present:
            raise BackupError(f"{folder}: {name} is missing from the backup")
        if name not in listed:
            raise BackupError(f"{folder}: {name} is not in the backup's manifest")
        if _sha256(present[name]) != listed[name]:
            raise BackupError(f"{folder}: {name} does not match its manifest (damaged or altered)")
    try:
        checkpoint = open_checkpoint(
            manifest["checkpoint"], [manifest["verifier_key"]], manifest["origin"]
        )
    except CheckpointError as exc:
        raise BackupError(f"{folder}: the backup's checkpoint does not verify ({exc})") from None
    if checkpoint.size != manifest["tree_size"] or checkpoint.root.hex() != manifest["root"]:
        raise BackupError(f"{folder}: the manifest's tree size or root is not the checkpoint's")
    return manifest


@dataclass(frozen=True)
class LogState:
    """A signed state of the log: what a replica accepts."""

    size: int
    root: str
    checkpoint: str
    verifier_key: str
    origin: str


class Replica(Protocol):
    """Where a replica lives. A folder here; a remote store implements the same."""

    name: str

    def accepted(self) -> LogState | None:
        """The state the replica last accepted, or None for a new replica."""

    def staging(self) -> Path:
        """An empty local folder to build the next copy in (a remote replica uploads it)."""

    def store(self, snapshot: Path, state: LogState) -> None:
        """Replace the replica's copy with ``snapshot`` and remember ``state``."""


class FolderReplica:
    """A replica in a local (or mounted) folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.name = str(folder)

    def accepted(self) -> LogState | None:
        """The accepted state, from ``replica.json``."""
        path = self.folder / REPLICA_STATE
        if not path.exists():
            if self.folder.exists() and any(self.folder.iterdir()):
                raise BackupError(f"{self.folder} is not empty and is not a Sillok replica")
            return None
        fields = _Fields(path, _load_json(path, 1 << 20))
        return LogState(
            fields.count("size"),
            fields.hex64("root"),
            fields.text("checkpoint"),
            fields.text("verifier_key", 1000),
            fields.text("origin", 1000),
        )

    def store(self, snapshot: Path, state: LogState) -> None:
        """Swap in the new copy (the old one stays whole until the new one is complete)."""
        private_folder(self.folder)
        current = self.folder / "copy"
        old = self.folder / "copy.old"
        shutil.rmtree(old, ignore_errors=True)
        if current.exists():
            os.replace(current, old)
        os.replace(snapshot, current)
        _write_json(self.folder / REPLICA_STATE, state.__dict__)
        shutil.rmtree(old, ignore_errors=True)

    def staging(self) -> Path:
        """A folder beside the replica for the next copy."""
        path = self.folder.with_name(self.folder.name + ".incoming")
        shutil.rmtree(path, ignore_errors=True)
        return path


class Backups:
    """``archive.backups``: backup, restore, replicate."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def check_restored(
        self, manifest: dict[str, Any], verification: Verification
    ) -> dict[str, Any]:
        """Prove a restored archive whole: the full verification, then the row counts and the
        Merkle root at the backup's tree size compared with the manifest."""
        vault = self.vault
        report = verification.run()
        if not report.ok:
            raise BackupError(f"the restored archive does not verify: {report.first_problem}")
        with vault.store.reading() as conn:
            note = vault.log.checkpoint(conn, manifest["tree_size"])
            leaves = vault.log.leaf_hashes(conn, manifest["tree_size"])
            counts = row_counts(conn, LOGGED_TABLES)
        if note is None or root_hash(leaves).hex() != manifest["root"]:
            raise BackupError("the restored log's root differs from the backup's manifest")
        for name in COUNTED:
            if counts[name] != manifest["row_counts"].get(name):
                raise BackupError(
                    f"the restored archive has {counts[name]} rows in {name}, the backup "
                    f"had {manifest['row_counts'].get(name)}"
                )
        vault.audit.record("restore", detail={"tree_size": manifest["tree_size"]})
        return {"tree_size": manifest["tree_size"], "root": manifest["root"], "rows": counts}

    def _require(self) -> None:
        if not may(self.vault.role, "backup"):
            raise InvalidInput(f"the {self.vault.role} role may not make backups")

    def backup(self, dest: Path) -> dict[str, Any]:
        """Write a self-verifying copy of the archive into ``dest`` (new or empty)."""
        self._require()
        dest = Path(dest)
        if dest.exists() and any(dest.iterdir()):
            raise BackupError(f"{dest} is not empty: a backup needs a folder of its own")
        manifest = self._copy(dest)
        self.vault.audit.record(
            "backup", detail={"tree_size": manifest["tree_size"], "dest": dest.name}
        )
        return manifest

    def _copy(self, dest: Path) -> dict[str, Any]:
        archive = self.vault
        if archive.store.dialect.name != "sqlcipher":
            raise BackupError(
                "this archive keeps its data in PostgreSQL: back the server up with pg_dump "
                "(the log and its checkpoints are in the dump); sillok backup copies the "
                "embedded SQLCipher store"
            )
        try:
            private_folder(dest)
            copy_database(
                archive.store, dest / DB_FILE, derive_key(archive.keys.database, "database")
            )
            for name in (ARCHIVE_FILE, KEYS_FILE):
                shutil.copy2(archive.folder / name, dest / name)
            blobs = archive.folder / "attachments"
            if blobs.is_dir():
                shutil.copytree(blobs, dest / "attachments")
            private_tree(dest)
            manifest = self._manifest(dest)
            _write_json(dest / MANIFEST, manifest)
            _fsync_tree(dest)
        except OSError as exc:
            shutil.rmtree(dest, ignore_errors=True)
            raise BackupError(f"{dest}: the backup could not be written ({exc.strerror})") from None
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        return manifest

    def _manifest(self, dest: Path) -> dict[str, Any]:
        """The manifest, read from the copy itself (so it describes exactly what was copied)."""
        store = Store(
            SqlCipherDialect(dest / DB_FILE),
            derive_key(self.vault.keys.database, "database"),
        )
        try:
            with store.reading() as conn:
                head = ArchiveLog(store.dialect, b"", b"").head(conn)
                counts = row_counts(conn, LOGGED_TABLES)
        finally:
            store.close()
        return {
            "format": BACKUP_FORMAT,
            "made_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "origin": head.origin,
            "tree_size": head.size,
            "root": head.root.hex(),
            "checkpoint": head.checkpoint,
            "verifier_key": head.verifier_key,
            "row_counts": counts,
            "files": {p.relative_to(dest).as_posix(): _sha256(p) for p in _files(dest)},
        }

    # -- replicas --

    def replicate(self, replicas: Sequence[Replica]) -> list[dict[str, Any]]:
        """Bring each replica up to the archive's current state, if it is an extension.

        Raises:
            BackupError: a replica refuses (naming it and why); replicas before it were
                updated, those after it were not tried.
        """
        self._require()
        results = []
        for replica in replicas:
            accepted = replica.accepted()
            staging = replica.staging()
            manifest = self._copy(staging)
            state = LogState(
                manifest["tree_size"],
                manifest["root"],
                manifest["checkpoint"],
                manifest["verifier_key"],
                manifest["origin"],
            )
            try:
                if accepted is not None:
                    self._check_extension(replica.name, accepted, state)
            except BackupError:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            replica.store(staging, state)
            self.vault.audit.record(
                "replicate",
                detail={"replica": Path(replica.name).name, "tree_size": state.size},
            )
            results.append(
                {
                    "replica": replica.name,
                    "from_size": accepted.size if accepted else 0,
                    "to_size": state.size,
                }
            )
        return results

    def _check_extension(self, name: str, accepted: LogState, state: LogState) -> None:
        if state.verifier_key != accepted.verifier_key or state.origin != accepted.origin:
            raise BackupError(
                f"{name}: the archive's log is signed by another key or has another origin "
                "than the one this replica accepted"
            )
        try:
            old = open_checkpoint(accepted.checkpoint, [accepted.verifier_key], accepted.origin)
            new = open_checkpoint(state.checkpoint, [accepted.verifier_key], accepted.origin)
        except CheckpointError as exc:
            raise BackupError(f"{name}: a checkpoint does not verify ({exc})") from None
        if new.size < old.size:
            raise BackupError(
                f"{name}: the archive's log has {new.size} entries, fewer than the {old.size} "
                "this replica accepted: history was removed"
            )
        if old.size == 0:
            return
        with self.vault.store.reading() as conn:
            leaves = self.vault.log.leaf_hashes(conn, new.size)
        try:
            proof = consistency_proof(old.size, leaves)
            verify_consistency(old.size, new.size, old.root, new.root, proof)
        except (ProofError, ValueError):
            raise BackupError(
                f"{name}: the archive's log is not an extension of the log this replica "
                f"accepted at size {old.size}: its history was rewritten; nothing was copied"
            ) from None


def unpack(backup: Path, target: Path) -> dict[str, Any]:
    """Copy a backup (or a replica's copy) into a new folder after checking its files against
    the manifest; returns the manifest. The copy is proved whole by :meth:`Backups.check_restored`
    (``Archive.restore`` does both)."""
    backup, target = Path(backup), Path(target)
    if (backup / "copy" / MANIFEST).exists():
        backup = backup / "copy"
    manifest = check_manifest(backup)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: restore into a new folder")
    try:
        private_folder(target)
        shutil.copytree(backup, target, dirs_exist_ok=True)
        (target / MANIFEST).unlink()
        private_tree(target)
    except OSError as exc:
        discard(target, exc)
    return manifest


def discard(target: Path, exc: BaseException) -> NoReturn:
    """Remove a failed restore's folder and raise the failure as an archive or backup error."""
    shutil.rmtree(target, ignore_errors=True)
    if isinstance(exc, ArchiveError | BackupError):
        raise exc
    raise BackupError(f"restore failed: {exc}") from None
