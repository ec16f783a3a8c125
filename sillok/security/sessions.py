"""Web sessions kept in the archive's database, sealed under their ids.

A web server of several worker processes serves one user from whichever worker takes the
request, so a session cannot live in one process's memory. Its row (``web_sessions``) holds:

* the SHA-256 of the session id, never the id: the table (or a dump of it) names no live
  session, and a 256-bit random id cannot be found from its hash;
* who (user name, role), which key copy they logged in with (a digest), when;
* the user's unlocked keys, sealed (AES-256-GCM) under a key derived from the id with HKDF:
  a worker that receives the cookie derives the key, opens the keys and serves the user without
  their passphrase; the database alone opens nothing;
* a pending form step (a spreadsheet waiting to be imported), sealed the same way.

The CSRF token is derived from the id too (HKDF, another label): nothing to store, and it dies
with the session. See docs/security.md, "Sessions across workers".
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sillok.security.keys import ArchiveKeys, derive_key
from sillok.store import Store
from sillok.store import sessions as rows


def session_digest(session_id: str) -> str:
    """What a session is stored under: the SHA-256 of its id (hex)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def csrf_token_of(session_id: str) -> str:
    """The CSRF token of a session: derived from its id, so every worker knows it."""
    raw = derive_key(session_id.encode(), "web session csrf")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _cipher(session_id: str, purpose: str) -> AESGCM:
    return AESGCM(derive_key(session_id.encode(), f"web session {purpose}"))


def seal_for(session_id: str, purpose: str, data: bytes) -> bytes:
    """``data`` sealed under the session's key for ``purpose`` (bound to its digest)."""
    nonce = os.urandom(12)
    aad = f"{session_digest(session_id)} {purpose}".encode()
    return nonce + _cipher(session_id, purpose).encrypt(nonce, data, aad)


def open_for(session_id: str, purpose: str, sealed: bytes) -> bytes | None:
    """What :func:`seal_for` sealed, or None when it does not open with this id."""
    aad = f"{session_digest(session_id)} {purpose}".encode()
    try:
        return _cipher(session_id, purpose).decrypt(sealed[:12], sealed[12:], aad)
    except (InvalidTag, ValueError):
        return None


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None


def _unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text is not None else None


def keys_to_bytes(keys: ArchiveKeys) -> bytes:
    """A user's unlocked keys, whole (the bundle, their own secret and author seed)."""
    return json.dumps(
        {
            "bundle": _b64(keys.to_bytes()),
            "own": _b64(keys.own),
            "author": _b64(keys.author),
            "legacy": keys.legacy,
        }
    ).encode()


def keys_from_bytes(raw: bytes) -> ArchiveKeys:
    """Inverse of :func:`keys_to_bytes`."""
    body = json.loads(raw)
    keys = ArchiveKeys.from_bytes(_unb64(body["bundle"]) or b"")
    keys = keys.with_own(_unb64(body.get("own"))).with_author(_unb64(body.get("author")))
    if body.get("legacy"):
        keys = ArchiveKeys(keys.database, keys.purposes, keys.own, keys.author, legacy=True)
    return keys


@dataclass(frozen=True)
class SessionRow:
    """A session as its row says (nothing sealed)."""

    digest: str
    kind: str
    username: str | None
    role: str | None
    copy: str | None
    created: float
    last_seen: float
    pending_rev: int


def _row(found: Any) -> SessionRow:
    return SessionRow(
        found.digest,
        found.kind,
        found.username,
        found.role,
        found.copy,
        float(found.created),
        float(found.last_seen),
        int(found.pending_rev),
    )


