"""Server-side sessions, API tokens and the login lockout.

A session is a random id in an HttpOnly cookie; everything else (who is logged in, the CSRF
token, a pending import) stays on the server, so a stolen page or a cookie jar reveals nothing
but an id that dies when the session is revoked. Sessions expire when idle and at a maximum
age, are replaced by a new id at login, and are revoked at logout and when the user's key
copy changes (a new passphrase, another role, removal, rotated keys: see
:mod:`sillok.web.logins`). API tokens are the same objects, carried in an Authorization header.

Sessions live in the server process: restarting the server logs everyone out, and the server
runs as one process (``sillok serve``), which is what keeps this simple and safe.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SESSION_COOKIE = "sillok_session"


@dataclass
class Session:
    """One browser session (or API token) on the server."""

    id: str
    csrf_token: str
    created: float
    last_seen: float
    username: str | None = None
    role: str | None = None
    kind: str = "browser"  # browser or token
    #: what a form step keeps between requests (a pending import), never sent to the client
    pending: dict[str, Any] = field(default_factory=dict)
    #: the archive opened with the user's own passphrase (their role, their keys), shared
    #: with the user's other sessions (see sillok.web.logins.OpenArchives)
    archive: Any = None
    #: a digest of the key copy the user logged in with (see sillok.web.logins.KeyCopies)
    copy: str | None = None

    def end(self, release: Callable[[Any], None]) -> None:
        """Let go of what the session holds: its archive goes back to ``release``."""
        archive, self.archive = self.archive, None
        self.pending.clear()
        if archive is not None:
            release(archive)

    @property
    def authenticated(self) -> bool:
        """Whether someone logged in with this session."""
        return self.username is not None


def _digest(session_id: str) -> str:
    # Sessions are held under a hash of their id, so a dump of the server's memory (or a bug
    # that lists the store) does not hand out live ids.
    return hashlib.sha256(session_id.encode()).hexdigest()


def _close(archive: Any) -> None:
    archive.close()


class SessionStore:
    """Every live session and token, with idle and maximum-age expiry; an ended session's
    archive goes to ``release`` (by default it is closed)."""

    def __init__(
        self,
        clock: Callable[[], float],
        idle_seconds: int,
        max_seconds: int,
        token_idle_seconds: int,
        release: Callable[[Any], None] = _close,
    ) -> None:
        self.clock = clock
        self.release = release
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.token_idle_seconds = token_idle_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(
        self, username: str | None = None, role: str | None = None, kind: str = "browser"
    ) -> Session:
        """A new session with fresh random id and CSRF token."""
        now = self.clock()
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            created=now,
            last_seen=now,
            username=username,
            role=role,
            kind=kind,
        )
        with self._lock:
            self._sessions[_digest(session.id)] = session
        self.sweep()
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (its idle timer renewed), or None."""
        if not session_id:
            return None
        now = self.clock()
        with self._lock:
            key = _digest(session_id)
            session = self._sessions.get(key)
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[key]
            else:
                session.last_seen = now
                return session
        session.end(self.release)
        return None

    def revoke(self, session_id: str) -> None:
        """End one session."""
        with self._lock:
            session = self._sessions.pop(_digest(session_id), None)
        if session is not None:
            session.end(self.release)

    def revoke_user(self, username: str) -> int:
        """End every session and token of a user (at a passphrase change); how many."""
        return self.end_where(lambda s: s.username == username)

    def end_where(self, doomed: Callable[[Session], bool]) -> int:
        """End every session and token for which ``doomed`` is true; how many."""
        with self._lock:
            keys = [k for k, s in self._sessions.items() if doomed(s)]
            ended = [self._sessions.pop(key) for key in keys]
        for session in ended:
            session.end(self.release)
        return len(ended)

    def _expired(self, session: Session, now: float) -> bool:
        idle = self.token_idle_seconds if session.kind == "token" else self.idle_seconds
        return now - session.last_seen > idle or now - session.created > self.max_seconds

    def sweep(self) -> int:
        """End the sessions that expired (their archives go back); how many."""
        now = self.clock()
        return self.end_where(lambda s: self._expired(s, now))

    def close_all(self) -> None:
        """End every session (the server is stopping)."""
        self.end_where(lambda s: True)

    def __len__(self) -> int:
        return len(self._sessions)


def csrf_ok(session: Session | None, token: str | None) -> bool:
    """Whether a request's CSRF token is its session's (compared in constant time)."""
    if session is None or not token:
        return False
    return hmac.compare_digest(session.csrf_token.encode(), token.encode())


class LoginGuard:
    """Counts failed logins per user name and locks a name after too many in a row.

    Counting per name, not per address, is what stops guessing one person's passphrase from
    many machines; the price is that someone can lock a colleague out for a while, which the
    lockout's short duration keeps tolerable.
    """

    def __init__(self, clock: Callable[[], float], max_failures: int, lockout_seconds: int):
        self.clock = clock
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str) -> str:
        return username.strip().casefold()

    def locked(self, username: str) -> float:
        """Seconds until the name is unlocked (0 when it is not locked)."""
        key = self._key(username)
        with self._lock:
            until = self._locked_until.get(key)
            if until is None:
                return 0.0
            left = until - self.clock()
            if left <= 0:
                del self._locked_until[key]
                self._failures.pop(key, None)
                return 0.0
            return left

    def failed(self, username: str) -> bool:
        """Count a failure; True when this one locks the name."""
        key = self._key(username)
        with self._lock:
            count = self._failures.get(key, 0) + 1
            self._failures[key] = count
            if count >= self.max_failures:
                self._locked_until[key] = self.clock() + self.lockout_seconds
                return True
            return False

    def succeeded(self, username: str) -> None:
        """Forget the failures of a name after a good login."""
        with self._lock:
            self._failures.pop(self._key(username), None)
