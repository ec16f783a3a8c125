"""A group's own spreadsheet, its columns mapped onto the flat acts format.

Groups keep years of records in spreadsheets with headers of their own (``피해자 이름``,
``가해 기관``, ``Victim``, ``Perpetrator unit``). A :class:`ColumnMapping` says which of their
columns gives which flat acts field (docs/flat-acts-format.md), which values are fixed for every
row, and what becomes of the columns it does not map. It is written in YAML::

    columns:                  # their column: a flat acts field, "ignore", or nothing
      피해자 이름: victim_name
      발생 일자: act_date
      면담자: ignore           # left out on purpose
      비고:                    # not mapped: see unmapped
    fixed:                    # a value for every row, for a field no column gives
      sharing: internal
    unmapped: keep            # keep (in the description, as "header: value") or refuse

A mapping is applied to each row *before* the flat acts validation, and the errors of that
validation are put back in the file's terms: the row as numbered in the file, and THEIR
column's name. Suggesting a mapping is :mod:`sillok.records.mapping_suggest`'s; importing with
one, and keeping it for files of the same layout, is :class:`Spreadsheets`'.
"""

from __future__ import annotations

import csv
import hashlib
import json
import unicodedata
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from sillok.errors import InvalidInput
from sillok.messages import Message, Words
from sillok.records.flatacts import (
    COLUMNS,
    REQUIRED,
    RowError,
    _cell,
    _check_row_number,
    _clean,
    _lines,
    parse_row,
)
from sillok.records.workbook import printable, xlsx_rows
from sillok.settings import ReadLimits

IGNORE = "ignore"
"""The target of a column left out on purpose (named in the report, never imported)."""
UNMAPPED_CHOICES = ("keep", "refuse")
TOP_KEYS = ("columns", "fixed", "unmapped")
#: fields several columns may fill: their values are joined (description by lines)
MULTI_VALUED: dict[str, str] = {
    "description": "\n",
    "victim_aliases": "; ",
    "perpetrator_org": "; ",
    "perpetrator_name": "; ",
    "protected": "; ",
}
#: fields a fixed value may not give: it would name a person in every row, and the mapping is
#: kept in the archive's settings in the clear
NO_FIXED = (
    "informant",
    "victim_ref",
    "victim_name",
    "victim_name_hangul",
    "victim_aliases",
    "perpetrator_name",
)
MAX_MAPPING_BYTES = 256 * 1024
FILE_TYPES = (".csv", ".xlsx")

Row = dict[str, str]


def normalise(header: str) -> str:
    """A header as compared: NFC, case folded, without spaces or punctuation, so
    ``피해자 이름``, ``피해자이름`` and ``피해자_이름`` are one name, as are ``Victim Name``
    and ``victim-name``."""
    text = unicodedata.normalize("NFC", str(header)).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZSC")


def layout_key(header: Iterable[str]) -> str:
    """The key of a file's layout: a hash of its normalised column names, in any order."""
    names = sorted({normalise(h) for h in header})
    return hashlib.sha256("\x1f".join(names).encode("utf-8")).hexdigest()


def _quote(text: str) -> str:
    """A YAML scalar for any text (JSON's double-quoted strings are YAML)."""
    return json.dumps(text, ensure_ascii=False)


# --- their file -------------------------------------------------------------------------------


@dataclass
class Table:
    """A spreadsheet of a group's own: its name, header and rows (numbered as in the file)."""

    name: str
    header: list[str]
    rows: Iterator[tuple[int, Row]]
    source: Iterator[Any] | None = None  # what the rows read from, closed with them

    def close(self) -> None:
        """Stop reading (the file is closed; rows not yet read are not)."""
        if isinstance(self.rows, Generator):
            self.rows.close()
        if isinstance(self.source, Generator):
            self.source.close()


