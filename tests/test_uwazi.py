"""Uwazi's CSV import format: export, import back, and every way a zip is refused."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from sillok import vocab
from sillok.archive import Archive
from sillok.cli import app
from sillok.errors import InvalidInput
from sillok.records import uwazi, uwazi_files
from sillok.records.ingest import ImportFailed
from sillok.security.policy import PROTECTED, REDACTED
from sillok.security.seal import is_sealed
from sillok.settings import ReadLimits, Settings
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, row, write_csv
from tests.security.conftest import opened_as
from tests.security.test_protection_imports import (
    differences,
    fill,
    person_views,
    stored_names,
    views,
)

#: Korean and English titles, several act types, uncertain dates, roles, lists of names
ACTS = [
    *YODOK,
    row(
        source_ref="S-010",
        source_type="ngo_report",
        source_date="2008-2011",
        event_ref="E-010",
        event_title="Forced return from China",
        act_type="forced_repatriation",
        act_date="around 2005",
        place="신의주",
        victim_ref="V-010",
        victim_name="Qx Pak Un-hui",
        victim_name_hangul="박은희",
        victim_aliases="Pak Eun-hee; Unhui",
        victim_sex="female",
        victim_birth="1980-02-29",
        perpetrator_org="보위부; Korean People's Army",
        perpetrator_name="Kang Ho; Jo Myong",
        perpetrator_role="ordered",
        description="returned | handed over at the bridge",
        sharing="internal",
    ),
    row(
        source_ref="S-010",
        source_type="ngo_report",
        source_date="2008-2011",
        event_ref="E-010",
        event_title="Forced return from China",
        act_type="denial_of_food",
        act_date="1990s",
        place="North Pyongan",
        victim_ref="V-010",
        victim_name="Qx Pak Un-hui",
        perpetrator_role="superior",
        perpetrator_org="MSS",
        sharing="public",
    ),
    row(
        source_ref="S-011",
        source_type="media_report",
        source_date="2020-06-01",
        act_type="forced_labour",
        act_date="2019-06-01/2019-09",
        facility="rodong_danryundae",
        victim_name="Ri Chol",
        victim_sex="male",
        sharing="internal",
    ),
]


def counts(archive: Archive) -> dict[str, int]:
    """Rows per record table and log entries: what an import that wrote nothing leaves."""
    tables = (
        "acts",
        "persons",
        "person_names",
        "sources",
        "events",
        "act_perpetrators",
        "places",
        "organizations",
        "ledger_entries",
    )
    with archive.store.reading() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def flat_export(archive: Archive) -> list[dict[str, str]]:
    out = io.StringIO()
    archive.exports.write(out, "csv")
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def carried(rows: list[dict[str, str]]) -> list[str]:
    """What Uwazi carries of a flat export: every value but a withheld one, in a stable order."""
    return sorted(
        json.dumps(
            {k: ("" if v in (PROTECTED, REDACTED) else v) for k, v in r.items()},
            ensure_ascii=False,
            sort_keys=True,
        )
        for r in rows
    )


def csv_of(path: Path) -> list[dict[str, str]]:
    with zipfile.ZipFile(path) as book:
        return list(csv.DictReader(io.StringIO(book.read("import.csv").decode("utf-8"))))


@pytest.fixture
def filled(sqlcipher_archive: Archive, tmp_path: Path) -> Archive:
    sqlcipher_archive.ingest.run(write_csv(tmp_path / "acts.csv", ACTS))
    return sqlcipher_archive


def test_round_trip_into_an_empty_archive(archive: Archive, tmp_path: Path) -> None:
    """Export, import into a new archive: the same acts, persons, sources and events, as far
    as Uwazi carries them (everything but informants and protected values)."""
    archive.ingest.run(write_csv(tmp_path / "acts.csv", ACTS))
    path = tmp_path / "uwazi.zip"
    assert uwazi_files.export_zip(archive.exports, path).rows == len(ACTS)
    with Archive.create(tmp_path / "copy", PASSPHRASE, settings=FAST) as copy:
        report = uwazi_files.import_zip(copy.ingest, path)
        assert report.committed and report.valid_rows == len(ACTS)
        assert carried(flat_export(copy)) == carried(flat_export(archive))
        # and importing the same zip again changes nothing
        before = counts(copy)
        uwazi_files.import_zip(copy.ingest, path)
        assert counts(copy)["acts"] == before["acts"]


def test_the_zip_is_what_uwazi_reads(filled: Archive, tmp_path: Path) -> None:
    path = tmp_path / "uwazi.zip"
    uwazi_files.export_zip(filled.exports, path)
    with zipfile.ZipFile(path) as book:
        names = set(book.namelist())
        template = json.loads(book.read("template.json"))
        act_types = book.read("thesauri/act_type.csv").decode("utf-8").splitlines()
    assert {"import.csv", "template.json", "thesauri/act_type.csv", "thesauri/sharing.csv"} <= names
    # headers are the template's property names (Uwazi's safe names of the labels)
    rows = csv_of(path)
    props = {p["name"] for p in template["properties"]}
    assert props == {uwazi.safe_name(p["label"]) for p in template["properties"]}
    assert set(rows[0]) == props | {"title__ko", "title__en", "attachments"}
    by_ref = {r["source_ref"] + r["act_date_edtf"]: r for r in rows}
    torture = by_ref["S-0012009"]
    assert torture["title__ko"].startswith("고문") and torture["title__en"].startswith("Torture")
    # nested thesaurus value, multiple values, dates as YYYY-MM-DD or YYYY
    assert torture["act_type"].endswith("::Torture") and "::" in torture["act_type"]
    returned = next(r for r in rows if r["act_type"].endswith("::Forced repatriation"))
    assert returned["perpetrator_org"] == "Ministry of State Security|Korean People's Army"
    assert returned["perpetrator_name"] == "Kang Ho|Jo Myong"
    assert returned["victim_aliases"] == "Pak Eun-hee|Unhui"
    assert returned["victim_birth"] == "1980-02-29" and returned["act_date"] == ""
    assert returned["act_date_edtf"] == "2005~" and returned["perpetrator_role"] == "Ordered"
    decade = next(r for r in rows if r["act_date_edtf"] == "199X")
    assert decade["act_date"] == ""  # no single day or year: the EDTF column keeps it
    # the thesaurus CSV: language names as headers, children under their parent with "-"
    assert act_types[0] == "English,Korean"
    assert any(line.startswith("- Torture,- 고문") for line in act_types)
    assert not act_types[1].startswith("-")


COI_E_KO = vocab.load("act_types").get("coi_e").labels["ko"]


def test_an_uwazi_made_zip_imports(sqlcipher_archive: Archive, tmp_path: Path) -> None:
    """Headers as people write them (any case, spaces), Korean thesaurus labels, Uwazi's own
    date forms and its export's columns: read as Uwazi reads them."""
    path = make_zip(
        tmp_path / "made.zip",
        [
            ["Title", "Source Ref", "Act Type", "Act date", "Victim name", "Date added", "Sharing"],
            ["one", "U-1", "강제노동", "2009/03/15", "Qx One", "2024-01-01", "공개"],
            [
                "two",
                "U-1",
                "Arbitrary detention, torture, executions, enforced disappearance and "
                "political prison camps::Torture",
                "March 5, 2010",
                "Qx Two",
                "",
                "public",
            ],
            ["three", "U-2", "차별::성분 차별", "2001~2003", "Qx Three", "", ""],
            ["four", "U-2", "Torture", "2011", "Qx Four", "", ""],
        ],
    )
    with pytest.raises(ImportFailed) as failed:
        uwazi_files.import_zip(sqlcipher_archive.ingest, path)
    # a bare child label is not in the thesaurus: Uwazi would make a new value of it
    assert "row 5, column act_type" in str(failed.value)
    assert "::Torture" in str(failed.value)
    path = make_zip(
        tmp_path / "made2.zip",
        [
            ["Title", "Source Ref", "Act Type", "Act date", "Victim name", "Date added", "Sharing"],
            ["one", "U-1", f"{COI_E_KO}::강제노동", "2009/03/15", "Qx One", "2024-01-01", "공개"],
            [
                "two",
                "U-1",
                "Arbitrary detention, torture, executions, enforced disappearance and "
                "political prison camps::Torture",
                "March 5, 2010",
                "Qx Two",
                "",
                "public",
            ],
            ["three", "U-2", "차별::성분 차별", "2001~2003", "Qx Three", "", ""],
        ],
    )
    report = uwazi_files.import_zip(sqlcipher_archive.ingest, path)
    assert report.created["act"] == 3
    acts = {r["victim_name"]: r for r in flat_export(sqlcipher_archive)}
    assert acts["Qx One"]["act_type"] == "forced_labour"
    assert acts["Qx One"]["act_date"] == "2009-03-15" and acts["Qx One"]["sharing"] == "public"
    assert acts["Qx Two"]["act_type"] == "torture" and acts["Qx Two"]["act_date"] == "2010-03-05"
    assert acts["Qx Three"]["act_type"] == "songbun_discrimination"
    assert acts["Qx Three"]["act_date"] == "2001/2003"


