"""Keys: the archive's keys, one per purpose, and which role holds which.

An archive's keys, together an :class:`ArchiveKeys`, are random and independent (32 bytes
each): nothing is derived from a key that another role holds (docs/threat-model.md, "The
target key hierarchy"). :func:`keys_for_role`, computed from :mod:`sillok.security.policy`, is
the one place that says which role receives which key:

* the **database key**: the SQLCipher key is derived from it with HKDF; every role;
  ``sillok keys rotate`` replaces it;
* ``seal``: wraps the per-subject keys of sealed fields; roles that may open sealed fields;
* ``attachments`` (and the retired ones of earlier epochs): evidence files are sealed under
  it; roles that may get or add evidence. ``attachment names`` keys the blobs' names;
* ``checkpoint signing key``: seals the organisation's Ed25519 seed; administrators only;
* ``key file``: authenticates the entries of ``keys.json``; administrators only;
* ``ledger field salts``, ``pseudonyms``, ``informant ref``, ``victim ref``: every role (they
  key what anyone with the database key reads anyway, see the threat model's note 2).

Each user's copy also yields a secret of their own (:attr:`ArchiveKeys.own`, derived from their
private key, never in a bundle): their second factor is sealed under it; and their Ed25519
author seed (:attr:`ArchiveKeys.author`, sealed to their public key, never in a bundle), with
which their writes are signed.

An archive made before the purpose keys (a *legacy* copy: database key, archive secret, seal
master key) opens with purpose keys equal to the values the old code derived from the archive
secret, so old ciphertexts and log commitments keep verifying; an administrator's open rewrites
every copy with only its role's keys (:meth:`ArchiveKeys.is_legacy`, ``Archive.open``).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sillok.errors import ArchiveError
from sillok.security.policy import ROLES, may, may_open_sealed
from sillok.settings import KdfParams

SEAL = "seal"
EVIDENCE = "attachments"
EVIDENCE_NAMES = "attachment names"
SIGNING = "checkpoint signing key"
KEY_FILE = "key file"
SALTS = "ledger field salts"
PSEUDONYMS = "pseudonyms"
INFORMANT_REF = "informant ref"
VICTIM_REF = "victim ref"
_RETIRED = f"{EVIDENCE} retired "
"""Prefix of the evidence keys of earlier epochs (``attachments retired 1``, ...)."""

LEGACY_PURPOSES = (
    EVIDENCE,
    EVIDENCE_NAMES,
    SIGNING,
    SALTS,
    PSEUDONYMS,
    INFORMANT_REF,
    VICTIM_REF,
)
"""The labels the old code derived from the archive secret (a legacy copy's purpose keys)."""


def _evidence(role: str) -> bool:
    return may(role, "attachment.get") or may(role, "attachment.add")


def _everyone(role: str) -> bool:
    return True


_HOLDERS: dict[str, Callable[[str], bool]] = {
    SEAL: may_open_sealed,
    EVIDENCE: _evidence,
    EVIDENCE_NAMES: _evidence,
    SIGNING: lambda role: may(role, "keys"),
    KEY_FILE: lambda role: may(role, "users"),
    SALTS: _everyone,
    PSEUDONYMS: _everyone,
    INFORMANT_REF: _everyone,
    VICTIM_REF: _everyone,
}
PURPOSES = tuple(_HOLDERS)
ROTATED = (SEAL, EVIDENCE, SIGNING, KEY_FILE)
"""Purpose keys ``keys rotate`` replaces (the others key only what the database key reads)."""


def keys_for_role(role: str) -> frozenset[str]:
    """The purpose keys a role's copy holds: exactly those of what the policy lets it do."""
    if role not in ROLES:
        raise ArchiveError(f"unknown role {role!r}")
    return frozenset(p for p, holds in _HOLDERS.items() if holds(role))


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


def _base(purpose: str) -> str:
    return EVIDENCE if purpose.startswith(_RETIRED) else purpose


@dataclass(frozen=True)
class ArchiveKeys:
    """The secrets one user's copy opens: the database key and the purpose keys of the role."""

    database: bytes
    purposes: Mapping[str, bytes] = field(default_factory=dict)
    own: bytes | None = None
    """The user's own secret (from their private key; seals their second factor)."""
    author: bytes | None = None
    """The user's Ed25519 author seed (sealed to their public key; signs their writes)."""
    legacy: bool = False
    """Opened from a copy made before the purpose keys (see the module's docstring)."""

    def __post_init__(self) -> None:
        # a copy of its own: nobody changes a copy's keys through the mapping they passed
        object.__setattr__(self, "purposes", dict(self.purposes))

    @classmethod
    def generate(cls) -> ArchiveKeys:
        """Fresh random keys, every purpose key independent of the others."""
        return cls(os.urandom(32), {p: os.urandom(32) for p in PURPOSES})

    def get(self, purpose: str) -> bytes | None:
        """One purpose key, or None when this copy does not hold it."""
        return self.purposes.get(purpose)

    @property
    def seal(self) -> bytes | None:
        """The seal master key (None for roles that may not open sealed fields)."""
        return self.get(SEAL)

    def evidence_keys(self) -> list[bytes]:
        """The evidence key of this epoch, then those of earlier epochs (newest first)."""
        retired = sorted(
            (p for p in self.purposes if p.startswith(_RETIRED)),
            key=lambda p: -int(p[len(_RETIRED) :]),
        )
        current = self.get(EVIDENCE)
        return [k for k in (current, *(self.purposes[p] for p in retired)) if k is not None]

    def to_bytes(self) -> bytes:
        """The canonical JSON of the keys (what a bundle seals; ``own`` is never in it)."""
        body = {
            "database": _b64(self.database),
            "keys": {p: _b64(k) for p, k in sorted(self.purposes.items())},
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ArchiveKeys:
        """Inverse of :meth:`to_bytes`; also reads a legacy copy (database || archive [|| seal])."""
        if len(raw) in (64, 96):
            return cls.from_legacy(raw[:32], raw[32:64], raw[64:] or None)
        try:
            body = json.loads(raw)
            return cls(_unb64(body["database"]), {p: _unb64(k) for p, k in body["keys"].items()})
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ArchiveError("a key copy holds keys of an unknown shape") from None

    @classmethod
    def from_legacy(cls, database: bytes, archive: bytes, seal: bytes | None) -> ArchiveKeys:
        """The keys of a copy made before the purpose keys: each purpose key is the value the
        old code derived from the archive secret, so everything it sealed or committed opens."""
        purposes = {p: derive_key(archive, p) for p in LEGACY_PURPOSES}
        if seal is not None:
            purposes[SEAL] = seal
        return cls(database, purposes, legacy=True)

    def is_legacy(self) -> bool:
        """Whether these keys came from a copy made before the purpose keys."""
        return self.legacy

    def for_role(self, role: str) -> ArchiveKeys:
        """The keys a role receives (:func:`keys_for_role`), evidence of every epoch included."""
        allowed = keys_for_role(role)
        kept = {p: k for p, k in self.purposes.items() if _base(p) in allowed}
        return ArchiveKeys(self.database, kept)

    def without_seal(self) -> ArchiveKeys:
        """The same keys minus the seal master key."""
        return replace(self, purposes={p: k for p, k in self.purposes.items() if p != SEAL})

    def with_own(self, own: bytes | None) -> ArchiveKeys:
        """These keys with the user's own secret."""
        return replace(self, own=own)

    def with_author(self, seed: bytes | None) -> ArchiveKeys:
        """These keys with the user's author seed."""
        return replace(self, author=seed)

    def migrated(self) -> ArchiveKeys:
        """A legacy copy brought to the purpose keys (an administrator's, at migration).

        The keys every old copy could derive and that guard what other roles must not reach
        are replaced: the evidence key (the old one retired: files sealed under it still
        open), the signing key and the key-file key. The others keep their old values.
        """
        purposes = dict(self.purposes)
        if EVIDENCE in purposes:
            purposes[f"{_RETIRED}1"] = purposes[EVIDENCE]
        for purpose in (EVIDENCE, SIGNING, KEY_FILE):
            purposes[purpose] = os.urandom(32)
        return ArchiveKeys(self.database, purposes, self.own, self.author)

    def rotated(self) -> ArchiveKeys:
        """The next epoch: a new database key and new rotated purpose keys; the evidence key of
        this epoch retired (kept, so files sealed under it still open)."""
        purposes = dict(self.purposes)
        epochs = [int(p[len(_RETIRED) :]) for p in purposes if p.startswith(_RETIRED)]
        if EVIDENCE in purposes:
            purposes[f"{_RETIRED}{max(epochs, default=0) + 1}"] = purposes[EVIDENCE]
        for purpose in ROTATED:
            purposes[purpose] = os.urandom(32)
        return ArchiveKeys(os.urandom(32), purposes, self.own, self.author)
