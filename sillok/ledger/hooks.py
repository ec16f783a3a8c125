"""The archive's write hooks: every row the store writes is sealed before and logged after.

:mod:`sillok.store.rows` calls the hooks a connection carries (its ``sillok_hooks`` execution
option) around every insert, update and delete, in the write's transaction. The archive's
hooks seal the values the sealing rules name (through a :class:`Sealing`, which
:class:`sillok.security.seal.Sealer` is), append the rows to the Merkle log
(:class:`~sillok.ledger.log.ArchiveLog`), and note the write in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, Table

from sillok.ledger.entries import SHAPES
from sillok.ledger.log import ArchiveLog


class Sealing(Protocol):
    """What the hooks need of :class:`sillok.security.seal.Sealer`."""

    def seal_rows(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Seal in place."""

    def real_changes(
        self, conn: Connection, table: Table, current: Any, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Changes minus sealed values that did not change."""


class ArchiveHooks:
    """The archive's :class:`~sillok.store.rows.WriteHooks`: seal, then log, every row."""

    def __init__(
        self,
        log: ArchiveLog,
        sealer: Sealing | None = None,
        on_write: Callable[[Connection, str, str, list[int]], None] | None = None,
    ) -> None:
        self.log = log
        self.sealer = sealer
        self.on_write = on_write

    def prepare(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Seal the values the sealing rules name."""
        if self.sealer is not None:
            self.sealer.seal_rows(conn, table, rows)

    def written(
        self, conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], op: str
    ) -> None:
        """Append the rows to the log, and note the write in the audit trail."""
        self.log.record_rows(conn, table, rows, op)
        if self.on_write is not None and table.name != "audit_events" and rows:
            key = SHAPES[table.name].key[0] if table.name in SHAPES else None
            ids = [int(r[key]) for r in rows] if key else []
            self.on_write(conn, table.name, op, ids)

    def unchanged(
        self, conn: Connection, table: Table, current: Any, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Drop changes to sealed values that open to the same plaintext."""
        if self.sealer is None:
            return changes
        return self.sealer.real_changes(conn, table, current, changes)


__all__ = ["ArchiveHooks", "Sealing"]
