"""A second factor for logging in: time-based one-time codes (TOTP, RFC 6238, ``pyotp``).

A user who turns it on keeps a secret in an authenticator app; the server keeps the same
secret in ``ARCHIVE/web-totp.json``, sealed with AES-256-GCM under the user's *own* secret
(:attr:`sillok.security.keys.ArchiveKeys.own`, derived from their private key, which only their
passphrase opens): no other user's copy opens it, whatever their role. An entry is named by the
user's *locator* in ``keys.json`` (argon2id of the name under the key file's salt, see
:class:`sillok.security.keyfile.Locator`), never by the name, and the entry's name is bound in
as associated data (so a secret moved to another user fails to open). Entries named by the
plain SHA-256 of the name (before the key file hid names) still open, and are renamed at the
user's next accepted code. Entries of the format before that (named in the clear and sealed
under a key every copy held) no longer open: such a user asks an administrator to turn the
second factor off, and enrols again (docs/security.md). A code is accepted once: the time
step of the last accepted code is remembered, so a code seen over a shoulder cannot be
replayed within its window.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sillok.errors import ArchiveError
from sillok.folder import KEYS_FILE
from sillok.security.keyfile import KeyFile, remembering_locators

if TYPE_CHECKING:
    from sillok.security.keys import ArchiveKeys

TOTP_FILE = "web-totp.json"
ISSUER = "Sillok"


class TotpStore:
    """The second factors of an archive's users."""

    def __init__(self, folder: Path, claim: Callable[[str, int], bool] | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / TOTP_FILE
        self._lock = threading.Lock()
        self._last_step: dict[str, int] = {}
        #: claims a time step for a user across the server's workers (the archive's database,
        #: see sillok.security.sessions.SessionTable.claim_totp_step); None: this process only
        self._claim = claim

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, dict[str, str]]) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    @staticmethod
    def _cipher(keys: ArchiveKeys) -> AESGCM | None:
        # The user's own secret, from the keys of their copy rather than an opened archive, so
        # a login can check the code before the archive is opened (and audits the login).
        return AESGCM(keys.own) if keys.own is not None else None

    def entry_name(self, username: str) -> str:
        """The name of a user's entry in the file: their locator in keys.json (the file lists
        no user names), or, while keys.json is of format 1, the hash the entries had then."""
        try:
            locator = KeyFile.load(self.folder / KEYS_FILE).locate(username)
        except ArchiveError:
            locator = ""
        return f"locator:{locator}" if locator else self.hashed_name(username)

    @staticmethod
    def hashed_name(username: str) -> str:
        """The name entries had before keys.json hid user names (a plain hash of the name)."""
        return hashlib.sha256(f"sillok totp entry|{username}".encode()).hexdigest()

    def _names(self, username: str) -> list[str]:
        """The names the user's entry may have, the current one first."""
        return list(dict.fromkeys([self.entry_name(username), self.hashed_name(username)]))

    def enrolled(self, username: str) -> bool:
        """Whether the user has turned the second factor on (in this format or the ones before)."""
        data = self._read()
        return any(n in data for n in (*self._names(username), username))

    def _secret(self, keys: ArchiveKeys, username: str) -> tuple[str, str] | None:
        """(the entry's name, the secret) of the user's entry that their keys open."""
        data = self._read()
        cipher = self._cipher(keys)
        if cipher is None:
            return None
        for name in self._names(username):
            entry = data.get(name)
            if entry is None:
                continue
            try:
                plain = cipher.decrypt(
                    base64.b64decode(entry["nonce"]),
                    base64.b64decode(entry["secret"]),
                    name.encode(),
                )
            except (InvalidTag, KeyError, ValueError):
                return None
            return name, plain.decode("ascii")
        return None

    @remembering_locators
    def verify(self, username: str, keys: ArchiveKeys, code: str | None) -> bool:
        """Whether ``code`` is the user's current code (True when they have no second factor);
        ``keys`` are those of the user's copy.

        A damaged or moved secret refuses the login rather than waving it through.
        """
        if not self.enrolled(username):
            return True
        found = self._secret(keys, username)
        if found is None or not code:
            return False
        name, secret = found
        if not self._accept(username, secret, code):
            return False
        if name != self.entry_name(username):
            self._store(username, keys, secret)  # renamed from the hash of the user name
        return True

    def _accept(self, username: str, secret: str, code: str) -> bool:
        totp = pyotp.TOTP(secret)
        code = code.strip().replace(" ", "")
        now = totp.timecode(dt.datetime.now())
        with self._lock:
            for step in (now - 1, now, now + 1):
                if step <= self._last_step.get(username, -1):
                    continue
                if pyotp.utils.strings_equal(totp.generate_otp(step), code):
                    if self._claim is not None and not self._claim(username, step):
                        return False  # used already, in another worker
                    self._last_step[username] = step
                    return True
        return False

    @staticmethod
    def new_secret() -> str:
        """A fresh random secret (base32, 160 bits)."""
        return pyotp.random_base32(32)

    @staticmethod
    def provisioning_uri(username: str, secret: str) -> str:
        """The ``otpauth://`` address an authenticator app reads."""
        return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)

    @remembering_locators
    def enroll(self, username: str, keys: ArchiveKeys, secret: str, code: str) -> bool:
        """Turn the second factor on once the user shows a code from their app."""
        cipher = self._cipher(keys)
        if cipher is None or not self._accept(username, secret, code):
            return False
        self._store(username, keys, secret)
        return True

    def _store(self, username: str, keys: ArchiveKeys, secret: str) -> None:
        cipher = self._cipher(keys)
        assert cipher is not None
        name = self.entry_name(username)
        nonce = os.urandom(12)
        sealed = cipher.encrypt(nonce, secret.encode("ascii"), name.encode())
        with self._lock:
            data = self._read()
            for old in (*self._names(username), username):
                data.pop(old, None)
            data[name] = {
                "nonce": base64.b64encode(nonce).decode(),
                "secret": base64.b64encode(sealed).decode(),
            }
            self._write(data)

    @remembering_locators
    def remove(self, username: str) -> None:
        """Turn a user's second factor off."""
        with self._lock:
            data = self._read()
            found = [data.pop(n, None) for n in (*self._names(username), username)]
            if any(e is not None for e in found):
                self._write(data)
