"""Red team, issue 12 finding 10: the CSV and JSON lines readers, and the import behind them,
refuse hostile input with a named error (:class:`InvalidInput`), never another exception, and
leave the archive unchanged.

Each test makes the attack and asserts the safe outcome; the ones that failed before the fix
were marked ``xfail(strict=True)``, and the markers came off with it. The files come from
``tests/data/hostile/make.py``.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from sillok.archive import Archive
from sillok.errors import InvalidInput
from sillok.records.flatacts import COLUMNS, read_rows
from tests.conftest import FAST, PASSPHRASE
from tests.security.conftest import HOSTILE, make


def read_all(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Every row, or :class:`InvalidInput`, which must name the file."""
    try:
        return list(read_rows(path))
    except InvalidInput as exc:
        assert path.name in str(exc), f"the error does not name the file: {exc}"
        raise


def refused(path: Path) -> InvalidInput:
    """The reader must refuse ``path`` with an error naming the file."""
    with pytest.raises(InvalidInput) as caught:
        read_all(path)
    return caught.value


def count_acts(archive: Archive) -> int:
    with archive.store.reading() as conn:
        return int(conn.execute(text("SELECT count(*) FROM acts")).scalar_one())


# --- JSON lines -----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deeply_nested_json_is_refused(depth: int, tmp_path: Path) -> None:
    """A description of nested arrays (a line of 20 KB or 400 KB): refused by name."""
    path = tmp_path / "deep.jsonl"
    path.write_bytes(make.deep_json_line(depth))
    refused(path)


def test_a_huge_integer_is_refused(tmp_path: Path) -> None:
    """An integer past Python's 4,300-digit conversion limit: refused by name (row 1)."""
    path = tmp_path / "huge.jsonl"
    path.write_bytes(make.huge_integer_line())
    assert "row 1" in str(refused(path))


# --- lone surrogates ------------------------------------------------------------------------

#: the free-text columns a surrogate can hide in; each reaches the database on commit
SURROGATE_COLUMNS = [
    "source_ref",
    "informant",
    "event_title",
    "place",
    "victim_ref",
    "victim_name",
    "perpetrator_org",
    "perpetrator_name",
    "description",
]


def _surrogate_line(column: str) -> bytes:
    row = {"source_ref": "S-1", "act_type": "torture", "event_ref": "E-1"}
    row[column] = row.get(column, "Kim ") + "\ud800"
    return (json.dumps(row) + "\n").encode()  # ASCII: the surrogate is an escape


def test_a_lone_surrogate_is_refused_before_commit(archive: Archive, tmp_path: Path) -> None:
    """"\\ud800" in each free-text column of a JSON line. Reading and validating must already
    refuse it (the web preview is built from them), the import must refuse it with an error
    naming the column, and nothing may be written."""
    wrong: dict[str, list[str]] = {}
    for column in SURROGATE_COLUMNS:
        path = tmp_path / f"surrogate-{column}.jsonl"
        path.write_bytes(_surrogate_line(column))
        try:
            rows = read_all(path)
        except InvalidInput:
            rows = []
        passed = [n for n, raw in rows if not isinstance(archive.ingest.parse_row(n, raw), list)]
        problems = ["reading and validation accept it (a preview offers it)"] if passed else []
        try:
            archive.ingest.run(path)
            problems.append("imported")
        except InvalidInput as exc:
            if column not in str(exc):
                problems.append(f"refused without naming the column: {exc}")
        except Exception as exc:  # the attack: the import crashes instead of refusing
            problems.append(f"{type(exc).__name__} at import: {exc}")
        if problems:
            wrong[column] = problems
    assert count_acts(archive) == 0
    assert not wrong, "\n".join(f"{c}: {'; '.join(w)}" for c, w in wrong.items())


def test_a_lone_surrogate_in_csv_bytes_is_refused(tmp_path: Path) -> None:
    """The same name as the bytes UTF-8 would give U+D800 (not valid UTF-8): refused today;
    a guard."""
    path = tmp_path / "surrogate.csv"
    path.write_bytes(make.lone_surrogate_csv())
    refused(path)


# --- any bytes ------------------------------------------------------------------------------

HEADER = ",".join(COLUMNS).encode() + b"\n"