def open_table(path: Path, limits: ReadLimits | None = None, name: str | None = None) -> Table:
    """Open a CSV or XLSX file with any column names, read under the same ``limits`` as the flat
    acts readers (:class:`InvalidInput` naming the file, row and limit). Rows are read as the
    table's ``rows`` are iterated; blank rows are skipped.

    Raises:
        InvalidInput: not .csv or .xlsx, empty, a header cell blank or repeated (compared as
            :func:`normalise` compares them).
    """
    limits = limits or ReadLimits()
    path = Path(path)
    name = name or path.name
    suffix = path.suffix.lower()
    if suffix not in FILE_TYPES:
        raise InvalidInput(f"{name}: a mapping reads .csv and .xlsx files, not {suffix or 'this'}")
    if not path.is_file():
        raise InvalidInput(f"{name}: no such file")
    if suffix == ".csv":
        header, rows = _csv_table(path, name, limits)
        return Table(name, _check_their_header(header, name), rows)
    sheet = xlsx_rows(name, path, limits)
    table = Table(name, [], iter(()), sheet)
    try:
        header, table.rows = _xlsx_table(sheet, name, limits)
        table.header = _check_their_header(header, name)
    except BaseException:
        table.close()
        raise
    return table


def _check_their_header(header: list[str], name: str) -> list[str]:
    seen: dict[str, str] = {}
    for number, column in enumerate(header, start=1):
        if not column:
            raise InvalidInput(f"{name} row 1: column {number} has no header; give it a name")
        key = normalise(column)
        if key in seen:
            raise InvalidInput(
                f"{name} row 1: columns {seen[key]!r} and {column!r} have the same name"
            )
        seen[key] = column
    return header


def _csv_table(path: Path, name: str, limits: ReadLimits) -> tuple[list[str], Iterator]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(_lines(fh, name, limits))
        try:
            header = [_cell(f"{name} row 1", "header", h, limits) for h in next(reader)]
        except StopIteration:
            raise InvalidInput(f"{name}: the file is empty") from None
        except UnicodeDecodeError:
            raise InvalidInput(f"{name}: not UTF-8 text") from None
        except csv.Error as exc:
            raise InvalidInput(f"{name} row 1: {exc}") from None
    while header and not header[-1]:
        header.pop()

    def rows() -> Iterator[tuple[int, Row]]:
        # the file is opened again as the rows are read, so an unread table holds nothing open
        width = len(header)
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(_lines(fh, name, limits))
            try:
                next(reader)
                for values in reader:
                    where = f"{name} row {reader.line_num}"
                    _check_row_number(where, reader.line_num, limits)
                    if not any(v.strip() for v in values):
                        continue
                    if any(v.strip() for v in values[width:]):
                        raise InvalidInput(f"{where}: values beyond the last column")
                    values = values[:width] + [""] * (width - len(values))
                    yield (
                        reader.line_num,
                        {
                            h: _cell(where, h, v, limits)
                            for h, v in zip(header, values, strict=True)
                        },
                    )
            except UnicodeDecodeError:
                raise InvalidInput(f"{name} near row {reader.line_num}: not UTF-8 text") from None
            except csv.Error as exc:
                raise InvalidInput(f"{name} row {reader.line_num}: {exc}") from None

    return header, rows()


def _xlsx_table(
    sheet: Iterator[tuple[Any, ...]], name: str, limits: ReadLimits
) -> tuple[list[str], Iterator]:
    first = next(sheet, None)
    if first is None:
        raise InvalidInput(f"{name}: the sheet is empty")
    header = [_cell(f"{name} row 1", "header", h, limits) for h in first]
    while header and not header[-1]:
        header.pop()

    def rows() -> Iterator[tuple[int, Row]]:
        width = len(header)
        for number, values in enumerate(sheet, start=2):
            where = f"{name} row {number}"
            _check_row_number(where, number, limits)
            if any(_clean(v) for v in values[width:]):
                raise InvalidInput(f"{where}: values beyond the last column")
            cells = list(values[:width]) + [None] * (width - len(values))
            row = {h: _cell(where, h, v, limits) for h, v in zip(header, cells, strict=True)}
            if any(row.values()):
                yield number, row

    return header, rows()


