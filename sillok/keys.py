"""Keys: the archive's random data key, wrapped under each holder's passphrase.

The data key is 32 random bytes. A passphrase never encrypts data directly: argon2id turns it
into a key-wrapping key, which seals a copy of the data key with AES-256-GCM. The wrapped copies
live in ``keys.json`` in the archive folder. The SQLCipher database key and any other key are
derived from the data key with HKDF-SHA256, each under its own label.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sillok.errors import ArchiveError, WrongPassphrase
from sillok.settings import KdfParams

KEYFILE_FORMAT = 1
_WRAP_AAD = b"sillok data key v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _kek(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """The key-wrapping key for a passphrase (argon2id)."""
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_cost_kib,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def derive_key(data_key: bytes, label: str) -> bytes:
    """A 32-byte subkey of the data key for one purpose (HKDF-SHA256, info = label)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"sillok {label}".encode()
    ).derive(data_key)


@dataclass(frozen=True)
class WrappedKey:
    """One holder's copy of the data key, sealed under their passphrase."""

    holder: str
    role: str
    salt: str
    kdf: KdfParams
    nonce: str
    ciphertext: str

    @classmethod
    def seal(
        cls, data_key: bytes, passphrase: str, holder: str, role: str, params: KdfParams
    ) -> WrappedKey:
        """Wrap ``data_key`` under ``passphrase``."""
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed = AESGCM(_kek(passphrase, salt, params)).encrypt(nonce, data_key, _WRAP_AAD)
        return cls(holder, role, _b64(salt), params, _b64(nonce), _b64(sealed))

    def open(self, passphrase: str) -> bytes:
        """The data key, or :class:`WrongPassphrase`."""
        kek = _kek(passphrase, _unb64(self.salt), self.kdf)
        try:
            return AESGCM(kek).decrypt(_unb64(self.nonce), _unb64(self.ciphertext), _WRAP_AAD)
        except InvalidTag:
            raise WrongPassphrase("the passphrase does not unlock this archive") from None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WrappedKey:
        """Read one entry of keys.json."""
        return cls(**{**data, "kdf": KdfParams(**data["kdf"])})


@dataclass(frozen=True)
class KeyFile:
    """The wrapped copies of an archive's data key (``keys.json``)."""

    path: Path
    wrapped: tuple[WrappedKey, ...]

    @classmethod
    def create(
        cls, path: Path, passphrase: str, params: KdfParams, holder: str = "owner"
    ) -> tuple[KeyFile, bytes]:
        """Make a new random data key, wrap it for ``holder`` and write the file."""
        data_key = os.urandom(32)
        keyfile = cls(path, (WrappedKey.seal(data_key, passphrase, holder, "admin", params),))
        keyfile.save()
        return keyfile, data_key

    @classmethod
    def load(cls, path: Path) -> KeyFile:
        """Read ``keys.json``; :class:`ArchiveError` if missing or damaged."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != KEYFILE_FORMAT:
                raise ArchiveError(f"{path}: unknown key file format {data.get('format')!r}")
            return cls(path, tuple(WrappedKey.from_json(w) for w in data["wrapped"]))
        except FileNotFoundError:
            raise ArchiveError(f"{path} is missing: is this a Sillok archive?") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ArchiveError(f"{path} is damaged ({exc.__class__.__name__})") from None

    def save(self) -> None:
        """Write the file atomically (a crash leaves the old or the new file, never half)."""
        body = {"format": KEYFILE_FORMAT, "wrapped": [w.to_json() for w in self.wrapped]}
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def unlock(self, passphrase: str) -> bytes:
        """The data key from whichever copy the passphrase opens."""
        for wrapped in self.wrapped:
            try:
                return wrapped.open(passphrase)
            except WrongPassphrase:
                continue
        raise WrongPassphrase("the passphrase does not unlock this archive")
