"""Server-side sessions, API tokens and the login lockout, shared by the server's workers.

A session is a random id in an HttpOnly cookie; everything else (who is logged in, a pending
import) stays on the server, so a stolen page or a cookie jar reveals nothing but an id that
dies when the session is revoked. Sessions expire when idle and at a maximum age, are replaced
by a new id at login, and are revoked at logout and when the user's key copy changes (a new
passphrase, another role, removal, rotated keys: see :mod:`sillok.web.logins`). API tokens are
the same objects, carried in an Authorization header.

**Several workers.** ``sillok serve --workers N`` runs N processes, and any of them may get a
user's next request. So a session is a row in the archive's database
(:class:`sillok.security.sessions.SessionTable`: the id's hash, never the id; the user's keys
sealed under a key derived from the id), and every request looks its row up: a session ended
by one worker (logout, a passphrase change, a removal) or by the command line is gone for all
of them at their next request. Each worker keeps the sessions it served in memory with the
user's archive open (opened from the sealed keys at its first request there), so a request
costs one indexed read, not an unsealing. The idle timer is written at most every
:data:`TOUCH_SECONDS` (not at every request): a session may expire that much earlier than its
last request plus the idle time. The CSRF token is derived from the id.
"""

from __future__ import annotations

import hmac
import logging
import pickle
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sillok.security.keys import ArchiveKeys
from sillok.security.sessions import SessionRow, SessionTable, csrf_token_of, session_digest

SESSION_COOKIE = "sillok_session"
#: at most how often a session's idle timer is written (seconds; less for short idle times)
TOUCH_SECONDS = 15.0

log = logging.getLogger("sillok.web")


class Pending(dict[str, Any]):
    """What a form step keeps between requests (a pending import): a dict whose every change
    is written, sealed, to the session's row, so the next step may come to another worker.
    A value that cannot be written (pickled) is kept in this worker only."""

    def __init__(self, save: Callable[[Pending], None] | None = None) -> None:
        super().__init__()
        self._save = save

    def _changed(self) -> None:
        if self._save is not None:
            self._save(self)

    def load(self, values: dict[str, Any]) -> None:
        """Take the values another worker wrote (nothing is written back)."""
        super().clear()
        super().update(values)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def pop(self, key: str, *default: Any) -> Any:
        """Remove and return a value (written when something was removed)."""
        had = key in self
        value = super().pop(key, *default)
        if had:
            self._changed()
        return value

    def clear(self) -> None:
        """Forget every value."""
        had = bool(self)
        super().clear()
        if had:
            self._changed()

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, set to ``default`` first when missing."""
        if key in self:
            return self[key]
        self[key] = default
        return default

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several values (written once)."""
        super().update(*args, **kwargs)
        self._changed()


@dataclass(eq=False)
class Session:
    """One browser session (or API token), as this worker holds it."""

    id: str
    csrf_token: str
    created: float
    last_seen: float
    username: str | None = None
    role: str | None = None
    kind: str = "browser"  # browser or token
    #: what a form step keeps between requests (a pending import), never sent to the client
    pending: Pending = field(default_factory=Pending)
    #: the archive opened with the user's own keys (their role), shared with the user's
    #: other sessions in this worker (see sillok.web.logins.OpenArchives)
    archive: Any = None
    #: a digest of the key copy the user logged in with (see sillok.web.logins.KeyCopies)
    copy: str | None = None
    #: the revision of ``pending`` this worker holds (another worker's change raises it)
    pending_rev: int = 0

    def end(self, release: Callable[[Any], None]) -> None:
        """Let go of what the session holds: its archive goes back to ``release``."""
        archive, self.archive = self.archive, None
        self.pending.load({})
        if archive is not None:
            release(archive)

    @property
    def authenticated(self) -> bool:
        """Whether someone logged in with this session."""
        return self.username is not None


def _close(archive: Any) -> None:
    archive.close()


#: opens the archive of a session's user in this worker from their keys (None: it cannot)
Resume = Callable[[Session, ArchiveKeys], Any]


def _from_row(row: SessionRow, session_id: str = "") -> Session:
    return Session(
        id=session_id,
        csrf_token=csrf_token_of(session_id) if session_id else "",
        created=row.created,
        last_seen=row.last_seen,
        username=row.username,
        role=row.role,
        kind=row.kind,
        copy=row.copy,
    )


