"""Evidence files: sealed, streamed, content-addressed by a keyed hash, with chain of custody.

``sillok attach ARCHIVE KIND:ID FILE`` reads the file once, in chunks (a multi-gigabyte video
never sits in memory), while it (1) hashes the raw bytes with SHA-256, exactly what
``sha256sum`` prints, and (2) seals them chunk by chunk with AES-256-GCM into the archive's
attachment store. The stored file is named by ``HMAC-SHA256(attachment names key, SHA-256 of
the raw bytes)``: equal files share one blob, but nobody without the archive's key can tell from
the names which known file is inside.

Sealed file format (version 1)::

    b"SLKATT1\\n" || salt (16) || nonce prefix (8) || chunk size (4, big-endian)
    then chunks: AES-256-GCM(chunk) with nonce = prefix || chunk index (4, big-endian)
    and associated data = b"sillok attachment v1" || chunk index (8) || last flag (1)

The key is derived from the archive's evidence key of the epoch (:mod:`sillok.security.keys`:
only roles that may get or add evidence hold it; a rotation starts a new one and keeps the
old ones in those roles' copies) and the salt. The last-chunk flag in the
associated data makes a truncated file fail, even when cut at a chunk boundary.

The attachment's record keeps the SHA-256, size, media type, the file name, capture time and
place when the file's metadata says so, and a chain of custody (``attachment_custody``): who
added it, when and from where, and every later opening and re-hash. All of it is in the
Merkle log; ``sillok verify`` re-hashes every attachment.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sillok.errors import InvalidInput, NotFound, SillokError
from sillok.model import RECORD_TABLES
from sillok.security.keys import EVIDENCE, EVIDENCE_NAMES, derive_key
from sillok.security.policy import may, may_see
from sillok.store import attachments as attachment_rows
from sillok.store.rows import get, insert_records, now

if TYPE_CHECKING:
    from sillok.vault import Vault

MAGIC = b"SLKATT1\n"
CHUNK = 1 << 20
_AAD = b"sillok attachment v1"
STORE = "attachments"
_SNIFF = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
    (b"GIF8", "image/gif"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
)


class AttachmentError(SillokError):
    """An attachment cannot be stored or read back, or does not match its record."""


def _chunk_aad(index: int, last: bool) -> bytes:
    return _AAD + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


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


def capture_metadata(path: Path) -> tuple[str | None, str | None]:
    """(capture time, capture place) from EXIF when Pillow is installed; else (None, None).

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


def seal_stream(source: IO[bytes], target: IO[bytes], key_root: bytes) -> tuple[str, int]:
    """Seal ``source`` into ``target`` chunk by chunk; returns (SHA-256 of the raw bytes, size)."""
    salt, prefix = os.urandom(16), os.urandom(8)
    cipher = AESGCM(derive_key(key_root, f"attachment {salt.hex()}"))
    target.write(MAGIC + salt + prefix + CHUNK.to_bytes(4, "big"))
    digest = hashlib.sha256()
    size = 0
    index = 0
    current = source.read(CHUNK)
    while True:
        following = source.read(CHUNK) if len(current) == CHUNK else b""
        last = not following
        digest.update(current)
        size += len(current)
        nonce = prefix + index.to_bytes(4, "big")
        target.write(cipher.encrypt(nonce, current, _chunk_aad(index, last)))
        if last:
            return digest.hexdigest(), size
        current = following
        index += 1


def open_stream(source: IO[bytes], key_root: bytes) -> Iterator[bytes]:
    """The raw bytes of a sealed file, chunk by chunk; :class:`AttachmentError` if altered."""
    header = source.read(len(MAGIC) + 28)
    if len(header) != len(MAGIC) + 28 or not header.startswith(MAGIC):
        raise AttachmentError("the stored attachment is not a sealed attachment file")
    salt = header[len(MAGIC) : len(MAGIC) + 16]
    prefix = header[len(MAGIC) + 16 : len(MAGIC) + 24]
    chunk = int.from_bytes(header[len(MAGIC) + 24 :], "big")
    cipher = AESGCM(derive_key(key_root, f"attachment {salt.hex()}"))
    index = 0
    current = source.read(chunk + 16)
    while True:
        following = source.read(chunk + 16)
        last = not following
        try:
            yield cipher.decrypt(
                prefix + index.to_bytes(4, "big"), current, _chunk_aad(index, last)
            )
        except InvalidTag:
            raise AttachmentError(
                f"the stored attachment fails its check at chunk {index}: altered or truncated"
            ) from None
        if last:
            return
        current = following
        index += 1


