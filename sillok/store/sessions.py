"""What the web server's sessions and login lockouts are read and written with.

The rows are the server's working state, shared by its worker processes, not records: they are
written directly, outside :mod:`sillok.store.rows` and the Merkle log (a session lives minutes
to hours; logging each would grow the log with every login and renewal, and nothing about a
session is evidence: logins themselves are in the audit trail). A row holds the SHA-256 of a
session id, never the id, and seals what would be secret (see :mod:`sillok.web.sessions`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from sillok.model import web_lockouts, web_sessions, web_totp_steps

#: the columns read at every request (the sealed pending step is read only when it changed)
_LIGHT = (
    web_sessions.c.digest,
    web_sessions.c.kind,
    web_sessions.c.username,
    web_sessions.c.role,
    web_sessions.c.copy,
    web_sessions.c.created,
    web_sessions.c.last_seen,
    web_sessions.c.pending_rev,
)


def add_session(conn: Connection, values: dict[str, Any]) -> None:
    """Insert one session row (``digest``, ``kind``, ``username``... see the table)."""
    conn.execute(insert(web_sessions), {"pending_rev": 0, **values})


def session_row(conn: Connection, digest: str) -> Any:
    """The row of a session (without its sealed keys and pending step), or None."""
    return conn.execute(select(*_LIGHT).where(web_sessions.c.digest == digest)).first()


def session_keys(conn: Connection, digest: str) -> bytes | None:
    """The sealed keys of a session (None when it has none or is gone)."""
    value = conn.execute(
        select(web_sessions.c.sealed_keys).where(web_sessions.c.digest == digest)
    ).scalar()
    return bytes(value) if value is not None else None


def session_pending(conn: Connection, digest: str) -> tuple[int, bytes | None] | None:
    """The revision and sealed pending step of a session, or None when it is gone."""
    row = conn.execute(
        select(web_sessions.c.pending_rev, web_sessions.c.pending).where(
            web_sessions.c.digest == digest
        )
    ).first()
    if row is None:
        return None
    return int(row.pending_rev), bytes(row.pending) if row.pending is not None else None


def put_pending(conn: Connection, digest: str, sealed: bytes | None) -> int | None:
    """Replace a session's pending step; its new revision (None when the session is gone)."""
    found = conn.execute(
        select(web_sessions.c.pending_rev).where(web_sessions.c.digest == digest)
    ).scalar()
    if found is None:
        return None
    rev = int(found) + 1
    conn.execute(
        update(web_sessions)
        .where(web_sessions.c.digest == digest)
        .values(pending=sealed, pending_rev=rev)
    )
    return rev


def touch_session(conn: Connection, digest: str, when: float) -> None:
    """Renew a session's idle timer."""
    conn.execute(
        update(web_sessions).where(web_sessions.c.digest == digest).values(last_seen=when)
    )


def delete_sessions(conn: Connection, digests: list[str]) -> int:
    """Delete sessions by digest; how many were there."""
    if not digests:
        return 0
    return int(
        conn.execute(delete(web_sessions).where(web_sessions.c.digest.in_(digests))).rowcount
    )


def delete_user_sessions(conn: Connection, username: str) -> int:
    """Delete every session and token of a user; how many."""
    return int(
        conn.execute(delete(web_sessions).where(web_sessions.c.username == username)).rowcount
    )


def delete_expired(
    conn: Connection, idle_before: float, token_idle_before: float, created_before: float
) -> int:
    """Delete the sessions idle since before ``idle_before`` (tokens: ``token_idle_before``)
    or made before ``created_before``; how many."""
    doomed = or_(
        and_(web_sessions.c.kind != "token", web_sessions.c.last_seen < idle_before),
        and_(web_sessions.c.kind == "token", web_sessions.c.last_seen < token_idle_before),
        web_sessions.c.created < created_before,
    )
    return int(conn.execute(delete(web_sessions).where(doomed)).rowcount)


def all_sessions(conn: Connection) -> list[Any]:
    """Every session row (without its sealed parts)."""
    return list(conn.execute(select(*_LIGHT)).all())


def live_digests(conn: Connection, digests: list[str]) -> set[str]:
    """Which of ``digests`` still have a row."""
    if not digests:
        return set()
    found = conn.execute(
        select(web_sessions.c.digest).where(web_sessions.c.digest.in_(digests))
    ).scalars()
    return set(found)


def delete_all_sessions(conn: Connection) -> int:
    """Delete every session and token; how many."""
    return int(conn.execute(delete(web_sessions)).rowcount)


# --- failed logins ----------------------------------------------------------------------------


def lockout(conn: Connection, name_digest: str) -> Any:
    """The failures and lockout of a name (by digest), or None."""
    return conn.execute(
        select(web_lockouts.c.failures, web_lockouts.c.locked_until).where(
            web_lockouts.c.name_digest == name_digest
        )
    ).first()


def count_failure(conn: Connection, name_digest: str) -> int:
    """Add one failure for a name; how many in a row now."""
    found = lockout(conn, name_digest)
    if found is None:
        conn.execute(insert(web_lockouts), {"name_digest": name_digest, "failures": 1})
        return 1
    count = int(found.failures) + 1
    conn.execute(
        update(web_lockouts)
        .where(web_lockouts.c.name_digest == name_digest)
        .values(failures=count)
    )
    return count


def lock_name(conn: Connection, name_digest: str, until: float) -> None:
    """Lock a name until ``until``."""
    conn.execute(
        update(web_lockouts)
        .where(web_lockouts.c.name_digest == name_digest)
        .values(locked_until=until)
    )


def forget_failures(conn: Connection, name_digest: str) -> None:
    """Forget a name's failures and lockout."""
    conn.execute(delete(web_lockouts).where(web_lockouts.c.name_digest == name_digest))


def claim_totp_step(conn: Connection, name_digest: str, step: int) -> bool:
    """Record ``step`` as the last accepted for a name, unless it is not after the last one:
    whether it was claimed (one conditional write: two workers cannot both claim it)."""
    claimed = conn.execute(
        update(web_totp_steps)
        .where(web_totp_steps.c.name_digest == name_digest, web_totp_steps.c.step < step)
        .values(step=step)
    ).rowcount
    if claimed:
        return True
    known = conn.execute(
        select(web_totp_steps.c.step).where(web_totp_steps.c.name_digest == name_digest)
    ).first()
    if known is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(web_totp_steps), {"name_digest": name_digest, "step": step})
    except IntegrityError:
        return False  # another worker claimed a first step for the name at the same time
    return True
