"""The import's batch path stores what a row-at-a-time import stores, and logs it faithfully.

The import computes the Merkle log's commitments, search documents and inserts a whole batch
at a time. These tests import the same synthetic file in batches and one row per batch, and
hold the two to the same records, search results and a log that ``verify`` recomputes row by
row (``sillok.ledger.entries.committed_object``, the path proof bundles use).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from sillok.archive import Archive
from sillok.ledger.entries import SHAPES, content_commitment
from sillok.ledger.merkle import root_hash
from sillok.model import ledger_entries
from sillok.records.flatacts import COLUMNS
from sillok.synthetic.acts import generate_rows
from tests.conftest import FAST, PASSPHRASE

QUERIES = ("요덕", "Yodok", "영철", "김영철", "Kim Yong-chol", "요덕 torture", "kwanliso")


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A synthetic file, and a second one that changes a tenth of its rows and adds some."""
    rows = list(generate_rows(150, seed=7))
    for r in rows:  # one confidential testimony (sealed descriptions, kept out of the index)
        if r["source_ref"] == rows[0]["source_ref"]:
            r["sharing"] = "confidential"
    changed = [
        dict(r, description=f"{r['description']} 추가 {i}") for i, r in enumerate(rows[::10])
    ]
    more = list(generate_rows(20, seed=8))
    return (
        _write(tmp_path / "a.csv", rows),
        _write(tmp_path / "b.csv", changed + more),
    )


@pytest.fixture
def one_row_batches(tmp_path: Path) -> Iterator[Archive]:
    """An archive whose imports write one row per batch."""
    settings = replace(FAST, import_batch_size=1)
    arch = Archive.create(tmp_path / "one-row", PASSPHRASE, settings=settings)
    try:
        yield arch
    finally:
        arch.close()


def _records(archive: Archive) -> list[dict[str, str]]:
    out = io.StringIO()
    archive.exports.write(out, "json")
    return sorted((json.loads(line) for line in out.getvalue().splitlines()), key=json.dumps)


def _search(archive: Archive, queries: list[str]) -> dict[str, list[tuple[str, str]]]:
    # every hit, not the first page: equal scores may rank in any order (PostgreSQL)
    return {q: sorted((h.kind, h.title) for h in archive.searcher.search(q, limit=1000))
            for q in queries}


def _queries(path: Path) -> list[str]:
    """Fixed queries, and the places and victim names of the file's first rows."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))[:5]
    found = [r[c] for r in rows for c in ("place", "victim_name", "victim_name_hangul")]
    return [*QUERIES, *sorted({q for q in found if q})]


def test_batches_store_what_one_row_at_a_time_stores(
    archive: Archive, one_row_batches: Archive, files: tuple[Path, Path]
) -> None:
    for path in files:
        batched = archive.ingest.run(path)
        single = one_row_batches.ingest.run(path)
        assert (batched.created, batched.updated) == (single.created, single.updated)
    assert batched.updated.get("act")
    assert _records(archive) == _records(one_row_batches)
    queries = _queries(files[0])
    searched = _search(archive, queries)
    assert searched == _search(one_row_batches, queries)
    assert all(searched[q] for q in queries[len(QUERIES) :])


def test_every_logged_commitment_is_the_row_by_row_one(
    archive: Archive, files: tuple[Path, Path]
) -> None:
    for path in files:
        archive.ingest.run(path)
    log = archive.log
    with archive.store.reading() as conn:
        entries = list(conn.execute(select(ledger_entries).order_by(ledger_entries.c.seq)))
        head = log.head(conn)
        checked = 0
        for name in ("acts", "persons", "person_names", "sources", "events", "act_sources"):
            shape = SHAPES[name]
            table = shape.table
            latest = {}
            for e in entries:
                if e.tbl == name and e.op != "delete":
                    latest[(e.row_id, e.row_sub)] = e
            for row in conn.execute(select(table)):
                mapping = row._mapping
                entry = latest[shape.key_of(mapping)]
                version = int(mapping["version"]) if shape.versioned else None
                keys = log.person_keys(conn, name, [dict(mapping)])
                committed = log.committed(shape, mapping, version, keys)
                assert bytes(entry.content) == content_commitment(committed), name
                checked += 1
    assert checked > 600  # every table of a 150-act file
    assert head.size == len(entries)
    assert head.root == root_hash([bytes(e.leaf_hash) for e in entries])
    report = archive.verification.run()
    assert report.ok, report.problems
