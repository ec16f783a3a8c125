"""The key file (``keys.json``): each user's copy of the archive's keys, wrapped under their
passphrase (see :mod:`sillok.security.keys` for the keys themselves).

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

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sillok.errors import ArchiveError, WrongPassphrase
from sillok.security.keys import KEY_FILE, ArchiveKeys, _b64, _kek, _unb64, derive_key
from sillok.settings import KdfParams

KEYFILE_FORMAT = 1
_WRAP_AAD = b"sillok data key v1"
_USER_KEY_AAD = b"sillok user key v2"
TOTP_PURPOSE = "web totp secrets"
"""What a user's own secret (:attr:`ArchiveKeys.own`) is derived from their private key for."""


def own_secret(private: X25519PrivateKey) -> bytes:
    """A user's own secret (:attr:`ArchiveKeys.own`): from their private key, so only their
    passphrase reaches it."""
    return derive_key(private.private_bytes_raw(), TOTP_PURPOSE)


def _bundle_aad(holder: str, role: str) -> bytes:
    return f"sillok key bundle v2|{holder}|{role}".encode()


def _seal_to(public: bytes, plaintext: bytes, aad: bytes) -> dict[str, str]:
    """ECIES: X25519 with a fresh ephemeral key, HKDF-SHA256, AES-256-GCM."""
    ephemeral = X25519PrivateKey.generate()
    eph_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public))
    key = HKDF(hashes.SHA256(), 32, salt=eph_public + public, info=b"sillok key bundle").derive(
        shared
    )
    nonce = os.urandom(12)
    return {
        "ephemeral": _b64(eph_public),
        "nonce": _b64(nonce),
        "ciphertext": _b64(AESGCM(key).encrypt(nonce, plaintext, aad)),
    }


def _open_sealed(private: X25519PrivateKey, sealed: dict[str, str], aad: bytes) -> bytes:
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    eph_public = _unb64(sealed["ephemeral"])
    shared = private.exchange(X25519PublicKey.from_public_bytes(eph_public))
    key = HKDF(hashes.SHA256(), 32, salt=eph_public + public, info=b"sillok key bundle").derive(
        shared
    )
    try:
        return AESGCM(key).decrypt(_unb64(sealed["nonce"]), _unb64(sealed["ciphertext"]), aad)
    except InvalidTag:
        raise ArchiveError(
            "a key copy in keys.json was altered (its name or role changed?)"
        ) from None


