"""The flat acts format: one row per act, as CSV, JSON lines or XLSX.

This module holds the format itself: its columns, the values its columns take (source types,
sharing levels, sexes, perpetrator roles, in English and Korean spellings), how a row is
validated (:func:`parse_row`), and reading and writing files. Writing rows into an archive is
:mod:`sillok.records.ingest`'s.

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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from sillok import vocab
from sillok.dates import DateError, UncertainDate, parse_date
from sillok.errors import InvalidInput
from sillok.messages import Message, Words
from sillok.records.workbook import printable, xlsx_rows
from sillok.settings import ReadLimits

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
    "victim_aliases",
    "victim_sex",
    "victim_birth",
    "victim_origin",
    "perpetrator_org",
    "perpetrator_name",
    "perpetrator_role",
    "description",
    "sharing",
    "protected",
)
REQUIRED: tuple[str, ...] = ("source_ref", "act_type")
FORMATS = ("csv", "jsonl", "xlsx")

Row = dict[str, str]

SOURCE_TYPES: dict[str, tuple[str, ...]] = {
    "testimony": ("testimony", "증언", "탈북민 증언"),
    "interview": ("interview", "면담", "인터뷰"),
    "document": ("document", "문서", "공문서"),
    "media_report": ("media report", "media", "언론", "언론 보도", "보도"),
    "ngo_report": ("ngo report", "ngo", "ngo 보고서", "보고서"),
    "other": ("other", "기타"),
}
SHARING: dict[str, tuple[str, ...]] = {
    "confidential": ("confidential", "기밀", "비공개"),
    "internal": ("internal", "내부", "내부용"),
    "public": ("public", "공개"),
}
SEXES: dict[str, tuple[str, ...]] = {
    "male": ("male", "m", "man", "남", "남성", "남자"),
    "female": ("female", "f", "woman", "여", "여성", "여자"),
    "unknown": ("unknown", "u", "?", "미상", "모름"),
}
#: what the perpetrators named in a row did (one role for the row's agencies and persons):
#: the modes of liability that documentation of international crimes distinguishes
PERPETRATOR_ROLES: dict[str, tuple[str, ...]] = {
    "perpetrator": ("perpetrator", "가해자", "가해"),
    "direct": ("direct perpetrator", "direct", "직접 가해자", "직접 가해", "실행자"),
    "ordered": ("ordered", "ordered it", "instigator", "지시", "명령", "지시자", "명령자"),
    "superior": ("superior", "commander", "superior responsibility", "상급자", "지휘관",
                 "상급자 책임"),
    "accomplice": ("accomplice", "aided", "abetted", "방조", "방조자", "공범"),
}


def _choices(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {alias.lower(): key for key, aliases in table.items() for alias in (key, *aliases)}


_SOURCE_TYPE_OF = _choices(SOURCE_TYPES)
_SHARING_OF = _choices(SHARING)
_SEX_OF = _choices(SEXES)
_ROLE_OF = _choices(PERPETRATOR_ROLES)


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


def read_rows(path: Path, limits: ReadLimits | None = None) -> Iterator[tuple[int, Row]]:
    """Stream the rows of a flat acts file.

    Raises:
        InvalidInput: the file is damaged, hostile, or past one of ``limits`` (default:
            :class:`~sillok.settings.ReadLimits`), checked while reading; the message names the
            file, and the row, column and limit where there is one.
    """
    limits = limits or ReadLimits()
    fmt = format_of(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    if fmt == "csv":
        yield from _read_csv(path, limits)
    elif fmt == "jsonl":
        yield from _read_jsonl(path, limits)
    else:
        yield from _read_xlsx(path, limits)


def _cell(where: str, column: str, value: Any, limits: ReadLimits) -> str:
    """One value as stripped NFC text, refused if too long or not Unicode text."""
    text = _clean(value)
    if len(text) > limits.cell_chars:
        raise InvalidInput(
            f"{where}, column {column}: {len(text):,} characters, more than "
            f"{limits.cell_chars:,} (the limit ReadLimits.cell_chars)"
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(
                f"{where}, column {column}: a lone surrogate ({printable(text, 40)!r}) is not "
                "Unicode text"
            ) from None
    return text


def _check_row_number(where: str, number: int, limits: ReadLimits) -> None:
    if number > limits.rows:
        raise InvalidInput(
            f"{where}: past the most rows a file may have ({limits.rows:,}, the limit "
            "ReadLimits.rows)"
        )


def _lines(fh: IO[str], name: str, limits: ReadLimits) -> Iterator[str]:
    """The lines of a text file, refused at the first longer than the limit."""
    number = 0
    while line := fh.readline(limits.line_chars + 1):
        number += 1
        if len(line) > limits.line_chars:
            raise InvalidInput(
                f"{name} line {number}: longer than {limits.line_chars:,} characters (the "
                "limit ReadLimits.line_chars)"
            )
        yield line


def _read_csv(path: Path, limits: ReadLimits) -> Iterator[tuple[int, Row]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(_lines(fh, path.name, limits))
        try:
            header = check_header(next(reader), f"{path.name} row 1")
        except StopIteration:
            raise InvalidInput(f"{path.name}: the file is empty") from None
        except UnicodeDecodeError:
            raise InvalidInput(f"{path.name}: not UTF-8 text") from None
        except csv.Error as exc:
            raise InvalidInput(f"{path.name} row 1: {exc}") from None
        width = len(header)
        try:
            for values in reader:
                where = f"{path.name} row {reader.line_num}"
                _check_row_number(where, reader.line_num, limits)
                if not any(v.strip() for v in values):
                    continue
                if len(values) != width:
                    raise InvalidInput(f"{where}: {len(values)} values for {width} columns")
                yield reader.line_num, {
                    h: _cell(where, h, v, limits) for h, v in zip(header, values, strict=True)
                }
        except UnicodeDecodeError:
            raise InvalidInput(f"{path.name} near row {reader.line_num}: not UTF-8 text") from None
        except csv.Error as exc:
            raise InvalidInput(f"{path.name} row {reader.line_num}: {exc}") from None


def _read_jsonl(path: Path, limits: ReadLimits) -> Iterator[tuple[int, Row]]:
    try:
        yield from _jsonl_rows(path, limits)
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name}: not UTF-8 text") from None


def _jsonl_rows(path: Path, limits: ReadLimits) -> Iterator[tuple[int, Row]]:
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(_lines(fh, path.name, limits), start=1):
            where = f"{path.name} row {number}"
            _check_row_number(where, number, limits)
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except RecursionError:
                # a row is one object of text values: nesting this deep is never a row
                raise InvalidInput(f"{where}: not JSON (nested too deeply)") from None
            except ValueError as exc:  # not JSON, or an integer past Python's digit limit
                raise InvalidInput(f"{where}: not JSON ({printable(str(exc))})") from None
            if not isinstance(obj, dict):
                raise InvalidInput(f"{where}: expected a JSON object")
            names = check_header(obj.keys(), where)
            for name, value in obj.items():
                if isinstance(value, dict | list):
                    raise InvalidInput(
                        f"{where}, column {name}: expected text, not a JSON "
                        f"{'object' if isinstance(value, dict) else 'array'}"
                    )
            # the names are the keys cleaned ("source_ref " is source_ref), in the keys' order
            yield number, {
                n: _cell(where, n, v, limits) for n, v in zip(names, obj.values(), strict=True)
            }


def _read_xlsx(path: Path, limits: ReadLimits) -> Iterator[tuple[int, Row]]:
    rows = xlsx_rows(path.name, path, limits)
    raw_header = next(rows, None)
    if raw_header is None:
        raise InvalidInput(f"{path.name}: the sheet is empty")
    while raw_header and raw_header[-1] is None:
        raw_header = raw_header[:-1]
    header = check_header(raw_header, f"{path.name} row 1")
    for number, values in enumerate(rows, start=2):
        where = f"{path.name} row {number}"
        _check_row_number(where, number, limits)
        cells = list(values[: len(header)]) + [None] * (len(header) - len(values))
        if any(_clean(v) for v in values[len(header) :]):
            raise InvalidInput(f"{where}: values beyond the last column")
        row = {h: _cell(where, h, v, limits) for h, v in zip(header, cells, strict=True)}
        if any(row.values()):
            yield number, row


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


# --- validation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """Why one row was rejected."""

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason} ({self.value!r})"


@dataclass
class ParsedRow:
    """One valid row, with its values resolved."""

    number: int
    raw: dict[str, str]
    source_type: str
    source_date: UncertainDate | None
    act_type: str
    act_date: UncertainDate | None
    victim_birth: UncertainDate | None
    victim_sex: str | None
    sharing: str
    facility_type: str | None
    perpetrator_orgs: list[str]
    perpetrator_names: list[str]
    perpetrator_role: str


def _split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


# An import meets the same dates many times over: parsing is memoised, for a bounded number
# of distinct values.
_parse_date = lru_cache(maxsize=8192)(parse_date)


def parse_row(number: int, raw: dict[str, str]) -> ParsedRow | list[RowError]:
    """Validate one row: the parsed row, or every error in it.

    Vocabulary values (act types, facility types) are resolved in any spelling the shipped
    vocabularies know; the other columns take the values of :data:`SOURCE_TYPES`,
    :data:`SHARING`, :data:`SEXES` and :data:`PERPETRATOR_ROLES`.
    """
    errors: list[RowError] = []

    def bad(column: str, reason: str) -> None:
        errors.append(RowError(number, column, raw.get(column, ""), reason))

    def date(column: str) -> UncertainDate | None:
        value = raw.get(column, "")
        if not value:
            return None
        try:
            return _parse_date(value)
        except DateError as exc:
            bad(column, exc.args[0])
            return None

    def choice(column: str, table: dict[str, str], default: str | None) -> str | None:
        value = raw.get(column, "")
        if not value:
            return default
        found = table.get(value.lower())
        if found is None:
            bad(column, Message("not one of {choices}", choices=Words(sorted(set(table.values())))))
        return found

    for column, value in raw.items():
        if not value.isascii() and printable(value, len(value)) != value:
            errors.append(
                RowError(number, column, printable(value, 80), Message("not Unicode text"))
            )
    if not raw.get("source_ref"):
        bad("source_ref", Message("a source_ref is required"))
    act_type = None
    if not raw.get("act_type"):
        bad("act_type", Message("an act_type is required"))
    else:
        term = vocab.load("act_types").lookup(raw["act_type"])
        if term is None:
            bad("act_type", Message("unknown act type (see `sillok vocab list act_types`)"))
        else:
            act_type = term.key
    parsed_dates = (date("source_date"), date("act_date"), date("victim_birth"))
    source_type = choice("source_type", _SOURCE_TYPE_OF, "testimony")
    sharing = choice("sharing", _SHARING_OF, "internal")
    sex = choice("victim_sex", _SEX_OF, None)
    role = choice("perpetrator_role", _ROLE_OF, "perpetrator")
    if raw.get("perpetrator_role") and not (
        raw.get("perpetrator_org") or raw.get("perpetrator_name")
    ):
        bad("perpetrator_role", Message("a role needs a perpetrator_org or perpetrator_name"))
    if errors or act_type is None or source_type is None or sharing is None or role is None:
        return errors
    facility_type = None
    if raw.get("facility"):
        ftype = vocab.load("facility_types").lookup(raw["facility"])
        facility_type = ftype.key if ftype is not None else None
    return ParsedRow(
        number=number,
        raw=raw,
        source_type=source_type,
        source_date=parsed_dates[0],
        act_type=act_type,
        act_date=parsed_dates[1],
        victim_birth=parsed_dates[2],
        victim_sex=sex,
        sharing=sharing,
        facility_type=facility_type,
        perpetrator_orgs=_split_list(raw.get("perpetrator_org", "")),
        perpetrator_names=_split_list(raw.get("perpetrator_name", "")),
        perpetrator_role=role,
    )
