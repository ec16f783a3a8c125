"""The flat acts format: one row per act, as CSV, JSON lines or XLSX.

Reading yields ``(row_number, {column: value})`` with every value a stripped NFC string ("" for
empty), whatever the file's encoding quirks (UTF-8 BOM, CRLF, Hangul in NFD). Row numbers are
what a person sees: the header is row 1 in CSV and XLSX, and the first object is row 1 in JSON
lines. The columns are documented in docs/flat-acts-format.md.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from sillok.errors import InvalidInput

COLUMNS: tuple[str, ...] = (
    "source_ref",
    "source_type",
    "source_date",
    "informant",
    "event_ref",
    "event_title",
    "act_type",
    "act_date",
    "place",
    "facility",
    "victim_ref",
    "victim_name",
    "victim_name_hangul",
    "victim_sex",
    "victim_birth",
    "victim_origin",
    "perpetrator_org",
    "perpetrator_name",
    "perpetrator_role",
    "description",
    "sharing",
)
REQUIRED: tuple[str, ...] = ("source_ref", "act_type")
FORMATS = ("csv", "jsonl", "xlsx")

Row = dict[str, str]


def format_of(path: Path) -> str:
    """The format of a file, from its suffix."""
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "xlsx": "xlsx"}
    if suffix not in fmt:
        raise InvalidInput(
            f"{path.name}: unknown file type {path.suffix!r} (expected .csv, .jsonl or .xlsx)"
        )
    return fmt[suffix]


def _clean(value: Any) -> str:
    if value is None:
        return ""
    return _clean_text(value if isinstance(value, str) else str(value))


def _clean_text(text: str) -> str:
    text = text.strip()
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def check_header(header: Iterable[Any], where: str) -> list[str]:
    """The cleaned column names; :class:`InvalidInput` naming unknown or missing columns."""
    names = [_clean(h) for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"{where}: unknown column(s) {', '.join(repr(u) for u in unknown)}; "
            f"the columns are: {', '.join(COLUMNS)}"
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInput(f"{where}: column(s) given twice: {', '.join(dupes)}")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InvalidInput(f"{where}: required column(s) missing: {', '.join(missing)}")
    return names


def read_rows(path: Path) -> Iterator[tuple[int, Row]]:
    """Stream the rows of a flat acts file; bad structure raises :class:`InvalidInput`."""
    fmt = format_of(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    if fmt == "csv":
        yield from _read_csv(path)
    elif fmt == "jsonl":
        yield from _read_jsonl(path)
    else:
        yield from _read_xlsx(path)


def _read_csv(path: Path) -> Iterator[tuple[int, Row]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = check_header(next(reader), f"{path.name} row 1")
        except StopIteration:
            raise InvalidInput(f"{path.name}: the file is empty") from None
        except UnicodeDecodeError:
            raise InvalidInput(f"{path.name}: not UTF-8 text") from None
        width = len(header)
        try:
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                if len(values) != width:
                    raise InvalidInput(
                        f"{path.name} row {reader.line_num}: {len(values)} values "
                        f"for {width} columns"
                    )
                yield reader.line_num, dict(zip(header, map(_clean_text, values), strict=True))
        except UnicodeDecodeError:
            raise InvalidInput(f"{path.name} near row {reader.line_num}: not UTF-8 text") from None
        except csv.Error as exc:
            raise InvalidInput(f"{path.name} row {reader.line_num}: {exc}") from None


def _read_jsonl(path: Path) -> Iterator[tuple[int, Row]]:
    try:
        yield from _jsonl_rows(path)
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name}: not UTF-8 text") from None


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Row]]:
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path.name} row {number}: not JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise InvalidInput(f"{path.name} row {number}: expected a JSON object")
            names = check_header(obj.keys(), f"{path.name} row {number}")
            row = {n: _clean(obj[n]) for n in names}
            for name, value in obj.items():
                if isinstance(value, dict | list):
                    raise InvalidInput(
                        f"{path.name} row {number}, column {name}: expected text, not {value!r}"
                    )
            yield number, row


def _read_xlsx(path: Path) -> Iterator[tuple[int, Row]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InvalidInput(f"{path.name}: not a readable XLSX file ({exc})") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        try:
            raw_header = next(rows)
        except StopIteration:
            raise InvalidInput(f"{path.name}: the sheet is empty") from None
        while raw_header and raw_header[-1] is None:
            raw_header = raw_header[:-1]
        header = check_header(raw_header, f"{path.name} row 1")
        for number, values in enumerate(rows, start=2):
            cells = list(values[: len(header)]) + [None] * (len(header) - len(values))
            if any(_clean(v) for v in values[len(header) :]):
                raise InvalidInput(f"{path.name} row {number}: values beyond the last column")
            if not any(_clean(v) for v in cells):
                continue
            yield number, {h: _clean(v) for h, v in zip(header, cells, strict=True)}
    finally:
        book.close()


def write_rows(out: IO[str], rows: Iterable[Mapping[str, str]], fmt: str) -> int:
    """Write rows in the flat acts format (csv or jsonl); returns how many."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
            count += 1
    elif fmt == "jsonl":
        for row in rows:
            out.write(json.dumps({c: row.get(c, "") for c in COLUMNS}, ensure_ascii=False))
            out.write("\n")
            count += 1
    else:
        raise InvalidInput(f"unknown export format {fmt!r} (expected csv or jsonl)")
    return count
