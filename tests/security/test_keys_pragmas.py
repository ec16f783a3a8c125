"""SQLCipher's own defences: memory wiped, freed bytes overwritten (issue 11, item 10).

Threat model: "seized laptop or backup" and "any role holding the database key"
(docs/threat-model.md). Every role's key copy opens the SQLCipher file, so whatever an edit
leaves behind in the file's free space is readable by every role, and by whoever later obtains
a copy and a passphrase. The attack here is the one the archive promises to stop: an act's
description is replaced by an ordinary import that makes the act confidential (no ``protect``,
no ``shred``); from then on the archive keeps no copy of the earlier text (it is sealed, and
withheld from the history, see ``test_protection_history.py``), so any copy of it left in the
file is a leak. Without ``secure_delete`` the earlier text stays in freed cells and pages: the
attack finds it there (checked by hand with the store's private switches turned off).

A plain text edit is not the attack: the earlier version is kept in ``record_versions`` on
purpose, readable by anyone with the database key (docs/security.md).

SQLCipher only: these are SQLCipher's PRAGMAs; a PostgreSQL server keeps dead tuples until
vacuum, which is the server's business (documented).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection

from sillok.archive import Archive
from sillok.folder import DB_FILE, KEYS_FILE
from sillok.store import POOL_SIZE, Store
from tests.conftest import FAST
from tests.datasets import row, write_csv
from tests.security.conftest import (
    PASSPHRASE,
    Loot,
    add_user,
    open_as,
    sqlcipher_pages,
    staged,
    tools_fit,
)

#: a short description (stored in the row's cell) and a long one (spilling into overflow pages)
EARLIER = {
    "in_cell": "Qxearliertext beaten in the cellar by guard Ri 큐엑스지하실",
    "overflow": "Qxearliertext beaten in the cellar by guard Ri 큐엑스지하실. " * 150,
}
#: what the attacker looks for: pieces of the earlier text, in its own case (the search index
#: holds folded tokens, which are not the text's bytes)
MARKS = (b"Qxearliertext beaten", "큐엑스지하실".encode())
#: a value the archive keeps in the clear, to show the attacker's tools decrypt the file
CONTROL = b"Qxcontrolfiller"
#: acts made confidential, and acts left as they are around them
TARGETS = 12
FILLERS = 60


def _hardening(conn: Connection) -> tuple[str, str]:
    """What SQLCipher says of the two PRAGMAs on this connection."""
    memory = conn.exec_driver_sql("PRAGMA cipher_memory_security").scalar()
    erase = conn.exec_driver_sql("PRAGMA secure_delete").scalar()
    return str(memory), str(erase)


def _driver_connection(conn: Connection) -> Any:
    return conn.connection.dbapi_connection


class _Survey:
    """The PRAGMAs of every connection looked at, keyed by the driver connection (each one kept
    alive in ``held``, so that a closed connection's ``id`` is never reused by a new one)."""

    def __init__(self) -> None:
        self.seen: dict[int, tuple[str, str]] = {}
        self.weak: list[str] = []
        self.held: list[Any] = []

    def ask(self, conn: Connection, where: str) -> None:
        answer = _hardening(conn)
        driver = _driver_connection(conn)
        self.held.append(driver)
        self.seen[id(driver)] = answer
        if answer != ("1", "1"):
            self.weak.append(f"{where}: cipher_memory_security={answer[0]}, "
                             f"secure_delete={answer[1]}")


def _all_at_once(store: Store, count: int, survey: _Survey, where: str) -> None:
    """Check out ``count`` connections at the same time (past the pool's size: overflow)."""
    with ExitStack() as stack:
        for n in range(count):
            survey.ask(stack.enter_context(store.engine.connect()), f"{where} #{n}")


def test_every_connection_the_store_hands_out_wipes_memory_and_overwrites_freed_bytes(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    """The store's connections, however obtained, have both PRAGMAs on: reading, writing and
    erasing transactions; more at once than the pool keeps; the same ones handed out again;
    new ones after the pool is emptied; the driver's own connection (backup, rekey); a view
    over the pool (a server's logins); the store of another user's session; and the store
    made by ``keys rotate``.

    ``cipher_memory_security`` is one setting for the whole process (once on, SQLCipher keeps
    it on); ``secure_delete`` is per connection, so it is what shows each connection was
    configured.
    """
    archive = sqlcipher_archive
    archive.ingest.run(write_csv(tmp_path / "one.csv", [row(source_ref="S-1", act_type="torture")]))
    survey = _Survey()
    store = archive.store
    with store.reading() as conn:
        survey.ask(conn, "reading")
    with store.transaction() as conn:
        survey.ask(conn, "transaction")
    with store.erasing() as conn:
        survey.ask(conn, "erasing")
    _all_at_once(store, POOL_SIZE + 3, survey, "held at once")
    first = set(survey.seen)
    _all_at_once(store, POOL_SIZE + 3, survey, "handed out again")
    staged(first & set(survey.seen) == first, "the pool handed out the same connections again")
    store.engine.dispose()
    _all_at_once(store, 2, survey, "after the pool was emptied")
    raw = store.engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        memory = driver.execute("PRAGMA cipher_memory_security").fetchone()[0]
        erase = driver.execute("PRAGMA secure_delete").fetchone()[0]
        survey.held.append(driver)
        survey.seen[id(driver)] = (str(memory), str(erase))
        if (str(memory), str(erase)) != ("1", "1"):
            survey.weak.append(f"raw connection: {memory}, {erase}")
    finally:
        raw.close()
    view = store.view()
    _all_at_once(view, POOL_SIZE + 1, survey, "a view of the store (a server's login)")
    view.close()
    passphrase = add_user(archive, "viewer1", "viewer")
    with open_as(archive.folder, "viewer1", passphrase) as other:
        _all_at_once(other.store, 2, survey, "another user's session")
    archive.users.rotate_keys()
    staged(archive.store is not store, "keys rotate made a new store")
    _all_at_once(archive.store, POOL_SIZE + 1, survey, "after keys rotate")
    staged(len(survey.seen) >= 2 * POOL_SIZE + 6, f"{len(survey.seen)} connections looked at")
    assert not survey.weak, "connections without SQLCipher's defences:\n" + "\n".join(
        survey.weak
    )


@pytest.fixture(params=sorted(EARLIER))
def made_confidential(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Path, Loot]]:
    """Acts imported as internal, then re-imported as confidential (their descriptions
    sealed, the earlier text withheld from their history); the archive closed. Yields the
    folder and a viewer's key copy, taken while the viewer was a user.

    Several acts, among others that stay as they are: where one freed cell happens to be
    written over by the new row, the others' are not (how much survives depends on the
    layout of the pages)."""
    earlier = EARLIER[request.param]
    folder = tmp_path / "archive"
    acts = [
        row(source_ref=f"S-{n}", act_type="torture", act_date="2011", victim_ref=f"V-{n}",
            victim_name=f"Kim Chol {n}", description=f"{n} {earlier}", sharing="internal")
        for n in range(TARGETS)
    ]
    others = [
        row(source_ref=f"F-{n}", act_type="torture", act_date="2012", victim_ref=f"W-{n}",
            victim_name=f"Pak {n}", description=f"{CONTROL.decode()} {n} " * 20,
            sharing="internal")
        for n in range(FILLERS)
    ]
    with Archive.create(folder, PASSPHRASE, settings=FAST) as archive:
        viewer = add_user(archive, "viewer1", "viewer")
        archive.ingest.run(write_csv(tmp_path / "internal.csv", [*acts, *others]))
        archive.ingest.run(write_csv(tmp_path / "confidential.csv",
                                     [{**act, "sharing": "confidential"} for act in acts]))
        with archive.store.reading() as conn:
            changed = conn.exec_driver_sql(
                "SELECT sharing, description FROM acts WHERE version > 1"
            ).all()
            kept = conn.exec_driver_sql(
                "SELECT count(*) FROM record_versions WHERE instr(data, 'Qxearliertext') > 0"
            ).scalar()
        staged(len(changed) == TARGETS and all(
            sharing == "confidential" and text.startswith("sealed:") for sharing, text in changed
        ), "the acts were made confidential, their descriptions sealed")
        staged(kept == 0, "the history keeps no copy of the earlier text")
    staged(not (folder / f"{DB_FILE}-wal").exists(), "closing emptied the write-ahead log")
    yield folder, Loot.from_copy(folder / KEYS_FILE, "viewer1", viewer)


def test_a_key_holder_finds_no_earlier_text_in_the_file_after_an_ordinary_edit(
    made_confidential: tuple[Path, Loot],
) -> None:
    """The attacker holds a viewer's key copy and the database file. They decrypt every page
    with the keys of their copy, free pages and freed cells included, and search for the
    act's earlier description: they must not find it."""
    folder, loot = made_confidential
    pages = sqlcipher_pages(folder / DB_FILE, loot)
    tools_fit(any(CONTROL in page for page in pages), "the viewer's copy decrypts the pages")
    found = {mark.decode(): sum(page.count(mark) for page in pages) for mark in MARKS}
    found = {mark: count for mark, count in found.items() if count}
    assert not found, f"the earlier text is still in the file: {found} (of {len(pages)} pages)"
