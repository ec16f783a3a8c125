"""Search as a working tool, through the library (both stores) and the command line: a date
range that keeps acts whose uncertain date may fall in it, sort orders, and totals and facets
over the filtered set."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from sillok.archive import Archive
from sillok.errors import InvalidInput
from sillok.records.search import SearchRequest
from sillok.records.workbook import xlsx_rows
from sillok.settings import ReadLimits
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import row, write_csv
from tests.test_cli import run

#: source ref -> (act date as written, act type); each act has its own source and victim
DATED = {
    "S-D-Q": ("2009?", "torture"),  # 2008-01-01 .. 2010-12-31
    "S-D-X": ("199X", "arbitrary_detention"),  # 1990 .. 1999
    "S-D-SPRING": ("spring 2009", "torture"),  # 2009-03-01 .. 2009-05-31
    "S-D-KSPRING": ("2009년 봄", "execution"),  # the same, in Korean
    "S-D-2011": ("2011", "torture"),
    "S-D-MAR": ("2009-03", "arbitrary_detention"),
    "S-D-NONE": ("", "torture"),  # undated
}


def _rows() -> list[dict[str, str]]:
    return [
        row(
            source_ref=ref,
            act_type=act_type,
            act_date=date,
            place="Hoeryong",
            victim_ref=f"V-{ref}",
            victim_name=f"Ranger {ref[4:].title()}",
            description=f"Rangetest {ref}",
            sharing="internal",
        )
        for ref, (date, act_type) in DATED.items()
    ]


@pytest.fixture
def dated(archive: Archive, tmp_path: Path) -> Archive:
    """The archive of the store under test with the :data:`DATED` acts."""
    archive.ingest.run(write_csv(tmp_path / "dated.csv", _rows()))
    return archive


def _refs(archive: Archive, **asked: str) -> list[str]:
    """The source refs of the acts a search finds, in its order."""
    results = archive.searcher.results(SearchRequest(**asked))
    refs = []
    for act_id in results.act_ids:
        sources = archive.records.show("act", act_id)["sources"]
        refs.append(archive.records.show("source", sources[0])["ref"])
    return refs


def test_a_range_keeps_acts_whose_uncertain_date_may_fall_in_it(dated: Archive) -> None:
    every = set(DATED)
    assert set(_refs(dated, query="Hoeryong")) == every
    # "2009?" may mean any day of 2008 to 2010: found from 2010, and up to 2008
    assert set(_refs(dated, query="Hoeryong", date_from="2010")) == {"S-D-Q", "S-D-2011"}
    assert set(_refs(dated, query="Hoeryong", date_to="2008")) == {"S-D-Q", "S-D-X"}
    # "199X" may mean 1990: found up to 1990, not up to 1989
    assert set(_refs(dated, query="Hoeryong", date_to="1990")) == {"S-D-X"}
    assert _refs(dated, query="Hoeryong", date_to="1989") == []
    # spring (March to May) overlaps April; March 2009 does not
    april = set(_refs(dated, query="Hoeryong", date_from="2009-04", date_to="2009-04"))
    assert april == {"S-D-Q", "S-D-SPRING", "S-D-KSPRING"}
    # a range written as the archive writes dates: spring 2009 in Korean, month form
    spring = set(_refs(dated, date_from="2009년 봄", date_to="2009년 봄"))
    assert spring == {"S-D-Q", "S-D-SPRING", "S-D-KSPRING", "S-D-MAR"}
    assert set(_refs(dated, date_from="2009-03", date_to="2009-03")) == spring
    # an undated act is found by words, never by a range
    assert "S-D-NONE" not in _refs(dated, date_from="1000", date_to="2100")


def test_sort_by_date_puts_the_undated_last_and_breaks_ties_by_id(dated: Archive) -> None:
    relevance = dated.searcher.results(SearchRequest("Hoeryong")).act_ids
    refs = dict(zip(_refs(dated, query="Hoeryong"), relevance, strict=True))
    assert relevance == sorted(relevance, reverse=True)  # the newest record first
    # the three acts that may start on 1 March 2009 tie: by id, both ways
    march = sorted(["S-D-SPRING", "S-D-KSPRING", "S-D-MAR"], key=refs.__getitem__)
    oldest = _refs(dated, query="Hoeryong", sort="date_asc")
    assert oldest == ["S-D-X", "S-D-Q", *march, "S-D-2011", "S-D-NONE"]
    newest = _refs(dated, query="Hoeryong", sort="date_desc")
    assert newest == ["S-D-2011", *march, "S-D-Q", "S-D-X", "S-D-NONE"]


def test_totals_and_facets_count_the_filtered_set(dated: Archive) -> None:
    results = dated.searcher.results(SearchRequest("Hoeryong", date_from="2010"))
    assert len(results.found) == 2
    assert dict(results.facets["act_type"]) == {"torture": 2}
    assert dict(results.facets["year"]) == {"2008": 1, "2009": 1, "2010": 1, "2011": 1}
    assert dict(results.facets["sharing"]) == {"internal": 2}
    spring = dated.searcher.results(SearchRequest(date_from="2009-04", date_to="2009-05"))
    assert sum(spring.facets["sharing"].values()) == len(spring.found) == 3


@pytest.mark.parametrize(
    ("asked", "named"),
    [
        ({"date_from": "Marhc 2009"}, "from: unreadable date: 'Marhc 2009'"),
        ({"date_to": "2009-13-45"}, "to: "),
        ({"date_from": "2010", "date_to": "2009"}, "from/to: the range '2010' to '2009'"),
        ({"sort": "newest"}, "sort: 'newest' is not one of relevance, date_asc, date_desc"),
        ({"year": "09"}, "year: '09'"),
    ],
)
def test_a_bad_parameter_is_named_with_its_value(
    sqlcipher_archive: Archive, asked: dict[str, str], named: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        sqlcipher_archive.searcher.prepare(SearchRequest(**asked))
    assert str(refused.value).startswith(named), refused.value


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An SQLCipher archive with the :data:`DATED` acts, for the command line."""
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST) as arch:
        arch.ingest.run(write_csv(tmp_path / "dated.csv", _rows()))
    return tmp_path / "arch"


