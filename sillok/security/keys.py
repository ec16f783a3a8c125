"""Keys: the archive's keys, wrapped for each user under their passphrase.

An archive has three secrets, together an :class:`ArchiveKeys`:

* the **database key** (random, 32 bytes): the SQLCipher key is derived from it with HKDF;
  ``sillok keys rotate`` replaces it;
* the **archive secret** (random, 32 bytes, never rotated): every other key is derived from
  it with HKDF under its own label (keyed hashes, the log's salts, the signing-key seal,
  attachment keys), so those stay valid across rotations. An archive made before rotation
  existed has the database key as its archive secret, so its derived keys did not change;
* the **seal master key** (random, 32 bytes): wraps the per-person keys of sealed fields.
  Only users whose role may open sealed fields receive it.

Each user has an X25519 key pair. The private key is sealed with AES-256-GCM under an argon2id
key of the user's passphrase (RFC 9106 parameters, stored with it); the archive's keys are
sealed to the public key (X25519 + HKDF-SHA256 + AES-256-GCM, with the user's name and role as
associated data). So an administrator can give a user new keys, or rotate them for everyone,
without knowing anyone's passphrase, and a passphrase never encrypts data directly.

During a rotation each user's entry carries the new keys as ``pending`` as well: whichever of
the old and new database keys opens the database is the right one, so a crash at any moment of
the rotation leaves an archive that opens.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, replace

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sillok.errors import ArchiveError
from sillok.security.policy import may_open_sealed
from sillok.settings import KdfParams


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
    """A 32-byte subkey of a key for one purpose (HKDF-SHA256, info = label)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"sillok {label}".encode()
    ).derive(data_key)


@dataclass(frozen=True)
class ArchiveKeys:
    """The secrets one user's copy opens."""

    database: bytes
    archive: bytes
    seal: bytes | None = None

    @classmethod
    def generate(cls) -> ArchiveKeys:
        """Fresh random keys; the archive secret starts equal to the database key."""
        database = os.urandom(32)
        return cls(database, database, os.urandom(32))

    def to_bytes(self) -> bytes:
        """database || archive [|| seal]."""
        return self.database + self.archive + (self.seal or b"")

    @classmethod
    def from_bytes(cls, raw: bytes) -> ArchiveKeys:
        """Inverse of :meth:`to_bytes`."""
        if len(raw) not in (64, 96):
            raise ArchiveError("a key copy holds keys of the wrong size")
        return cls(raw[:32], raw[32:64], raw[64:] or None)

    def without_seal(self) -> ArchiveKeys:
        """The same keys minus the seal master key (for roles that may not open seals)."""
        return replace(self, seal=None)

    def for_role(self, role: str) -> ArchiveKeys:
        """The keys a role receives: the seal master key only if the role may open seals."""
        return self if may_open_sealed(role) else self.without_seal()
