"""Names recovered by guessing: the log's commitments and the keyed refs, tested with a guess list.

Threat model: "curious or coerced user of a low role", asset "witness identities and sealed
fields" (docs/threat-model.md). Korean names are a small space, so a list of guesses is a
realistic attack; here the list holds the synthetic names of the Yodok dataset among others.
"""

from __future__ import annotations

import hmac
from itertools import product

import pytest
from sqlalchemy import select

from sillok.archive import Archive
from sillok.folder import KEYS_FILE
from sillok.ledger.entries import SHAPES, content_commitment
from sillok.ledger.log import ArchiveLog
from sillok.model import ledger_entries, person_names, persons, seal_keys
from sillok.security.seal import is_sealed, unwrap_key
from tests.security.conftest import (
    Loot,
    add_user,
    admin_loot,
    open_as,
    salt_keys,
    staged,
    tools_fit,
)

GUESSES = (
    "Kim Yo-jong",
    "김여정",
    "Ri Chol-su",
    "리철수",
    "Witness Alpha",
    "Pak Chol",
    "박철",
    "이증인",
    "Lee Min-ho",
    "Choe Song-hui",
    "최성희",
    "Han Ok-sun",
)
SCRIPTS = ("Hang", "Latn")
KINDS = ("birth", "alias", "romanization", "other")


def person_named(archive: Archive, name: str) -> int:
    """The id of the person the administrator finds by a name."""
    found = [h.id for h in archive.searcher.search(name) if h.kind == "person"]
    staged(len(found) == 1, f"one person is named {name}")
    return found[0]


def commit_keys(archive: Archive, loot: Loot) -> list[dict[int, bytes]]:
    """Every person's commit key that some key of the loot unwraps from ``seal_keys`` (every
    stored copy is tried with every key, whatever its subject says)."""
    with archive.store.reading() as conn:
        stored = conn.execute(select(seal_keys).where(seal_keys.c.wrapped.is_not(None))).all()
    found: list[dict[int, bytes]] = []
    for row in stored:
        person = row.subject.rsplit(":", 1)[-1]
        if not person.isdigit():
            continue
        for key in loot.candidates():
            opened = unwrap_key(key, int(row.id), row.subject, bytes(row.wrapped))
            if opened is not None:
                found.append({int(person): opened})
    return found


def guess_names_from_the_log(archive: Archive, loot: Loot) -> set[str]:
    """Every guess that reproduces the log's commitment of some name row, present or deleted:
    with each salt key of the loot, and with each person's commit key it unwraps."""
    shape = SHAPES["person_names"]
    person_keys = [None, *commit_keys(archive, loot)]
    with archive.store.reading() as conn:
        entries = conn.execute(
            select(ledger_entries.c.row_id, ledger_entries.c.content).where(
                ledger_entries.c.tbl == "person_names", ledger_entries.c.op == "insert"
            )
        ).all()
        person_ids = list(conn.execute(select(persons.c.id)).scalars())
        scripts = {*SCRIPTS, *conn.execute(select(person_names.c.script)).scalars()}
        kinds = {*KINDS, *conn.execute(select(person_names.c.kind)).scalars()}
    found: set[str] = set()
    for key in salt_keys(loot, archive):
        log = ArchiveLog(archive.store.dialect, key, key)
        for (row_id, content), person_id, name, script, kind, keys in product(
            entries, person_ids, GUESSES, scripts, kinds, person_keys
        ):
            row = {"id": row_id, "person_id": person_id, "name": name, "script": script}
            row["kind"] = kind
            if content_commitment(log.committed(shape, row, None, keys)) == bytes(content):
                found.add(name)
    return found


@pytest.mark.parametrize("fate", ["protected", "shredded"])
def test_a_protected_or_shredded_name_cannot_be_guessed_from_the_log(
    yodok: Archive, fate: str
) -> None:
    victim = person_named(yodok, "김여정")
    yodok.protection.protect(victim)
    if fate == "shredded":
        staged(yodok.protection.shred(victim), "the victim's key was shredded")
    with yodok.store.reading() as conn:
        stored = conn.execute(
            select(person_names.c.name).where(person_names.c.person_id == victim)
        ).scalars()
        staged(all(is_sealed(n) for n in stored), "the victim's names are sealed in the store")
    if fate == "protected":  # the seal key's holders may test guesses: the tools must work
        admin_found = guess_names_from_the_log(yodok, admin_loot(yodok.folder))
        tools_fit("김여정" in admin_found, "the administrator's copy confirms the name")
    passphrase = add_user(yodok, "qx.viewer", "viewer")
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, "qx.viewer", passphrase)
    with open_as(yodok.folder, "qx.viewer", passphrase) as viewer:
        found = guess_names_from_the_log(viewer, loot)
    assert not found & {"Kim Yo-jong", "김여정"}, f"the viewer confirmed {found} from the log"


@pytest.mark.parametrize(
    "who",
    ["informant", "shredded informant", "victim"],
)
def test_a_protected_persons_ref_does_not_confirm_a_guessed_name(yodok: Archive, who: str) -> None:
    with yodok.store.reading() as conn:
        refs = dict(conn.execute(select(persons.c.id, persons.c.ref)).all())
    kind = "victim@" if who == "victim" else "informant:"
    (person,) = [pid for pid, ref in refs.items() if str(ref).startswith(kind)]
    if who == "victim":  # a victim named without a victim_ref: their ref is a keyed hash
        yodok.protection.protect(person)
    if who == "shredded informant":
        staged(yodok.protection.shred(person), "the informant's key was shredded")
    passphrase = add_user(yodok, "qx.viewer", "viewer")
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, "qx.viewer", passphrase)
    with open_as(yodok.folder, "qx.viewer", passphrase) as viewer, viewer.store.reading() as c:
        ref = str(c.execute(select(persons.c.ref).where(persons.c.id == person)).scalar_one())
    digest = ref.rsplit(":", 1)[-1]
    confirmed = {
        guess
        for key, guess in product(loot.candidates(), GUESSES)
        if hmac.digest(key, guess.encode(), "sha256").hex()[: len(digest)] == digest
    }
    assert not confirmed, f"the viewer confirmed the {who} {confirmed} from the ref {ref!r}"