def test_a_date_changed_in_uwazi_wins_over_the_edtf(filled: Archive, tmp_path: Path) -> None:
    path = tmp_path / "uwazi.zip"
    uwazi_files.export_zip(filled.exports, path)
    rows = csv_of(path)
    rows[0]["act_date"] = "2012-01-02"  # edited in Uwazi; act_date_edtf still says 2009-03
    rows[1]["act_date_edtf"] = "2009-05"  # edited in the CSV; act_date still says 2009
    edited = make_zip(tmp_path / "edited.zip", [list(rows[0]), *[list(r.values()) for r in rows]])
    with Archive.create(tmp_path / "copy", PASSPHRASE, settings=FAST) as copy:
        uwazi_files.import_zip(copy.ingest, edited)
        dates = {r["act_date"] for r in flat_export(copy)}
    assert {"2012-01-02", "2009-05"} <= dates and "2009-03" not in dates


# --- refused zips ----------------------------------------------------------------------------


def make_zip(
    path: Path,
    rows: list[list[str]],
    extra: dict[str, bytes] | None = None,
    csv_name: str = "import.csv",
) -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(csv_name, out.getvalue())
        for name, data in (extra or {}).items():
            book.writestr(name, data)
    return path


GOOD = [
    ["title__en", "title__ko", "source_ref", "act_type", "act_date"],
    ["A", "가", "S-1", "Torture", "2009"],
]
WITH_PARENT = (
    "Arbitrary detention, torture, executions, enforced disappearance and political "
    "prison camps::Torture"
)


