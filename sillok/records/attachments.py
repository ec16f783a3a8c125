"""Evidence files: sealed, streamed, each under its own data key, with chain of custody.

``sillok attach ARCHIVE KIND:ID FILE`` reads the file once, in chunks (a multi-gigabyte video
never sits in memory), while it (1) hashes the raw bytes with SHA-256, exactly what
``sha256sum`` prints, and (2) seals them chunk by chunk with AES-256-GCM under a fresh random
data key into the archive's attachment store, under a random name. The data key is kept
wrapped under the archive's evidence key, and the SHA-256 only sealed under the data key and
as a keyed fingerprint that finds an equal file (equal files share one blob): the format and
the keys are :mod:`sillok.security.evidence`'s. Only the roles that may get or add evidence
hold the evidence key; a rotation re-wraps every data key under the new one.

Who may open a file is the access policy's
:func:`~sillok.security.policy.may_get_evidence`: a role that may get evidence and read the
record's text at its sharing level (review C6). Other roles see that a file is there (its
size, type and chain of custody), never its SHA-256.

The attachment's record keeps the sealed SHA-256, size, media type, the file name, capture
time and place when the file's metadata says so, and a chain of custody
(``attachment_custody``): who added it, when and from where, and every later opening and
re-hash. All of it is in the Merkle log; ``sillok verify`` re-hashes every attachment.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from sillok.errors import InvalidInput, NotFound
from sillok.messages import no_such
from sillok.model import RECORD_TABLES
from sillok.security.evidence import (
    CHUNK,
    MAGIC,
    STORE,
    AttachmentError,
    EvidenceKeys,
    new_blob_name,
    new_data_key,
    open_sha256,
    open_stream,
    seal_sha256,
    seal_stream,
)
from sillok.security.policy import REDACTED, may, may_get_evidence, may_see
from sillok.store import attachments as attachment_rows
from sillok.store.rows import get, insert_records, now

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from sillok.vault import Vault

__all__ = [
    "CHUNK",
    "MAGIC",
    "STORE",
    "AttachmentError",
    "Attachments",
    "EvidenceWithheld",
    "Sealed",
    "capture_metadata",
    "media_type",
    "open_stream",
    "seal_stream",
]

_SNIFF = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
    (b"GIF8", "image/gif"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
)


class EvidenceWithheld(NotFound):
    """Evidence of a record the role may see but whose text it may not read (review C6)."""


@dataclass
class Sealed:
    """A file sealed into the store by :meth:`Attachments.seal`, not yet recorded."""

    incoming: Path  # where it waits until recorded
    data_key: bytes
    sha256: str
    size: int
    head: bytes  # its first bytes, for its media type
    blob: str | None = None  # its blob once recorded
    new: bool = False  # whether recording it made a new blob (removed if that fails)


class _Counted:
    """A stream read by :func:`seal_stream`: keeps its first bytes, refuses it past a limit."""

    def __init__(self, source: IO[bytes], limit: int | None) -> None:
        self.source, self.limit, self.size, self.head = source, limit, 0, b""

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        if len(self.head) < 16:
            self.head = (self.head + chunk)[:16]
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            raise InvalidInput(f"more than {self.limit:,} bytes")
        return chunk


def media_type(path: Path, head: bytes) -> str:
    """The media type from the first bytes, else from the file name, else octet-stream."""
    for magic, kind in _SNIFF:
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def capture_metadata(path: Path | IO[bytes]) -> tuple[str | None, str | None]:
    """(capture time, capture place) from EXIF when Pillow is installed; else (None, None).
    ``path`` is a file's path or an open binary stream (a member of a zip).

    Only what is cheap to read: an image's EXIF DateTimeOriginal and GPS position. Videos and
    recordings keep their metadata inside the sealed file, unread.
    """
    try:
        from PIL import Image  # Pillow is optional: without it, no capture metadata
    except ImportError:
        return None, None
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            when = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)
            gps = exif.get_ifd(0x8825)
    except Exception:  # noqa: BLE001 - a file that is not an image has no EXIF; that is all
        return None, None
    place = None
    if gps and 2 in gps and 4 in gps:
        place = f"{gps.get(1, 'N')}{gps[2]} {gps.get(3, 'E')}{gps[4]}"
    return (str(when) if when else None), place


class Attachments:
    """``archive.attachments``: attach, list, get and re-hash evidence files."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.folder = vault.folder / STORE

    @property
    def can_open(self) -> bool:
        """Whether this user's copy holds the evidence keys (roles that get or add evidence)."""
        return bool(self.vault.keys.evidence_keys())

    def keys(self) -> EvidenceKeys:
        """The data keys, opened with every evidence key of this session: the current copy's
        first, then (during an interrupted rotation) the other copy's."""
        vault = self.vault
        copies = [vault.keys, vault.pending_keys, vault.previous_keys]
        known = [k for copy in copies if copy is not None for k in copy.evidence_keys()]
        return EvidenceKeys(vault.store.dialect, self.folder, known)

    def _opened(self, conn: Connection, blob: str) -> Iterator[bytes]:
        """The raw bytes of a stored file, under its data key (or, for a file sealed before
        the data keys, whichever evidence key of the copy sealed it)."""
        roots = self.keys().roots(conn, blob)
        if not roots:
            raise InvalidInput(f"a {self.vault.role}'s key copy holds no evidence key")
        for number, root in enumerate(roots, start=1):
            with open(self.folder / blob, "rb") as source:
                chunks = open_stream(source, root)
                try:
                    first = next(chunks)
                except AttachmentError:
                    if number < len(roots):
                        continue  # sealed in another epoch: the first chunk says so
                    raise
                yield first
                yield from chunks
                return

    def _require(self, action: str) -> None:
        if not may(self.vault.role, action):
            raise InvalidInput(f"the {self.vault.role} role may not do that ({action})")

    def attach(
        self, kind: str, record_id: int, path: Path, media: str | None = None
    ) -> dict[str, Any]:
        """Seal a file into the store and record it on a record; returns the attachment
        (with its SHA-256 in the clear, for the one who added it)."""
        self._require("attachment.add")
        path = Path(path)
        if kind not in RECORD_TABLES or kind == "attachment":
            raise InvalidInput(f"cannot attach a file to a {kind!r}")
        if not path.is_file():
            raise InvalidInput(f"{path}: no such file")
        with self.vault.store.reading() as conn:
            if get(conn, kind, record_id) is None:
                raise NotFound(no_such(kind, record_id))
        try:
            with open(path, "rb") as source:
                sealed = self.seal(source)
        except OSError as exc:
            raise AttachmentError(f"{path}: could not be stored ({exc.strerror})") from None
        captured = capture_metadata(path)
        try:
            with self.vault.store.transaction() as conn:
                return self.record(
                    conn,
                    kind,
                    record_id,
                    sealed,
                    path.name,
                    media or media_type(path, sealed.head),
                    f"{socket.gethostname()}:{path.name}",
                    captured,
                )
        except BaseException:
            self.discard(sealed)
            raise

    def seal(self, source: IO[bytes], limit: int | None = None) -> Sealed:
        """Seal a stream into the store under a fresh data key, not yet recorded: the step of
        :meth:`attach` that reads the file, for a caller that records it in its own
        transaction (:meth:`record`) and removes it with :meth:`discard` if that fails.

        Raises:
            InvalidInput: this copy holds no evidence key, or the stream is past ``limit``.
            OSError: the store cannot be written.
        """
        if self.keys().current is None:
            raise InvalidInput(f"a {self.vault.role}'s key copy holds no evidence key")
        self.folder.mkdir(mode=0o700, exist_ok=True)
        incoming = self.folder / f".incoming-{os.getpid()}-{os.urandom(4).hex()}"
        data_key = new_data_key()
        counted = _Counted(source, limit)
        try:
            with open(incoming, "wb") as target:
                sha256, size = seal_stream(cast(IO[bytes], counted), target, data_key)
                target.flush()
                os.fsync(target.fileno())
        except BaseException:
            incoming.unlink(missing_ok=True)
            raise
        return Sealed(incoming, data_key, sha256, size, counted.head)

    def record(
        self,
        conn: Connection,
        kind: str,
        record_id: int,
        sealed: Sealed,
        filename: str,
        media: str,
        origin: str,
        captured: tuple[str | None, str | None] = (None, None),
    ) -> dict[str, Any]:
        """Record a sealed file on a record in the caller's transaction: its blob (an equal
        file already stored is shared), its row, its first link of custody and its audit
        event. If the transaction does not commit, :meth:`discard` the sealed file."""
        self._require("attachment.add")
        evidence = self.keys()
        if get(conn, kind, record_id) is None:
            raise NotFound(f"there is no {kind} with id {record_id}")
        if sealed.blob is None:
            stored = evidence.find(conn, sealed.sha256)
            if stored is not None:
                sealed.blob, sealed.data_key = stored
                sealed.incoming.unlink(missing_ok=True)  # the same file is stored already
            else:
                sealed.blob = new_blob_name()
                os.replace(sealed.incoming, self.folder / sealed.blob)
                sealed.new = True
                evidence.add(conn, sealed.blob, sealed.data_key, sealed.sha256)
        values = {
            "record_kind": kind,
            "record_id": record_id,
            "filename": filename,
            "media_type": media,
            "size": sealed.size,
            "sha256": seal_sha256(sealed.data_key, sealed.blob, sealed.sha256),
            "blob_name": sealed.blob,
            "captured_at": captured[0],
            "captured_place": captured[1],
        }
        actor = self.vault.user.name
        (aid,) = insert_records(conn, self.vault.store.dialect, "attachment", [values], actor)
        self._custody(conn, aid, "added", origin)
        self.vault.audit.record("attachment_add", "attachment", aid, {"size": sealed.size}, conn)
        return {"id": aid, **values, "sha256": sealed.sha256}

    def discard(self, sealed: Sealed) -> None:
        """Remove what :meth:`seal` wrote, once the transaction that was to record it failed
        (a blob another attachment shares is left)."""
        sealed.incoming.unlink(missing_ok=True)
        if sealed.new and sealed.blob is not None:
            (self.folder / sealed.blob).unlink(missing_ok=True)
            sealed.new = False

    def _custody(self, conn: Any, attachment_id: int, action: str, origin: str | None) -> None:
        attachment_rows.add_custody(
            conn,
            self.vault.store.dialect,
            {
                "attachment_id": attachment_id,
                "at": now(),
                "actor": self.vault.user.name,
                "action": action,
                "origin": origin,
            },
        )

    def _sha256(self, conn: Connection, row: Any) -> str | None:
        """The SHA-256 a row records, or None when this copy cannot open it."""
        try:
            data_key = self.keys().data_key(conn, row.blob_name)
        except AttachmentError:
            return None
        return open_sha256(data_key, row.blob_name, row.sha256)

    def list(self, kind: str | None = None, record_id: int | None = None) -> list[dict[str, Any]]:
        """Attachments (of one record), with their chain of custody, as the role may see them.

        ``openable`` says whether the role may open the file (the policy's
        :func:`~sillok.security.policy.may_get_evidence`); only then is its SHA-256 shown.
        """
        found = []
        role = self.vault.role
        with self.vault.store.reading() as conn:
            for row in attachment_rows.attachments_of(conn, kind, record_id):
                sharing = self._sharing_of(conn, row)
                if not may_see(role, sharing):
                    continue
                shown = self.vault.disclosure.row(conn, "attachments", dict(row._mapping), sharing)
                openable = may_get_evidence(role, sharing) and self.can_open
                shown["openable"] = openable
                shown["sha256"] = (self._sha256(conn, row) if openable else None) or REDACTED
                shown["custody"] = [
                    {"at": c.at.isoformat(), "actor": c.actor, "action": c.action}
                    for c in attachment_rows.custody_of(conn, row.id)
                ]
                found.append(shown)
        return found

    def access_of(self, conn: Connection, row: Any) -> tuple[bool, bool]:
        """(whether the role sees an attachment, whether it may open its file): the policy
        :meth:`list` and :meth:`get` apply, for a caller that reads many."""
        role = self.vault.role
        sharing = self._sharing_of(conn, row)
        seen = may_see(role, sharing)
        return seen, seen and may_get_evidence(role, sharing) and self.can_open

    def _sharing_of(self, conn: Any, row: Any) -> str | None:
        record = get(conn, row.record_kind, row.record_id)
        return getattr(record, "sharing", None) if record is not None else None

    def get(self, attachment_id: int, output: Path) -> dict[str, Any]:
        """Write the original file back out, byte for byte (checked against its SHA-256).

        Returns:
            id, sha256, size, filename and media_type of the attachment.
        Raises:
            NotFound: no such attachment, or one on a record the role may not see.
            EvidenceWithheld: the role may see the record but not read its text at its
                sharing level, so not open its evidence (review C6).
        """
        self._require("attachment.get")
        output = Path(output)
        role = self.vault.role
        with self.vault.store.reading() as conn:
            row = attachment_rows.attachment(conn, attachment_id)
            sharing = self._sharing_of(conn, row) if row is not None else None
            if row is None or not may_see(role, sharing):
                raise NotFound(no_such("attachment", attachment_id))
            if not may_get_evidence(role, sharing):
                raise EvidenceWithheld(
                    f"attachment {attachment_id}: the {role} role may not open the evidence "
                    f"of a {sharing or 'internal'} {row.record_kind} (it may not read its text)"
                )
            if output.exists():
                raise InvalidInput(f"{output} exists: choose a new file name")
            partial = output.with_name(output.name + ".partial")
            try:
                with open(partial, "wb") as target:
                    recorded = self.copy_to(conn, row, target)
                os.replace(partial, output)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            shown = self.vault.disclosure.row(conn, "attachments", dict(row._mapping), sharing)
        with self.vault.store.transaction() as conn:
            self._custody(conn, attachment_id, "opened", socket.gethostname())
            self.vault.audit.record("attachment_get", "attachment", attachment_id, {}, conn)
        return {
            "id": attachment_id,
            "sha256": recorded,
            "size": row.size,
            "filename": shown.get("filename"),
            "media_type": shown.get("media_type"),
        }

    def copy_to(self, conn: Connection, row: Any, target: IO[bytes]) -> str:
        """Write an attachment's original bytes to ``target``, a chunk at a time, checked
        against its recorded SHA-256 and size; returns the SHA-256. The caller has checked
        the role may open it (:func:`~sillok.security.policy.may_get_evidence`) and records
        the opening (:meth:`record_opened`).

        Raises:
            AttachmentError: the stored file is missing, altered, or not what was recorded.
        """
        recorded = self._sha256(conn, row)
        digest = hashlib.sha256()
        size = 0
        try:
            for chunk in self._opened(conn, row.blob_name):
                digest.update(chunk)
                size += len(chunk)
                target.write(chunk)
        except FileNotFoundError:
            raise AttachmentError(f"attachment {row.id}: its stored file is missing") from None
        if recorded is None or digest.hexdigest() != recorded or size != row.size:
            raise AttachmentError(f"attachment {row.id} does not match its recorded SHA-256")
        return recorded

    def record_opened(self, ids: Sequence[int], origin: str, detail: Mapping[str, Any]) -> None:
        """Record in one transaction that these attachments' files left the archive (a link
        of custody ``opened`` from ``origin`` and an ``attachment_get`` audit event each),
        as :meth:`get` records a download."""
        with self.vault.store.transaction() as conn:
            for attachment_id in ids:
                self._custody(conn, attachment_id, "opened", origin)
            self.vault.audit.record_many(
                [("attachment_get", "attachment", i, detail) for i in ids], conn
            )

    def rehash(self, row: Any) -> str | None:
        """Re-hash one stored attachment; None if it matches, else what is wrong.

        A role whose copy holds no evidence key (viewer, analyst) can only check that the
        stored file is there.
        """
        if not self.can_open:
            present = (self.folder / row.blob_name).is_file()
            return None if present else f"attachment {row.id}: its stored file is missing"
        digest = hashlib.sha256()
        size = 0
        try:
            with self.vault.store.reading() as conn:
                recorded = self._sha256(conn, row)
                for chunk in self._opened(conn, row.blob_name):
                    digest.update(chunk)
                    size += len(chunk)
        except FileNotFoundError:
            return f"attachment {row.id}: its stored file is missing"
        except AttachmentError as exc:
            return f"attachment {row.id}: {exc}"
        if recorded is None:
            return f"attachment {row.id}: its data key or recorded SHA-256 does not open"
        if digest.hexdigest() != recorded or size != row.size:
            return f"attachment {row.id}: the stored file does not hash to its recorded SHA-256"
        return None
