"""Make the hostile input files of this folder (issue 12, finding 10), and the builders the
parser tests share.

Run from the repository root:  PYTHONPATH=. .venv/bin/python tests/data/hostile/make.py

The XLSX, JSON lines and CSV files are byte-for-byte reproducible (fixed zip timestamps, hand
written parts). The proof bundles come from a throwaway archive, so their keys and hashes
change each run; what makes them hostile does not. The content bomb is not kept here (650 KB);
the tests generate it, and ``make.py --content-bomb PATH`` writes one for a manual run.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
STAMP = (2026, 1, 1, 0, 0, 0)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET = "xl/worksheets/sheet1.xml"
XML_HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

PARTS: dict[str, bytes] = {
    "[Content_Types].xml": XML_HEAD
    + b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" '
    b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": XML_HEAD
    + f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
    f'Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'.encode(),
    "xl/workbook.xml": XML_HEAD
    + f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>'
    f'<sheet name="acts" sheetId="1" r:id="rId1"/></sheets></workbook>'.encode(),
    "xl/_rels/workbook.xml.rels": XML_HEAD
    + f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
    f'Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'.encode(),
}

#: a small valid flat acts sheet: a header and two acts
GOOD_ROWS: list[list[str]] = [
    ["source_ref", "act_type", "victim_name", "description"],
    ["S-1", "torture", "Kim Chol", "beaten during interrogation"],
    ["S-2", "arbitrary_detention", "이영희", "요덕 수용소"],
]


def row_xml(values: Iterable[str], number: int | None = None) -> bytes:
    """One ``<row>`` of inline strings (no cell references: openpyxl counts them)."""
    cells = "".join(f'<c t="inlineStr"><is><t>{escape(v)}</t></is></c>' for v in values)
    attr = f' r="{number}"' if number is not None else ""
    return f"<row{attr}>{cells}</row>".encode()


def sheet_xml(rows: Iterable[bytes], dimension: str | None = None, prolog: bytes = b"") -> bytes:
    """A worksheet part around already written rows."""
    dim = f'<dimension ref="{dimension}"/>'.encode() if dimension else b""
    return (
        XML_HEAD + prolog + f'<worksheet xmlns="{MAIN}">'.encode() + dim + b"<sheetData>"
        + b"".join(rows) + b"</sheetData></worksheet>"
    )


def good_sheet() -> bytes:
    """The worksheet part of :data:`GOOD_ROWS`, with its size declared as every spreadsheet
    program writes it (without one openpyxl parses the whole sheet when opening it)."""
    return sheet_xml((row_xml(r) for r in GOOD_ROWS), dimension="A1:D3")


def xlsx(sheet: bytes, replace: dict[str, bytes] | None = None) -> bytes:
    """A minimal, reproducible XLSX file whose first sheet is ``sheet``."""
    import io

    parts = {**PARTS, SHEET: sheet, **(replace or {})}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            book.writestr(info, data)
    return out.getvalue()


def no_sheet_workbook() -> bytes:
    """A workbook part that lists no sheet (the sheet's part is still in the file)."""
    return PARTS["xl/workbook.xml"].replace(
        b'<sheet name="acts" sheetId="1" r:id="rId1"/>', b""
    )


def _entity_sheet(doctype: bytes, reference: bytes) -> bytes:
    """The good sheet with a DOCTYPE, and the first victim's name replaced by a reference."""
    sheet = good_sheet().replace(b"<t>Kim Chol</t>", b"<t>" + reference + b"</t>")
    return sheet.replace(XML_HEAD, XML_HEAD + doctype, 1)


def undefined_entity() -> bytes:
    """A sheet that uses an entity it never declares."""
    return _entity_sheet(b"", b"&undeclared;")


def external_entity(target: str = "file:///etc/hostname") -> bytes:
    """A sheet whose victim name is an external entity (XXE)."""
    doctype = f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "{target}">]>'.encode()
    return _entity_sheet(doctype, b"&xxe;")


def billion_laughs(levels: int = 9) -> bytes:
    """A sheet whose victim name expands to 10**levels copies of "lol"."""
    decls = [b'<!ENTITY l0 "lol">']
    decls += [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">'.encode() for i in range(1, levels + 1)
    ]
    doctype = b"<!DOCTYPE worksheet [" + b"".join(decls) + b"]>"
    return _entity_sheet(doctype, f"&l{levels};".encode())


BOMB_ROWS = 2_000_000


def row_gap_bomb(rows: int = BOMB_ROWS) -> bytes:
    """A sheet of two real rows, the second numbered ``rows``: openpyxl hands over every row
    in between (empty), so a few hundred bytes expand to ``rows`` rows."""
    return sheet_xml(
        [row_xml(GOOD_ROWS[0][:2], 1), row_xml(GOOD_ROWS[1][:2], rows)],
        dimension=f"A1:B{rows}",
    )


