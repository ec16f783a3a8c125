"""What the users table is read and written with: who may open the archive, with which role.

Every write goes through :mod:`sillok.store.rows`, so each is logged (the users table is in
the Merkle log) like a record.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select

from sillok.model import users
from sillok.store.dialects import Dialect
from sillok.store.rows import insert_rows, now, update_row


def all_users(conn: Connection) -> list[Row[Any]]:
    """Every row of the users table, active or not, in the order they were added."""
    return list(conn.execute(select(users).order_by(users.c.id)).all())


def users_by_name(conn: Connection) -> dict[str, Any]:
    """Every row of the users table, by name."""
    return {r.name: r for r in conn.execute(select(users))}


def user_named(conn: Connection, name: str) -> Row[Any] | None:
    """The row of a user, active or not, or None."""
    return conn.execute(select(users).where(users.c.name == name)).first()


def active_user(conn: Connection, name: str) -> Row[Any] | None:
    """The row of an active user, or None."""
    return conn.execute(select(users).where(users.c.name == name, users.c.active)).first()


def add_users(
    conn: Connection, dialect: Dialect, people: list[tuple[str, str]], created_by: str
) -> None:
    """Insert active users, each a (name, role)."""
    stamp = now()
    insert_rows(
        conn,
        dialect,
        users,
        [
            {
                "name": name,
                "role": role,
                "active": True,
                "created_by": created_by,
                "created_at": stamp,
                "updated_at": stamp,
            }
            for name, role in people
        ],
    )


def reactivate_user(conn: Connection, user_id: int, role: str) -> None:
    """Make a removed user active again, with a role."""
    update_row(conn, users, user_id, {"role": role, "active": True, "updated_at": now()})


def deactivate_user(conn: Connection, user_id: int) -> None:
    """Mark a user inactive (their row stays, as the log and the audit trail name them)."""
    update_row(conn, users, user_id, {"active": False, "updated_at": now()})
