"""The audit trail: who wrote, opened a sealed field, exported, logged in or failed to.

Each event is a row of ``audit_events``, and like every row it is appended to the Merkle log,
so the trail cannot be trimmed or edited without ``sillok verify`` noticing. An event's detail
is a small JSON object of counts, ids and names of things, never a protected value: callers
pass only numbers, booleans, ids and the names of columns, files and users.

Failed logins cannot be written when they happen (the wrong passphrase opens nothing), so they
are appended to ``failed-logins.jsonl`` in the archive folder and moved into the trail at the
next successful opening. The folder is readable without a passphrase, so the name typed is not
written in the clear: it is sealed (X25519 + AES-GCM) to the archive's *note key*, whose public
half is in ``archive.json`` and whose private half every role derives from the pseudonym key
(:func:`note_key`). Without a passphrase the file shows only when attempts were made.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection

from sillok.errors import ArchiveError, InvalidInput
from sillok.folder import ARCHIVE_FILE, read_info, write_json
from sillok.security.keycopy import _open_sealed, _seal_to
from sillok.security.keys import PSEUDONYMS, ArchiveKeys, derive_key
from sillok.security.policy import may
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

    @property
    def role(self) -> str: ...

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
    "coalition_members",
    "mapping_saved",
    "site_settings",
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


NOTE_KEY = "failed_login_note_key"
"""The member of ``archive.json`` that holds the note key's public half (base64)."""
_NOTE_AAD = b"sillok failed login note v1"


def note_key(keys: ArchiveKeys) -> X25519PrivateKey | None:
    """The private note key (every role's copy holds the pseudonym key it comes from)."""
    pseudonyms = keys.get(PSEUDONYMS)
    if pseudonyms is None:
        return None
    return X25519PrivateKey.from_private_bytes(derive_key(pseudonyms, "failed login notes"))


def publish_note_key(folder: Path, keys: ArchiveKeys) -> None:
    """Put the note key's public half in ``archive.json`` (where it is missing or stale)."""
    private = note_key(keys)
    if private is None:
        return
    public = base64.b64encode(
        private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode("ascii")
    info = read_info(folder)
    if info.get(NOTE_KEY) != public:
        # a read-only folder (a mounted backup): notes there keep no name
        with contextlib.suppress(OSError):
            write_json(folder / ARCHIVE_FILE, {**info, NOTE_KEY: public})


def _sealed_name(folder: Path, user: str) -> dict[str, str] | None:
    try:
        public = base64.b64decode(str(read_info(folder).get(NOTE_KEY, "")), validate=True)
    except (ArchiveError, OSError, binascii.Error):
        return None
    if len(public) != 32:
        return None
    return _seal_to(public, user.encode("utf-8"), _NOTE_AAD)


def note_failed_login(folder: Path, user: str | None) -> None:
    """Remember a failed login in the folder until the next successful opening: the time, and
    the name typed sealed to the note key (left out where the archive has no note key yet)."""
    entry: dict[str, Any] = {"at": now().isoformat()}
    sealed = _sealed_name(folder, user or "")
    if sealed is not None:
        entry["user_sealed"] = sealed
    line = json.dumps(entry) + "\n"
    try:
        with open(folder / FAILED_LOGINS_FILE, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        pass  # a read-only folder: the failure cannot be kept, and must not hide the real error


def _opened_name(sealed: Any, key: X25519PrivateKey | None) -> str:
    if key is None or not isinstance(sealed, dict):
        return ""
    try:
        return _open_sealed(key, sealed, _NOTE_AAD).decode("utf-8", errors="replace")
    except (ArchiveError, KeyError, ValueError, TypeError, binascii.Error):
        return ""


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
        before: int | None = None,
    ) -> list[dict[str, Any]]:
        """The newest events first, filtered; ``before`` an event id pages back from it.

        Raises:
            InvalidInput: the role may not read the audit trail (``audit.read``): who opened
                what is itself sensitive, so the library refuses, not only the command.
        """
        if not may(self.opened.role, "audit.read"):
            raise InvalidInput(f"the {self.opened.role} role may not read the audit trail")
        with self.opened.store.reading() as conn:
            rows = newest_audit_events(
                conn,
                action=action,
                record_kind=record_kind,
                record_id=record_id,
                actor=actor,
                limit=limit,
                before=before,
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

    def import_failed_logins(
        self, conn: Connection, key: X25519PrivateKey | None = None
    ) -> int:
        """Copy the failed logins noted in the folder into the trail; returns how many. The
        names typed are opened with the note key ``key`` (:func:`note_key`); a name that does
        not open (no key, another epoch, a damaged line) is recorded as empty.

        The caller removes the note (:meth:`forget_failed_logins`) once the transaction commits.
        """
        path = self.opened.folder / FAILED_LOGINS_FILE
        if not path.exists():
            return 0
        noted = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError(line)
                user = _opened_name(item.get("user_sealed"), key) or str(item.get("user", ""))
                noted.append((user[:100], str(item.get("at", ""))[:40]))
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
