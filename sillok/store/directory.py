"""What the directories of places and organizations read: their rows.

New entries are records (``place``, ``organization``), written with
:func:`sillok.store.rows.insert_records` like any other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Table, select


def directory_rows(conn: Connection, table: Table) -> list[Row[Any]]:
    """Every row of a directory's table (``places`` or ``organizations``)."""
    return list(conn.execute(select(table)).all())