def _bad(tmp_path: Path, case: str) -> tuple[Path, str]:
    """A refused zip and what its error must say."""
    path = tmp_path / f"{case}.zip"
    good = [GOOD[0], ["A", "가", "S-1", WITH_PARENT, "2009"]]
    if case == "missing csv":
        return make_zip(path, good, csv_name="acts.csv"), "no import.csv in the zip"
    if case == "unknown header":
        return make_zip(
            path, [[*good[0], "Victim shoe size"], [*good[1], "9"]]
        ), "unknown column(s) 'Victim shoe size'"
    if case == "language on a property":
        return make_zip(
            path, [[*good[0], "description__en"], [*good[1], "x"]]
        ), "'description__en' (language 'en'"
    if case == "no source_ref":
        return make_zip(
            path, [["title", "act_type"], ["A", WITH_PARENT]]
        ), "required column(s) missing: source_ref"
    if case == "value without a header":
        return make_zip(
            path, [[*good[0], ""], [*good[1], "stray"]]
        ), "row 2, column (no header): a value in a column without a header ('stray')"
    if case == "bad date":
        return make_zip(
            path, [good[0], ["A", "가", "S-1", WITH_PARENT, "2009-02-30"]]
        ), "row 2, column act_date: not a real day"
    if case == "not a date":
        return make_zip(
            path, [good[0], ["A", "가", "S-1", WITH_PARENT, "last winter"]]
        ), "row 2, column act_date: not a date Uwazi reads"
    if case == "not in the thesaurus":
        return make_zip(
            path, [good[0], ["A", "가", "S-1", "Parking fine", "2009"]]
        ), "row 2, column act_type: not in the thesaurus 'Act type' ('Parking fine')"
    if case == "two levels":
        return make_zip(
            path, [good[0], ["A", "가", "S-1", "a::b::c", "2009"]]
        ), "column act_type: more than one '::'"
    if case == "thesaurus file term":
        sheet = "English,Korean\nDiscrimination,차별\n- Parking fine,- 주차\n".encode()
        return make_zip(
            path, good, {"thesauri/act_type.csv": sheet}
        ), "thesauri/act_type.csv row 3, column English: 'Parking fine' is not in Sillok's"
    if case == "thesaurus nesting":
        sheet = b"English\n- Torture\n"
        return make_zip(
            path, good, {"thesauri/act_type.csv": sheet}
        ), "thesauri/act_type.csv row 2: a nested value needs a value above it"
    if case == "path traversal":
        return make_zip(path, good, {"../../evil.pdf": b"x"}), "member '../../evil.pdf': refused"
    if case == "absolute path":
        return make_zip(path, good, {"/etc/evil": b"x"}), "member '/etc/evil': refused"
    if case == "missing file":
        return make_zip(
            path, [[*good[0], "file"], [*good[1], "2.pdf"]], {"1.pdf": b"%PDF"}
        ), f"row 2, column file: no such file in {path.name} ('2.pdf')"
    if case == "file outside the zip":
        return make_zip(
            path,
            [[*good[0], "attachments"], [*good[1], "1.pdf|../../etc/passwd"]],
            {"1.pdf": b"%PDF"},
        ), "row 2, column attachments: refused name"
    if case == "not a zip":
        path.write_bytes(b"title,source_ref\n")
        return path, "not a readable zip file"
    if case == "zip bomb":
        return make_zip(path, good, {"bomb.bin": b"\0" * (40 << 20)}), "its members inflate to 41,9"
    if case == "too large":
        return make_zip(
            path, good, {"noise.bin": bytes(range(256)) * 20_000}
        ), "bytes, more than 4,194,304"
    if case == "bomb csv":
        return make_zip(path, [good[0], *[good[1]] * 200_000]), "inflate to 23,"
    if case == "lying sizes":
        # import.csv inflates to 8 MiB but its headers say 100 bytes: read no further than that
        make_zip(path, [*good, *[["x" * 1000]] * 8192])
        data = bytearray(path.read_bytes())
        for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
            at = data.index(signature)
            data[at + offset : at + offset + 4] = (100).to_bytes(4, "little")
        path.write_bytes(bytes(data))
        return path, "not a readable zip file"
    raise AssertionError(case)


