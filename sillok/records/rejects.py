"""The file an import writes its rejected rows to (with ``skip_invalid``)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

from sillok.records.flatacts import COLUMNS


class Rejects:
    """The rejected rows' file, written as rows come (opened at the first one)."""

    FIELDS = ("row", "errors", *COLUMNS)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh: IO[str] | None = None
        self._writer: csv.DictWriter[str] | None = None

    def write(self, row: dict[str, str]) -> None:
        """Append one rejected row."""
        if self._writer is None:
            self._fh = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._writer = csv.DictWriter(self._fh, fieldnames=self.FIELDS, lineterminator="\n")
            self._writer.writeheader()
        self._writer.writerow({k: row.get(k, "") for k in self.FIELDS})
        self.count += 1

    def __enter__(self) -> Rejects:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()


__all__ = ["Rejects"]
