"""The key file (``keys.json``): each user's copy of the archive's keys, wrapped under their
passphrase (see :mod:`sillok.security.keycopy` for one copy, :mod:`sillok.security.keys` for
the keys themselves).

**Format 2** (written now) shows no user name or role to whoever holds the folder without a
passphrase. Each entry is found by its *locator*: argon2id of the user name under a salt and
parameters of the file's own (:class:`Locator`), computed at login from the name typed. Name
and role live only inside sealed parts: the bundle (the user's private key opens it) and the
card (the administrators' key-file key opens it, so an administrator can list users and rotate
keys). What remains visible: the number of entries, their order, sizes and argon2 parameters,
and, to someone who guesses a name, whether it has an entry (one argon2 run per guess, as for a
passphrase guess) (docs/threat-model.md).

**Format 1** (before) listed each holder and role in the clear. It is still read, and an
administrator's next open converts it to format 2 (:meth:`KeyFile.converted`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, replace
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sillok.errors import ArchiveError, WrongPassphrase
from sillok.security.keycopy import (
    TOTP_PURPOSE,
    WrappedKey,
    _bundle_aad,
    _open_sealed,
    _seal_to,
    own_secret,
)
from sillok.security.keys import KEY_FILE, ArchiveKeys, _b64, _kek, _unb64
from sillok.settings import KdfParams

KEYFILE_FORMAT = 2
_READ_FORMATS = (1, 2)

__all__ = [
    "KEYFILE_FORMAT",
    "TOTP_PURPOSE",
    "KeyFile",
    "Locator",
    "WrappedKey",
    "_bundle_aad",
    "_open_sealed",
    "_seal_to",
    "_unb64",
    "locators_remembered",
    "remembering_locators",
    "own_secret",
]


_REMEMBERED: ContextVar[dict[tuple[str, bytes, KdfParams], str] | None] = ContextVar(
    "sillok_locators", default=None
)


@contextmanager
def locators_remembered() -> Iterator[None]:
    """Compute each locator once within the block (one login finds the second factor and the
    key copy with one argon2 run). Never across requests: a name answered from memory would
    tell whoever times the login page that someone tried it before."""
    if _REMEMBERED.get() is not None:  # inside another block: share its memory
        yield
        return
    token = _REMEMBERED.set({})
    try:
        yield
    finally:
        _REMEMBERED.reset(token)


P = ParamSpec("P")
R = TypeVar("R")


def remembering_locators(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` inside :func:`locators_remembered` (each locator found once per call)."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with locators_remembered():
            return function(*args, **kwargs)

    return wrapper


def _locate(name: str, salt: bytes, params: KdfParams) -> str:
    memo = _REMEMBERED.get()
    if memo is not None and (name, salt, params) in memo:
        return memo[(name, salt, params)]
    found = _b64(_kek(f"sillok key locator|{name}", salt, params))
    if memo is not None:
        memo[(name, salt, params)] = found
    return found


@dataclass(frozen=True)
class Locator:
    """How a format-2 file finds a user's entry: argon2id of the name under the file's salt."""

    salt: bytes
    kdf: KdfParams

    @classmethod
    def new(cls, params: KdfParams) -> Locator:
        """A locator with a fresh random salt."""
        return cls(os.urandom(16), params)

    def of(self, name: str) -> str:
        """The locator of a user name (base64)."""
        return _locate(name, self.salt, self.kdf)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {"salt": _b64(self.salt), "kdf": asdict(self.kdf)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Locator:
        """Read the file's locator parameters."""
        kdf = data["kdf"]
        if not isinstance(kdf, dict):
            raise TypeError("locator kdf")
        return cls(_unb64(str(data["salt"])), KdfParams(**kdf))


