"""Importing a group's own spreadsheet through a column mapping, and keeping the mapping.

:class:`Spreadsheets` is what the command line and the web call: it suggests a mapping for a
file (:mod:`sillok.records.mapping_suggest`), imports a file through a mapping
(:mod:`sillok.records.mapping`) with the flat acts importer's validation and atomicity, and keeps
each mapping that imported a file in the archive's metadata, keyed by the file's layout (a hash
of its normalised column names), so that the next file with the same columns is imported the
same way without being asked. Every way in needs the ``import`` right.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sillok.errors import InvalidInput
from sillok.records.flatacts import COLUMNS
from sillok.records.ingest import Importer, ImportFailed, ImportReport, Progress
from sillok.records.mapping import (
    FILE_TYPES,
    BoundMapping,
    ColumnMapping,
    Row,
    is_flat_acts,
    layout_key,
    open_table,
)
from sillok.records.mapping_suggest import SAMPLE_ROWS, Suggestion, suggest
from sillok.security.policy import may
from sillok.store import meta
from sillok.store.rows import now

if TYPE_CHECKING:
    from sillok.vault import Vault

SAVED_PREFIX = "column_mapping:"
"""The start of the ``archive_meta`` keys of saved mappings (then the layout's hash)."""


@dataclass
class MappedImport:
    """What an import through a mapping did: the importer's report and how columns were read."""

    report: ImportReport
    used: str  # "flat" (no mapping needed), "given", or "saved" (the one kept for the layout)
    mapping: ColumnMapping | None = None
    saved: dict[str, Any] | None = None  # where a saved mapping came from
    kept: list[str] = field(default_factory=list)  # columns kept in the description
    ignored: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON, with how the file's columns were read."""
        return {
            **self.report.to_json(),
            "mapping": {
                "used": self.used,
                "columns": self.mapping.to_dict()["columns"] if self.mapping else None,
                "saved": self.saved,
                "kept_in_description": self.kept,
                "ignored": self.ignored,
            },
        }


class Spreadsheets:
    """A group's own spreadsheets: suggest a mapping, import through one, keep it."""

    def __init__(self, vault: Vault, importer: Importer) -> None:
        self.vault = vault
        self.importer = importer

    def _require(self) -> None:
        role = self.vault.role
        if not may(role, "import"):
            raise InvalidInput(f"the {role} role may not import records")

    # --- suggesting -----------------------------------------------------------------------

    def suggest(self, path: Path, name: str | None = None) -> Suggestion:
        """A mapping for a .csv or .xlsx file: the one saved for its layout if there is one,
        else one suggested from its header and first rows.

        Raises:
            InvalidInput: the role may not import, or the file cannot be read.
        """
        self._require()
        table = open_table(path, self.vault.settings.read_limits, name)
        try:
            first = [row for _, row in itertools.islice(table.rows, SAMPLE_ROWS)]
        finally:
            table.close()
        return self.suggest_rows(table.name, table.header, first)

    def suggest_rows(self, name: str, header: list[str], rows: Iterable[Row]) -> Suggestion:
        """As :meth:`suggest`, for a file already read (its header and first rows)."""
        self._require()
        rows = list(itertools.islice(rows, SAMPLE_ROWS))
        proposed = suggest(name, header, rows, self.vault.places, self.vault.organizations)
        found = self.saved_for(header)
        if found is None:
            return proposed
        mapping, saved = found
        notes = {c: f"as saved for this layout on {saved.get('saved_at', '?')}" for c in header}
        for column, target in mapping.columns.items():
            if target is None:
                notes[column] = "not mapped in the saved mapping"
        proposed.mapping, proposed.notes, proposed.saved = mapping, notes, saved
        proposed.confidence = {c: "saved" for c, t in mapping.columns.items() if t}
        return proposed

    # --- saved mappings -------------------------------------------------------------------

    def saved_for(self, header: Iterable[str]) -> tuple[ColumnMapping, dict[str, Any]] | None:
        """The mapping kept for files with these columns, and where it came from, or None."""
        self._require()
        with self.vault.store.reading() as conn:
            value = meta.meta_value(conn, SAVED_PREFIX + layout_key(header))
        if value is None:
            return None
        data = json.loads(value)
        mapping = ColumnMapping.from_dict(data["mapping"], "the saved mapping")
        return mapping, {k: data[k] for k in ("saved_at", "saved_by") if k in data}

    def save(self, header: Iterable[str], mapping: ColumnMapping) -> None:
        """Keep ``mapping`` for files with these columns (replacing one kept before). The
        file's name is not kept: a name like "김OO 증언.xlsx" would sit in the clear."""
        self._require()
        value = {
            "mapping": mapping.to_dict(),
            "saved_at": now().date().isoformat(),
            "saved_by": self.vault.settings.actor,
        }
        key = layout_key(header)
        with self.vault.store.transaction() as conn:
            meta.put_meta_value(conn, SAVED_PREFIX + key, json.dumps(value, ensure_ascii=False))
            # kept outside the log (archive_meta), so each change is an audit event (in it)
            self.vault.audit.record("mapping_saved", detail={"layout": key}, conn=conn)

    # --- importing ------------------------------------------------------------------------

    def run(
        self,
        path: Path,
        mapping: ColumnMapping | None = None,
        where: str = "the mapping",
        skip_invalid: bool = False,
        rejects: Path | None = None,
        progress: Progress | None = None,
    ) -> MappedImport:
        """Import a file: through ``mapping`` (named ``where`` in errors), else as the flat
        acts format if its columns are that format's, else through the mapping saved for its
        layout. A mapping given is kept for the layout once the import succeeds.

        Raises:
            InvalidInput: the role may not import; the file cannot be read; the mapping does
                not fit it (a column missing, columns left unmapped without ``unmapped: keep``);
                no mapping is given or saved for a file not in the flat acts format.
            ImportFailed: invalid rows (nothing written), naming the file's rows and columns.
        """
        self._require()
        path = Path(path)
        rejects = rejects or path.with_name(path.name + ".rejects.csv")
        if mapping is None:
            found = self._saved_layout(path)
            if found is None:  # the flat acts format, or its reader's own error
                return MappedImport(
                    self.importer.run(path, skip_invalid, rejects, progress), "flat"
                )
            (mapping, saved), used, where = found, "saved", "the saved mapping"
        else:
            used, saved = "given", None
        table = open_table(path, self.vault.settings.read_limits)
        try:
            bound = mapping.bind(table.header, table.name, where)
            report = self.import_rows(bound, table.rows, skip_invalid, rejects, progress)
        finally:
            table.close()
        if used == "given":
            self.save(table.header, mapping)
        return MappedImport(
            report, used, mapping, saved, bound.kept, mapping.ignored_of(table.header)
        )

    def _saved_layout(self, path: Path) -> tuple[ColumnMapping, dict[str, Any]] | None:
        """The mapping saved for a file's layout; None for a file in the flat acts format,
        or one the flat acts reader should refuse in its own words."""
        if path.suffix.lower() not in FILE_TYPES:
            return None
        try:
            table = open_table(path, self.vault.settings.read_limits)
        except InvalidInput:
            return None
        table.close()
        if is_flat_acts(table.header):
            return None
        found = self.saved_for(table.header)
        if found is None:
            columns = ", ".join(repr(h) for h in table.header if h not in COLUMNS)
            raise InvalidInput(
                f"{table.name}: unknown column(s) {columns} for the flat acts format, and no "
                "mapping is saved for a file with these columns. For a spreadsheet of your own, "
                "run `sillok import ARCHIVE FILE --suggest-map --output MAPPING.yml`, check the "
                f"mapping, then import with --map MAPPING.yml; the flat acts columns are: "
                f"{', '.join(COLUMNS)}"
            )
        return found

    def import_rows(
        self,
        bound: BoundMapping,
        rows: Iterator[tuple[int, Row]],
        skip_invalid: bool = False,
        rejects: Path | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import a file's rows through a bound mapping, in one transaction; errors name the
        file's rows and columns.

        Raises:
            ImportFailed: invalid rows (nothing written).
        """
        self._require()
        try:
            report = self.importer.run_rows(
                bound.rows(rows), bound.file, skip_invalid, rejects, progress
            )
        except ImportFailed as failed:
            failed.report.errors = bound.their_errors(failed.report.errors)
            raise ImportFailed(failed.report) from None
        report.errors = bound.their_errors(report.errors)
        return report


__all__ = ["SAVED_PREFIX", "MappedImport", "Spreadsheets"]
