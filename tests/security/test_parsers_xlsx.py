"""Red team, issue 12 finding 10: the XLSX reader refuses damaged, hostile and oversized files
with a named error (:class:`InvalidInput` naming the file), never another exception.

Each test makes the attack and asserts the safe outcome; the ones that failed before the fix
were marked ``xfail(strict=True)``, and the markers came off with it. The files come from
``tests/data/hostile/make.py``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sillok.errors import InvalidInput
from sillok.records.flatacts import read_rows
from tests.security.conftest import make

GOOD = make.good_sheet()


def refused(path: Path) -> InvalidInput:
    """Read every row of ``path``; the reader must refuse it with an error naming the file."""
    with pytest.raises(InvalidInput) as caught:
        for _row in read_rows(path):
            pass
    assert path.name in str(caught.value), f"the error does not name the file: {caught.value}"
    return caught.value


def outcome(path: Path) -> str:
    """What reading ``path`` does, in a word: "rows", "refused", or the exception's name."""
    try:
        for _row in read_rows(path):
            pass
    except InvalidInput as exc:
        return "refused" if path.name in str(exc) else f"refused without naming the file: {exc}"
    except Exception as exc:  # the attack: anything but InvalidInput is a crash
        return f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    return "rows"


def test_the_good_book_reads(tmp_path: Path) -> None:
    """The control: the untouched book of the attacks below is read as two acts."""
    path = tmp_path / "good.xlsx"
    path.write_bytes(make.xlsx(GOOD))
    assert [r["victim_name"] for _n, r in read_rows(path)] == ["Kim Chol", "이영희"]


# --- truncation -----------------------------------------------------------------------------


def test_every_truncation_of_the_sheet_is_refused_by_name(tmp_path: Path) -> None:
    """Cut the sheet's XML at every byte: each cut is malformed XML and must be refused.

    Only cuts after the ``<dimension>`` element crash today: without one, openpyxl parses the
    whole sheet while opening the book, inside the reader's ``try``.
    """
    path = tmp_path / "cut.xlsx"
    wrong: dict[int, str] = {}
    for cut in range(len(GOOD)):
        path.write_bytes(make.xlsx(GOOD[:cut]))
        result = outcome(path)
        if result != "refused":
            wrong[cut] = result
    shown = "\n".join(f"  cut at {c}: {r}" for c, r in list(wrong.items())[:5])
    assert not wrong, f"{len(wrong)} of {len(GOOD)} cut points are not refused:\n{shown}"


def test_every_truncation_of_the_file_is_refused_by_name(tmp_path: Path) -> None:
    """Cut the XLSX file itself (the zip): every cut must be refused. Holds today; a guard."""
    book = make.xlsx(GOOD)
    path = tmp_path / "cut.xlsx"
    wrong: dict[int, str] = {}
    for cut in range(0, len(book), 3):
        path.write_bytes(book[:cut])
        result = outcome(path)
        if result != "refused":
            wrong[cut] = result
    assert not wrong, f"{len(wrong)} cut points are not refused: {list(wrong.items())[:5]}"


def test_a_book_without_a_sheet_is_refused(tmp_path: Path) -> None:
    """The workbook part lists no sheet: refused, not ``worksheets[0]`` out of range."""
    path = tmp_path / "no-sheet.xlsx"
    path.write_bytes(make.xlsx(GOOD, {"xl/workbook.xml": make.no_sheet_workbook()}))
    refused(path)


# --- entities -------------------------------------------------------------------------------


def _canary_file(tmp_path: Path) -> tuple[str, str]:
    secret = "QXXXECANARYQX"
    target = tmp_path / "secret.txt"
    target.write_text(secret, encoding="utf-8")
    return target.as_uri(), secret


ENTITY_SHEETS = {
    "undefined": lambda uri: make.undefined_entity(),
    "external": lambda uri: make.external_entity(uri),
    "billion-laughs": lambda uri: make.billion_laughs(),
}


@pytest.mark.parametrize("attack", sorted(ENTITY_SHEETS))
def test_entities_in_the_sheet_are_refused(attack: str, tmp_path: Path) -> None:
    """XXE, an undeclared entity and billion laughs in the sheet: refused, and a file named
    by an external entity is never read into a row or a message."""
    uri, secret = _canary_file(tmp_path)
    path = tmp_path / f"{attack}.xlsx"
    path.write_bytes(make.xlsx(ENTITY_SHEETS[attack](uri)))
    try:
        rows = list(read_rows(path))
    except InvalidInput as exc:
        assert secret not in str(exc)
        assert path.name in str(exc)
        return
    assert secret not in repr(rows), "an external entity was resolved"
    pytest.fail(f"{attack}: the sheet was read as {len(rows)} rows instead of being refused")


@pytest.mark.parametrize("attack", sorted(ENTITY_SHEETS))
def test_entities_in_the_workbook_part_are_refused(attack: str, tmp_path: Path) -> None:
    """The same entities in xl/workbook.xml, parsed while the book opens: refused today (a
    guard for the fix, which must cover every part, not only the sheet)."""
    uri, secret = _canary_file(tmp_path)
    sheet = ENTITY_SHEETS[attack](uri)
    # move the DOCTYPE and the reference into the workbook part
    doctype = sheet[len(make.XML_HEAD) : sheet.index(b"<worksheet")]
    reference = re.findall(rb"&\w+;", sheet)[-1]  # the one in the body, not the DOCTYPE
    workbook = make.PARTS["xl/workbook.xml"].replace(make.XML_HEAD, make.XML_HEAD + doctype)
    workbook = workbook.replace(b'name="acts"', b'name="' + reference + b'"')
    path = tmp_path / f"{attack}-workbook.xlsx"
    path.write_bytes(make.xlsx(GOOD, {"xl/workbook.xml": workbook}))
    exc = refused(path)
    assert secret not in str(exc)