@dataclass(frozen=True)
class KeyFile:
    """The holders' copies of an archive's keys (``keys.json``).

    ``locator`` is None for a format-1 file (names in the clear).
    """

    path: Path
    wrapped: tuple[WrappedKey, ...]
    locator: Locator | None = None

    @property
    def format(self) -> int:
        """1 (names in the clear) or 2 (names sealed)."""
        return 1 if self.locator is None else 2

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
        locator = Locator.new(params)
        entry = WrappedKey.seal(
            keys, passphrase, holder, "admin", params, locator.of(holder), private
        )
        keyfile = cls(path, (entry.authenticated(keys.purposes[KEY_FILE]),), locator)
        keyfile.save()
        _named, opened, _pending = keyfile.wrapped[0].opened(passphrase)
        return keyfile, opened

    @classmethod
    def load(cls, path: Path) -> KeyFile:
        """Read ``keys.json``; :class:`ArchiveError` if missing or damaged."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found = data.get("format")
            if found not in _READ_FORMATS:
                raise ArchiveError(f"{path}: unknown key file format {found!r}")
            if found == 1:
                return cls(path, tuple(WrappedKey.from_json(w) for w in data["wrapped"]))
            return cls(
                path,
                tuple(WrappedKey.from_json(w, version=3) for w in data["wrapped"]),
                Locator.from_json(data["locator"]),
            )
        except FileNotFoundError:
            raise ArchiveError(f"{path} is missing: is this a Sillok archive?") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ArchiveError(f"{path} is damaged ({exc.__class__.__name__})") from None

    def save(self) -> None:
        """Write the file atomically (a crash leaves the old or the new file, never half)."""
        body: dict[str, object] = {"format": self.format}
        if self.locator is not None:
            body["locator"] = self.locator.to_json()
        body["wrapped"] = [w.to_json() for w in self.wrapped]
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
                who = wrapped.holder or _holder_or_blank(wrapped, keys)
                raise ArchiveError(
                    f"keys.json was altered: the entry of {who!r} is not as an "
                    "administrator made it (its public key, name or role changed): nothing was "
                    "changed; restore keys.json from a backup"
                )

    def named(self, *keys: bytes) -> KeyFile:
        """Every entry with its name and role (from its card, which the administrators'
        key-file key opens): what an administrator lists, checks and rotates.

        Raises:
            ArchiveError: an entry's card does not open (it was not made by an administrator).
        """
        return replace(self, wrapped=tuple(w.named(*keys) for w in self.wrapped))

    def authenticated(self, key: bytes) -> KeyFile:
        """Every entry with its MAC (and card) under ``key`` (after a rotation, or at
        migration); a format-2 file must be :meth:`named` first."""
        return replace(self, wrapped=tuple(w.authenticated(key) for w in self.wrapped))

    def converted(self, keys: ArchiveKeys, params: KdfParams) -> KeyFile:
        """This format-1 file as a format-2 one (an administrator's open): a locator per entry,
        an author key per user, each user's keys sealed anew with their name and role inside.

        ``keys`` are the administrator's (every role's keys are taken from them, as a rotation
        does); the result is authenticated under their key-file key.
        """
        if self.locator is not None:
            return self
        locator = Locator.new(params)
        entries = tuple(
            w.converted(keys.for_role(w.role), locator.of(w.holder)) for w in self.wrapped
        )
        return KeyFile(self.path, entries, locator).authenticated(keys.purposes[KEY_FILE])

    def locate(self, name: str) -> str:
        """The locator of a user name in this file ('' for a format-1 file)."""
        return self.locator.of(name) if self.locator is not None else ""

    def holder(self, name: str) -> WrappedKey | None:
        """One holder's copy (its name set; the role too unless the file is format 2 and
        not :meth:`named`), or None."""
        if self.locator is None:
            return next((w for w in self.wrapped if w.holder == name), None)
        locator = self.locator.of(name)
        found = next((w for w in self.wrapped if w.locator == locator), None)
        return replace(found, holder=name) if found is not None and not found.holder else found

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
        """(copy with its name and role, keys, pending keys) of ``holder`` (default: the first
        holder, made at init).

        Raises:
            WrongPassphrase: no such holder, or the passphrase is not theirs (one message
                for both, so the error does not tell which names exist).
        """
        wrapped = self.holder(holder) if holder is not None else self.wrapped[0]
        shown = holder if holder is not None else "its first user"
        if wrapped is None:
            # Spend the same argon2 time as a real holder would cost.
            self.wrapped[0].check(passphrase + "\0decoy")
            raise WrongPassphrase(f"the passphrase does not unlock this archive for {shown!r}")
        try:
            return wrapped.opened(passphrase)
        except WrongPassphrase:
            raise WrongPassphrase(
                f"the passphrase does not unlock this archive for {shown!r}"
            ) from None

    def replaced(self, *copies: WrappedKey) -> KeyFile:
        """This file with the given holders' copies replaced (in place) or added."""
        result = list(self.wrapped)
        for copy in copies:
            at = next((i for i, w in enumerate(result) if _same(w, copy)), None)
            if at is None:
                result.append(copy)
            else:
                result[at] = copy
        return replace(self, wrapped=tuple(result))

    def without(self, holder: str) -> KeyFile:
        """This file without one holder's copy."""
        gone = self.holder(holder)
        if gone is None:
            return self
        return replace(self, wrapped=tuple(w for w in self.wrapped if not _same(w, gone)))


def _same(a: WrappedKey, b: WrappedKey) -> bool:
    return a.locator == b.locator if a.locator or b.locator else a.holder == b.holder


def _holder_or_blank(wrapped: WrappedKey, keys: tuple[bytes, ...]) -> str:
    """The name on an entry's card, if a key opens it (for the error message)."""
    try:
        return wrapped.named(*keys).holder
    except ArchiveError:
        return "an unknown user"


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