def is_flat_acts(header: Iterable[str]) -> bool:
    """Whether a header is the flat acts format's own (imported as it is, without a mapping)."""
    return all(h in COLUMNS for h in header)


# --- the mapping ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMapping:
    """Their columns -> flat acts fields, fixed values, and what to do with the rest.

    ``columns`` maps each of their column names to a field of :data:`COLUMNS`, to
    :data:`IGNORE`, or to None (not mapped: ``unmapped`` says what becomes of it: ``keep`` in
    the description, ``refuse`` the file, or None, not chosen, which refuses it too).
    """

    columns: dict[str, str | None] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)
    unmapped: str | None = None

    @classmethod
    def from_yaml(cls, text: str, where: str) -> ColumnMapping:
        """A mapping from its YAML text (read with ``yaml.safe_load``); ``where`` names it in
        errors.

        Raises:
            InvalidInput: naming the key and value: not YAML, an unknown key, an unknown field,
                two columns for a field that takes one value, a bad fixed value.
        """
        if len(text.encode("utf-8")) > MAX_MAPPING_BYTES:
            raise InvalidInput(f"{where}: larger than {MAX_MAPPING_BYTES:,} bytes")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" (line {mark.line + 1})" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "unreadable"
            raise InvalidInput(f"{where}: not YAML{line}: {problem}") from None
        return cls.from_dict(data, where)

    @classmethod
    def from_file(cls, path: Path) -> ColumnMapping:
        """A mapping from a YAML file (see :meth:`from_yaml`)."""
        path = Path(path)
        if not path.is_file():
            raise InvalidInput(f"{path}: no such mapping file")
        if path.stat().st_size > MAX_MAPPING_BYTES:
            raise InvalidInput(f"{path.name}: larger than {MAX_MAPPING_BYTES:,} bytes")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(f"{path.name}: not UTF-8 text") from None
        return cls.from_yaml(text, path.name)

    @classmethod
    def from_dict(cls, data: Any, where: str = "mapping") -> ColumnMapping:
        """A mapping from plain data (the YAML's, or a saved mapping's); see :meth:`from_yaml`."""
        if not isinstance(data, dict):
            raise InvalidInput(f"{where}: expected a mapping with the keys {', '.join(TOP_KEYS)}")
        for key in data:
            if key not in TOP_KEYS:
                raise InvalidInput(
                    f"{where}: unknown key {printable(str(key), 80)!r} "
                    f"(the keys are {', '.join(TOP_KEYS)})"
                )
        columns = _columns_of(data.get("columns") or {}, where)
        fixed = _fixed_of(data.get("fixed") or {}, where)
        unmapped = data.get("unmapped")
        if unmapped is not None and unmapped not in UNMAPPED_CHOICES:
            raise InvalidInput(Message(
                "{where}: unmapped: {value!r} is not one of {choices}", where=where,
                value=printable(str(unmapped), 80), choices=Words(UNMAPPED_CHOICES),
            ))
        mapping = cls(columns, fixed, unmapped)
        mapping._check_targets(where)
        return mapping

    def _check_targets(self, where: str) -> None:
        given: dict[str, str] = {}
        for column, target in self.columns.items():
            if target is None or target == IGNORE:
                continue
            if target in given and target not in MULTI_VALUED:
                raise InvalidInput(Message(
                    "{where}: columns: {first!r} and {column!r} both map to {target}, which "
                    "takes one value", where=where, first=given[target], column=column,
                    target=target,
                ))
            given.setdefault(target, column)
        for target in self.fixed:
            if target in given:
                raise InvalidInput(Message(
                    "{where}: fixed: {target} is also given by the column {column!r}",
                    where=where, target=target, column=given[target],
                ))
        missing = [t for t in REQUIRED if t not in given and t not in self.fixed]
        if missing:
            raise InvalidInput(Message(
                "{where}: no column or fixed value gives {fields} (required): map one of the "
                "file's columns to it, or give it under fixed:",
                where=where, fields=", ".join(missing),
            ))

    def to_dict(self) -> dict[str, Any]:
        """The plain data form (what :meth:`from_dict` reads)."""
        data: dict[str, Any] = {"columns": dict(self.columns), "fixed": dict(self.fixed)}
        if self.unmapped is not None:
            data["unmapped"] = self.unmapped
        return data

    def to_yaml(self, notes: Mapping[str, str] | None = None, heading: Iterable[str] = ()) -> str:
        """The mapping as YAML, with a comment after each column from ``notes`` (column ->
        text) and ``heading`` as comment lines on top; :meth:`from_yaml` reads it back."""
        notes = notes or {}
        lines = [f"# {h}" for h in heading]
        lines.append("columns:  # their column: a flat acts field, ignore, or nothing (unmapped)")
        for column, target in self.columns.items():
            note = f"  # {notes[column]}" if notes.get(column) else ""
            lines.append(f"  {_quote(column)}: {target or ''}{note}".rstrip())
        if self.fixed:
            lines.append("fixed:  # a value for every row, for a field no column gives")
            lines.extend(f"  {t}: {_quote(v)}" for t, v in self.fixed.items())
        else:
            lines.append("fixed: {}  # for example  sharing: internal")
        unmapped = self.unmapped_of(self.columns)
        if self.unmapped is not None:
            lines.append(f"unmapped: {self.unmapped}")
        elif unmapped:
            lines.append(
                "# unmapped: keep    # choose: keep adds each unmapped column to the description "
                "as 'header: value' lines; refuse stops the import"
            )
        return "\n".join(lines) + "\n"

    # --- against a file -----------------------------------------------------------------

    def unmapped_of(self, header: Iterable[str]) -> list[str]:
        """The columns of a header this mapping leaves unmapped (neither a field nor ignore)."""
        given = {normalise(c): t for c, t in self.columns.items()}
        return [h for h in header if given.get(normalise(h)) is None]

    def ignored_of(self, header: Iterable[str]) -> list[str]:
        """The columns of a header this mapping ignores on purpose."""
        given = {normalise(c): t for c, t in self.columns.items()}
        return [h for h in header if given.get(normalise(h)) == IGNORE]

    def bind(self, header: list[str], file: str, where: str = "mapping") -> BoundMapping:
        """This mapping checked against a file's header, ready to apply to its rows.

        Raises:
            InvalidInput: a mapped column is not in the file (naming it and the file's
                columns), or columns are left unmapped and ``unmapped`` is not ``keep``.
        """
        by_name = {normalise(h): h for h in header}
        targets: dict[str, list[str]] = {}
        for column, target in self.columns.items():
            found = by_name.get(normalise(column))
            if found is None:
                raise InvalidInput(Message(
                    "{where}: columns: {column!r} is not a column of {file} (its columns are "
                    "{columns})", where=where, column=column, file=file,
                    columns=", ".join(repr(h) for h in header),
                ))
            if target is not None and target != IGNORE:
                targets.setdefault(target, []).append(found)
        unmapped = self.unmapped_of(header)
        if unmapped and self.unmapped != "keep":
            listed = ", ".join(repr(u) for u in unmapped)
            if self.unmapped == "refuse":
                raise InvalidInput(Message(
                    "{file}: {n} column(s) not mapped: {listed}; nothing was imported ({where} "
                    "says unmapped: refuse)", file=file, n=len(unmapped), listed=listed,
                    where=where,
                ))
            raise InvalidInput(Message(
                "{file}: {n} column(s) not mapped: {listed}. Map each to a field or to ignore "
                "in {where}, or choose what becomes of them: 'unmapped: keep' adds them to the "
                "description as 'header: value' lines, 'unmapped: refuse' stops the import; "
                "nothing was imported", file=file, n=len(unmapped), listed=listed, where=where,
            ))
        return BoundMapping(self, file, targets, unmapped)