class Attachments:
    """``archive.attachments``: attach, list, get and re-hash evidence files."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.folder = vault.folder / STORE

    @property
    def can_open(self) -> bool:
        """Whether this user's copy holds the evidence keys (roles that get or add evidence)."""
        return bool(self.vault.keys.evidence_keys())

    def _opened(self, path: Path) -> Iterator[bytes]:
        """The raw bytes of a sealed file, under whichever epoch's evidence key sealed it."""
        keys = self.vault.keys.evidence_keys()
        if not keys:
            raise InvalidInput(f"a {self.vault.role}'s key copy holds no evidence key")
        for number, key in enumerate(keys, start=1):
            with open(path, "rb") as source:
                chunks = open_stream(source, key)
                try:
                    first = next(chunks)
                except AttachmentError:
                    if number < len(keys):
                        continue  # sealed in another epoch: the first chunk says so
                    raise
                yield first
                yield from chunks
                return

    def _require(self, action: str) -> None:
        if not may(self.vault.role, action):
            raise InvalidInput(f"the {self.vault.role} role may not do that ({action})")

    def blob_name(self, sha256: str) -> str:
        """The keyed-hash name of the blob holding a file with this SHA-256."""
        name_key = self.vault.key_for(EVIDENCE_NAMES)
        return hmac.new(name_key, bytes.fromhex(sha256), hashlib.sha256).hexdigest()

    def attach(
        self, kind: str, record_id: int, path: Path, media: str | None = None
    ) -> dict[str, Any]:
        """Seal a file into the store and record it on a record; returns the attachment."""
        self._require("attachment.add")
        path = Path(path)
        if kind not in RECORD_TABLES or kind == "attachment":
            raise InvalidInput(f"cannot attach a file to a {kind!r}")
        if not path.is_file():
            raise InvalidInput(f"{path}: no such file")
        with self.vault.store.reading() as conn:
            if get(conn, kind, record_id) is None:
                raise NotFound(f"there is no {kind} with id {record_id}")
        self.folder.mkdir(mode=0o700, exist_ok=True)
        incoming = self.folder / f".incoming-{os.getpid()}-{os.urandom(4).hex()}"
        try:
            with open(path, "rb") as source:
                head = source.read(16)
                source.seek(0)
                with open(incoming, "wb") as target:
                    sha256, size = seal_stream(source, target, self.vault.key_for(EVIDENCE))
                    target.flush()
                    os.fsync(target.fileno())
            blob = self.blob_name(sha256)
            if (self.folder / blob).exists():
                incoming.unlink()  # the same file is stored already
            else:
                os.replace(incoming, self.folder / blob)
        except OSError as exc:
            incoming.unlink(missing_ok=True)
            raise AttachmentError(f"{path}: could not be stored ({exc.strerror})") from None
        when, place = capture_metadata(path)
        values = {
            "record_kind": kind,
            "record_id": record_id,
            "filename": path.name,
            "media_type": media or media_type(path, head),
            "size": size,
            "sha256": sha256,
            "blob_name": blob,
            "captured_at": when,
            "captured_place": place,
        }
        actor = self.vault.user.name
        with self.vault.store.transaction() as conn:
            (aid,) = insert_records(conn, self.vault.store.dialect, "attachment", [values], actor)
            self._custody(conn, aid, "added", f"{socket.gethostname()}:{path.name}")
            self.vault.audit.record("attachment_add", "attachment", aid, {"size": size}, conn)
        return {"id": aid, **values}

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

    def list(self, kind: str | None = None, record_id: int | None = None) -> list[dict[str, Any]]:
        """Attachments (of one record), with their chain of custody, as the role may see them."""
        found = []
        with self.vault.store.reading() as conn:
            for row in attachment_rows.attachments_of(conn, kind, record_id):
                sharing = self._sharing_of(conn, row)
                if not may_see(self.vault.role, sharing):
                    continue
                shown = self.vault.disclosure.row(conn, "attachments", dict(row._mapping), sharing)
                shown["custody"] = [
                    {"at": c.at.isoformat(), "actor": c.actor, "action": c.action}
                    for c in attachment_rows.custody_of(conn, row.id)
                ]
                found.append(shown)
        return found

    def _sharing_of(self, conn: Any, row: Any) -> str | None:
        record = get(conn, row.record_kind, row.record_id)
        return getattr(record, "sharing", None) if record is not None else None

    def get(self, attachment_id: int, output: Path) -> dict[str, Any]:
        """Write the original file back out, byte for byte (checked against its SHA-256)."""
        self._require("attachment.get")
        output = Path(output)
        with self.vault.store.reading() as conn:
            row = attachment_rows.attachment(conn, attachment_id)
            if row is None or not may_see(self.vault.role, self._sharing_of(conn, row)):
                raise NotFound(f"there is no attachment with id {attachment_id}")
        if output.exists():
            raise InvalidInput(f"{output} exists: choose a new file name")
        partial = output.with_name(output.name + ".partial")
        digest = hashlib.sha256()
        try:
            with open(partial, "wb") as target:
                for chunk in self._opened(self.folder / row.blob_name):
                    digest.update(chunk)
                    target.write(chunk)
            if digest.hexdigest() != row.sha256:
                raise AttachmentError(
                    f"attachment {attachment_id} does not match its recorded SHA-256"
                )
            os.replace(partial, output)
        except FileNotFoundError:
            partial.unlink(missing_ok=True)
            raise AttachmentError(
                f"attachment {attachment_id}: its stored file is missing"
            ) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        with self.vault.store.transaction() as conn:
            self._custody(conn, attachment_id, "opened", socket.gethostname())
            self.vault.audit.record("attachment_get", "attachment", attachment_id, {}, conn)
        return {"id": attachment_id, "sha256": row.sha256, "size": row.size}

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
            for chunk in self._opened(self.folder / row.blob_name):
                digest.update(chunk)
                size += len(chunk)
        except FileNotFoundError:
            return f"attachment {row.id}: its stored file is missing"
        except AttachmentError as exc:
            return f"attachment {row.id}: {exc}"
        if digest.hexdigest() != row.sha256 or size != row.size:
            return f"attachment {row.id}: the stored file does not hash to its recorded SHA-256"
        return None