CASES = [
    "missing csv",
    "unknown header",
    "no source_ref",
    "value without a header",
    "language on a property",
    "bad date",
    "not a date",
    "not in the thesaurus",
    "two levels",
    "thesaurus file term",
    "thesaurus nesting",
    "path traversal",
    "absolute path",
    "missing file",
    "file outside the zip",
    "not a zip",
    "zip bomb",
    "too large",
    "bomb csv",
    "lying sizes",
]


@pytest.fixture
def small_limits(tmp_path: Path) -> Iterator[Archive]:
    """An archive whose read limits are small (4 MiB inflated), with acts in it."""
    settings = Settings(kdf=FAST.kdf, read_limits=ReadLimits(xlsx_inflated_bytes=4 << 20))
    with Archive.create(tmp_path / "small", PASSPHRASE, settings=settings) as arch:
        arch.ingest.run(write_csv(tmp_path / "acts.csv", ACTS))
        yield arch


@pytest.mark.parametrize("case", CASES)
def test_a_bad_zip_is_refused_and_nothing_changes(
    small_limits: Archive, tmp_path: Path, case: str
) -> None:
    path, expected = _bad(tmp_path, case)
    before = counts(small_limits)
    with pytest.raises(InvalidInput) as refused:
        uwazi_files.import_zip(small_limits.ingest, path)
    assert expected in str(refused.value)
    assert path.name in str(refused.value) or case == "language on a property"
    assert counts(small_limits) == before