@dataclass
class BoundMapping:
    """A mapping checked against one file's header: applies to its rows, and puts errors in
    the file's terms."""

    mapping: ColumnMapping
    file: str
    targets: dict[str, list[str]]  # field -> their columns, in the file's order
    kept: list[str]  # unmapped columns kept in the description

    def apply(self, number: int, row: Row) -> Row:
        """One of their rows as a flat acts row (every column present, "" where empty)."""
        flat = dict.fromkeys(COLUMNS, "")
        for target, columns in self.targets.items():
            values = [row.get(c, "") for c in columns]
            flat[target] = MULTI_VALUED.get(target, "").join(v for v in values if v)
        for target, value in self.mapping.fixed.items():
            flat[target] = value
        if self.kept:
            lines = [f"{c}: {row[c]}" for c in self.kept if row.get(c)]
            flat["description"] = "\n".join(v for v in (flat["description"], *lines) if v)
        return flat

    def rows(self, rows: Iterable[tuple[int, Row]]) -> Iterator[tuple[int, Row]]:
        """Their rows as flat acts rows, with their row numbers."""
        for number, row in rows:
            yield number, self.apply(number, row)

    def column_of(self, target: str) -> str:
        """How an error names a field: THEIR column (or columns), or the fixed value."""
        if target in self.targets:
            return " + ".join(self.targets[target])
        if target in self.mapping.fixed:
            return f"fixed: {target}"
        if target == "description" and self.kept:
            return " + ".join(self.kept)
        return target

    def their_errors(self, errors: Iterable[RowError]) -> list[RowError]:
        """Errors of the flat acts validation, naming their columns."""
        return [replace(e, column=self.column_of(e.column)) for e in errors]


