"""Spreadsheets of a group's own: column mappings suggested, read, applied, refused, saved.

The spreadsheets are made here, with headers a group might use (Korean and English) and
synthetic rows; none is in the flat acts format.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.errors import InvalidInput
from sillok.records.ingest import ImportFailed
from sillok.records.mapping import ColumnMapping, layout_key, normalise
from sillok.records.spreadsheets import Spreadsheets
from tests.conftest import FAST, PASSPHRASE

runner = CliRunner()
ENV = {"SILLOK_PASSPHRASE": PASSPHRASE}

KOREAN = [
    [
        "증언 번호",
        "피해자 이름",
        "성별",
        "출생 연도",
        "발생 일자",
        "침해 유형",
        "발생 장소",
        "가해 기관",
        "내용",
        "기록일",
        "비고",
    ],
    [
        "KR-T-01",
        "한가람",
        "여",
        "1975",
        "2009년 3월",
        "고문",
        "회령",
        "보위부",
        "조사 중 구타당함",
        "2016-05-02",
        "재확인 필요",
    ],
    [
        "KR-T-02",
        "서다온",
        "남",
        "1968",
        "2010",
        "자의적 구금",
        "청진",
        "보안서",
        "",
        "2016-05-03",
        "",
    ],
    [
        "KR-T-03",
        "한가람",
        "여",
        "1975",
        "2011년 봄",
        "공개처형",
        "함경북도",
        "보위부",
        "공개처형 목격",
        "2016-05-02",
        "목격 증언",
    ],
]
ENGLISH = [
    [
        "Case No.",
        "Victim",
        "Gender",
        "Date of incident",
        "Violation",
        "Location",
        "Perpetrator unit",
        "Summary",
        "Status",
        "Interviewer",
    ],
    [
        "EN-C-1",
        "Test Person One",
        "F",
        "March 2009",
        "torture",
        "Hoeryong",
        "Bowibu",
        "beaten during questioning",
        "internal",
        "Staff A",
    ],
    [
        "EN-C-2",
        "Test Person Two",
        "male",
        "2012",
        "forced repatriation",
        "Musan",
        "Ministry of State Security",
        "",
        "public",
        "Staff B",
    ],
]


def write_table(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    """A .csv or .xlsx spreadsheet of ``rows`` (the first is the header)."""
    if path.suffix == ".xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for row in rows:
            sheet.append(list(row))
        book.save(path)
    else:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return path


def acts(archive: Archive) -> list[dict[str, str]]:
    """Every act of the archive, as the flat acts export writes it."""
    out = io.StringIO()
    archive.exports.write(out, "jsonl")
    return [json.loads(line) for line in out.getvalue().splitlines()]


def sheets(archive: Archive) -> Spreadsheets:
    """The spreadsheet service of an open archive."""
    return Spreadsheets(archive.vault, archive.ingest)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


# --- suggested, then imported -----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_korean_headers_import_through_the_suggested_mapping(
    sqlcipher_archive: Archive, tmp_path: Path, suffix: str
) -> None:
    file = write_table(tmp_path / f"기록{suffix}", KOREAN)
    proposed = sheets(sqlcipher_archive).suggest(file)
    assert proposed.mapping.columns == {
        "증언 번호": "source_ref",
        "피해자 이름": "victim_name",
        "성별": "victim_sex",
        "출생 연도": "victim_birth",
        "발생 일자": "act_date",
        "침해 유형": "act_type",
        "발생 장소": "place",
        "가해 기관": "perpetrator_org",
        "내용": "description",
        "기록일": "source_date",  # by its values: dates, and act_date is taken
        "비고": None,
    }
    assert proposed.unmapped == ["비고"]
    assert "dates" in proposed.notes["기록일"] and "high" in proposed.notes["침해 유형"]
    text = proposed.to_yaml()
    assert "비고" in text and "unmapped: keep" in text  # named, and how to choose said
    # the user's choice: keep the remarks in the description
    chosen = ColumnMapping.from_yaml(text + "unmapped: keep\n", "mapping.yml")
    done = sheets(sqlcipher_archive).run(file, chosen, "mapping.yml")
    assert done.report.committed and done.report.valid_rows == 3 and done.kept == ["비고"]
    found = {(a["source_ref"], a["act_type"]): a for a in acts(sqlcipher_archive)}
    assert set(found) == {
        ("KR-T-01", "torture"),
        ("KR-T-02", "arbitrary_detention"),
        ("KR-T-03", "public_execution"),
    }
    first = found[("KR-T-01", "torture")]
    assert first["act_date"] == "2009-03" and first["source_date"] == "2016-05-02"
    assert first["victim_sex"] == "female" and first["victim_birth"] == "1975"
    assert first["description"] == "조사 중 구타당함\n비고: 재확인 필요"
    assert first["place"] == "KP-09-hoeryong" and first["perpetrator_org"]
    assert found[("KR-T-02", "arbitrary_detention")]["description"] == ""
    assert found[("KR-T-03", "public_execution")]["description"] == "공개처형 목격\n비고: 목격 증언"


def test_english_headers_through_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "arch"
    Archive.create(folder, PASSPHRASE, settings=FAST).close()
    file = write_table(tmp_path / "cases.xlsx", ENGLISH)
    mapping = tmp_path / "cases.yml"
    code, out, err = run(
        "import", str(folder), str(file), "--suggest-map", "--output", str(mapping)
    )
    assert code == 0, err
    assert "Not mapped: Interviewer" in out and f"--map {mapping}" in out
    text = mapping.read_text("utf-8")
    assert '"Perpetrator unit": perpetrator_org' in text
    assert '"Status": sharing  # medium: 2 of 2 values are sharing levels' in text
    # without a choice for the unmapped column: refused, and told how to choose
    code, out, err = run("import", str(folder), str(file), "--map", str(mapping))
    assert code == 2 and "'Interviewer'" in err and "unmapped: keep" in err
    assert "Traceback" not in out + err
    mapping.write_text(text.replace('"Interviewer":', '"Interviewer": ignore'), "utf-8")
    code, out, err = run("import", str(folder), str(file), "--map", str(mapping), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["valid_rows"] == 2 and report["mapping"]["used"] == "given"
    assert report["mapping"]["ignored"] == ["Interviewer"]
    with Archive.open(folder, PASSPHRASE, settings=FAST) as opened:
        rows = {a["source_ref"]: a for a in acts(opened)}
    assert rows["EN-C-1"]["act_type"] == "torture" and rows["EN-C-1"]["sharing"] == "internal"
    assert rows["EN-C-2"]["act_type"] == "forced_repatriation"
    assert rows["EN-C-2"]["sharing"] == "public" and rows["EN-C-2"]["victim_sex"] == "male"
    assert "Staff" not in json.dumps(rows)  # the ignored column went nowhere
    # a later file of the same layout (columns in another order, headers spaced otherwise)
    later = [[h.upper() for h in reversed(ENGLISH[0])]]
    later.append(
        list(
            reversed(
                [
                    "EN-C-3",
                    "Test Person Three",
                    "f",
                    "2013",
                    "torture",
                    "Onsong",
                    "Bowibu",
                    "",
                    "internal",
                    "Staff C",
                ]
            )
        )
    )
    code, out, err = run("import", str(folder), str(write_table(tmp_path / "more.csv", later)))
    assert code == 0, err
    assert "Using the mapping saved for these columns" in out and "by owner" in out
    assert "Imported 1 of 1 rows" in out
    # suggesting for that layout now proposes the saved mapping
    code, out, err = run("import", str(folder), str(tmp_path / "more.csv"), "--suggest-map")
    assert code == 0 and "saved for this layout" in out


# --- the mapping file ---------------------------------------------------------------------------

BASE = 'columns: {"증언 번호": source_ref, "침해 유형": act_type}\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: [a, b", "mapping.yml: not YAML (line"),
        ("- a\n- b\n", "expected a mapping with the keys columns, fixed, unmapped"),
        ("colums: {}\n", "unknown key 'colums'"),
        (
            'columns: {"증언 번호": source_ref, "침해 유형": violation}\n',
            "'침해 유형': 'violation' is not a flat acts field",
        ),
        (
            'columns: {"증언 번호": source_ref, "침해 유형": act_type, "발생 장소": act_type}\n',
            "'침해 유형' and '발생 장소' both map to act_type, which takes one value",
        ),
        (
            'columns: {"증언 번호": source_ref, "침해 유형": act_type, "가해자": act_type}\n',
            "both map to act_type",
        ),
        (
            BASE + "fixed: {sharing: restricted}\n",
            "fixed: sharing: 'restricted': not one of confidential, internal, public",
        ),
        (
            BASE + "fixed: {colour: red}\n",
            "fixed: 'colour' is not a flat acts field",
        ),
        (
            BASE + "fixed: {informant: 김씨}\n",
            "fixed: informant: a fixed value may not name a person",
        ),
        (
            BASE + "fixed: {act_type: torture}\n",
            "fixed: act_type is also given by the column '침해 유형'",
        ),
        ('columns: {"증언 번호": source_ref}\n', "no column or fixed value gives act_type"),
        (
            BASE + "unmapped: drop\n",
            "unmapped: 'drop' is not one of keep, refuse",
        ),
        ('columns: {"증언 번호": source_ref, "증언번호": act_type}\n', "are the same column"),
    ],
)
def test_a_bad_mapping_file_names_the_key_and_value(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ColumnMapping.from_yaml(text, "mapping.yml")
    assert message in str(caught.value)


def test_a_bad_mapping_on_the_command_line_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "arch"
    Archive.create(folder, PASSPHRASE, settings=FAST).close()
    file = write_table(tmp_path / "기록.csv", KOREAN)
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(
        'columns:\n  "증언 번호": source_ref\n  "침해 유형": act_type\n'
        '  "Victim": victim_name\nunmapped: keep\n',
        "utf-8",
    )
    code, out, err = run("import", str(folder), str(file), "--map", str(wrong))
    assert code == 2 and "columns: 'Victim' is not a column of 기록.csv" in err
    assert "Traceback" not in out + err
    with Archive.open(folder, PASSPHRASE, settings=FAST) as opened:
        assert acts(opened) == []
        assert sheets(opened).saved_for(KOREAN[0]) is None  # a failed import saves nothing


def test_invalid_rows_name_the_files_row_and_column_and_write_nothing(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    rows = [list(r) for r in KOREAN]
    rows[2][4] = "Marhc 2009"  # row 3 of the file: 발생 일자
    rows[3][5] = "외계인 납치"  # row 4: 침해 유형
    file = write_table(tmp_path / "bad.csv", rows)
    mapping = ColumnMapping.from_dict(
        {**sheets(sqlcipher_archive).suggest(file).mapping.to_dict(), "unmapped": "keep"}
    )
    before = sqlcipher_archive.store.state_mark()
    with pytest.raises(ImportFailed) as caught:
        sheets(sqlcipher_archive).run(file, mapping)
    message = str(caught.value)
    assert "row 3, column 발생 일자: unreadable date" in message
    assert "row 4, column 침해 유형: unknown act type" in message
    assert sqlcipher_archive.store.state_mark() == before
    assert sheets(sqlcipher_archive).saved_for(KOREAN[0]) is None


# --- unmapped columns ---------------------------------------------------------------------------


def test_unmapped_columns_are_refused_unless_kept(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    file = write_table(tmp_path / "기록.csv", KOREAN)
    base = sheets(sqlcipher_archive).suggest(file).mapping.to_dict()
    with pytest.raises(InvalidInput) as default:
        sheets(sqlcipher_archive).run(file, ColumnMapping.from_dict(base))
    assert "1 column(s) not mapped: '비고'" in str(default.value)
    assert "'unmapped: keep'" in str(default.value) and "'unmapped: refuse'" in str(default.value)
    with pytest.raises(InvalidInput) as refused:
        sheets(sqlcipher_archive).run(file, ColumnMapping.from_dict({**base, "unmapped": "refuse"}))
    assert "not mapped: '비고'" in str(refused.value) and "unmapped: refuse" in str(refused.value)
    assert acts(sqlcipher_archive) == []
    ignored = ColumnMapping.from_dict({**base, "columns": {**base["columns"], "비고": "ignore"}})
    done = sheets(sqlcipher_archive).run(file, ignored)
    assert done.ignored == ["비고"] and done.kept == []
    assert all("재확인" not in a["description"] for a in acts(sqlcipher_archive))


def test_fixed_values_and_several_columns_for_one_list_field(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    file = write_table(
        tmp_path / "two.csv",
        [
            ["번호", "유형", "기관 1", "기관 2"],
            ["FX-1", "고문", "보위부", "보안서"],
        ],
    )
    mapping = ColumnMapping.from_yaml(
        'columns: {"번호": source_ref, "유형": act_type, "기관 1": perpetrator_org, '
        '"기관 2": perpetrator_org}\nfixed: {sharing: public, source_type: 면담}\n',
        "m.yml",
    )
    sheets(sqlcipher_archive).run(file, mapping)
    (act,) = acts(sqlcipher_archive)
    assert act["sharing"] == "public" and act["source_type"] == "interview"
    assert len(act["perpetrator_org"].split(";")) == 2


# --- saved mappings, and who may ---------------------------------------------------------------


def test_a_saved_mapping_is_kept_in_the_archive_on_both_stores(
    archive: Archive, tmp_path: Path
) -> None:
    file = write_table(tmp_path / "기록.xlsx", KOREAN)
    mapping = ColumnMapping.from_dict(
        {**sheets(archive).suggest(file).mapping.to_dict(), "unmapped": "keep"}
    )
    sheets(archive).run(file, mapping)
    found = sheets(archive).saved_for(list(reversed(KOREAN[0])))
    assert found is not None and found[0] == mapping and found[1]["saved_by"] == "owner"
    (audited,) = archive.audit.events(action="mapping_saved")  # kept outside the log: audited
    assert audited["detail"] == {"layout": layout_key(KOREAN[0])}
    again = sheets(archive).run(write_table(tmp_path / "다시.csv", KOREAN))
    assert again.used == "saved" and again.report.created.get("act") == 0
    # the key is the layout's hash, never a header in the clear
    assert layout_key(KOREAN[0]) in json.dumps(sorted(archive.meta()))


def test_a_file_of_unknown_columns_without_a_mapping_says_what_to_do(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    file = write_table(tmp_path / "기록.csv", KOREAN)
    with pytest.raises(InvalidInput) as caught:
        sheets(sqlcipher_archive).run(file)
    message = str(caught.value)
    assert "unknown column(s) '증언 번호'" in message and "--suggest-map" in message


def test_a_viewer_may_neither_suggest_nor_import(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    sqlcipher_archive.users.add("viewer", "viewer", "viewer passphrase 1")
    file = write_table(tmp_path / "기록.csv", KOREAN)
    mapping = ColumnMapping.from_dict(
        {**sheets(sqlcipher_archive).suggest(file).mapping.to_dict(), "unmapped": "keep"}
    )
    sheets(sqlcipher_archive).run(file, mapping)
    with Archive.open(sqlcipher_archive.folder, "viewer passphrase 1", FAST, "viewer") as viewer:
        before = viewer.store.state_mark()
        for attempt in (
            lambda: sheets(viewer).suggest(file),
            lambda: sheets(viewer).run(file, mapping),
            lambda: sheets(viewer).run(file),  # through the saved mapping
            lambda: sheets(viewer).saved_for(KOREAN[0]),
            lambda: sheets(viewer).save(KOREAN[0], mapping),
        ):
            with pytest.raises(InvalidInput, match="the viewer role may not import"):
                attempt()
        assert viewer.store.state_mark() == before


# --- names and text ------------------------------------------------------------------------------


def test_headers_compare_without_case_spaces_or_punctuation() -> None:
    assert normalise("피해자 이름") == normalise("피해자이름") == normalise("피해자_이름")
    assert normalise("Victim Name") == normalise("victim-name") == normalise(" VICTIM  NAME ")
    assert normalise("피해자 이름") == normalise("피해자 이름".encode().decode())  # NFC
    import unicodedata

    assert normalise(unicodedata.normalize("NFD", "발생 일자")) == normalise("발생일자")
    assert layout_key(["A", "b c"]) == layout_key(["bc", "a"])


def test_a_mapping_reads_back_what_it_writes() -> None:
    mapping = ColumnMapping.from_dict(
        {
            "columns": {
                '이름 "별칭"': "victim_name",
                "번호": "source_ref",
                "유형": "act_type",
                "x: y": None,
                "메모": "ignore",
            },
            "fixed": {"sharing": "public"},
            "unmapped": "keep",
        }
    )
    assert ColumnMapping.from_yaml(mapping.to_yaml({"번호": "high: # not a key"}), "m") == mapping


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["번호", "", "유형"], "row 1: column 2 has no header"),
        (["Victim", "victim ", "유형"], "columns 'Victim' and 'victim' have the same name"),
    ],
)
def test_a_spreadsheet_header_must_name_each_column_once(
    sqlcipher_archive: Archive, tmp_path: Path, header: list[str], message: str
) -> None:
    file = write_table(tmp_path / "h.csv", [header, ["A-1", "x", "고문"]])
    with pytest.raises(InvalidInput, match=re.escape(message)):
        sheets(sqlcipher_archive).suggest(file)


def test_a_mapping_file_cannot_run_code_or_be_huge(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not YAML"):
        ColumnMapping.from_yaml('!!python/object/apply:os.system ["echo hi"]\n', "evil.yml")
    big = tmp_path / "big.yml"
    big.write_text("columns:\n" + "".join(f'  "c{i}": ignore\n' for i in range(20_000)), "utf-8")
    with pytest.raises(InvalidInput, match="larger than"):
        ColumnMapping.from_file(big)
    with pytest.raises(InvalidInput, match="no such mapping file"):
        ColumnMapping.from_file(tmp_path / "missing.yml")


def test_a_header_that_looks_like_markup_is_printed_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "arch"
    Archive.create(folder, PASSPHRASE, settings=FAST).close()
    file = write_table(
        tmp_path / "m.csv", [["번호", "유형", "[/비고]", "[bold]"], ["A", "고문", "x", "y"]]
    )
    mapping = tmp_path / "m.yml"
    mapping.write_text('columns: {"번호": source_ref, "유형": act_type}\n', "utf-8")
    code, out, err = run("import", str(folder), str(file), "--map", str(mapping))
    assert code == 2 and "'[/비고]', '[bold]'" in err and "Traceback" not in out + err


def test_skip_invalid_through_a_mapping_names_their_columns(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    rows = [list(r) for r in KOREAN]
    rows[2][4] = "Marhc 2009"
    file = write_table(tmp_path / "bad.xlsx", rows)
    base = sheets(sqlcipher_archive).suggest(file).mapping.to_dict()
    mapping = ColumnMapping.from_dict({**base, "unmapped": "keep"})
    rejects = tmp_path / "rejects.csv"
    done = sheets(sqlcipher_archive).run(file, mapping, skip_invalid=True, rejects=rejects)
    assert done.report.valid_rows == 2 and done.report.invalid_rows == 1
    assert [(e.row, e.column) for e in done.report.errors] == [(3, "발생 일자")]
    with open(rejects, encoding="utf-8") as fh:
        (rejected,) = list(csv.DictReader(fh))
    assert rejected["row"] == "3" and rejected["act_date"] == "Marhc 2009"
    assert {a["source_ref"] for a in acts(sqlcipher_archive)} == {"KR-T-01", "KR-T-03"}
