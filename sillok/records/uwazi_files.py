"""Uwazi zips: exporting an archive to one, importing one into an archive.

An export is a zip Uwazi's CSV import takes: ``import.csv`` (the acts the exporting role may
see, redacted for it exactly as the flat acts export redacts: the rows *are* that export's
rows, :meth:`sillok.records.export.Exports.rows`), the select properties' thesauri as Uwazi
thesaurus CSVs under ``thesauri/``, and ``template.json``, the template to create first. It is
audited as an export.

An import reads such a zip, or one a group made in Uwazi with the same template, and turns
each row into a flat acts row (:func:`sillok.records.uwazi.flat_row`), which the flat acts
importer validates and writes in one transaction (:meth:`sillok.records.ingest.Importer.run_rows`):
the same checks, the same all-or-nothing, the same handling of withheld values. The zip is read
in memory, never unpacked, after every member's name is checked (no absolute path, no ``..``,
no link, no encrypted member) and while the bytes it inflates to are counted against
:class:`~sillok.settings.ReadLimits` (``xlsx_inflated_bytes``): a zip bomb is refused before it
has cost more than the limit.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sillok.errors import InvalidInput
from sillok.records import uwazi
from sillok.records.flatacts import RowError
from sillok.records.ingest import ImportFailed, ImportReport
from sillok.records.workbook import printable
from sillok.security.policy import may
from sillok.settings import ReadLimits

if TYPE_CHECKING:
    from sillok.records.export import Exports
    from sillok.records.ingest import Importer

MAX_MEMBERS = 10_000
MAX_NAME = 1024
_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError, RuntimeError)


# --- export --------------------------------------------------------------------------------


def export_zip(exports: Exports, output: Path) -> int:
    """Write the acts the archive's user may see as an Uwazi import zip; returns how many rows.

    The zip is written beside ``output`` and moved into place whole, so a failed export leaves
    no half-written file.
    """
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    count = 0
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as book:
            with book.open(uwazi.CSV_NAME, "w") as raw, io.TextIOWrapper(
                raw, encoding="utf-8", newline=""
            ) as text:
                writer = csv.DictWriter(text, fieldnames=uwazi.HEADER, lineterminator="\n")
                writer.writeheader()
                for row in uwazi.entities(exports.rows()):
                    writer.writerow(row)
                    count += 1
            for name, column in uwazi.THESAURUS_FILES.items():
                book.writestr(name, uwazi.thesaurus_csv(column))
            book.writestr(
                uwazi.TEMPLATE_NAME, json.dumps(uwazi.template(), ensure_ascii=False, indent=2)
            )
        os.replace(partial, output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{output}: cannot write ({exc.strerror})") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    exports.vault.audit.record(
        "export", detail={"rows": count, "format": "uwazi", "include_protected": False}
    )
    return count


# --- reading a zip -------------------------------------------------------------------------


def _safe_member(name: str) -> bool:
    """Whether a member's name is a plain relative path (no root, drive, ``..`` or NUL)."""
    parts = name.rstrip("/").split("/")
    return (
        0 < len(name) <= MAX_NAME
        and "\\" not in name
        and "\x00" not in name
        and not (len(name) > 1 and name[1] == ":")
        and all(part not in ("", ".", "..") for part in parts)
    )


