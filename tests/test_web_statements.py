"""How many SQL statements a page costs: each costs the same whatever it reads (SQLAlchemy's
work per statement, SQLCipher's memory security), so a page must not issue one per linked
record, and a page kept in the cache must not search again.

Statements are counted with SQLAlchemy's ``before_cursor_execute`` event, as
``bench/bench_web.py --profile-pages`` counts them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from sillok.archive import Archive
from sillok.store.imports import add_act_sources
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import row, write_csv
from tests.test_web_app import add_users, login

#: the most statements an act's record page may issue (measured: 10; the session's row, one
#: statement without a transaction, then one read transaction: BEGIN, the act, its victim's
#: names and row, its perpetrators, its sources, its event, the sources' titles, its
#: attachments)
ACT_PAGE_BUDGET = 10
MANY = 5


@dataclass
class Archived:
    """An app on an archive with an act of one source and one named perpetrator, and an act
    of five of each."""

    app: FastAPI
    one: int
    many: int


def _rows() -> list[dict[str, str]]:
    first = row(
        source_ref="S-1",
        source_type="testimony",
        act_type="arbitrary_detention",
        act_date="2009",
        place="요덕",
        victim_ref="V-1",
        victim_name="Kim Il-nam",
        perpetrator_org="보위부",
        perpetrator_name="Pak Solo",
        sharing="internal",
    )
    many = row(
        source_ref="S-A",
        source_type="testimony",
        act_type="torture",
        act_date="2010",
        place="회령",
        victim_ref="V-2",
        victim_name="Ri Tu-nam",
        perpetrator_org="보위부",
        perpetrator_name="; ".join(f"Perp Number{i}" for i in range(1, MANY + 1)),
        sharing="internal",
    )
    others = [
        row(
            source_ref=f"S-{letter}",
            source_type="interview",
            act_type="torture",
            act_date="2011",
            place="청진",
            victim_ref=f"V-{letter}",
            victim_name=f"Choe {letter}",
            sharing="internal",
        )
        for letter in "BCDE"[: MANY - 1]
    ]
    return [first, many, *others]


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archived]:
    folder = tmp_path_factory.mktemp("web-statements") / "archive"
    archive = Archive.create(folder, PASSPHRASE, settings=FAST)
    try:
        archive.ingest.run(write_csv(folder.parent / "acts.csv", _rows()))
        one = archive.records.id_of("act", _act_ref(archive, "S-1"))
        many = archive.records.id_of("act", _act_ref(archive, "S-A"))
        # The four other sources attest the second act too (as a merge of reports would).
        sources = [archive.records.id_of("source", f"S-{x}") for x in "BCDE"[: MANY - 1]]
        with archive.store.transaction() as conn:
            add_act_sources(
                conn, archive.store.dialect, [{"act_id": many, "source_id": s} for s in sources]
            )
        add_users(archive)
    finally:
        archive.close()
    app = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST))
    try:
        yield Archived(app, one, many)
    finally:
        app.state.web.close()


def _act_ref(archive: Archive, source_ref: str) -> str:
    """The ref of the act the source ``source_ref`` reports (the first, in this data)."""
    source = archive.records.show("source", archive.records.id_of("source", source_ref))
    act = archive.records.show("act", source["acts"][0])
    return str(act["ref"])


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements this process sends to its database while in the block."""
    seen: list[str] = []

    def counted(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", counted)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", counted)


def test_an_acts_page_costs_as_many_statements_with_five_sources_as_with_one(
    archived: Archived,
) -> None:
    client = login(archived.app, "admin")
    counts = {}
    for act in (archived.one, archived.many):
        client.get(f"/records/act/{act}")  # the first page of a kind may warm a cache
        with statements() as seen:
            page = client.get(f"/records/act/{act}")
        assert page.status_code == 200, page.text
        counts[act] = len(seen)
        # the page reads what it shows in one transaction; the session's row is one statement
        assert sum(_begins(s) for s in seen) == 1, seen
    many = client.get(f"/records/act/{archived.many}").text
    for i in range(1, MANY + 1):
        assert f"Perp Number{i}" in many
    for letter in "ABCDE":
        assert f"S-{letter}" in many
    assert counts[archived.one] == counts[archived.many], counts
    assert counts[archived.many] <= ACT_PAGE_BUDGET, counts


def test_a_second_identical_search_does_not_search_again(archived: Archived) -> None:
    client = login(archived.app, "admin")
    url = "/search?q=torture"
    with statements() as first:
        answer = client.get(url)
    assert answer.status_code == 200
    with statements() as second:
        again = client.get(url)
    assert again.status_code == 200
    assert again.text.count("/records/act/") == answer.text.count("/records/act/") > 0

    def reads_acts(seen: list[str]) -> list[str]:
        return [s for s in seen if " acts" in s or "search" in s.lower()]

    assert reads_acts(first), first  # the test can tell a search from a kept page
    assert not reads_acts(second), second
    assert len(second) < len(first)
    # a kept page: the session's row and the archive's state, and no transaction for them
    assert not any(_begins(s) for s in second), second
    assert sum(_begins(s) for s in first) == 1, first


def test_a_kept_dashboard_reads_the_session_and_the_archives_state_only(
    archived: Archived,
) -> None:
    client = login(archived.app, "viewer")
    assert client.get("/dashboard").status_code == 200
    with statements() as seen:
        again = client.get("/dashboard")
    assert again.status_code == 200
    assert len(seen) == 2, seen
    assert "web_sessions" in seen[0] and "ledger_state" in seen[1], seen


def test_a_static_file_reads_nothing_from_the_database(archived: Archived) -> None:
    client = login(archived.app, "viewer")
    with statements() as seen:
        answer = client.get("/static/site.css")
    assert answer.status_code == 200
    assert seen == []
    # and a page still looks its session up (the same client, logged in)
    with statements() as seen:
        assert client.get("/dashboard").status_code == 200
    assert any("web_sessions" in s for s in seen), seen


def test_reads_inside_one_read_share_a_connection_and_a_transaction(
    archived: Archived,
) -> None:
    store = archived.app.state.web.archive.store
    with statements() as seen, store.one_read():
        pass
    assert seen == []  # nothing read: no connection, no transaction
    with statements() as seen, store.one_read():
        mark = store.state_mark()  # one statement first: no transaction for it
        with store.reading() as first, store.reading() as second:
            assert first is second
            assert store.state_mark() == mark  # as first read in the block
        with store.reading() as third:
            assert third is first
        assert store.state_mark() == mark
    # the mark is read once in the block; the reading begins the one transaction
    assert [_begins(s) for s in seen] == [False], seen
    with statements() as seen, store.one_read():
        with store.reading() as shared:
            shared.execute(select(1)).scalar()
        store.state_mark()  # on the shared connection now
    assert [_begins(s) for s in seen] == [True, False, False], seen
    with store.reading() as first, store.reading() as second:
        assert first is not second  # outside the block, a connection each


def _begins(statement: str) -> bool:
    return statement.strip().upper().startswith("BEGIN")
