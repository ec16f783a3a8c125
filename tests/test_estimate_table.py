"""The overlap table: reading CSV, rejecting bad input clearly, building from memberships."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sillok.errors import InvalidInput
from sillok.estimate import (
    OverlapTable,
    TableError,
    read_overlap_csv,
    read_strata_csv,
    strata_from_memberships,
    table_from_memberships,
)
from sillok.estimate.table import index_of, parse_overlap_text, pattern_of

DATA = Path(__file__).parent / "data" / "mse"


def test_reads_the_reference_tables() -> None:
    hiv = read_overlap_csv(DATA / "hiv.csv")
    assert hiv.lists == ("l1", "l2", "l3", "l4")
    assert hiv.observed == 1896
    assert dict(hiv.cells())[(1, 0, 0, 0)] == 403
    assert dict(hiv.cells())[(1, 1, 1, 1)] == 0
    spina = read_overlap_csv(DATA / "spina_bifida.csv")
    assert spina.observed == 626
    assert spina.list_totals() == {"l1": 247 + 112 + 142 + 12, "l2": 49 + 4 + 142 + 12,
                                   "l3": 60 + 4 + 112 + 12}
    assert read_overlap_csv(DATA / "madigan_york.csv").observed == 537


def _error(text: str, by: str | None = None) -> str:
    with pytest.raises(TableError) as caught:
        parse_overlap_text(text, source="t.csv", by=by)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,count\n1,0,3\n0,2,4\n", "t.csv, line 3, column 'b': '2' is not 0 or 1"),
        ("a,b,count\n1,0,3\n0,1,-4\n", "t.csv, line 3, column 'count': -4 is negative"),
        ("a,b,count\n1,0,3\n0,1,x\n", "line 3, column 'count': 'x' is not a whole number"),
        ("a,b,count\n1,0,2.5\n", "line 2, column 'count': '2.5' is not a whole number"),
        ("a,b,count\n0,0,3\n1,0,4\n", "line 2: the all-zero pattern (on no list) cannot be"),
        ("a,b,count\n1,0,3\n0,1,4\n1,0,5\n", "line 4: pattern a=1,b=0 repeats line 2"),
        ("a,count\n1,3\n", "at least two list columns are needed besides 'count' (found 'a')"),
        ("a,b,n\n1,0,3\n", "t.csv: no 'count' column (columns: a, b, n)"),
        ("a,b,count\n1,0\n", "t.csv, line 2: 2 values, expected 3"),
        ("", "t.csv: the file is empty"),
        ("a,b,count\n", "t.csv: the file has a header but no rows"),
        ("a,a,count\n1,0,1\n", "repeated column names"),
        ("a,b,year,count\n1,0,2010,3\n", "column 'year': '2010' is not 0 or 1 (if 'year' is not"
                                         " a list, stratify with --by year)"),
    ],
)
def test_bad_input_names_the_line_and_column(text: str, expected: str) -> None:
    assert expected in _error(text)


def test_bad_input_is_a_user_error_not_a_bug() -> None:
    with pytest.raises(InvalidInput):
        parse_overlap_text("a,b,count\n1,0,-1\n")


def test_stratified_errors() -> None:
    assert "no column 'year' to stratify by" in _error("a,b,count\n1,0,3\n", by="year")
    text = "a,b,year,count\n1,0,2010,3\n1,0,2011,4\n1,0,2010,5\n"
    assert "line 4: pattern a=1,b=0 in stratum '2010' repeats line 2" in _error(text, by="year")
    assert "line 2, column 'year': empty value" in _error("a,b,year,count\n1,0,,3\n", by="year")


def test_missing_patterns_count_zero_and_strata_sort_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("year,a,b,count\n10,1,0,5\n9,1,1,2\n9,0,1,7\n10,0,1,1\n", encoding="utf-8")
    tables = read_strata_csv(path, "year")
    assert list(tables) == ["9", "10"]
    assert dict(tables["9"].cells()) == {(0, 1): 7, (1, 0): 0, (1, 1): 2}
    assert tables["10"].stratum == "10"
    assert tables["10"].observed == 6


def test_reading_reports_missing_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="no such file"):
        read_overlap_csv(tmp_path / "absent.csv")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"a,b,count\n\xff\xfe,1,2\n")
    with pytest.raises(TableError, match="not UTF-8"):
        read_overlap_csv(binary)


def test_table_rejects_inconsistent_construction() -> None:
    with pytest.raises(TableError, match="at least two lists"):
        OverlapTable(("a",), (3,))
    with pytest.raises(TableError, match="need 3 pattern counts, got 2"):
        OverlapTable(("a", "b"), (1, 2))
    with pytest.raises(TableError, match="negative count -1 for pattern a"):
        OverlapTable(("a", "b"), (1, 2, -1))
    with pytest.raises(TableError, match="list name 'a:b' cannot contain :"):
        OverlapTable(("a:b", "c"), (1, 2, 1))


def test_memberships_give_the_overlap_table() -> None:
    people = [{"NKDB"}, {"NKDB", "TJWG"}, {"TJWG"}, {"TJWG"}, {"UN", "NKDB"}]
    table = table_from_memberships(people, notes=["linkage not run"])
    assert table.lists == ("NKDB", "TJWG", "UN")
    cells = dict(table.cells())
    assert cells[(1, 0, 0)] == 1 and cells[(1, 1, 0)] == 1 and cells[(0, 1, 0)] == 2
    assert cells[(1, 0, 1)] == 1 and table.observed == 5
    assert table.notes == ("linkage not run",)
    with pytest.raises(TableError, match="person 2 is on no list"):
        table_from_memberships([{"a"}, set(), {"b"}])
    with pytest.raises(TableError, match="person 1 is on unknown list"):
        table_from_memberships([{"c"}], lists=["a", "b"])


def test_strata_from_memberships_share_the_lists() -> None:
    rows = [("2011", {"a"}), ("2010", {"a", "b"}), ("2011", {"c"}), ("2010", {"b"})]
    tables = strata_from_memberships(rows)
    assert list(tables) == ["2010", "2011"]
    assert tables["2010"].lists == tables["2011"].lists == ("a", "b", "c")
    assert tables["2010"].list_totals() == {"a": 1, "b": 2, "c": 0}


def test_without_lists_collapses_the_table() -> None:
    table = OverlapTable.from_cells(("a", "b", "c"), {(1, 0, 0): 4, (0, 0, 1): 3, (1, 0, 1): 2,
                                                      (0, 1, 0): 1})
    collapsed = table.without_lists(["c"])
    assert collapsed.lists == ("a", "b")
    assert dict(collapsed.cells()) == {(0, 1): 1, (1, 0): 6, (1, 1): 0}


@given(st.integers(min_value=2, max_value=7), st.data())
def test_pattern_index_round_trip(n_lists: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=2**n_lists - 2))
    pattern = pattern_of(index, n_lists)
    assert any(pattern) and index_of(pattern) == index


@given(st.integers(min_value=2, max_value=5).flatmap(
    lambda j: st.lists(st.integers(min_value=0, max_value=10**6), min_size=2**j - 1,
                       max_size=2**j - 1)))
def test_csv_round_trip(counts: list[int]) -> None:
    n_lists = (len(counts) + 1).bit_length() - 1
    table = OverlapTable(tuple(f"list {j}" for j in range(n_lists)), tuple(counts))
    lines = [",".join([*table.lists, "count"])]
    lines += [",".join([*map(str, pattern), str(count)]) for pattern, count in table.cells()]
    assert parse_overlap_text("\n".join(lines) + "\n")[""] == table