@settings(max_examples=200, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=512),
        st.binary(max_size=512).map(lambda b: HEADER + b),
        st.text(alphabet=st.sampled_from(',"\r\n\t ;x요\x00\ufeff'), max_size=200).map(
            lambda t: HEADER + t.encode("utf-8")
        ),
    )
)
def test_any_csv_bytes_give_rows_or_a_named_error(data: bytes) -> None:
    """Property: any bytes read as CSV give rows or InvalidInput naming the file. Holds
    today; a guard."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.csv"
        path.write_bytes(data)
        with contextlib.suppress(InvalidInput):
            read_all(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
json_lines = st.one_of(
    st.binary(max_size=512),
    st.dictionaries(
        st.sampled_from(COLUMNS) | st.text(max_size=8), json_values, max_size=6
    ).map(lambda obj: (json.dumps(obj) + "\n").encode()),
    json_values.map(lambda v: (json.dumps(v) + "\n").encode()),
)


@example(data=make.deep_json_line(10_000))
@example(data=make.huge_integer_line())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=json_lines)
def test_any_json_lines_bytes_give_rows_or_a_named_error(data: bytes) -> None:
    """Property: any bytes read as JSON lines give rows or InvalidInput naming the file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.jsonl"
        path.write_bytes(data)
        with contextlib.suppress(InvalidInput):
            read_all(path)


#: text with lone surrogates among ordinary characters
any_text = st.text(
    alphabet=st.characters() | st.characters(categories=["Cs"]), min_size=1, max_size=12
)
FREE_TEXT = [c for c in SURROGATE_COLUMNS if c != "source_ref"] + ["facility", "event_ref"]


def test_any_text_in_a_valid_row_is_imported_or_refused(tmp_path: Path) -> None:
    """Property: a row valid but for arbitrary text in its free-text columns is imported or
    refused with InvalidInput, and a refusal writes nothing."""
    with Archive.create(tmp_path / "archive", PASSPHRASE, settings=FAST) as archive:

        @example(values={"victim_name": "Kim \ud800"})
        @settings(max_examples=100, deadline=None, database=None)
        @given(values=st.dictionaries(st.sampled_from(FREE_TEXT), any_text, min_size=1))
        def check(values: dict[str, str]) -> None:
            row = {"source_ref": "S-fuzz", "act_type": "torture", **values}
            path = tmp_path / "row.jsonl"
            path.write_text(json.dumps(row) + "\n", encoding="ascii")
            before = count_acts(archive)
            try:
                archive.ingest.run(path)
            except InvalidInput:
                assert count_acts(archive) == before

        check()


# --- the fixed regression files -------------------------------------------------------------

#: files of tests/data/hostile that the readers did not refuse cleanly before issue 12, and how
FAILED_BEFORE = {
    "truncated-sheet.xlsx": "xml ParseError",
    "undefined-entity.xlsx": "xml ParseError",
    "row-gap-bomb.xlsx": "read and imported, no row limit",
    "no-sheet.xlsx": "IndexError",
    "deep-nesting.jsonl": "RecursionError",
    "huge-integer.jsonl": "ValueError",
    "lone-surrogate.jsonl": "UnicodeEncodeError at commit",
}
FLAT_FILES = sorted(
    p.name for p in HOSTILE.iterdir() if p.suffix in (".csv", ".jsonl", ".xlsx")
)


def test_every_hostile_file_is_listed() -> None:
    """make.py's files are all here, and the table above names only files that exist."""
    assert set(FLAT_FILES) == {n for n in make.FILES}
    assert set(FAILED_BEFORE) <= set(FLAT_FILES)


@pytest.mark.parametrize("name", sorted(make.READ_AS))
def test_a_fuzz_found_file_reads_cleanly(name: str) -> None:
    """Files the fuzz campaign crashed the reader with, which are valid: read as their rows."""
    assert [row for _n, row in read_all(HOSTILE / name)] == make.READ_AS[name]


@pytest.mark.parametrize("name", [n for n in FLAT_FILES if n not in make.READ_AS])
def test_a_hostile_file_is_refused_by_the_import(name: str, sqlcipher_archive: Archive) -> None:
    """Each regression file: the import refuses it with InvalidInput naming the file, and
    nothing is written."""
    path = HOSTILE / name
    with pytest.raises(InvalidInput) as caught:
        sqlcipher_archive.ingest.run(path)
    assert name in str(caught.value)
    assert count_acts(sqlcipher_archive) == 0
