"""Evidence files' keys: a random data key per file, wrapped under the archive's evidence key.

Every stored evidence file (a *blob* in the folder's ``attachments/``, named at random) is
sealed under its own random 32-byte **data key** (:func:`seal_stream`). The data key is kept in
the database, in ``evidence_keys``, wrapped with AES-256-GCM under the archive's **evidence
key** (:mod:`sillok.security.keys`: only the roles that may get or add evidence hold it), with
the blob's name as associated data. ``sillok keys rotate`` re-wraps every data key under the
new evidence key in one transaction (:meth:`EvidenceKeys.rewrap`); the file bodies are not
re-encrypted, so the evidence keys of earlier epochs can be dropped from every copy.

The SHA-256 of a file is evidence too (whoever holds a copy of a known video can confirm that
the archive holds it), so it is never stored in the clear:

* the attachment's row keeps it sealed under the file's data key (:func:`seal_sha256`), so its
  log commitment is a commitment to ciphertext;
* ``evidence_keys.digest`` is ``HMAC-SHA256(K, SHA-256)`` with ``K`` derived from the evidence
  key: a role that holds the evidence key finds an equal file already stored (one blob for
  both), nobody else can test a guess. It is recomputed at every rotation.

Files sealed before this scheme (a blob sealed directly under the evidence key of its epoch,
named by a keyed hash, its SHA-256 in the clear in the row) still open with the evidence keys
of the copy; the next rotation wraps the evidence key that opens each of them as its data key
(:meth:`EvidenceKeys.rewrap`), after which no copy needs the old key.

Sealed file format (version 1)::

    b"SLKATT1\\n" || salt (16) || nonce prefix (8) || chunk size (4, big-endian)
    then chunks: AES-256-GCM(chunk) with nonce = prefix || chunk index (4, big-endian)
    and associated data = b"sillok attachment v1" || chunk index (8) || last flag (1)

The chunk key is ``HKDF(data key, "attachment <salt hex>")``. The last-chunk flag in the
associated data makes a truncated file fail, even when cut at a chunk boundary.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection

from sillok.errors import SillokError
from sillok.security.keys import derive_key
from sillok.store import attachments as store
from sillok.store.dialects import Dialect

STORE = "attachments"
"""The folder of the archive that holds the sealed files."""
MAGIC = b"SLKATT1\n"
CHUNK = 1 << 20
_AAD = b"sillok attachment v1"
_KEY_AAD = b"sillok evidence data key v1|"
_SHA_AAD = b"sillok evidence sha256 v1|"
DIGEST_LABEL = "attachment digest"
SHA_LABEL = "attachment sha256"
SEALED_SHA = "sealed-sha256:v1:"
"""Prefix of a SHA-256 sealed under its file's data key (the ``attachments.sha256`` column)."""


class AttachmentError(SillokError):
    """An attachment cannot be stored or read back, or does not match its record."""


def _chunk_aad(index: int, last: bool) -> bytes:
    return _AAD + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


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


def opens_with(path: Path, key_root: bytes) -> bool:
    """Whether the first chunk of a sealed file opens under ``key_root``."""
    try:
        with open(path, "rb") as source:
            next(open_stream(source, key_root))
        return True
    except AttachmentError:
        return False


def new_blob_name() -> str:
    """A random name for a new blob (it tells nothing about the file)."""
    return os.urandom(32).hex()


def new_data_key() -> bytes:
    """A fresh random data key for one file."""
    return os.urandom(32)


def wrap_data_key(evidence_key: bytes, blob: str, data_key: bytes) -> bytes:
    """``nonce || AES-256-GCM(evidence key, data key)``, bound to the blob's name."""
    nonce = os.urandom(12)
    return nonce + AESGCM(evidence_key).encrypt(nonce, data_key, _KEY_AAD + blob.encode())


def unwrap_data_key(evidence_key: bytes, blob: str, wrapped: bytes) -> bytes | None:
    """The data key of a blob, or None when ``evidence_key`` did not wrap it."""
    raw = bytes(wrapped)
    try:
        return AESGCM(evidence_key).decrypt(raw[:12], raw[12:], _KEY_AAD + blob.encode())
    except (InvalidTag, ValueError):
        return None


def file_digest(evidence_key: bytes, sha256: str) -> str:
    """The keyed fingerprint of a file's SHA-256 (finds an equal file; confirms no guess
    without the evidence key)."""
    key = derive_key(evidence_key, DIGEST_LABEL)
    return hmac.new(key, bytes.fromhex(sha256), hashlib.sha256).hexdigest()


def seal_sha256(data_key: bytes, blob: str, sha256: str) -> str:
    """A file's SHA-256 sealed under its data key, as the attachment's row keeps it."""
    nonce = os.urandom(12)
    sealed = AESGCM(derive_key(data_key, SHA_LABEL)).encrypt(
        nonce, bytes.fromhex(sha256), _SHA_AAD + blob.encode()
    )
    return SEALED_SHA + base64.b64encode(nonce + sealed).decode("ascii")


def is_sealed_sha256(value: str | None) -> bool:
    """Whether a stored SHA-256 is sealed (files attached before are kept in the clear)."""
    return bool(value) and str(value).startswith(SEALED_SHA)


