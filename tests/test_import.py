"""Importing flat acts files: formats, identity, versions, validation, atomicity."""

from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sillok.archive import Archive
from sillok.records.flatacts import COLUMNS, read_rows
from sillok.records.ingest import ImportFailed
from sillok.records.withheld import WITHHELD
from tests.datasets import YODOK, row, write_csv


def export_rows(archive: Archive) -> list[dict[str, str]]:
    out = io.StringIO()
    archive.exports.write(out, "json")
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_import_creates_sources_events_persons_acts(archive: Archive, tmp_path: Path) -> None:
    report = archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    assert report.committed and report.rows == 3 and report.invalid_rows == 0
    # informant, two victims, one named perpetrator
    assert report.created == {"person": 4, "source": 2, "event": 2, "act": 3}
    counts = archive.stats.archive_counts()
    assert (counts["sources"], counts["events"], counts["acts"]) == (2, 2, 3)
    torture = next(r for r in export_rows(archive) if r["act_type"] == "torture")
    assert torture["place"] == "KP-08-yodok"  # "Yodok" as a place is the county
    assert torture["facility"] == "kwanliso"  # only the facility type was given
    assert torture["perpetrator_org"] == "mss"  # "Bowibu"
    assert torture["perpetrator_name"] == "Pak Chol"
    assert torture["victim_birth"] == "1960~"


def test_same_file_twice_creates_nothing_new(archive: Archive, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", YODOK)
    archive.ingest.run(path)
    before = export_rows(archive)
    again = archive.ingest.run(path)
    assert sum(again.created.values()) == 0 and sum(again.updated.values()) == 0
    assert export_rows(archive) == before


def test_changed_row_becomes_a_new_version(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    changed = [dict(r) for r in YODOK]
    changed[0]["description"] = "요덕 관리소에 3년간 수감"
    report = archive.ingest.run(write_csv(tmp_path / "b.csv", changed))
    assert report.updated.get("act") == 1 and report.created.get("act") == 0
    hit = next(h for h in archive.searcher.search("3년간") if h.kind == "act")
    versions = archive.records.history("act", hit.id)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["description"] == "요덕수용소에 수감되었다"
    assert versions[1]["description"] == "요덕 관리소에 3년간 수감"
    # the old text is no longer found, the new one is
    assert not [h for h in archive.searcher.search("수감되었다") if h.kind == "act"]


def test_bom_crlf_and_nfd_read_alike(tmp_path: Path) -> None:
    plain = write_csv(tmp_path / "plain.csv", YODOK)
    nfd_rows = [{k: unicodedata.normalize("NFD", v) for k, v in r.items()} for r in YODOK]
    odd = write_csv(tmp_path / "odd.csv", nfd_rows, bom=True, crlf=True)
    assert [r for _n, r in read_rows(plain)] == [r for _n, r in read_rows(odd)]


def test_jsonl_and_xlsx_read_like_csv(tmp_path: Path) -> None:
    from openpyxl import Workbook

    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in YODOK), "utf-8")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(COLUMNS))
    for r in YODOK:
        sheet.append([r[c] or None for c in COLUMNS])
    book.save(tmp_path / "a.xlsx")
    expected = [r for _n, r in read_rows(write_csv(tmp_path / "a.csv", YODOK))]
    assert [r for _n, r in read_rows(jsonl)] == expected
    assert [r for _n, r in read_rows(tmp_path / "a.xlsx")] == expected


def test_invalid_rows_import_nothing_and_are_named(archive: Archive, tmp_path: Path) -> None:
    rows = [
        *YODOK,
        row(source_ref="S-9", act_type="flying"),
        row(source_ref="S-9", act_type="torture", act_date="Marhc 2009"),
    ]
    before = archive.stats.archive_counts()
    with pytest.raises(ImportFailed) as failed:
        archive.ingest.run(write_csv(tmp_path / "bad.csv", rows))
    message = str(failed.value)
    assert "row 5, column act_type" in message and "'flying'" in message
    assert "row 6, column act_date" in message and "Marhc 2009" in message
    assert "nothing was imported" in message
    assert archive.stats.archive_counts() == before
    assert archive.searcher.search("요덕") == []