@dataclass(frozen=True)
class WrappedKey:
    """One holder's copy of the archive's keys.

    Version 2 entries (every entry written now) seal an X25519 private key under the
    passphrase (``nonce``, ``ciphertext``) and the archive's keys to its public key
    (``bundle``, and ``pending`` during a rotation). Version 1 entries, from archives made
    before users existed, seal the database key directly under the passphrase.
    """

    holder: str
    role: str
    salt: str
    kdf: KdfParams
    nonce: str
    ciphertext: str
    version: int = 1
    public: str = ""
    bundle: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] | None = None
    mac: str = ""
    """HMAC under the administrators' key-file key of holder, role and public key: an entry
    whose public key or role anyone else changed is refused before anything is sealed to it."""

    @classmethod
    def seal(
        cls,
        data_key: bytes | ArchiveKeys,
        passphrase: str,
        holder: str,
        role: str,
        params: KdfParams,
        private: X25519PrivateKey | None = None,
    ) -> WrappedKey:
        """A new holder's copy of the keys (given as bytes: the database key, no seal key),
        with a new key pair unless ``private`` is given."""
        keys = (
            data_key
            if isinstance(data_key, ArchiveKeys)
            else replace(ArchiveKeys.generate(), database=data_key)
        )
        private = private or X25519PrivateKey.generate()
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed_private = AESGCM(_kek(passphrase, salt, params)).encrypt(
            nonce, private.private_bytes_raw(), _USER_KEY_AAD + holder.encode()
        )
        return cls(
            holder=holder,
            role=role,
            salt=_b64(salt),
            kdf=params,
            nonce=_b64(nonce),
            ciphertext=_b64(sealed_private),
            version=2,
            public=_b64(public),
            bundle=_seal_to(public, keys.to_bytes(), _bundle_aad(holder, role)),
        )

    def _private(self, passphrase: str) -> X25519PrivateKey:
        kek = _kek(passphrase, _unb64(self.salt), self.kdf)
        try:
            raw = AESGCM(kek).decrypt(
                _unb64(self.nonce), _unb64(self.ciphertext), _USER_KEY_AAD + self.holder.encode()
            )
        except InvalidTag:
            raise WrongPassphrase("the passphrase does not unlock this archive") from None
        return X25519PrivateKey.from_private_bytes(raw)

    def open_keys(self, passphrase: str) -> tuple[ArchiveKeys, ArchiveKeys | None]:
        """The keys this copy holds, and the pending ones of an unfinished rotation."""
        if self.version == 1:
            kek = _kek(passphrase, _unb64(self.salt), self.kdf)
            try:
                key = AESGCM(kek).decrypt(_unb64(self.nonce), _unb64(self.ciphertext), _WRAP_AAD)
            except InvalidTag:
                raise WrongPassphrase("the passphrase does not unlock this archive") from None
            return ArchiveKeys.from_legacy(key, key, None), None
        private = self._private(passphrase)
        aad = _bundle_aad(self.holder, self.role)
        own = own_secret(private)
        keys = ArchiveKeys.from_bytes(_open_sealed(private, self.bundle, aad)).with_own(own)
        pending = (
            ArchiveKeys.from_bytes(_open_sealed(private, self.pending, aad)).with_own(own)
            if self.pending
            else None
        )
        return keys, pending

    def open(self, passphrase: str) -> bytes:
        """The database key, or :class:`WrongPassphrase`."""
        return self.open_keys(passphrase)[0].database

    def check(self, passphrase: str) -> bool:
        """Whether the passphrase is this holder's (one argon2 run, nothing else)."""
        try:
            if self.version == 1:
                self.open(passphrase)
            else:
                self._private(passphrase)
        except WrongPassphrase:
            return False
        return True

    def with_keys(self, keys: ArchiveKeys, pending: ArchiveKeys | None = None) -> WrappedKey:
        """This copy with new keys sealed to its public key (no passphrase needed)."""
        if self.version != 2:
            raise ArchiveError(f"{self.holder}'s key copy is of an old kind: log in once first")
        public = _unb64(self.public)
        aad = _bundle_aad(self.holder, self.role)
        return replace(
            self,
            bundle=_seal_to(public, keys.to_bytes(), aad),
            pending=_seal_to(public, pending.to_bytes(), aad) if pending else None,
        )

    def _authenticator(self, key: bytes) -> str:
        text = f"sillok key entry v1|{self.holder}|{self.role}|{self.public}".encode()
        return _b64(hmac.new(key, text, hashlib.sha256).digest())

    def authenticated(self, key: bytes) -> WrappedKey:
        """This entry with its MAC under the key-file key (an administrator's copy holds it)."""
        return replace(self, mac=self._authenticator(key))

    def is_authentic(self, *keys: bytes) -> bool:
        """Whether an administrator made this entry as it is (its MAC checks under a key)."""
        return self.version == 2 and any(
            hmac.compare_digest(self.mac, self._authenticator(k)) for k in keys
        )

    def with_new_passphrase(self, old: str, new: str, params: KdfParams) -> WrappedKey:
        """The same key pair (so the same bundle and MAC) under a new passphrase."""
        private = self._private(old)
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed_private = AESGCM(_kek(new, salt, params)).encrypt(
            nonce, private.private_bytes_raw(), _USER_KEY_AAD + self.holder.encode()
        )
        return replace(
            self,
            salt=_b64(salt),
            kdf=params,
            nonce=_b64(nonce),
            ciphertext=_b64(sealed_private),
        )

    def with_passphrase(self, keys: ArchiveKeys, passphrase: str, params: KdfParams) -> WrappedKey:
        """A fresh copy of ``keys`` for the same holder and role under a new passphrase."""
        return WrappedKey.seal(keys, passphrase, self.holder, self.role, params)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        if self.version == 1:
            for key in ("version", "public", "bundle", "pending", "mac"):
                data.pop(key)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WrappedKey:
        """Read one entry of keys.json."""
        return cls(**{**data, "kdf": KdfParams(**data["kdf"])})