def open_sha256(data_key: bytes | None, blob: str, stored: str) -> str | None:
    """The SHA-256 a row records: opened with the data key, or as kept in the clear by a file
    attached before the data keys; None when it does not open."""
    if not is_sealed_sha256(stored):
        return stored
    if data_key is None:
        return None
    try:
        raw = base64.b64decode(stored[len(SEALED_SHA) :], validate=True)
        plain = AESGCM(derive_key(data_key, SHA_LABEL)).decrypt(
            raw[:12], raw[12:], _SHA_AAD + blob.encode()
        )
    except (InvalidTag, ValueError):
        return None
    return plain.hex()


class EvidenceKeys:
    """The wrapped data keys of evidence files, opened with the evidence keys a copy holds.

    ``keys`` are the evidence keys known to this session, the current one first (during an
    interrupted rotation, those of both the current and the pending copy).
    """

    def __init__(self, dialect: Dialect, folder: Path, keys: Sequence[bytes]) -> None:
        self._dialect = dialect
        self.folder = folder
        self.keys = list(dict.fromkeys(keys))

    @property
    def current(self) -> bytes | None:
        """The evidence key new files are wrapped under (None: the copy holds none)."""
        return self.keys[0] if self.keys else None

    def data_key(self, conn: Connection, blob: str) -> bytes | None:
        """The data key of a blob, or None for a file sealed before the data keys.

        Raises:
            AttachmentError: the blob has a wrapped key that no known evidence key opens.
        """
        row = store.evidence_key_of(conn, blob)
        return None if row is None else self._unwrap(row)

    def _unwrap(self, row: Any) -> bytes:
        for key in self.keys:
            data_key = unwrap_data_key(key, str(row.blob_name), row.wrapped)
            if data_key is not None:
                return data_key
        raise AttachmentError(f"evidence key {row.id} opens with no evidence key of this copy")

    def roots(self, conn: Connection, blob: str) -> list[bytes]:
        """The keys to open a blob with: its data key, or (a file sealed before the data keys)
        every evidence key of the copy."""
        data_key = self.data_key(conn, blob)
        return [data_key] if data_key is not None else list(self.keys)

    def find(self, conn: Connection, sha256: str) -> tuple[str, bytes] | None:
        """(blob name, data key) of a stored file with this SHA-256, if any."""
        if self.current is None:
            return None
        for row in store.evidence_keys_by_digest(conn, file_digest(self.current, sha256)):
            data_key = unwrap_data_key(self.current, row.blob_name, row.wrapped)
            if data_key is not None:
                return str(row.blob_name), data_key
        return None

    def add(self, conn: Connection, blob: str, data_key: bytes, sha256: str) -> None:
        """Keep a new blob's data key, wrapped under the current evidence key (logged)."""
        if self.current is None:
            raise AttachmentError("this key copy holds no evidence key")
        wrapped = wrap_data_key(self.current, blob, data_key)
        store.insert_evidence_keys(
            conn, self._dialect, [(blob, wrapped, file_digest(self.current, sha256))]
        )

    def rewrap(self, conn: Connection, new_key: bytes) -> dict[str, int]:
        """Re-wrap every data key under ``new_key`` and recompute every digest with it; give
        each file sealed before the data keys a key row (the evidence key that opens it).

        Keys already under ``new_key`` are left (an interrupted rotation run again).

        Returns:
            ``{"evidence_keys": re-wrapped or added, "evidence_missing": files sealed before
            the data keys whose stored file is missing, so no key could be kept for them}``.
        Raises:
            AttachmentError: a wrapped key opens with no known evidence key (nothing changed
                once the caller's transaction rolls back).
        """
        rewrapped: list[tuple[int, bytes, str]] = []
        for row in store.all_evidence_keys(conn):
            blob = str(row.blob_name)
            if unwrap_data_key(new_key, blob, row.wrapped) is not None:
                continue
            data_key = self._unwrap(row)
            digest = file_digest(new_key, self._sha_of(conn, blob, data_key))
            rewrapped.append((int(row.id), wrap_data_key(new_key, blob, data_key), digest))
        store.rewrap_evidence_keys(conn, rewrapped)
        added: list[tuple[str, bytes, str]] = []
        missing = 0
        for blob in store.blobs_without_key(conn):
            path = self.folder / blob
            root = next((k for k in self.keys if path.is_file() and opens_with(path, k)), None)
            if root is None:
                missing += 1
                continue
            digest = file_digest(new_key, self._sha_of(conn, blob, root))
            added.append((blob, wrap_data_key(new_key, blob, root), digest))
        store.insert_evidence_keys(conn, self._dialect, added)
        return {"evidence_keys": len(rewrapped) + len(added), "evidence_missing": missing}

    def _sha_of(self, conn: Connection, blob: str, data_key: bytes) -> str:
        recorded: Any = store.recorded_sha256(conn, blob)
        sha = open_sha256(data_key, blob, recorded) if recorded is not None else None
        if sha is None:
            raise AttachmentError(f"the recorded SHA-256 of blob {blob[:12]}… does not open")
        return sha
