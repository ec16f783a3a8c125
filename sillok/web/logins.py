"""Logging a user in, the archives held open for logged-in users, and their key copies.

A login is :meth:`Archive.open` with the user's name and passphrase: argon2id turns the
passphrase into the key that unwraps the user's copy of the archive's keys, the archive's
users table confirms the role, and the archive audits the login. The opened archive serves
every page the user sees, so every page goes through the access policy with their role, and
sealed fields open only with their keys. No separate password hash exists to leak or drift.

**The second factor comes first.** For a user who turned TOTP on, the passphrase is checked
against their key copy and the code against their secret *before* the archive is opened, so a
refused code is audited as a ``login_failed`` and never as a ``login``.

**One archive per user.** The sessions and tokens of a user share the archive opened at their
first login (:class:`OpenArchives`), which is closed when the last of them ends; at most
``max_open_archives`` users' archives are open at once, so many logins cannot exhaust the
server's files or memory. With several workers each holds its own: a worker that gets the first
request of a session logged in elsewhere opens the user's archive from the keys sealed in the
session's row (:func:`resume`, see :mod:`sillok.web.sessions`).

**Key copies are watched.** Every request looks at ``keys.json`` (one ``stat``); when it
changed, :class:`KeyCopies` reads a digest of each holder's copy (found by the user's locator:
the file names nobody), and a session whose user's copy is gone or different (removed, another
role, a new passphrase, rotated keys; from the command line or the web) ends (see
:meth:`sillok.web.context.Web.notice_changes`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sillok.archive import Archive
from sillok.errors import ArchiveError, SillokError, WrongPassphrase
from sillok.folder import KEYS_FILE
from sillok.security.audit import note_failed_login
from sillok.security.keyfile import KeyFile, WrappedKey, locators_remembered
from sillok.security.keys import ArchiveKeys
from sillok.security.policy import User
from sillok.vault import Vault

if TYPE_CHECKING:
    from sillok.web.settings import WebSettings
    from sillok.web.totp import TotpStore


class Web(Protocol):
    """What logging in needs of the server (:class:`sillok.web.context.Web`): this module
    sits under the server's context, so it names the attributes rather than importing it."""

    folder: Path
    settings: WebSettings
    totp: TotpStore
    archive: Archive
    logins: OpenArchives
    copies: KeyCopies


class ServerBusy(Exception):
    """As many users' archives are open as the server allows: a new user must wait."""


@dataclass(frozen=True)
class Login:
    """A user let in: their archive (shared with their other sessions) and which key copy
    opened it (a digest, compared with ``keys.json`` on later requests)."""

    archive: Archive
    copy: str