def test_cli_sorts_filters_and_writes_every_act_found(folder: Path, tmp_path: Path) -> None:
    code, out, err = run("search", str(folder), "Hoeryong", "--from", "2010", "--json")
    assert code == 0, err
    assert len([h for h in json.loads(out) if h["kind"] == "act"]) == 2
    code, out, err = run(
        "search", str(folder), "--from", "1990", "--to", "2012", "--sort", "date_desc",
        "--limit", "2",
    )
    assert code == 0, err
    assert "2 of 6 hits" in out
    target = tmp_path / "found.csv"
    code, out, err = run(
        "search", str(folder), "Hoeryong", "--from", "2009-04", "--to", "2009-04",
        "--sort", "date_asc", "--output", str(target),
    )
    assert code == 0, err
    assert "Wrote 3 acts" in out
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig"))))
    assert [r["source_ref"] for r in rows] == ["S-D-Q", "S-D-SPRING", "S-D-KSPRING"]
    assert rows[1]["act_date"] == "2009-21" and rows[0]["victim_name"] == "Ranger Q"
    book = tmp_path / "found.xlsx"
    code, out, err = run("search", str(folder), "Hoeryong", "--output", str(book))
    assert code == 0, err
    sheet = list(xlsx_rows("found.xlsx", book, ReadLimits()))
    assert len(sheet) == 1 + len(DATED)
    assert {r[0] for r in sheet[1:]} == set(DATED)
    # the download is audited as an export, with the search that chose it
    with Archive.open(folder, PASSPHRASE) as opened:
        exports = opened.audit.events(action="export")
    assert [e["detail"]["format"] for e in exports[:2]] == ["xlsx", "csv"]
    assert exports[1]["detail"]["search_from"] == "2009-04"


def test_cli_refuses_a_bad_date_or_file_name_with_exit_2(folder: Path, tmp_path: Path) -> None:
    code, out, err = run("search", str(folder), "--from", "Marhc 2009")
    assert code == 2 and "from: unreadable date: 'Marhc 2009'" in err
    assert "Traceback" not in out + err
    code, _out, err = run("search", str(folder), "--sort", "newest")
    assert code == 2 and "sort: 'newest'" in err
    target = tmp_path / "found.txt"
    code, _out, err = run("search", str(folder), "Hoeryong", "--output", str(target))
    assert code == 2 and "--output" in err and not target.exists()
