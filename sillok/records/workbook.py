"""Reading the rows of an XLSX flat acts file, after checking it is safe to read.

openpyxl trusts what it reads: it parses the sheet with the standard library's XML parser
(entities and DTDs allowed), pads a row out to its last cell's column and the sheet to its
highest row number, and inflates whatever the zip says. So :func:`xlsx_rows` first streams
every XML part through defusedxml (no DTD, no entity) while counting inflated bytes, rows and
cells against :class:`~sillok.settings.ReadLimits`, and only then lets openpyxl read the
sheet, with the sheet's declared dimension dropped (openpyxl would pad every row to it).
Anything wrong is :class:`InvalidInput` naming the file, the part or row, and the limit.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from sillok.errors import InvalidInput
from sillok.settings import ReadLimits

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL = f"{_MAIN}row", f"{_MAIN}c"
_COLUMN_LETTERS = re.compile(r"\$?([A-Za-z]{1,3})\$?\d*")


def printable(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters, any lone surrogate escaped (safe to print)."""
    return text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


class _Inflated:
    """A part being inflated, refused once the file's parts together pass the limit."""

    def __init__(self, source: IO[bytes], name: str, limits: ReadLimits, used: int) -> None:
        self.source, self.name, self.limits, self.used = source, name, limits, used

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size if size >= 0 else 1 << 16)
        self.used += len(data)
        if self.used > self.limits.xlsx_inflated_bytes:
            raise InvalidInput(
                f"{self.name}: more than {self.limits.xlsx_inflated_bytes:,} bytes once "
                "inflated (the limit ReadLimits.xlsx_inflated_bytes)"
            )
        return data


def _column(reference: str | None, previous: int) -> int:
    if reference is None:
        return previous + 1
    found = _COLUMN_LETTERS.fullmatch(reference)
    if found is None:
        raise ValueError(f"cell reference {reference!r}")
    number = 0
    for letter in found.group(1).upper():
        number = number * 26 + ord(letter) - 64
    return number


class _Counts:
    """Rows and cells as openpyxl will hand them over (gaps and short rows padded)."""

    def __init__(self, name: str, limits: ReadLimits) -> None:
        self.name, self.limits = name, limits
        self.row = self.cells = self.width = 0

    def cell(self, element: Any) -> None:
        self.width = _column(element.get("r"), self.width)

    def end_row(self, element: Any) -> None:
        number = element.get("r")
        self.row = int(number) if number is not None else self.row + 1
        if not 0 < self.row <= self.limits.rows:
            raise InvalidInput(
                f"{self.name} row {self.row}: past the most rows a file may have "
                f"({self.limits.rows:,}, the limit ReadLimits.rows)"
            )
        self.cells += self.width + 1  # the row's cells, or one for an empty row
        if self.cells > self.limits.cells:
            raise InvalidInput(
                f"{self.name} row {self.row}: more than {self.limits.cells:,} cells "
                "(the limit ReadLimits.cells)"
            )
        self.width = 0


def check_xlsx(path_name: str, book: zipfile.ZipFile, limits: ReadLimits) -> None:
    """Refuse a workbook whose parts are too big once inflated, are not plain XML (a DTD, an
    entity, damage), or whose sheets have too many rows or cells; nothing is kept."""
    declared = sum(info.file_size for info in book.infolist())
    if declared > limits.xlsx_inflated_bytes:
        raise InvalidInput(
            f"{path_name}: its parts inflate to {declared:,} bytes, more than "
            f"{limits.xlsx_inflated_bytes:,} (the limit ReadLimits.xlsx_inflated_bytes)"
        )
    used = 0
    for info in book.infolist():
        if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
            continue
        where = f"{path_name}, part {printable(info.filename)}"
        counts = _Counts(path_name, limits)
        with book.open(info) as part:
            source = _Inflated(part, path_name, limits, used)
            try:
                for event, element in iterparse(source, ("start", "end"), forbid_dtd=True):
                    if event == "start":
                        continue
                    if element.tag == _CELL:
                        counts.cell(element)
                    elif element.tag == _ROW:
                        counts.end_row(element)
                        element.clear()
            except DefusedXmlException as exc:
                raise InvalidInput(f"{where}: refused XML ({type(exc).__name__})") from None
            except ParseError as exc:
                raise InvalidInput(f"{where}: not well-formed XML ({exc})") from None
            except LookupError as exc:  # an XML declaration naming an unknown encoding
                reason = printable(str(exc))
                raise InvalidInput(f"{where}: unknown text encoding ({reason})") from None
            except ValueError as exc:
                raise InvalidInput(f"{where}: {printable(str(exc))}") from None
            used = source.used


def xlsx_rows(path_name: str, path: Any, limits: ReadLimits) -> Iterator[tuple[Any, ...]]:
    """The value tuples of the first sheet of a checked workbook, as openpyxl reads them.

    Raises:
        InvalidInput: the file is not a readable, safe XLSX file within ``limits``.
    """
    # openpyxl takes longer to import than the rest of an import's start: only for .xlsx
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as book:
            check_xlsx(path_name, book, limits)
    # RuntimeError: a part flagged as encrypted (zipfile asks for a password)
    except (
        zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError, RuntimeError
    ) as exc:
        reason = printable(str(exc))
        raise InvalidInput(f"{path_name}: not a readable XLSX file ({reason})") from None
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InvalidInput(
            f"{path_name}: not a readable XLSX file ({printable(str(exc))})"
        ) from None
    try:
        if not book.worksheets:
            raise InvalidInput(f"{path_name}: the workbook has no sheet")
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # checked above; a declared size would only add padding
        rows = sheet.iter_rows(values_only=True)
        number = 0
        while True:
            number += 1
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # openpyxl raises many kinds for a damaged sheet
                raise InvalidInput(
                    f"{path_name} row {number}: not a readable XLSX row "
                    f"({type(exc).__name__}: {printable(str(exc))})"
                ) from None
            yield values
    finally:
        book.close()


__all__ = ["check_xlsx", "printable", "xlsx_rows"]