def copy_digest(copy: WrappedKey) -> str:
    """A digest of one holder's key copy: it changes with the role, the passphrase, the keys."""
    text = json.dumps(copy.to_json(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class CopyDigests:
    """The digests of the copies of one state of ``keys.json``, looked up by user name (a
    format-2 file is searched by the name's locator, as a login finds a copy)."""

    def __init__(self, keyfile: KeyFile | None = None) -> None:
        self._keyfile = keyfile
        copies = keyfile.wrapped if keyfile is not None else ()
        self._by = {(c.locator or c.holder): copy_digest(c) for c in copies}

    def get(self, name: str, default: str | None = None) -> str | None:
        """The digest of ``name``'s copy, or ``default`` when they hold none."""
        if self._keyfile is None or not name:
            return default
        return self._by.get(self._keyfile.locate(name) or name, default)

    def __len__(self) -> int:
        return len(self._by)


class KeyCopies:
    """The holders' key copies in ``keys.json``, as digests, known as of one state of the
    file (its inode, size and times: every write of it replaces it by a rename)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / KEYS_FILE
        self.seen: tuple[int, ...] | None = None
        self.digests = CopyDigests()

    def mark(self) -> tuple[int, ...] | None:
        """The file's state now (None when it is missing)."""
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)

    def stale(self) -> bool:
        """Whether the file changed since :meth:`read` last read it."""
        return self.mark() != self.seen

    def read(self) -> CopyDigests:
        """Read the digests afresh (the state is taken first: a change while reading shows as
        stale again on the next request)."""
        mark = self.mark()
        try:
            keyfile: KeyFile | None = KeyFile.load(self.path)
        except ArchiveError:
            keyfile = None  # no readable key file: no copy is known, so no session stays
        self.digests = CopyDigests(keyfile)
        self.seen = mark
        return self.digests


@dataclass
class _Held:
    archive: Archive
    sessions: int


class OpenArchives:
    """The archives opened for logged-in users: one per user and key copy, shared by their
    sessions and tokens, closed when the last of them ends, at most ``limit`` at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[tuple[str, str], _Held] = {}
        self._lock = threading.Lock()

    def adopt(self, archive: Archive, copy: str) -> Archive:
        """The archive a new session of ``archive``'s user uses: the one already open for
        them (``archive`` is then closed), else ``archive`` itself.

        Raises:
            ServerBusy: ``limit`` other users' archives are open (``archive`` is closed).
        """
        key = (archive.user.name, copy)
        with self._lock:
            held = self._held.get(key)
            if held is None and len(self._held) < self.limit:
                self._held[key] = _Held(archive, 1)
                return archive
            if held is not None:
                held.sessions += 1  # counted before the lock goes: no release can close it
        archive.close()
        if held is None:
            raise ServerBusy(f"{self.limit} users are logged in")
        return held.archive

    def release(self, archive: Archive) -> None:
        """A session of the archive's user ended; the last one closes the archive."""
        closing: Archive | None = archive  # one not from this pool is the session's alone
        with self._lock:
            key = next((k for k, h in self._held.items() if h.archive is archive), None)
            if key is not None:
                held = self._held[key]
                held.sessions -= 1
                closing = self._held.pop(key).archive if held.sessions <= 0 else None
        if closing is not None:
            closing.close()

    def close_all(self) -> None:
        """Close every archive (the server is stopping)."""
        with self._lock:
            held, self._held = list(self._held.values()), {}
        for entry in held:
            entry.archive.close()

    def __len__(self) -> int:
        return len(self._held)


def log_in(web: Web, username: str, passphrase: str, code: str | None) -> Login | None:
    """Let a user in, or None when the name, passphrase or second factor is wrong.

    The answer is the same for an unknown name and a wrong passphrase, and costs the same
    argon2 time (the key file spends it on a decoy), so a login does not tell which names
    exist.

    Raises:
        ServerBusy: the user is right, but the server holds as many users' archives as it may.
    """
    if not username or not passphrase:
        return None
    with locators_remembered():
        return _log_in(web, username, passphrase, code)


def _log_in(web: Web, username: str, passphrase: str, code: str | None) -> Login | None:
    try:
        before = KeyFile.load(web.folder / KEYS_FILE).holder(username)
        if web.totp.enrolled(username) and not _second_factor_ok(web, username, passphrase, code):
            return None
        archive = Archive.open_beside(web.archive, passphrase, username, web.settings.archive)
    except SillokError:
        return None
    if before is None or before.version != 3 or before.named_aad:
        # The login itself may have rewritten an old kind of copy (or converted the file):
        # the copy that counts from now on is the one in the file (none known: the session
        # ends at the file's next change).
        try:
            before = KeyFile.load(web.folder / KEYS_FILE).holder(username)
        except ArchiveError:
            before = None
    copy = copy_digest(before) if before is not None else ""
    # The place and organization directories are the server's: one copy in memory, and a
    # place one user's import adds is known at once to every other user's pages.
    archive.vault.share_directories(web.archive.vault)
    return Login(web.logins.adopt(archive, copy), copy)


def resume(web: Web, username: str, role: str, copy: str, keys: ArchiveKeys) -> Archive | None:
    """The archive of a user logged in through another worker, opened in this one from the
    keys their session sealed (no passphrase, no argon2, no new ``login`` in the audit trail:
    the login was audited once), or None when those keys no longer serve: their key copy
    changed since, or a rotation is under way (the user logs in again).

    Raises:
        ServerBusy: this worker holds as many users' archives as it may.
    """
    shared = web.archive.vault
    if (
        web.copies.digests.get(username) != copy
        or shared.pending_keys is not None
        or keys.database != shared.keys.database
        or shared.store.closed
    ):
        return None
    store = shared.store.view()
    try:
        user = User(username, role)
        archive = Archive(Vault(web.folder, store, keys, web.settings.archive, user))
    except BaseException:
        store.close()
        raise
    archive.vault.share_directories(shared)
    return web.logins.adopt(archive, copy)


def _second_factor_ok(web: Web, username: str, passphrase: str, code: str | None) -> bool:
    """The passphrase and the TOTP code, checked before the archive is opened (and audits a
    login): each refusal is audited as a failed login."""
    keyfile = KeyFile.load(web.folder / KEYS_FILE)
    try:
        _copy, keys, _pending = keyfile.unlock_holder(passphrase, username)
    except WrongPassphrase:
        note_failed_login(web.folder, username)  # as Archive.open notes a wrong passphrase
        return False
    if web.totp.verify(username, keys, code):
        return True
    web.archive.audit.record(
        "login_failed",
        detail={"user": username[:100], "second_factor": True},
        actor=username[:100],
    )
    return False


def passphrase_ok(web: Web, username: str, passphrase: str) -> bool:
    """Whether ``passphrase`` is the user's (one argon2 run; nothing is audited)."""
    try:
        copy = KeyFile.load(web.folder / KEYS_FILE).holder(username)
    except ArchiveError:
        return False
    return copy is not None and copy.check(passphrase)
