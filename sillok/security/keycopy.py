"""One user's copy of the archive's keys: an entry of ``keys.json`` (see
:mod:`sillok.security.keyfile` for the file, :mod:`sillok.security.keys` for the keys).

Each user has an X25519 key pair. The private key is sealed with AES-256-GCM under an argon2id
key of the user's passphrase (RFC 9106 parameters, stored with it); the archive's keys are
sealed to the public key (X25519 + HKDF-SHA256 + AES-256-GCM). So an administrator can give a
user new keys, or rotate them for everyone, without knowing anyone's passphrase, and a
passphrase never encrypts data directly.

Three kinds of entry exist (``version``):

* **3** (every entry written now, key file format 2): no name or role in the clear. The entry
  is found by its *locator* (a slow keyed hash of the user name, see
  :class:`sillok.security.keyfile.Locator`). The user's name and role are inside the bundle
  (which only their private key opens) and inside the *card*, sealed under the key-file key
  that only administrators hold; a MAC under the same key covers the locator, both public keys
  and the card. The entry also carries the user's Ed25519 *author* key: the public half in the
  authenticated part, the private seed sealed to the user's public key (``signing``).
* **2** (key file format 1): name and role in the clear, a MAC over name, role and public key.
  Read, and converted to 3 at the next administrator's open.
* **1** (archives made before users existed): the database key sealed under the passphrase.

During a rotation each entry carries the new keys as ``pending`` as well: whichever of the old
and new database keys opens the database is the right one, so a crash at any moment of the
rotation leaves an archive that opens.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sillok.errors import ArchiveError, WrongPassphrase
from sillok.security.keys import ArchiveKeys, _b64, _kek, _unb64, derive_key
from sillok.settings import KdfParams

_WRAP_AAD = b"sillok data key v1"
_USER_KEY_AAD = b"sillok user key v2"
_AUTHOR_AAD = b"sillok author key v1|"
_CARD_AAD = b"sillok key card v1|"
TOTP_PURPOSE = "web totp secrets"
"""What a user's own secret (:attr:`ArchiveKeys.own`) is derived from their private key for."""


def own_secret(private: X25519PrivateKey) -> bytes:
    """A user's own secret (:attr:`ArchiveKeys.own`): from their private key, so only their
    passphrase reaches it."""
    return derive_key(private.private_bytes_raw(), TOTP_PURPOSE)


def author_public(seed: bytes) -> str:
    """The public half (base64, raw 32 bytes) of an Ed25519 author seed."""
    key = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return _b64(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def _bundle_aad(holder: str, role: str) -> bytes:
    return f"sillok key bundle v2|{holder}|{role}".encode()


def _bundle_aad_v3(locator: str) -> bytes:
    return f"sillok key bundle v3|{locator}".encode()


def _private_aad(locator: str) -> bytes:
    return _USER_KEY_AAD + b"|" + locator.encode()


def _wrap_private(
    private: X25519PrivateKey, passphrase: str, params: KdfParams, aad: bytes
) -> tuple[bytes, str, str, str]:
    """The raw public key, and the private key sealed under the passphrase's argon2id key: an
    entry's ``salt``, ``nonce`` and ``ciphertext`` (base64)."""
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_kek(passphrase, salt, params)).encrypt(nonce, private.private_bytes_raw(), aad)
    return public, _b64(salt), _b64(nonce), _b64(sealed)


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
    if not sealed:
        raise ArchiveError("a key copy in keys.json lacks a part (it was altered)")
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


def _bundle_body(keys: ArchiveKeys, holder: str, role: str) -> bytes:
    """What a version-3 bundle seals: the keys, and whose they are (name and role)."""
    body = json.loads(keys.to_bytes())
    body.update(holder=holder, role=role)
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _read_bundle(raw: bytes) -> tuple[ArchiveKeys, str, str]:
    try:
        body = json.loads(raw)
        holder, role = str(body["holder"]), str(body["role"])
    except (ValueError, KeyError, TypeError):
        raise ArchiveError("a key copy holds keys of an unknown shape") from None
    return ArchiveKeys.from_bytes(raw), holder, role


