"""`sillok estimate ARCHIVE --lists FIELD`: overlap tables from an archive's victims."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.errors import InvalidInput
from sillok.estimate.archive import NOT_LINKED, overlap_tables
from sillok.estimate.table import OverlapTable
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import row, write_csv

#: victims per capture pattern over collections A, B, C (synthetic counts)
PATTERNS = {"A": 12, "B": 9, "C": 7, "AB": 6, "AC": 5, "BC": 4, "ABC": 3}


def overlapping_rows() -> list[dict[str, str]]:
    rows, victim = [], 0
    for pattern, count in PATTERNS.items():
        for _ in range(count):
            victim += 1
            for collection in pattern:
                rows.append(row(
                    source_ref=f"{collection}-S{victim:03d}", act_type="arbitrary_detention",
                    act_date="2009" if victim % 2 else "2010", place="요덕",
                    victim_ref=f"V{victim:03d}", victim_name=f"Victim {victim}",
                    source_type="testimony" if collection != "C" else "document",
                ))
    return rows


@pytest.fixture
def counted(archive: Archive, tmp_path: Path) -> Archive:
    archive.ingest.run(write_csv(tmp_path / "lists.csv", overlapping_rows()))
    return archive


def cells(table: OverlapTable) -> dict[str, int]:
    found: dict[str, int] = {}
    for pattern, count in table.cells():
        found["".join(n for n, bit in zip(table.lists, pattern, strict=True) if bit)] = count
    return found


def test_collections_give_the_overlap_table(counted: Archive) -> None:
    table = overlap_tables(counted, "collection")
    assert isinstance(table, OverlapTable)
    assert table.lists == ("A", "B", "C")
    assert cells(table) == PATTERNS
    assert NOT_LINKED in table.notes


def test_strata_and_filters(counted: Archive) -> None:
    by_year = overlap_tables(counted, "collection", by="year")
    assert isinstance(by_year, dict) and set(by_year) == {"2009", "2010"}
    assert sum(t.observed for t in by_year.values()) == sum(PATTERNS.values())
    only_2009 = overlap_tables(counted, "collection", where=["from=2009", "to=2009"])
    assert isinstance(only_2009, OverlapTable)
    assert only_2009.observed == by_year["2009"].observed
    with pytest.raises(InvalidInput, match="--where 'colour=red'"):
        overlap_tables(counted, "collection", where=["colour=red"])
    with pytest.raises(InvalidInput, match="--lists"):
        overlap_tables(counted, "shoe_size")


def test_cli_archive_mode(counted: Archive) -> None:
    from sillok.cli import app

    counted.close()
    result = CliRunner().invoke(
        app, ["estimate", str(counted.folder), "--lists", "collection", "--json"],
        env={"SILLOK_PASSPHRASE": PASSPHRASE},
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["observed"] == sum(PATTERNS.values())
    assert out["estimate"] >= out["observed"]
    assert any(w.startswith("no links between victim records") for w in out["warnings"])


def test_cli_archive_mode_wrong_passphrase(tmp_path: Path) -> None:
    from sillok.cli import app

    Archive.create(tmp_path / "a", PASSPHRASE, settings=FAST).close()
    result = CliRunner().invoke(
        app, ["estimate", str(tmp_path / "a"), "--lists", "collection"],
        env={"SILLOK_PASSPHRASE": "wrong"},
    )
    assert result.exit_code == 2 and "does not unlock" in result.stderr


def test_cli_archive_mode_opens_as_the_named_user(counted: Archive, tmp_path: Path) -> None:
    """`sillok --user NAME estimate ARCHIVE --passphrase-file F` opens the archive as NAME, as
    every other command does (it used to try the administrator's copy and fail)."""
    from sillok.cli import app

    counted.users.add("alice", "analyst", "analyst passphrase 1")
    counted.close()
    secret = tmp_path / "alice.pass"
    secret.write_text("analyst passphrase 1\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["--user", "alice", "estimate", str(counted.folder), "--lists", "collection",
         "--passphrase-file", str(secret), "--json"],
        env={"SILLOK_PASSPHRASE": ""},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["observed"] == sum(PATTERNS.values())
    with Archive.open(counted.folder, PASSPHRASE, settings=FAST) as admin:
        assert admin.audit.events(action="login", actor="alice")
