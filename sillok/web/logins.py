"""Logging a user in: their own passphrase opens the archive for them.

A login is :meth:`Archive.open` with the user's name and passphrase: argon2id turns the
passphrase into the key that unwraps the user's copy of the archive's keys, the archive's
users table confirms the role, and the archive audits the login. The opened archive stays
in the user's server-side session, so every page they see goes through the access policy
with their role, and sealed fields open only with their keys. No separate password hash
exists to leak or drift.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sillok.archive import Archive
from sillok.errors import SillokError

if TYPE_CHECKING:
    from sillok.web.context import Web


def open_for_user(web: Web, username: str, passphrase: str) -> Archive | None:
    """The archive opened as ``username``, or None when the name or passphrase is wrong.

    The answer is the same for an unknown name and a wrong passphrase, and costs the same
    argon2 time (the key file spends it on a decoy), so a login does not tell which names
    exist.
    """
    if not username or not passphrase:
        return None
    try:
        archive = Archive.open(web.folder, passphrase, web.settings.archive, user=username)
    except SillokError:
        return None
    # The place and organization directories are the server's: one copy in memory, and a
    # place one user's import adds is known at once to every other user's pages.
    archive.vault.share_directories(web.archive.vault)
    return archive


def second_factor_ok(web: Web, archive: Archive, code: str | None) -> bool:
    """Whether the TOTP code is right; always, for a user without a second factor."""
    return web.totp.verify(archive, code)
