"""What an import of flat acts did, or would have done (:class:`ImportReport`), and the error
that stops one with its report (:class:`ImportFailed`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sillok.errors import InvalidInput
from sillok.records.flatacts import RowError
from sillok.store.rows import UpsertResult


@dataclass
class ImportReport:
    """What an import did, or would have done."""

    file: str
    rows: int = 0
    valid_rows: int = 0
    invalid_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unverified: list[tuple[str, str]] = field(default_factory=list)
    committed: bool = False
    rejects_file: str | None = None
    #: records whose earlier text left their history (made confidential)
    withheld: int = 0

    def count(self, kind: str, result: UpsertResult) -> None:
        """Add an upsert's numbers."""
        self.created[kind] = self.created.get(kind, 0) + len(result.created)
        self.updated[kind] = self.updated.get(kind, 0) + len(result.updated)
        self.withheld += len(result.withheld)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "file": self.file,
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "invalid_rows": self.invalid_rows,
            "committed": self.committed,
            "created": self.created,
            "updated": self.updated,
            "unverified": [{"kind": k, "name": n} for k, n in self.unverified],
            "errors": [e.__dict__ for e in self.errors],
            "rejects_file": self.rejects_file,
        }


class ImportFailed(InvalidInput):
    """Invalid rows stopped an import; nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        shown = "\n".join(f"  {e}" for e in report.errors[:50])
        more = report.invalid_rows - min(len(report.errors), 50)
        tail = f"\n  ... and {more} more invalid rows" if more > 0 else ""
        super().__init__(
            f"{report.file}: {report.invalid_rows} of {report.rows} rows are invalid; "
            f"nothing was imported (use --skip-invalid to import the valid rows):\n{shown}{tail}"
        )
        self.report = report


__all__ = ["ImportFailed", "ImportReport"]
