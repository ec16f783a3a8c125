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

from sillok.ledger.entries import (
    SALTED_GENERAL,
    SHAPES,
    WITHHELD_PREFIX,
    content_commitment,
    is_withheld,
)
from sillok.ledger.log import ArchiveLog
from sillok.security.seal import is_sealed


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

    def withheld(
        self, table: Table, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> list[str]:
        """The columns ``after`` holds sealed and ``before`` in the clear (a record made
        confidential): their earlier values must leave the history."""
        shape = SHAPES.get(table.name)
        sealed = {
            column
            for column in (shape.redactable if shape is not None else ())
            if is_sealed(after.get(column))
            and before.get(column) is not None
            and not is_sealed(before.get(column))
        }
        # a protected person's ref that changed (protect replaces a ref that may name them):
        # the earlier refs leave the history too
        renamed = {
            column
            for column in SALTED_GENERAL.get(table.name, ())
            if after.get("protected") and before.get(column) != after.get(column)
        }
        return sorted(sealed | renamed)

    def stand_in(
        self, conn: Connection, table: Table, kept: Mapping[str, Any], column: str
    ) -> str | None:
        """What a kept version holds in place of a withheld value: its commitment in the log
        (the version still verifies). None when there is nothing to withhold, or when the
        version was logged with the column in the clear (:data:`LEGACY_SHAPES`): then no
        commitment of the value alone exists, and the value stays."""
        value = kept.get(column)
        if value is None or is_sealed(value) or is_withheld(value):
            return None
        shape = SHAPES[table.name]
        if column not in shape.redactable:  # committed in the clear: nothing can stand in
            return None
        version = int(kept["version"]) if shape.versioned else None
        committed = self.log.committed(shape, kept, version)
        if column in SALTED_GENERAL.get(table.name, ()):
            logged = [
                e.content
                for e in self.log.entries_of(conn, table.name, shape.key_of(kept)[0])
                if e.version == version and e.op != "delete"
            ]
            if content_commitment(committed) not in logged:
                return None
        return WITHHELD_PREFIX + str(committed[column]["c"])

    def unchanged(
        self, conn: Connection, table: Table, current: Any, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Drop changes to sealed values that open to the same plaintext."""
        if self.sealer is None:
            return changes
        return self.sealer.real_changes(conn, table, current, changes)


__all__ = ["ArchiveHooks", "Sealing"]
