"""An Uwazi zip as Sillok reads it: every member's name checked (no absolute path, no ``..``,
no link, no encrypted member), the CSV and the thesauri read in memory while the bytes they
inflate to are counted against :class:`~sillok.settings.ReadLimits` (a zip bomb is refused
before it has cost more than the limit), and the CSV's rows and cells within the limits.
The files the rows name are streamed later by :mod:`sillok.records.uwazi_files`.
"""

from __future__ import annotations

import csv
import io
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sillok.errors import InvalidInput
from sillok.records import uwazi
from sillok.records.workbook import printable
from sillok.settings import ReadLimits

MAX_MEMBERS = 10_000
MAX_NAME = 1024
ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError, RuntimeError)



def safe_member(name: str) -> bool:
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


@dataclass
class ZipRead:
    """An Uwazi zip once its members are checked: the text members Sillok reads (the CSV and
    the thesauri), and every member's entry by its name (NFC, as the CSV's cells are)."""

    path: Path
    members: dict[str, bytes]
    infos: dict[str, zipfile.ZipInfo]


def read_zip(path: Path, limits: ReadLimits) -> ZipRead:
    """The members Sillok reads from an Uwazi zip (the CSV and the thesauri), by name, and
    the entries of all its members.

    Raises:
        InvalidInput: the file is missing, not a readable zip, has a member whose name or
            kind is refused, its CSV and thesauri inflate past the limit, or it has no
            ``import.csv``; the message names the file and the member.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    limit = limits.xlsx_inflated_bytes
    wanted = {uwazi.CSV_NAME, *uwazi.THESAURUS_FILES}
    try:
        with zipfile.ZipFile(path) as book:
            infos = book.infolist()
            _check_members(path.name, infos)
            read = [i for i in infos if i.filename in wanted]
            _check_declared(path.name, read, limit)
            budget = _Budget(path.name, limits)
            found = {i.filename: budget.read(book, i) for i in read}
    except ERRORS as exc:
        reason = printable(str(exc))
        raise InvalidInput(f"{path.name}: not a readable zip file ({reason})") from None
    if uwazi.CSV_NAME not in found:
        raise InvalidInput(
            f"{path.name}: no {uwazi.CSV_NAME} in the zip (Uwazi's name for the CSV, at the top "
            "of the zip)"
        )
    by_name = {unicodedata.normalize("NFC", i.filename): i for i in infos}
    return ZipRead(path, found, by_name)


def _check_declared(where: str, infos: list[zipfile.ZipInfo], limit: int) -> None:
    declared = sum(i.file_size for i in infos)
    if declared > limit:
        raise InvalidInput(
            f"{where}: its members inflate to {declared:,} bytes, more than {limit:,} (the "
            "limit ReadLimits.xlsx_inflated_bytes)"
        )


def check_rest(zipped: ZipRead, files: set[str], limits: ReadLimits) -> None:
    """The members no row names as a file: within the limit of the text Sillok reads, as
    the zip is without its files (so a zip is no hiding place for a bomb)."""
    rest = [i for name, i in zipped.infos.items() if name not in files]
    _check_declared(zipped.path.name, rest, limits.xlsx_inflated_bytes)
    size = zipped.path.stat().st_size - sum(zipped.infos[n].compress_size for n in files)
    limit = limits.xlsx_inflated_bytes
    if size > limit:
        raise InvalidInput(
            f"{zipped.path.name}: {size:,} bytes besides its files, more than {limit:,} (the "
            "limit ReadLimits.xlsx_inflated_bytes)"
        )


def _check_members(where: str, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_MEMBERS:
        raise InvalidInput(f"{where}: {len(infos):,} members, more than {MAX_MEMBERS:,}")
    seen: set[str] = set()
    for info in infos:
        shown = printable(info.filename, 120)
        if not safe_member(info.filename):
            raise InvalidInput(
                f"{where}, member {shown!r}: refused name (an absolute path, a drive, '..' or "
                "a backslash would place it outside the folder it is unpacked in)"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InvalidInput(f"{where}, member {shown!r}: a symbolic link is refused")
        if info.flag_bits & 0x1:
            raise InvalidInput(f"{where}, member {shown!r}: encrypted members are refused")
        name = unicodedata.normalize("NFC", info.filename)
        if name in seen:
            raise InvalidInput(f"{where}, member {shown!r}: given twice")
        seen.add(name)


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
                raise InvalidInput(
                    f"{where} row {number:,}: past the most rows a file may have "
                    f"({limits.rows:,}, the limit ReadLimits.rows)"
                )
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


__all__ = [
    "ERRORS",
    "MAX_MEMBERS",
    "MAX_NAME",
    "ZipRead",
    "check_rest",
    "csv_rows",
    "read_zip",
    "safe_member",
]