def test_skip_invalid_imports_the_rest_and_writes_rejects(archive: Archive, tmp_path: Path) -> None:
    rows = [*YODOK, row(source_ref="S-9", act_type="torture", victim_sex="sometimes")]
    rejects = tmp_path / "rejects.csv"
    report = archive.ingest.run(
        write_csv(tmp_path / "bad.csv", rows), skip_invalid=True, rejects=rejects
    )
    assert report.valid_rows == 3 and report.invalid_rows == 1
    assert archive.stats.archive_counts()["acts"] == 3
    text = rejects.read_text("utf-8")
    assert "victim_sex" in text and "sometimes" in text and text.count("\n") == 2


def test_unknown_place_and_facility_are_added_unverified(archive: Archive, tmp_path: Path) -> None:
    rows = [
        row(
            source_ref="S-1",
            act_type="arbitrary_detention",
            place="가상군 어딘가",
            facility="가상 집결소",
            perpetrator_org="Imaginary Unit 99",
        )
    ]
    report = archive.ingest.run(write_csv(tmp_path / "a.csv", rows))
    assert ("place", "가상군 어딘가") in report.unverified
    assert ("facility", "가상 집결소") in report.unverified
    assert ("organization", "Imaginary Unit 99") in report.unverified
    facility = archive.places.resolve("가상 집결소", facility=True)
    assert facility is not None and facility.unverified
    assert facility.facility_type == "jipkyulso"  # guessed from the name
    # a second import finds them instead of adding them again
    again = archive.ingest.run(write_csv(tmp_path / "a.csv", rows))
    assert again.unverified == []


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("source_ref,act_type,colour\n", "unknown column(s) 'colour'"),
        ("act_type,place\n", "required column(s) missing: source_ref"),
        ("source_ref,act_type,act_type\n", "given twice: act_type"),
    ],
)
def test_bad_headers_are_refused(
    archive: Archive, tmp_path: Path, header: str, message: str
) -> None:
    path = tmp_path / "h.csv"
    path.write_text(header + "S-1,torture,x\n", "utf-8")
    with pytest.raises(
        ImportFailed.__mro__[1], match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        archive.ingest.run(path)


def test_wrong_number_of_values_names_the_row(archive: Archive, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("source_ref,act_type\nS-1,torture\nS-2\n", "utf-8")
    with pytest.raises(ImportFailed.__mro__[1], match="row 3: 1 values for 2 columns"):
        archive.ingest.run(path)
    assert archive.stats.archive_counts()["acts"] == 0


def test_export_imports_back_to_an_equal_archive(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    exported = tmp_path / "export.jsonl"
    with open(exported, "w", encoding="utf-8") as out:
        archive.exports.write(out, "json")
    other = Archive.create(tmp_path / "other", "another passphrase", settings=archive.settings)
    with other:
        other.ingest.run(exported)
        # what the export withheld ([protected]) is not in the file: the copy has nothing there
        withheld = [
            {k: "" if v in WITHHELD else v for k, v in row.items()} for row in export_rows(archive)
        ]
        assert export_rows(other) == withheld
        theirs, ours = other.stats.archive_counts(), archive.stats.archive_counts()
        # exports leave informants out (protected): the one informant is all that differs
        assert theirs == {**ours, "persons": ours["persons"] - 1}
        assert other.stats.count("province") == archive.stats.count("province")


_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    max_size=30,
).map(str.strip)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(description=_text, title=_text, name=_text)
def test_any_text_round_trips(
    sqlcipher_archive: Archive, tmp_path: Path, description: str, title: str, name: str
) -> None:
    """Whatever text a row carries comes back out of an export unchanged."""
    import uuid

    ref = f"S-{uuid.uuid4().hex}"
    nfc = [unicodedata.normalize("NFC", v) for v in (description, title, name)]
    given_row = row(
        source_ref=ref,
        act_type="torture",
        event_ref=ref,
        event_title=title,
        victim_ref=ref,
        victim_name=name,
        description=description,
    )
    path = tmp_path / f"{ref}.jsonl"
    path.write_text(json.dumps(given_row, ensure_ascii=False) + "\n", "utf-8")
    sqlcipher_archive.ingest.run(path)
    out = next(r for r in export_rows(sqlcipher_archive) if r["source_ref"] == ref)
    assert (out["description"], out["event_title"], out["victim_name"]) == tuple(nfc)


def test_non_utf8_files_are_refused_cleanly(archive: Archive, tmp_path: Path) -> None:
    for name in ("latin1.csv", "latin1.jsonl"):
        path = tmp_path / name
        if name.endswith(".csv"):
            path.write_bytes("source_ref,act_type\nS-1,torture\nS-2,caf\xe9\n".encode("latin-1"))
        else:
            path.write_bytes('{"source_ref": "S-1", "act_type": "caf\xe9"}\n'.encode("latin-1"))
        with pytest.raises(ImportFailed.__mro__[1], match="not UTF-8"):
            archive.ingest.run(path)
    assert archive.stats.archive_counts()["acts"] == 0


def test_perpetrators_keep_their_role_through_import_show_and_export(
    archive: Archive, tmp_path: Path
) -> None:
    rows = [
        row(source_ref="R-1", act_type="torture", victim_name="Ro Test-chol",
            perpetrator_org="Bowibu", perpetrator_name="Pak Chol", perpetrator_role="지시"),
        row(source_ref="R-1", act_type="arbitrary_detention", victim_name="Ro Test-chol",
            perpetrator_org="보안서"),
    ]
    archive.ingest.run(write_csv(tmp_path / "roles.csv", rows))
    exported = {r["act_type"]: r for r in export_rows(archive)}
    assert exported["torture"]["perpetrator_role"] == "ordered"
    assert exported["arbitrary_detention"]["perpetrator_role"] == ""  # the default: took part
    act_id = next(h.id for h in archive.searcher.search("", archive.searcher.act_filter())
                  if archive.records.show("act", h.id)["act_type"] == "torture")
    roles = {p["role"] for p in archive.records.show("act", act_id)["perpetrators"]}
    assert roles == {"ordered"}  # the agency and the named person alike
    # and back: an export imports to the same roles
    exported_file = tmp_path / "export.jsonl"
    with open(exported_file, "w", encoding="utf-8") as out:
        archive.exports.write(out, "json")
    with Archive.create(tmp_path / "other", "another passphrase",
                        settings=archive.settings) as other:
        other.ingest.run(exported_file)
        assert export_rows(other) == export_rows(archive)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"perpetrator_org": "Bowibu", "perpetrator_role": "bystander"}, "not one of"),
        ({"perpetrator_role": "direct"}, "needs a perpetrator_org or perpetrator_name"),
    ],
)
def test_a_bad_perpetrator_role_is_named_and_nothing_is_written(
    archive: Archive, tmp_path: Path, values: dict[str, str], reason: str
) -> None:
    before = archive.stats.archive_counts()
    bad = row(source_ref="R-2", act_type="torture", **values)
    with pytest.raises(ImportFailed) as failed:
        archive.ingest.run(write_csv(tmp_path / "bad.csv", [bad]))
    message = str(failed.value)
    assert "perpetrator_role" in message and values["perpetrator_role"] in message
    assert reason in message
    assert archive.stats.archive_counts() == before


