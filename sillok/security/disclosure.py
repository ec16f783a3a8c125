"""Disclosure: a row as the user who opened the archive may see it.

The policy (:mod:`sillok.security.policy`) redacts what the role may not read; a sealed value
that survives is shown as :data:`~sillok.security.policy.PROTECTED` unless the caller asks to
reveal it and the role holds the seal key, and then the opening is audited.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy import Connection

from sillok.security.audit import AuditTrail
from sillok.security.policy import PROTECTED, may_open_sealed, redact_row
from sillok.security.seal import Sealer, is_sealed


class Opened(Protocol):
    """What disclosure needs of an opened archive (a :class:`sillok.vault.Vault`)."""

    @property
    def role(self) -> str: ...

    @property
    def sealer(self) -> Sealer: ...

    @property
    def audit(self) -> AuditTrail: ...

    def key_for(self, purpose: str) -> bytes: ...


class Disclosure:
    """``archive.disclosure``: a row as the current user may see it."""

    def __init__(self, opened: Opened) -> None:
        self.opened = opened

    def pseudonym(self, table: str, row_id: int) -> str:
        """A stable stand-in for a record the role may not identify (``person-3f9a1c2e``)."""
        key = self.opened.key_for("pseudonyms")
        digest = hmac.new(key, f"{table}:{int(row_id)}".encode(), hashlib.sha256).hexdigest()
        return f"{table.rstrip('s')}-{digest[:8]}"

    def row(
        self,
        conn: Connection,
        table: str,
        row: Mapping[str, Any],
        sharing: str | None = None,
        reveal: bool = False,
    ) -> dict[str, Any]:
        """Policy redaction, then sealed values protected or (revealed and audited) opened."""
        data = redact_row(self.opened.role, table, row, sharing, self.pseudonym)
        for column, value in data.items():
            if is_sealed(value):
                data[column] = self.open(conn, table, column, int(row["id"]), value, reveal)
        return data

    def open(
        self, conn: Connection, table: str, column: str, row_id: int, value: str, reveal: bool
    ) -> str:
        """A sealed value for display: opened (and audited) when asked and allowed."""
        if not is_sealed(value):
            return value
        sealer = self.opened.sealer
        if not reveal or not may_open_sealed(self.opened.role) or not sealer.can_open:
            return PROTECTED
        plain = sealer.open_value(conn, table, column, row_id, value)
        self.opened.audit.record(
            "open_sealed",
            None,
            None,
            {"table": table, "column": column, "row": int(row_id)},
        )
        return plain