def test_the_command_line(filled: Archive, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    out = tmp_path / "cli.zip"
    filled.close()
    result = runner.invoke(
        app, ["export", str(filled.folder), "--format", "uwazi", "--output", str(out)], env=env
    )
    assert result.exit_code == 0, result.stderr
    assert f"Exported {len(ACTS)} acts" in result.stdout and zipfile.is_zipfile(out)
    result = runner.invoke(app, ["export", str(filled.folder), "--format", "uwazi"], env=env)
    assert result.exit_code == 2 and "--output" in result.stderr
    new = tmp_path / "new"
    with Archive.create(new, PASSPHRASE, settings=FAST):
        pass
    result = runner.invoke(
        app, ["import", str(new), str(out), "--format", "uwazi", "--json"], env=env
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["created"]["act"] == len(ACTS)
    bad, expected = _bad(tmp_path, "bad date")
    result = runner.invoke(app, ["import", str(new), str(bad), "--format", "uwazi"], env=env)
    assert result.exit_code == 2 and expected in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# --- roles -----------------------------------------------------------------------------------


def test_a_viewer_exports_redacted_and_may_not_import(filled: Archive, tmp_path: Path) -> None:
    with opened_as(filled, "viewer") as viewer:
        flat = flat_export(viewer)
        path = tmp_path / "viewer.zip"
        count = uwazi_files.export_zip(viewer.exports, path).rows
        assert viewer.audit is not None
        before = counts(viewer)
        with pytest.raises(InvalidInput, match="viewer role may not import"):
            uwazi_files.import_zip(viewer.ingest, path)
        assert counts(viewer) == before
    rows = csv_of(path)
    assert count == len(flat) == len(rows)
    # the same values the flat export shows the viewer, the same redactions
    for theirs, mine in zip(flat, rows, strict=True):
        assert mine["description"] == theirs["description"]
        assert mine["victim_name"] == theirs["victim_name"]
        assert mine["source_ref"] == theirs["source_ref"]
    shown = path.read_bytes() + b"".join(
        zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist()
    )
    for secret in ("Witness Alpha", "Beaten during interrogation"):  # informant, confidential
        assert secret.encode() not in shown
    exports = filled.audit.events(action="export")
    assert any(e["detail"].get("format") == "uwazi" for e in exports)


def test_no_marker_is_imported_as_data(filled: Archive, tmp_path: Path) -> None:
    with opened_as(filled, "viewer") as viewer:
        path = tmp_path / "viewer.zip"
        uwazi_files.export_zip(viewer.exports, path)
    assert any(REDACTED in v or PROTECTED in v for r in csv_of(path) for v in r.values()), (
        "the viewer's export withholds nothing: the test proves nothing"
    )
    with Archive.create(tmp_path / "copy", PASSPHRASE, settings=FAST) as copy:
        try:
            uwazi_files.import_zip(copy.ingest, path)
        except InvalidInput:
            return  # refusing the rows that cannot be matched is safe too
        with copy.store.reading() as conn:
            values: list[Any] = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT name FROM person_names UNION ALL SELECT description FROM acts "
                        "UNION ALL SELECT title FROM events"
                    )
                )
            ]
    assert not [v for v in values if v and (REDACTED in v or PROTECTED in v)]


