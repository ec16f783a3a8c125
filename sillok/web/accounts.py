"""Checking who logs in: a user name and passphrase against the archive's key holders.

A user's passphrase is checked the way it unlocks the archive: argon2id turns it into the key
that unwraps the user's copy of the data key, and AES-GCM either opens that copy or fails. No
separate password hash exists to leak or drift. This module is the web layer's one seam to the
archive's users; a second factor (TOTP, RFC 6238) is checked when the user has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyotp

from sillok.errors import WrongPassphrase
from sillok.keys import KeyFile, WrappedKey
from sillok.settings import KdfParams

KEYS_FILE = "keys.json"


@dataclass(frozen=True)
class Account:
    """A user who may log in."""

    username: str
    role: str
    totp_secret: str | None = None


class Accounts:
    """The users of one archive folder."""

    def __init__(self, folder: Path, kdf: KdfParams) -> None:
        self.folder = Path(folder)
        # Checking a name that does not exist costs one argon2 run too, so the time a login
        # takes does not tell which names exist.
        self._decoy = WrappedKey.seal(b"\0" * 32, "decoy", "decoy", "none", kdf)

    def _holders(self) -> dict[str, WrappedKey]:
        return {w.holder: w for w in KeyFile.load(self.folder / KEYS_FILE).wrapped}

    def names(self) -> list[str]:
        """Every user name."""
        return sorted(self._holders())

    def check(self, username: str, passphrase: str) -> Account | None:
        """The account when the passphrase is the user's, else None (argon2 either way)."""
        wrapped = self._holders().get(username)
        try:
            (wrapped or self._decoy).open(passphrase)
        except WrongPassphrase:
            return None
        if wrapped is None:
            return None
        return Account(wrapped.holder, wrapped.role, None)

    @staticmethod
    def second_factor_ok(account: Account, code: str | None) -> bool:
        """Whether the TOTP code is right (always, when the user has no second factor)."""
        if account.totp_secret is None:
            return True
        if not code:
            return False
        return bool(pyotp.TOTP(account.totp_secret).verify(code.strip(), valid_window=1))