def _columns_of(data: Any, where: str) -> dict[str, str | None]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: columns: expected their column names, each with a field")
    columns: dict[str, str | None] = {}
    seen: dict[str, str] = {}
    for raw_column, raw_target in data.items():
        column = _clean(raw_column)
        if not column:
            raise InvalidInput(f"{where}: columns: a column name is blank")
        key = normalise(column)
        if key in seen:
            raise InvalidInput(
                f"{where}: columns: {seen[key]!r} and {column!r} are the same column"
            )
        seen[key] = column
        target = None if raw_target is None else _clean(raw_target)
        if target and target not in COLUMNS and target != IGNORE:
            raise InvalidInput(
                f"{where}: columns: {column!r}: {printable(str(raw_target), 80)!r} is not a "
                f"flat acts field (the fields are {', '.join(COLUMNS)}, or {IGNORE})"
            )
        columns[column] = target or None
    return columns


def _fixed_of(data: Any, where: str) -> dict[str, str]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: fixed: expected fields, each with a value")
    fixed: dict[str, str] = {}
    for raw_target, raw_value in data.items():
        target = _clean(raw_target)
        if target not in COLUMNS:
            raise InvalidInput(
                f"{where}: fixed: {printable(target, 80)!r} is not a flat acts field (the "
                f"fields are {', '.join(COLUMNS)})"
            )
        if target in NO_FIXED:
            raise InvalidInput(Message(
                "{where}: fixed: {target}: a fixed value may not name a person (the mapping is "
                "kept in the archive in the clear); map a column to it instead",
                where=where, target=target,
            ))
        if isinstance(raw_value, dict | list) or raw_value is None or isinstance(raw_value, bool):
            raise InvalidInput(
                f"{where}: fixed: {target}: expected a text value, not {raw_value!r}"
            )
        value = _clean(raw_value)
        fixed[target] = value
    # a fixed value is checked as the import would check it, before any file is read
    probe = {"source_ref": "x", "act_type": "torture", "perpetrator_org": "x", **fixed}
    checked = parse_row(0, probe)
    if isinstance(checked, list):
        bad = [e for e in checked if e.column in fixed]
        if bad:
            first = bad[0]
            raise InvalidInput(f"{where}: fixed: {first.column}: {first.value!r}: {first.reason}")
    return fixed


__all__ = [
    "IGNORE",
    "MULTI_VALUED",
    "BoundMapping",
    "ColumnMapping",
    "Table",
    "is_flat_acts",
    "layout_key",
    "normalise",
    "open_table",
]