# --- the values ------------------------------------------------------------------------------


def test_every_thesaurus_value_names_its_key_again() -> None:
    thesauri = uwazi.Thesauri()
    for column, entries in thesauri.entries.items():
        for entry in entries:
            for lang in uwazi.LANGUAGES:
                assert thesauri.key_of(column, thesauri.value(column, entry.key, lang)) == entry.key


_item = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=12
).filter(lambda s: "|" not in s and ";" not in s)


@given(st.lists(_item, max_size=5))
def test_multiple_values_round_trip(items: list[str]) -> None:
    assert uwazi.split(uwazi.MULTI.join(items)) == [i.strip() for i in items if i.strip()]


@given(st.dates(min_value=__import__("datetime").date(1000, 1, 1)))
def test_dates_round_trip(day: Any) -> None:
    assert uwazi.edtf_of_uwazi_date(uwazi.uwazi_date(day.isoformat())) == day.isoformat()
    assert uwazi.edtf_of_uwazi_date(uwazi.uwazi_date(f"{day.year:04d}")) == f"{day.year:04d}"


def test_reimporting_an_export_changes_nothing_and_unprotects_no_one(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    """The red team's case for the flat format (tests/security/test_protection_imports.py),
    through Uwazi: protected victims and a protected perpetrator, exported by an admin and
    imported again, stay as they were, their names sealed."""
    protected = fill(sqlcipher_archive, tmp_path)
    acts, persons = views(sqlcipher_archive), person_views(sqlcipher_archive)
    path = tmp_path / "admin.zip"
    uwazi_files.export_zip(sqlcipher_archive.exports, path)
    assert uwazi_files.import_zip(sqlcipher_archive.ingest, path).committed
    assert views(sqlcipher_archive) == acts, differences(acts, views(sqlcipher_archive))
    assert person_views(sqlcipher_archive) == persons
    clear = [n for p in protected for n in stored_names(sqlcipher_archive, p) if not is_sealed(n)]
    assert not clear, f"protected persons' names in the clear: {clear}"


_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="|;"),
    max_size=10,
).map(str.strip)
_choice = {
    c: st.sampled_from([e.key for e in uwazi.thesaurus(c)])
    for c in ("source_type", "victim_sex", "perpetrator_role", "sharing")
}
_dates = st.sampled_from(
    ["", "2009", "2009-03", "2009-03-15", "2005~", "199X", "2008/2011", "2009?", "..", "[redacted]"]
).filter(lambda d: d != "..")


@given(
    st.fixed_dictionaries(
        {
            "source_ref": _text,
            "event_ref": _text,
            "event_title": _text,
            "victim_ref": _text,
            "victim_name": _text,
            "victim_name_hangul": _text,
            "description": _text,
            "act_type": st.sampled_from(
                [t.key for t in vocab.load("act_types") if not t.deprecated]
            ),
            "victim_aliases": st.lists(_text.filter(bool), max_size=3).map("; ".join),
            "perpetrator_name": st.lists(_text.filter(bool), max_size=3).map("; ".join),
            "source_date": _dates,
            "act_date": _dates,
            "victim_birth": _dates,
            **_choice,
        }
    )
)
def test_a_row_survives_the_uwazi_columns(values: dict[str, str]) -> None:
    """Any flat row written as Uwazi values (``|`` lists, ``Parent::Child`` act types, dates
    and their EDTF) reads back as the same flat row."""
    flat = row(**values)
    back = uwazi.flat_row(2, uwazi.entity(flat, uwazi.Thesauri()), uwazi.Thesauri())
    assert not isinstance(back, list), back
    assert {k: v for k, v in back.items() if k != "informant"} == {
        k: v for k, v in flat.items() if k != "informant"
    }
