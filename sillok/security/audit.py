"""The audit trail: who wrote, opened a sealed field, exported, logged in or failed to.

Each event is a row of ``audit_events``, and like every row it is appended to the Merkle log,
so the trail cannot be trimmed or edited without ``sillok verify`` noticing. An event's detail
is a small JSON object of counts, ids and names of things, never a protected value: callers
pass only numbers, booleans, ids and the names of columns, files and users.

Failed logins cannot be written when they happen (the wrong passphrase opens nothing), so they
are appended to ``failed-logins.jsonl`` in the archive folder (time and user name only) and
moved into the trail at the next successful opening.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection

from sillok.store.audit import add_audit_events, newest_audit_events
from sillok.store.rows import now

if TYPE_CHECKING:
    from sillok.settings import Settings
    from sillok.store import Store


class Opened(Protocol):
    """What the audit trail needs of an opened archive (a :class:`sillok.vault.Vault`)."""

    folder: Path

    @property
    def store(self) -> Store: ...

    @property
    def settings(self) -> Settings: ...

FAILED_LOGINS_FILE = "failed-logins.jsonl"
ACTIONS = (
    "login",
    "login_failed",
    "write",
    "open_sealed",
    "export",
    "proof",
    "attachment_add",
    "attachment_get",
    "user_add",
    "user_remove",
    "user_passwd",
    "author_key",
    "keys_rotate",
    "shred",
    "backup",
    "restore",
    "replicate",
    "verify",
)
_SAFE = (int, bool, type(None))


def _check_detail(detail: Mapping[str, Any]) -> str:
    # Strings are allowed (names of tables, files, users); values of records are the caller's
    # to keep out. Nested data is refused so nobody dumps a row in here by accident.
    for key, value in detail.items():
        if not isinstance(value, (*_SAFE, str)) and not (
            isinstance(value, list | tuple) and all(isinstance(v, (*_SAFE, str)) for v in value)
        ):
            raise TypeError(f"audit detail {key!r} must be a scalar or a flat list")
    return json.dumps(dict(detail), sort_keys=True, ensure_ascii=False)


def note_failed_login(folder: Path, user: str | None) -> None:
    """Remember a failed login in the folder until the next successful opening."""
    line = json.dumps({"at": now().isoformat(), "user": user or ""}) + "\n"
    try:
        with open(folder / FAILED_LOGINS_FILE, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        pass  # a read-only folder: the failure cannot be kept, and must not hide the real error


class AuditTrail:
    """``archive.audit``: record and read audit events."""

    def __init__(self, opened: Opened) -> None:
        self.opened = opened

    def record(
        self,
        action: str,
        record_kind: str | None = None,
        record_id: int | None = None,
        detail: Mapping[str, Any] | None = None,
        conn: Connection | None = None,
        actor: str | None = None,
    ) -> None:
        """Append one event (in ``conn``'s transaction if given, else in its own)."""
        self.record_many([(action, record_kind, record_id, detail or {})], conn=conn, actor=actor)

    def record_many(
        self,
        events: Sequence[tuple[str, str | None, int | None, Mapping[str, Any]]],
        conn: Connection | None = None,
        actor: str | None = None,
        at: Sequence[Any] | None = None,
    ) -> None:
        """Append several events at once: (action, record kind, record id, detail)."""
        if not events:
            return
        stamp = now()
        who = actor or self.opened.settings.actor
        rows = []
        for i, (action, kind, rid, detail) in enumerate(events):
            if action not in ACTIONS:
                raise ValueError(f"unknown audit action {action!r}")
            rows.append(
                {
                    "at": at[i] if at is not None else stamp,
                    "actor": who,
                    "action": action,
                    "record_kind": kind,
                    "record_id": rid,
                    "detail": _check_detail(detail),
                }
            )
        if conn is not None:
            add_audit_events(conn, self.opened.store.dialect, rows)
            return
        with self.opened.store.transaction() as own:
            add_audit_events(own, self.opened.store.dialect, rows)

    def events(
        self,
        action: str | None = None,
        record_kind: str | None = None,
        record_id: int | None = None,
        actor: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The newest events first, filtered."""
        with self.opened.store.reading() as conn:
            rows = newest_audit_events(
                conn,
                action=action,
                record_kind=record_kind,
                record_id=record_id,
                actor=actor,
                limit=limit,
            )
            return [
                {
                    "id": r.id,
                    "at": r.at.isoformat() if r.at else None,
                    "actor": r.actor,
                    "action": r.action,
                    "record": f"{r.record_kind}:{r.record_id}" if r.record_kind else None,
                    "detail": json.loads(r.detail),
                }
                for r in rows
            ]

    def import_failed_logins(self, conn: Connection) -> int:
        """Copy the failed logins noted in the folder into the trail; returns how many.

        The caller removes the note (:meth:`forget_failed_logins`) once the transaction commits.
        """
        path = self.opened.folder / FAILED_LOGINS_FILE
        if not path.exists():
            return 0
        noted = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                item = json.loads(line)
                noted.append((str(item.get("user", ""))[:100], str(item.get("at", ""))))
            except ValueError:
                noted.append(("", ""))  # a damaged line still counts as an attempt
        events = [
            ("login_failed", None, None, {"user": user, "noted_at": at}) for user, at in noted
        ]
        self.record_many(events, conn=conn, actor="-")
        return len(events)

    def forget_failed_logins(self) -> None:
        """Remove the folder's note of failed logins (once they are in the trail)."""
        (self.opened.folder / FAILED_LOGINS_FILE).unlink(missing_ok=True)