def write_content_bomb(path: Path, rows: int = BOMB_ROWS) -> Path:
    """An XLSX of ``rows`` identical real rows that declares its size (about 650 KB for
    2,000,000 rows; 200 MB of sheet XML once inflated). Streamed, never held in memory."""
    body = row_xml(GOOD_ROWS[1][:2]) * 10_000
    with zipfile.ZipFile(path, "w") as book:
        for name, data in PARTS.items():
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            book.writestr(info, data)
        info = zipfile.ZipInfo(SHEET, date_time=STAMP)
        info.compress_type = zipfile.ZIP_DEFLATED
        with book.open(info, "w") as sheet:
            head, tail = sheet_xml([b"\x00"], dimension=f"A1:B{rows}").split(b"\x00")
            sheet.write(head + row_xml(GOOD_ROWS[0][:2]))
            for _ in range(rows // 10_000):
                sheet.write(body)
            sheet.write(row_xml(GOOD_ROWS[1][:2]) * (rows % 10_000) + tail)
    return path


def deep_json_line(depth: int = 10_000) -> bytes:
    """A flat acts JSON line whose description is ``depth`` nested arrays."""
    nested = "[" * depth + "]" * depth
    return f'{{"source_ref": "S-1", "act_type": "torture", "description": {nested}}}\n'.encode()


def huge_integer_line(digits: int = 5000) -> bytes:
    """A JSON line with an integer longer than Python converts by default (4,300 digits)."""
    head = '{"source_ref": "S-1", "act_type": "torture", "victim_birth": '
    return f"{head}{'9' * digits}}}\n".encode()


def lone_surrogate_line(column: str = "victim_name") -> bytes:
    """A valid JSON line (escapes are ASCII) holding the lone surrogate U+D800."""
    row = {"source_ref": "S-1", "act_type": "torture"}
    row[column] = row.get(column, "Kim ") + "\\ud800"
    fields = ", ".join(f'"{k}": "{v}"' for k, v in row.items())
    return ("{" + fields + "}\n").encode()


def lone_surrogate_csv() -> bytes:
    """A CSV whose victim name holds U+D800 as UTF-8 would spell it (not valid UTF-8)."""
    return b"source_ref,act_type,victim_name\nS-1,torture,Kim \xed\xa0\x80\n"


def spaced_keys_line() -> bytes:
    """A JSON line whose keys carry spaces ("source_ref "): found by bench/fuzz_readers.py
    (KeyError). The names are cleaned as a CSV header's are, so it reads as one row."""
    return b'{"source_ref ":"S-1", " act_type": "torture", "victim_name": "Kim"}\n'


#: file name -> how to make it (the files that need no archive)
FILES: dict[str, Callable[[], bytes]] = {
    "truncated-sheet.xlsx": lambda: xlsx(good_sheet()[: len(good_sheet()) // 2]),
    "undefined-entity.xlsx": lambda: xlsx(undefined_entity()),
    "external-entity.xlsx": lambda: xlsx(external_entity()),
    "billion-laughs.xlsx": lambda: xlsx(billion_laughs()),
    "row-gap-bomb.xlsx": lambda: xlsx(row_gap_bomb()),
    "no-sheet.xlsx": lambda: xlsx(good_sheet(), {"xl/workbook.xml": no_sheet_workbook()}),
    "deep-nesting.jsonl": deep_json_line,
    "huge-integer.jsonl": huge_integer_line,
    "lone-surrogate.jsonl": lone_surrogate_line,
    "lone-surrogate.csv": lone_surrogate_csv,
    "spaced-keys.jsonl": spaced_keys_line,
}
#: files that are not refused: read cleanly, as the rows named here
READ_AS: dict[str, list[dict[str, str]]] = {
    "spaced-keys.jsonl": [{"source_ref": "S-1", "act_type": "torture", "victim_name": "Kim"}],
}


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        target = bundle
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _first_salt_not_hex(bundle: dict[str, Any]) -> None:
    column = sorted(bundle["salts"])[0]
    bundle["salts"][column] = "zz" + bundle["salts"][column][2:]


#: bundle file name -> how a good bundle is spoiled
BUNDLE_CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "bundle-salt-not-hex.json": _first_salt_not_hex,
    "bundle-proof-not-a-list.json": _set(("inclusion_proof",), 5),
    "bundle-id-true.json": _set(("record", "id"), True),
}


def good_bundle(folder: Path) -> dict[str, Any]:
    """A proof bundle of an act, from a throwaway archive made in ``folder``."""
    from sillok.archive import Archive
    from sillok.settings import KdfParams, Settings

    settings = Settings(kdf=KdfParams(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1))
    folder.mkdir(parents=True, exist_ok=True)
    acts = folder / "acts.jsonl"
    lines = [dict(zip(GOOD_ROWS[0], r, strict=True)) for r in GOOD_ROWS[1:]]
    acts.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), "utf-8")
    passphrase = "hostile bundles of a throwaway archive, 7 Oct"  # strong enough for create
    with Archive.create(folder / "archive", passphrase, settings=settings) as archive:
        archive.ingest.run(acts)
        return archive.proofs.record("act", 1)


def bundles(good: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each hostile bundle, made from a good one."""
    for name, change in BUNDLE_CHANGES.items():
        bad = copy.deepcopy(good)
        change(bad)
        yield name, bad


def main(argv: list[str]) -> None:
    """Write every file into this folder (or a content bomb where asked)."""
    if argv[:1] == ["--content-bomb"] and len(argv) == 2:
        print(write_content_bomb(Path(argv[1])))
        return
    for name, make in FILES.items():
        (HERE / name).write_bytes(make())
    with tempfile.TemporaryDirectory() as scratch:
        for name, bad in bundles(good_bundle(Path(scratch))):
            (HERE / name).write_text(json.dumps(bad, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(FILES) + len(BUNDLE_CHANGES)} files in {HERE}")


if __name__ == "__main__":
    main(sys.argv[1:])
