"""The plain-file mode: person records from a CSV file outside any archive.

Input columns: ``id`` and ``name`` (required), ``name_hangul``, ``birth``, ``sex``, ``origin``
(optional); other columns are ignored. The name may be in any script; the birth in any form
``sillok.dates.parse_date`` reads (and "1978년생"). Every value is checked before linkage
starts, and the first bad one is reported with its line, column and value.

Output columns: ``id``, ``cluster_id`` (the smallest id of the cluster), in input order.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sillok.dates import DateError
from sillok.errors import InvalidInput
from sillok.linkage.features import date_features, sex_feature

REQUIRED_COLUMNS: tuple[str, ...] = ("id", "name")
OPTIONAL_COLUMNS: tuple[str, ...] = ("name_hangul", "birth", "sex", "origin")
PERSON_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


class InputError(InvalidInput, ValueError):
    """A bad value in an input file; names the file, line, column and value."""

    def __init__(
        self, message: str, *, line: int | None = None, column: str | None = None,
        value: str | None = None,
    ) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.value = value


@dataclass(frozen=True)
class _Cell:
    path: Path
    line: int
    column: str
    value: str

    def error(self, problem: str) -> InputError:
        return InputError(
            f"{self.path}, line {self.line}, column {self.column!r}: {problem}",
            line=self.line,
            column=self.column,
            value=self.value,
        )


def read_persons(path: Path | str) -> pd.DataFrame:
    """Read and validate a person file; the frame has every column of ``PERSON_COLUMNS``.

    Raises:
        InputError: for a missing file or column, text that is not UTF-8, an empty or
            repeated id, an empty name, an unreadable birth date or an unknown sex.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}, line {line}: not UTF-8 text (byte {raw[exc.start]:#04x}); "
            "save the file as UTF-8",
            line=line,
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise InputError(f"{path}: the file is empty; expected a header line with id,name")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{path}, line 1: missing column(s) {', '.join(missing)}; "
            f"found {', '.join(header)}; expected id,name and optionally "
            f"{','.join(OPTIONAL_COLUMNS)}",
            line=1,
            column=missing[0],
        )
    reader.fieldnames = header
    rows: dict[str, list[str | None]] = {c: [] for c in PERSON_COLUMNS}
    first_line_of: dict[str, int] = {}
    for record in reader:
        if None in record:  # more cells than header columns
            raise InputError(
                f"{path}, line {reader.line_num}: more values than columns in the header",
                line=reader.line_num,
            )
        _check_row(path, reader.line_num, record, first_line_of)
        for column in PERSON_COLUMNS:
            value = (record.get(column) or "").strip()
            rows[column].append(value or None)
    return pd.DataFrame(rows, columns=list(PERSON_COLUMNS))


def _check_row(
    path: Path, line: int, record: Mapping[str, str | None], first_line_of: dict[str, int]
) -> None:
    def cell(column: str) -> _Cell:
        return _Cell(path, line, column, (record.get(column) or "").strip())

    ident = cell("id")
    if not ident.value:
        raise ident.error("empty id; every row needs one")
    if ident.value in first_line_of:
        raise ident.error(
            f"id {ident.value!r} repeats the id on line {first_line_of[ident.value]}"
        )
    first_line_of[ident.value] = line
    name = cell("name")
    if not name.value and not cell("name_hangul").value:
        raise name.error("empty name; give name or name_hangul")
    birth = cell("birth")
    if birth.value:
        try:
            date_features(birth.value)
        except DateError as exc:
            raise birth.error(str(exc)) from None
    sex = cell("sex")
    if sex.value:
        try:
            sex_feature(sex.value)
        except ValueError as exc:
            raise sex.error(str(exc)) from None


def write_clusters(path: Path | str, ids: list[str], clusters: Mapping[str, str]) -> None:
    """Write ``id,cluster_id`` for every id, in the given order."""
    path = Path(path)
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "cluster_id"])
            for ident in ids:
                writer.writerow([ident, clusters.get(ident, ident)])
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