# --- bombs ----------------------------------------------------------------------------------


def test_a_row_gap_bomb_is_refused_by_a_row_limit(tmp_path: Path) -> None:
    """A header and one row numbered 2,000,000: openpyxl hands over every empty row between.

    The reader must stop at a row limit (an XLSX sheet holds at most 1,048,576 rows), not
    walk two million rows to find one act.
    """
    path = tmp_path / "gap-bomb.xlsx"
    path.write_bytes(make.xlsx(make.row_gap_bomb()))
    assert path.stat().st_size < 4096
    refused(path)


#: how many rows the reader may hand over before it refuses the content bomb
BOMB_ROWS_BEFORE_REFUSAL = 100_000


def test_a_content_bomb_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """650 KB that inflate to 200 MB of sheet XML and 2,000,000 acts (the attack took 96 s
    and 1 GB in the web preview).

    The sheet declares its size and the zip its inflated size, so the reader can refuse it
    before reading it; it must do so before handing over 100,000 rows. A reader that only
    counted rows up to the XLSX maximum would still spend about a minute on this file. The
    bound is on rows, not time, so the test does not depend on the machine.
    """
    path = make.write_content_bomb(tmp_path / "content-bomb.xlsx")
    assert path.stat().st_size < 1_000_000
    with zipfile.ZipFile(path) as book:
        assert book.getinfo(make.SHEET).file_size > 100 * 1024 * 1024
    handed = 0
    with pytest.raises(InvalidInput) as caught:
        for _row in read_rows(path):
            handed += 1
            assert handed < BOMB_ROWS_BEFORE_REFUSAL, (
                f"the reader handed over {handed} rows of the bomb without refusing it"
            )
    assert path.name in str(caught.value)


# --- any damage -----------------------------------------------------------------------------

#: what an attacker might splice into an XML part
SNIPPETS = [
    b"<!DOCTYPE x [<!ENTITY e 'v'>]>",
    b"&e;",
    b"&#0;",
    b"&#xD800;",
    b"<![CDATA[",
    b"<row>",
    b"</sheetData>",
    b"<c t='s'><v>7</v></c>",
    b"<c t='n'><v>1e999999</v></c>",
    b"<c t='d'><v>not a date</v></c>",
    b"<c t='b'><v>2</v></c>",
    b"<t xml:space='preserve'>",
    b"\xff\xfe",
    b"\x00",
]
PART_NAMES = [make.SHEET, make.SHEET, make.SHEET, *make.PARTS]


@st.composite
def damaged_books(draw: st.DrawFn) -> bytes:
    """A good book with one part cut, overwritten or spliced; or a damaged zip; or noise."""
    how = draw(st.sampled_from(["cut", "overwrite", "splice", "zip", "noise"]))
    if how == "noise":
        return draw(st.binary(max_size=2048))
    if how == "zip":
        book = bytearray(make.xlsx(GOOD))
        at = draw(st.integers(0, len(book) - 1))
        book[at] ^= draw(st.integers(1, 255))
        return bytes(book)
    part = draw(st.sampled_from(PART_NAMES))
    data = bytearray(GOOD if part == make.SHEET else make.PARTS[part])
    at = draw(st.integers(0, len(data)))
    if how == "cut":
        data = data[:at]
    elif how == "overwrite":
        chunk = draw(st.binary(min_size=1, max_size=8))
        data[at : at + len(chunk)] = chunk
    else:
        data[at:at] = draw(st.sampled_from(SNIPPETS) | st.binary(max_size=16))
    return make.xlsx(GOOD, {part: bytes(data)})


@example(book=make.xlsx(GOOD[: len(GOOD) // 2]))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=damaged_books())
def test_any_damaged_book_gives_rows_or_a_named_error(book: bytes) -> None:
    """Property: whatever the damage, the reader yields rows or raises InvalidInput."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.xlsx"
        path.write_bytes(book)
        try:
            for _row in read_rows(path):
                pass
        except InvalidInput as exc:
            assert path.name in str(exc)


def test_a_part_flagged_as_encrypted_is_a_named_error(tmp_path: Path) -> None:
    """Found by the property in CI: a zip entry whose 'encrypted' flag is set made zipfile ask
    for a password (RuntimeError) instead of the reader refusing the file."""
    data = bytearray(make.xlsx(GOOD))
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + flag_at] |= 0x01
    path = tmp_path / "encrypted.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidInput, match="encrypted.xlsx"):
        list(read_rows(path))


@pytest.mark.parametrize("part", [make.SHEET, "xl/workbook.xml"])
def test_a_part_declaring_an_unknown_encoding_is_a_named_error(part: str, tmp_path: Path) -> None:
    """Found by the atheris campaign (bench/fuzz_readers.py xlsx): an XML declaration naming an
    encoding Python does not know (``UTF-6``) made the parser raise LookupError."""
    original = GOOD if part == make.SHEET else make.PARTS[part]
    spoiled = original.replace(b'encoding="UTF-8"', b'encoding="UTF-6"', 1)
    assert spoiled != original
    path = tmp_path / "unknown-encoding.xlsx"
    path.write_bytes(make.xlsx(GOOD, {part: spoiled}) if part != make.SHEET else make.xlsx(spoiled))
    assert "encoding" in str(refused(path))