class SessionStore:
    """Every live session and token (rows in ``table``), with idle and maximum-age expiry; the
    sessions this worker served are kept with their archives, and an ended session's archive
    goes to ``release`` (by default it is closed)."""

    def __init__(
        self,
        clock: Callable[[], float],
        idle_seconds: int,
        max_seconds: int,
        token_idle_seconds: int,
        table: SessionTable,
        resume: Resume,
        release: Callable[[Any], None] = _close,
    ) -> None:
        self.clock = clock
        self.release = release
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.token_idle_seconds = token_idle_seconds
        self.table = table
        self.resume = resume
        self._local: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(
        self,
        username: str | None = None,
        role: str | None = None,
        kind: str = "browser",
        archive: Any = None,
        copy: str | None = None,
    ) -> Session:
        """A new session with a fresh random id (and so a fresh CSRF token); ``archive`` is
        the user's, whose keys are stored sealed for the other workers."""
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        keys = archive.vault.keys if archive is not None else None
        self.table.add(session_id, kind, now, username, role, copy, keys)
        session = Session(
            id=session_id,
            csrf_token=csrf_token_of(session_id),
            created=now,
            last_seen=now,
            username=username,
            role=role,
            kind=kind,
            archive=archive,
            copy=copy,
        )
        self._watch(session)
        with self._lock:
            self._local[session_digest(session_id)] = session
        self.sweep()
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (its idle timer renewed), or None."""
        if not session_id:
            return None
        digest = session_digest(session_id)
        now = self.clock()
        row = self.table.find(digest)
        if row is None or self._expired(row.kind, row.created, row.last_seen, now):
            if row is not None:
                self.table.delete([digest])
            self._end_local({digest})
            return None
        if now - row.last_seen >= self._touch_after(row.kind):
            self.table.touch(digest, now)
        with self._lock:
            session = self._local.get(digest)
        if session is None:
            session = self._load(session_id, row)
            if session is None:
                self.table.delete([digest])  # its keys do not open any more: it is over
                return None
        if row.pending_rev != session.pending_rev:
            found = self.table.pending(session_id)
            if found is not None:
                session.pending_rev, values = found
                session.pending.load(values)
        session.last_seen = now
        return session

    def _load(self, session_id: str, row: SessionRow) -> Session | None:
        """A session this worker has not served yet: its user's archive opened from the keys
        sealed in its row (None when they do not open)."""
        session = _from_row(row, session_id)
        if session.authenticated:
            keys = self.table.keys(session_id)
            archive = self.resume(session, keys) if keys is not None else None
            if archive is None:
                return None
            session.archive = archive
        found = self.table.pending(session_id)
        if found is not None and found[1]:
            session.pending_rev, values = found
            session.pending.load(values)
        elif found is not None:
            session.pending_rev = found[0]
        self._watch(session)
        digest = session_digest(session_id)
        with self._lock:
            earlier = self._local.get(digest)
            if earlier is None:
                self._local[digest] = session
                return session
        session.end(self.release)  # another request of it was quicker
        return earlier

    def _watch(self, session: Session) -> None:
        def save(pending: Pending) -> None:
            try:
                rev = self.table.put_pending(session.id, dict(pending))
            except (pickle.PicklingError, TypeError, AttributeError):
                log.warning("a pending step cannot be shared with other workers")
                return
            if rev is not None:
                session.pending_rev = rev

        session.pending._save = save

    def revoke(self, session_id: str) -> None:
        """End one session, in every worker."""
        digest = session_digest(session_id)
        self.table.delete([digest])
        self._end_local({digest})

    def revoke_user(self, username: str) -> int:
        """End every session and token of a user (at a passphrase change, a removal), in every
        worker; how many."""
        ended = self.table.delete_user(username)
        with self._lock:
            doomed = {k for k, s in self._local.items() if s.username == username}
        self._end_local(doomed)
        return ended

    def end_where(self, doomed: Callable[[Session], bool]) -> int:
        """End every session and token for which ``doomed`` is true, in every worker; how many."""
        digests = [r.digest for r in self.table.all() if doomed(_from_row(r))]
        ended = self.table.delete(digests)
        with self._lock:
            local = {k for k, s in self._local.items() if doomed(s)}
        self._end_local(local | set(digests))
        return ended

    def forget_local(self) -> int:
        """Let go of the sessions this worker holds (their archives go back), leaving their
        rows: the server's archive was opened anew, or it stops. How many."""
        with self._lock:
            keys = set(self._local)
        return self._end_local(keys)

    def _end_local(self, digests: set[str]) -> int:
        with self._lock:
            ended = [self._local.pop(k) for k in digests if k in self._local]
        for session in ended:
            session.end(self.release)
        return len(ended)

    def _expired(self, kind: str, created: float, last_seen: float, now: float) -> bool:
        idle = self.token_idle_seconds if kind == "token" else self.idle_seconds
        return now - last_seen > idle or now - created > self.max_seconds

    def _touch_after(self, kind: str) -> float:
        idle = self.token_idle_seconds if kind == "token" else self.idle_seconds
        return min(TOUCH_SECONDS, idle / 20)

    def sweep(self) -> int:
        """End the sessions that expired (their archives go back), and let go of those another
        worker ended; how many rows went."""
        now = self.clock()
        ended = self.table.delete_expired(
            now - self.idle_seconds, now - self.token_idle_seconds, now - self.max_seconds
        )
        with self._lock:
            held = list(self._local)
        live = self.table.live(held)
        self._end_local(set(held) - live)
        return ended

    def close_all(self) -> None:
        """Let go of every session this worker holds (the server or this worker is stopping:
        the sessions stay for the other workers and the next start)."""
        self.forget_local()

    def __len__(self) -> int:
        return len(self._local)


def csrf_ok(session: Session | None, token: str | None) -> bool:
    """Whether a request's CSRF token is its session's (compared in constant time)."""
    if session is None or not token:
        return False
    return hmac.compare_digest(session.csrf_token.encode(), token.encode())


class LoginGuard:
    """Counts failed logins per user name and locks a name after too many in a row (in the
    archive's database: every worker counts the same failures).

    Counting per name, not per address, is what stops guessing one person's passphrase from
    many machines; the price is that someone can lock a colleague out for a while, which the
    lockout's short duration keeps tolerable.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        max_failures: int,
        lockout_seconds: int,
        table: SessionTable,
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.table = table

    def locked(self, username: str) -> float:
        """Seconds until the name is unlocked (0 when it is not locked)."""
        _failures, until = self.table.lockout(username)
        if until is None:
            return 0.0
        left = until - self.clock()
        if left <= 0:
            self.table.forget_failures(username)
            return 0.0
        return left

    def failed(self, username: str) -> bool:
        """Count a failure; True when this one locks the name."""
        return self.table.count_failure(
            username, self.max_failures, self.clock() + self.lockout_seconds
        )

    def succeeded(self, username: str) -> None:
        """Forget the failures of a name after a good login."""
        if self.table.lockout(username)[0]:
            self.table.forget_failures(username)