def test_postgresql_plans_the_import_with_the_rows_it_has_written(
    pg_url: str, tmp_path: Path
) -> None:
    """The import's lookups by ref were planned for the empty tables the transaction started
    with, and scanned (100,000 acts took 368 s): the import analyses its tables inside its
    transaction, so while it runs, before anything is committed, the planner counts its rows."""
    import csv
    from dataclasses import replace

    import psycopg

    from sillok.synthetic.acts import generate_rows
    from tests.conftest import FAST, PASSPHRASE

    path = tmp_path / "acts.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(generate_rows(1200, seed=3))
    settings = replace(FAST, import_batch_size=200)
    archive = Archive.create(tmp_path / "archive", PASSPHRASE, database=pg_url, settings=settings)
    seen: dict[str, float] = {}

    def progress(rows: int) -> None:
        if rows == 1000:  # five batches written, none committed
            with psycopg.connect(pg_url) as other:
                for table in ("persons", "acts"):
                    (seen[table],) = other.execute(
                        "SELECT reltuples FROM pg_class WHERE relname = %s", (table,)
                    ).fetchall()[0]
                (seen["committed acts"],) = other.execute("SELECT count(*) FROM acts").fetchall()[0]

    try:
        report = archive.ingest.run(path, progress=progress)
    finally:
        archive.close()
    assert report.created["act"] == 1200
    assert seen["committed acts"] == 0
    # analysed after the fourth batch: 800 acts, and their victims
    assert seen["acts"] >= 800 and seen["persons"] >= 800