@dataclass(frozen=True)
class KeyFile:
    """The holders' copies of an archive's keys (``keys.json``)."""

    path: Path
    wrapped: tuple[WrappedKey, ...]

    @classmethod
    def create(
        cls, path: Path, passphrase: str, params: KdfParams, holder: str = "owner"
    ) -> tuple[KeyFile, bytes]:
        """Make new random keys, wrap them for ``holder`` (an admin) and write the file.

        Returns the file and the database key (see :meth:`create_keys` for all the keys).
        """
        keyfile, keys = cls.create_keys(path, passphrase, params, holder)
        return keyfile, keys.database

    @classmethod
    def create_keys(
        cls, path: Path, passphrase: str, params: KdfParams, holder: str = "owner"
    ) -> tuple[KeyFile, ArchiveKeys]:
        """Make new random keys, wrap them for ``holder`` (an admin) and write the file."""
        keys, private = ArchiveKeys.generate(), X25519PrivateKey.generate()
        entry = WrappedKey.seal(keys, passphrase, holder, "admin", params, private)
        keyfile = cls(path, (entry.authenticated(keys.purposes[KEY_FILE]),))
        keyfile.save()
        return keyfile, keys.with_own(own_secret(private))

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
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ArchiveError(f"{path} is damaged ({exc.__class__.__name__})") from None

    def save(self) -> None:
        """Write the file atomically (a crash leaves the old or the new file, never half)."""
        body = {"format": KEYFILE_FORMAT, "wrapped": [w.to_json() for w in self.wrapped]}
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        # The old file's blocks would stay on the disk after the rename, holding copies a
        # removed user could open with an old passphrase: keep it open across the rename and
        # overwrite it then (the new file is in place first, so a crash loses neither).
        try:
            old = open(self.path, "r+b")  # noqa: SIM115 - closed below, after the rename
        except FileNotFoundError:
            old = None
        try:
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
            if old is not None:
                size = os.fstat(old.fileno()).st_size
                old.write(os.urandom(size))
                old.flush()
                os.fsync(old.fileno())
        finally:
            if old is not None:
                old.close()

    def check_entries(self, *keys: bytes) -> None:
        """Refuse a key file whose entries an administrator did not make as they are.

        Raises:
            ArchiveError: an entry's public key, name or role was changed (or an entry was
                added) by someone without the key-file key; nothing has been changed.
        """
        for wrapped in self.wrapped:
            if not wrapped.is_authentic(*keys):
                raise ArchiveError(
                    f"keys.json was altered: the entry of {wrapped.holder!r} is not as an "
                    "administrator made it (its public key, name or role changed): nothing was "
                    "changed; restore keys.json from a backup"
                )

    def authenticated(self, key: bytes) -> KeyFile:
        """Every entry with its MAC under ``key`` (after a rotation, or at migration)."""
        return KeyFile(self.path, tuple(w.authenticated(key) for w in self.wrapped))

    def holder(self, name: str) -> WrappedKey | None:
        """One holder's copy, or None."""
        return next((w for w in self.wrapped if w.holder == name), None)

    def unlock(self, passphrase: str) -> bytes:
        """The database key from whichever copy the passphrase opens."""
        for wrapped in self.wrapped:
            try:
                return wrapped.open(passphrase)
            except WrongPassphrase:
                continue
        raise WrongPassphrase("the passphrase does not unlock this archive")

    def unlock_holder(
        self, passphrase: str, holder: str | None = None
    ) -> tuple[WrappedKey, ArchiveKeys, ArchiveKeys | None]:
        """(copy, keys, pending keys) of ``holder`` (default: the first holder, made at init).

        Raises:
            WrongPassphrase: no such holder, or the passphrase is not theirs (one message
                for both, so the error does not tell which names exist).
        """
        name = holder if holder is not None else self.wrapped[0].holder
        wrapped = self.holder(name)
        if wrapped is None:
            # Spend the same argon2 time as a real holder would cost.
            self.wrapped[0].check(passphrase + "\0decoy")
            raise WrongPassphrase(f"the passphrase does not unlock this archive for {name!r}")
        try:
            keys, pending = wrapped.open_keys(passphrase)
        except WrongPassphrase:
            raise WrongPassphrase(
                f"the passphrase does not unlock this archive for {name!r}"
            ) from None
        return wrapped, keys, pending

    def replaced(self, *copies: WrappedKey) -> KeyFile:
        """This file with the given holders' copies replaced or added."""
        names = {c.holder for c in copies}
        kept = tuple(w for w in self.wrapped if w.holder not in names)
        return KeyFile(self.path, (*kept, *copies))

    def without(self, holder: str) -> KeyFile:
        """This file without one holder's copy."""
        return KeyFile(self.path, tuple(w for w in self.wrapped if w.holder != holder))


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
