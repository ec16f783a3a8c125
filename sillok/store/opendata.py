"""The open-data file: a plain SQLite database made for Datasette, written with sqlite-utils.

This module writes what it is given and nothing else: which records are public, and which of
their fields, is decided above it (:mod:`sillok.records.opendata`). It creates each table with
its declared columns and foreign keys (so Datasette shows labels instead of ids), inserts the
rows, indexes the declared columns with FTS5 (``unicode61`` with diacritics removed, so a
Latin spelling matches without its marks and Korean morphemes match whole), indexes every
foreign key and compacts the file.

sqlite-utils (Apache-2.0) is the ``publish`` extra: ``pip install 'sillok[publish]'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sillok.errors import SillokError

#: how FTS5 splits the search columns: Unicode word characters (Hangul syllables included),
#: case and diacritics folded; Korean text arrives already split into morphemes
TOKENIZE = "unicode61 remove_diacritics 2"


class PublishPartMissing(SillokError):
    """sqlite-utils (the ``publish`` extra) is not installed."""


@dataclass(frozen=True)
class OpenTable:
    """One table of the open-data file.

    Attributes:
        name: the table's name.
        columns: column -> Python type (``str``, ``int``, ``float``), in order.
        pk: the primary key column (or columns).
        foreign_keys: (column, other table, other column); the other table comes first.
        label: the column Datasette shows for a row that another row points to.
        search: the columns indexed for full-text search (none: no index).
        description: what a row is, for the metadata file.
    """

    name: str
    columns: Mapping[str, type]
    pk: str | tuple[str, ...] = "id"
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    label: str | None = None
    search: tuple[str, ...] = ()
    description: str = ""


def _sqlite_utils() -> Any:
    try:
        import sqlite_utils
    except ImportError:
        raise PublishPartMissing(
            "writing open data needs sqlite-utils: pip install 'sillok[publish]'"
        ) from None
    return sqlite_utils


def write_tables(
    path: Path, tables: Sequence[tuple[OpenTable, Iterable[Mapping[str, Any]]]]
) -> dict[str, int]:
    """Write ``tables`` (each with its rows, consumed in order) into a new SQLite file.

    Returns:
        table name -> rows written.
    """
    sqlite_utils = _sqlite_utils()
    if path.exists():
        raise SillokError(f"{path}: the open-data file must be new")
    db = sqlite_utils.Database(path)
    counts: dict[str, int] = {}
    try:
        for table, rows in tables:
            target = db.table(table.name)
            target.create(
                dict(table.columns), pk=table.pk, foreign_keys=list(table.foreign_keys)
            )
            written = 0

            def counted(rows: Iterable[Mapping[str, Any]] = rows) -> Iterable[Mapping[str, Any]]:
                nonlocal written
                for row in rows:
                    written += 1
                    yield row

            target.insert_all(counted(), batch_size=1000)
            counts[table.name] = written
            if table.search:
                target.enable_fts(list(table.search), fts_version="FTS5", tokenize=TOKENIZE)
        db.index_foreign_keys()
        db.vacuum()
    finally:
        db.close()
    return counts
