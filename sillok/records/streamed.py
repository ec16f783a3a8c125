"""The flat acts format as bytes, a piece at a time: CSV and XLSX made while they are sent.

A search's download (:meth:`sillok.records.export.Exports.download`) may hold every act of an
archive. It is written a row at a time into a buffer that is handed on and emptied, so memory
stays flat and nothing reaches a temporary file (openpyxl's write-only mode keeps a sheet in
a temporary file until it is saved: a copy, on disk, of what the role may read). The workbook
is the smallest SpreadsheetML that spreadsheet programs and
:func:`sillok.records.workbook.xlsx_rows` read: one sheet named ``acts``, a header row, every
value an inline string (so no value is ever taken for a formula).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence

#: how many bytes are gathered before a piece is handed on
PIECE = 64 * 1024
#: characters XML 1.0 cannot hold (a spreadsheet program refuses the file if one is there)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PARTS = {
    "[Content_Types].xml": (
        f'{_HEAD}<Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'{_HEAD}<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheets><sheet name="acts" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'{_HEAD}<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>"
    ),
}
_SHEET = "xl/worksheets/sheet1.xml"


class _Sink:
    """A stream that keeps what is written until it is taken (zipfile asks where it is)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.written = self.held = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.written += len(data)
        self.held += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        """Nothing to flush: the bytes wait to be taken."""

    def close(self) -> None:
        """Nothing to close: the bytes wait to be taken."""

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.held = 0
        return data


def csv_pieces(rows: Iterable[Mapping[str, str]], columns: Sequence[str]) -> Iterator[bytes]:
    """The rows as a UTF-8 CSV file with a header (and a byte order mark, so that a
    spreadsheet program reads Hangul right; import reads it back), a piece at a time."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
        if buffer.tell() >= PIECE:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_pieces(rows: Iterable[Mapping[str, str]], columns: Sequence[str]) -> Iterator[bytes]:
    """The rows as an XLSX workbook (one sheet, a header row, inline strings), a piece at
    a time: the zip is written as it goes (no seeking back), so it needs no temporary file."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in _PARTS.items():
            book.writestr(name, text)
        with book.open(_SHEET, "w", force_zip64=True) as sheet:
            sheet.write(f'{_HEAD}<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
            sheet.write(_row(1, columns))
            for number, row in enumerate(rows, start=2):
                sheet.write(_row(number, [row.get(c, "") for c in columns]))
                if sink.held >= PIECE:
                    yield sink.take()
            sheet.write(b"</sheetData></worksheet>")
    yield sink.take()


def _row(number: int, values: Sequence[str]) -> bytes:
    cells = "".join(
        f'<c r="{_letters(i)}{number}" t="inlineStr"><is><t xml:space="preserve">'
        f"{_xml(str(v))}</t></is></c>"
        for i, v in enumerate(values, start=1)
        if v != ""
    )
    return f'<row r="{number}">{cells}</row>'.encode()


def _xml(text: str) -> str:
    text = _NOT_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _letters(column: int) -> str:
    """A column's letters: 1 -> A, 27 -> AA."""
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