@dataclass(frozen=True)
class WrappedKey:
    """One holder's copy of the archive's keys (see the module's docstring for the kinds).

    ``holder`` and ``role`` of a version-3 entry are not stored in the clear: they are empty
    until the entry is opened (by its user's passphrase, or by an administrator's key-file
    key, :meth:`named`).
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
    """HMAC under the administrators' key-file key: of holder, role and public key (version
    2); of locator, public keys and card (version 3). An entry whose public key or role anyone
    else changed is refused before anything is sealed to it."""
    locator: str = ""
    author: str = ""
    """The user's Ed25519 author key (public, base64 raw): what their writes are signed with."""
    signing: dict[str, str] | None = None
    """The author key's private seed, sealed to the user's X25519 public key."""
    card: dict[str, str] | None = None
    """Name and role, sealed under the key-file key (administrators read the roster with it)."""
    named_aad: bool = False
    """A version-3 entry converted from version 2: its private key is still sealed with the
    user name as associated data (resealed without it at the user's next login)."""

    @classmethod
    def seal(
        cls,
        keys: ArchiveKeys,
        passphrase: str,
        holder: str,
        role: str,
        params: KdfParams,
        locator: str,
        private: X25519PrivateKey | None = None,
    ) -> WrappedKey:
        """A new holder's copy of ``keys`` (version 3), with a new key pair and author key
        unless ``private`` is given (then the author key is new still)."""
        private = private or X25519PrivateKey.generate()
        public, salt, nonce, sealed = _wrap_private(
            private, passphrase, params, _private_aad(locator)
        )
        seed = os.urandom(32)
        return cls(
            holder=holder,
            role=role,
            salt=salt,
            kdf=params,
            nonce=nonce,
            ciphertext=sealed,
            version=3,
            public=_b64(public),
            bundle=_seal_to(public, _bundle_body(keys, holder, role), _bundle_aad_v3(locator)),
            locator=locator,
            author=author_public(seed),
            signing=_seal_to(public, seed, _AUTHOR_AAD + locator.encode()),
        )

    @classmethod
    def seal_named(
        cls, keys: ArchiveKeys, passphrase: str, holder: str, role: str, params: KdfParams
    ) -> WrappedKey:
        """A version-2 copy (name and role in the clear), for a format-1 file only: what a
        copy from before users existed becomes at its holder's login, until the file is
        converted."""
        private = X25519PrivateKey.generate()
        public, salt, nonce, sealed = _wrap_private(
            private, passphrase, params, _USER_KEY_AAD + holder.encode()
        )
        return cls(
            holder=holder,
            role=role,
            salt=salt,
            kdf=params,
            nonce=nonce,
            ciphertext=sealed,
            version=2,
            public=_b64(public),
            bundle=_seal_to(public, keys.to_bytes(), _bundle_aad(holder, role)),
        )

    def converted(self, keys: ArchiveKeys, locator: str) -> WrappedKey:
        """This version-2 entry as a version-3 one (no passphrase needed: the private key
        stays as it was sealed; a new author key; ``keys`` sealed to the public key)."""
        if self.version != 2:
            raise ArchiveError(f"{self.holder}'s key copy is of an old kind: log in once first")
        public = _unb64(self.public)
        seed = os.urandom(32)
        return replace(
            self,
            version=3,
            locator=locator,
            bundle=_seal_to(
                public, _bundle_body(keys, self.holder, self.role), _bundle_aad_v3(locator)
            ),
            pending=None,
            author=author_public(seed),
            signing=_seal_to(public, seed, _AUTHOR_AAD + locator.encode()),
            named_aad=True,
            mac="",
        )

    def _private_aad(self) -> bytes:
        if self.version == 3 and not self.named_aad:
            return _private_aad(self.locator)
        if not self.holder:
            # the name this copy was sealed with is not known: only a login by name opens it
            raise WrongPassphrase("the passphrase does not unlock this archive")
        return _USER_KEY_AAD + self.holder.encode()

    def _private(self, passphrase: str) -> X25519PrivateKey:
        aad = self._private_aad()
        kek = _kek(passphrase, _unb64(self.salt), self.kdf)
        try:
            raw = AESGCM(kek).decrypt(_unb64(self.nonce), _unb64(self.ciphertext), aad)
        except InvalidTag:
            raise WrongPassphrase("the passphrase does not unlock this archive") from None
        return X25519PrivateKey.from_private_bytes(raw)

    def open_keys(self, passphrase: str) -> tuple[ArchiveKeys, ArchiveKeys | None]:
        """The keys this copy holds, and the pending ones of an unfinished rotation."""
        return self.opened(passphrase)[1:]

    def opened(self, passphrase: str) -> tuple[WrappedKey, ArchiveKeys, ArchiveKeys | None]:
        """(this copy with its holder and role known, its keys, the pending keys).

        Raises:
            WrongPassphrase: the passphrase is not this holder's.
            ArchiveError: the copy was altered (its bundle does not open, or names another).
        """
        if self.version == 1:
            kek = _kek(passphrase, _unb64(self.salt), self.kdf)
            try:
                key = AESGCM(kek).decrypt(_unb64(self.nonce), _unb64(self.ciphertext), _WRAP_AAD)
            except InvalidTag:
                raise WrongPassphrase("the passphrase does not unlock this archive") from None
            return self, ArchiveKeys.from_legacy(key, key, None), None
        private = self._private(passphrase)
        own = own_secret(private)
        if self.version == 2:
            aad = _bundle_aad(self.holder, self.role)
            keys = ArchiveKeys.from_bytes(_open_sealed(private, self.bundle, aad)).with_own(own)
            pending = (
                ArchiveKeys.from_bytes(_open_sealed(private, self.pending, aad)).with_own(own)
                if self.pending
                else None
            )
            return self, keys, pending
        aad = _bundle_aad_v3(self.locator)
        keys, holder, role = _read_bundle(_open_sealed(private, self.bundle, aad))
        if self.holder and holder != self.holder:
            raise ArchiveError("a key copy in keys.json was altered (it names another user)")
        seed = _open_sealed(private, self.signing or {}, _AUTHOR_AAD + self.locator.encode())
        if author_public(seed) != self.author:
            raise ArchiveError("a key copy in keys.json was altered (its author key changed)")
        pending = None
        if self.pending:
            pending = _read_bundle(_open_sealed(private, self.pending, aad))[0]
            pending = pending.with_own(own).with_author(seed)
        named = replace(self, holder=holder, role=role)
        return named, keys.with_own(own).with_author(seed), pending

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
        if self.version == 1:
            raise ArchiveError(f"{self.holder}'s key copy is of an old kind: log in once first")
        public = _unb64(self.public)
        if self.version == 2:
            aad = _bundle_aad(self.holder, self.role)
            return replace(
                self,
                bundle=_seal_to(public, keys.to_bytes(), aad),
                pending=_seal_to(public, pending.to_bytes(), aad) if pending else None,
            )
        if not self.holder or not self.role:
            raise ArchiveError("a key copy of unknown holder cannot be given keys (open it first)")
        aad = _bundle_aad_v3(self.locator)
        return replace(
            self,
            bundle=_seal_to(public, _bundle_body(keys, self.holder, self.role), aad),
            pending=(
                _seal_to(public, _bundle_body(pending, self.holder, self.role), aad)
                if pending
                else None
            ),
        )

    def _authenticator(self, key: bytes) -> str:
        if self.version == 3:
            card = self.card or {}
            text = "|".join(
                ("sillok key entry v2", self.locator, self.public, self.author,
                 card.get("nonce", ""), card.get("ciphertext", ""))
            ).encode()
        else:
            text = f"sillok key entry v1|{self.holder}|{self.role}|{self.public}".encode()
        return _b64(hmac.new(key, text, hashlib.sha256).digest())

    def authenticated(self, key: bytes) -> WrappedKey:
        """This entry with its MAC (and, version 3, its card of name and role) under the
        key-file key (an administrator's copy holds it)."""
        entry = self
        if self.version == 3:
            if not self.holder or not self.role:
                raise ArchiveError("a key copy of unknown holder cannot be authenticated")
            nonce = os.urandom(12)
            plain = json.dumps({"holder": self.holder, "role": self.role}).encode()
            sealed = AESGCM(key).encrypt(nonce, plain, _CARD_AAD + self.locator.encode())
            entry = replace(self, card={"nonce": _b64(nonce), "ciphertext": _b64(sealed)})
        return replace(entry, mac=entry._authenticator(key))

    def named(self, *keys: bytes) -> WrappedKey:
        """This version-3 entry with the name and role of its card (an administrator's
        key-file key opens it); other entries as they are.

        Raises:
            ArchiveError: no key opens the card (the entry was not made by an administrator).
        """
        if self.version != 3:
            return self
        card = self.card or {}
        for key in keys:
            try:
                plain = AESGCM(key).decrypt(
                    _unb64(card["nonce"]),
                    _unb64(card["ciphertext"]),
                    _CARD_AAD + self.locator.encode(),
                )
            except (InvalidTag, KeyError, ValueError):
                continue
            data = json.loads(plain)
            return replace(self, holder=str(data["holder"]), role=str(data["role"]))
        raise ArchiveError(
            "keys.json was altered: an entry's card of name and role does not open with the "
            "administrators' key: nothing was changed; restore keys.json from a backup"
        )

    def is_authentic(self, *keys: bytes) -> bool:
        """Whether an administrator made this entry as it is (its MAC checks under a key)."""
        return self.version in (2, 3) and any(
            hmac.compare_digest(self.mac, self._authenticator(k)) for k in keys
        )

    def with_new_passphrase(self, old: str, new: str, params: KdfParams) -> WrappedKey:
        """The same key pair (so the same bundle and MAC) under a new passphrase; a
        version-3 copy sealed with its user name is resealed without it."""
        aad = (
            _private_aad(self.locator)
            if self.version == 3
            else _USER_KEY_AAD + self.holder.encode()
        )
        _public, salt, nonce, sealed = _wrap_private(self._private(old), new, params, aad)
        return replace(
            self, salt=salt, kdf=params, nonce=nonce, ciphertext=sealed, named_aad=False
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (a version-3 entry without its name and role)."""
        data = asdict(self)
        if self.version == 1:
            for key in ("version", "public", "bundle", "pending", "mac"):
                data.pop(key)
        if self.version in (1, 2):
            for key in ("locator", "author", "signing", "card", "named_aad"):
                data.pop(key)
        else:
            for key in ("holder", "role", "version"):
                data.pop(key)
            if not self.named_aad:
                data.pop("named_aad")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], version: int | None = None) -> WrappedKey:
        """Read one entry of keys.json (``version`` 3 for the entries of a format-2 file)."""
        extra = {"holder": "", "role": "", "version": version} if version else {}
        return cls(**{**data, **extra, "kdf": KdfParams(**data["kdf"])})