class SessionTable:
    """The sessions and failed logins of the web server, in the archive's database (the store
    is asked for at each call: the server's archive is opened anew after a key rotation)."""

    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store

    # --- sessions ------------------------------------------------------------------------

    def add(
        self,
        session_id: str,
        kind: str,
        when: float,
        username: str | None = None,
        role: str | None = None,
        copy: str | None = None,
        keys: ArchiveKeys | None = None,
    ) -> None:
        """Store a new session; its keys sealed under its id."""
        sealed = seal_for(session_id, "keys", keys_to_bytes(keys)) if keys is not None else None
        values = {
            "digest": session_digest(session_id),
            "kind": kind,
            "username": username,
            "role": role,
            "copy": copy,
            "created": when,
            "last_seen": when,
            "sealed_keys": sealed,
        }
        with self._store().transaction() as conn:
            rows.add_session(conn, values)

    def find(self, digest: str) -> SessionRow | None:
        """The row of a session, or None when it ended."""
        with self._store().single_read() as conn:  # at every request: no BEGIN for it
            found = rows.session_row(conn, digest)
        return _row(found) if found is not None else None

    def keys(self, session_id: str) -> ArchiveKeys | None:
        """The user's keys of a session, opened with its id (None: no keys, or not this id)."""
        with self._store().reading() as conn:
            sealed = rows.session_keys(conn, session_digest(session_id))
        raw = open_for(session_id, "keys", sealed) if sealed is not None else None
        return keys_from_bytes(raw) if raw is not None else None

    def pending(self, session_id: str) -> tuple[int, dict[str, Any]] | None:
        """The revision and pending form steps of a session (None when it ended)."""
        with self._store().reading() as conn:
            found = rows.session_pending(conn, session_digest(session_id))
        if found is None:
            return None
        rev, sealed = found
        raw = open_for(session_id, "pending", sealed) if sealed is not None else None
        # Unpickled only after the seal opened: only a holder of the id could have written it.
        value = pickle.loads(raw) if raw is not None else {}  # noqa: S301
        return rev, value if isinstance(value, dict) else {}

    def put_pending(self, session_id: str, value: dict[str, Any]) -> int | None:
        """Replace the pending form steps of a session; the new revision (None: it ended).

        Raises:
            pickle.PicklingError, TypeError, AttributeError: a value that cannot be kept.
        """
        sealed = seal_for(session_id, "pending", pickle.dumps(value)) if value else None
        with self._store().transaction() as conn:
            return rows.put_pending(conn, session_digest(session_id), sealed)

    def touch(self, digest: str, when: float) -> None:
        """Renew a session's idle timer."""
        with self._store().transaction() as conn:
            rows.touch_session(conn, digest, when)

    def delete(self, digests: list[str]) -> int:
        """End sessions by digest; how many had a row."""
        with self._store().transaction() as conn:
            return rows.delete_sessions(conn, digests)

    def delete_user(self, username: str) -> int:
        """End every session and token of a user; how many."""
        with self._store().transaction() as conn:
            return rows.delete_user_sessions(conn, username)

    def delete_expired(
        self, idle_before: float, token_idle_before: float, created_before: float
    ) -> int:
        """End the sessions that expired (see :func:`sillok.store.sessions.delete_expired`)."""
        with self._store().transaction() as conn:
            return rows.delete_expired(conn, idle_before, token_idle_before, created_before)

    def all(self) -> list[SessionRow]:
        """Every session's row."""
        with self._store().reading() as conn:
            return [_row(r) for r in rows.all_sessions(conn)]

    def live(self, digests: list[str]) -> set[str]:
        """Which of ``digests`` still have a row."""
        with self._store().reading() as conn:
            return rows.live_digests(conn, digests)

    # --- failed logins -------------------------------------------------------------------

    @staticmethod
    def _name(username: str) -> str:
        return hashlib.sha256(username.strip().casefold().encode()).hexdigest()

    def lockout(self, username: str) -> tuple[int, float | None]:
        """The failures in a row of a name and when its lockout ends (None: not locked)."""
        with self._store().reading() as conn:
            found = rows.lockout(conn, self._name(username))
        if found is None:
            return 0, None
        until = found.locked_until
        return int(found.failures), float(until) if until is not None else None

    def count_failure(self, username: str, limit: int, lock_until: float) -> bool:
        """Count a failure; at ``limit`` in a row the name is locked. Whether it was locked."""
        with self._store().transaction() as conn:
            count = rows.count_failure(conn, self._name(username))
            if count >= limit:
                rows.lock_name(conn, self._name(username), lock_until)
                return True
        return False

    def forget_failures(self, username: str) -> None:
        """Forget a name's failures and lockout."""
        with self._store().transaction() as conn:
            rows.forget_failures(conn, self._name(username))

    # --- second factor ---------------------------------------------------------------------

    def claim_totp_step(self, username: str, step: int) -> bool:
        """Whether a second-factor code of time step ``step`` may be accepted for a name (it
        is after the last one accepted, by any worker); claimed if so."""
        with self._store().transaction() as conn:
            return rows.claim_totp_step(conn, self._name(username), step)