class _Budget:
    """The bytes a zip's members inflate to, refused past the limit."""

    def __init__(self, where: str, limits: ReadLimits) -> None:
        self.where, self.limit, self.used = where, limits.xlsx_inflated_bytes, 0

    def read(self, book: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        chunks = []
        with book.open(info) as member:
            while chunk := member.read(1 << 16):
                self.used += len(chunk)
                if self.used > self.limit:
                    raise InvalidInput(
                        f"{self.where}: more than {self.limit:,} bytes once inflated (the "
                        "limit ReadLimits.xlsx_inflated_bytes)"
                    )
                chunks.append(chunk)
        return b"".join(chunks)


def read_zip(path: Path, limits: ReadLimits) -> dict[str, bytes]:
    """The members Sillok reads from an Uwazi zip (the CSV and the thesauri), by name.

    Raises:
        InvalidInput: the file is missing, too large, not a readable zip, has a member whose
            name or kind is refused, inflates past the limit, or has no ``import.csv``; the
            message names the file and the member.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    limit = limits.xlsx_inflated_bytes
    if path.stat().st_size > limit:
        raise InvalidInput(
            f"{path.name}: {path.stat().st_size:,} bytes, more than {limit:,} (the limit "
            "ReadLimits.xlsx_inflated_bytes)"
        )
    wanted = {uwazi.CSV_NAME, *uwazi.THESAURUS_FILES}
    try:
        with zipfile.ZipFile(path) as book:
            infos = book.infolist()
            _check_members(path.name, infos, limit)
            budget = _Budget(path.name, limits)
            found = {i.filename: budget.read(book, i) for i in infos if i.filename in wanted}
    except _ERRORS as exc:
        reason = printable(str(exc))
        raise InvalidInput(f"{path.name}: not a readable zip file ({reason})") from None
    if uwazi.CSV_NAME not in found:
        raise InvalidInput(
            f"{path.name}: no {uwazi.CSV_NAME} in the zip (Uwazi's name for the CSV, at the top "
            "of the zip)"
        )
    return found


def _check_members(where: str, infos: list[zipfile.ZipInfo], limit: int) -> None:
    if len(infos) > MAX_MEMBERS:
        raise InvalidInput(f"{where}: {len(infos):,} members, more than {MAX_MEMBERS:,}")
    declared = sum(i.file_size for i in infos)
    if declared > limit:
        raise InvalidInput(
            f"{where}: its members inflate to {declared:,} bytes, more than {limit:,} (the "
            "limit ReadLimits.xlsx_inflated_bytes)"
        )
    seen: set[str] = set()
    for info in infos:
        shown = printable(info.filename, 120)
        if not _safe_member(info.filename):
            raise InvalidInput(
                f"{where}, member {shown!r}: refused name (an absolute path, a drive, '..' or "
                "a backslash would place it outside the folder it is unpacked in)"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InvalidInput(f"{where}, member {shown!r}: a symbolic link is refused")
        if info.flag_bits & 0x1:
            raise InvalidInput(f"{where}, member {shown!r}: encrypted members are refused")
        if info.filename in seen:
            raise InvalidInput(f"{where}, member {shown!r}: given twice")
        seen.add(info.filename)


def _text(where: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{where}: not UTF-8 text (byte {exc.start:,})") from None
    if "\x00" in text:
        raise InvalidInput(f"{where}: not text (a NUL character)")
    return text


def csv_rows(where: str, data: bytes, limits: ReadLimits) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV member: (line number of the row's start, cells stripped and NFC),
    blank rows left out; the header is row 1."""
    text = _text(where, data)
    source = io.StringIO(text, newline="")

    def lines() -> Iterator[str]:
        number = 0
        while line := source.readline(limits.line_chars + 1):
            number += 1
            if len(line) > limits.line_chars:
                raise InvalidInput(
                    f"{where} line {number}: longer than {limits.line_chars:,} characters (the "
                    "limit ReadLimits.line_chars)"
                )
            yield line

    reader = csv.reader(lines())
    start = 1
    try:
        for cells in reader:
            number, start = start, reader.line_num + 1
            if number > limits.rows:
                raise InvalidInput(f"{where} row {number:,}: past the most rows a file may have "
                                   f"({limits.rows:,}, the limit ReadLimits.rows)")
            if not any(c.strip() for c in cells):
                continue
            yield number, [_cell(where, number, c, limits) for c in cells]
    except csv.Error as exc:
        raise InvalidInput(f"{where} row {start}: {exc}") from None


def _cell(where: str, number: int, value: str, limits: ReadLimits) -> str:
    value = value.strip()
    if len(value) > limits.cell_chars:
        raise InvalidInput(
            f"{where} row {number}: a value of {len(value):,} characters, more than "
            f"{limits.cell_chars:,} (the limit ReadLimits.cell_chars)"
        )
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value


# --- import --------------------------------------------------------------------------------


def import_zip(importer: Importer, path: Path) -> ImportReport:
    """Import an Uwazi zip into the archive: all rows or, on any error, nothing.

    Raises:
        InvalidInput: the role may not import, or the zip, its CSV or its thesauri are
            refused (the message names the file, member, row, column and value).
        ImportFailed: rows are invalid; every bad row, column and value is in its report.
    """
    vault = importer.vault
    if not may(vault.role, "import"):
        raise InvalidInput(f"the {vault.role} role may not import records")
    path = Path(path)
    limits = vault.settings.read_limits
    members = read_zip(path, limits)
    thesauri = uwazi.Thesauri()
    problems = []
    for name in sorted(set(members) & set(uwazi.THESAURUS_FILES)):
        where = f"{path.name}:{name}"
        rows = [cells for _n, cells in csv_rows(where, members[name], limits)]
        problems += [f"{path.name}:{p}" for p in uwazi.check_thesaurus(name, rows, thesauri)]
    if problems:
        raise InvalidInput("the zip's thesauri are refused:\n  " + "\n  ".join(problems[:50]))
    where = f"{path.name}:{uwazi.CSV_NAME}"
    rows_iter = csv_rows(where, members.pop(uwazi.CSV_NAME), limits)
    first = next(rows_iter, None)
    if first is None:
        raise InvalidInput(f"{where}: the file is empty")
    try:
        header = uwazi.read_header(first[1], f"{where} row 1")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    report = ImportReport(file=where)
    flat: list[tuple[int, dict[str, str]]] = []
    for number, cells in rows_iter:
        report.rows += 1
        if len(cells) > len(header.names) and any(cells[len(header.names):]):
            converted: dict[str, str] | list[RowError] = [RowError(
                number, "(beyond the last column)", cells[len(header.names)],
                f"{len(cells)} values for {len(header.names)} columns")]
        else:
            named: dict[str, str] = {}
            for column, value in zip(header.names, cells, strict=False):
                if column is not None:
                    named[column] = named.get(column, "") or value
            converted = uwazi.flat_row(number, named, thesauri)
        if isinstance(converted, list):
            report.invalid_rows += 1
            report.errors.extend(converted)
        else:
            flat.append((number, converted))
    if report.invalid_rows:
        report.valid_rows = report.rows - report.invalid_rows
        raise _failed(ImportFailed(report))
    try:
        return importer.run_rows(flat, where, rejects=path.with_name(path.name + ".rejects.csv"))
    except ImportFailed as exc:
        raise _failed(exc) from None


def _failed(exc: ImportFailed) -> ImportFailed:
    """The failure without its hint at ``--skip-invalid``, which an Uwazi import does not take:
    a zip is imported whole or not at all."""
    exc.args = (str(exc).replace(" (use --skip-invalid to import the valid rows)", ""),)
    return exc


__all__ = ["MAX_MEMBERS", "csv_rows", "export_zip", "import_zip", "read_zip"]
