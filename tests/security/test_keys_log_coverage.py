"""What the log does not cover: seal keys and the newest audit rows, changed with raw SQL.

Threat model: "curious or coerced user" holding the database key (SQLCipher) and "PostgreSQL
administrator" (no key of Sillok's), assets "witness identities" (a seal key erased destroys
them without a `shred` in the audit trail) and "the history" (docs/threat-model.md).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text

from sillok.archive import Archive
from sillok.folder import KEYS_FILE
from sillok.model import audit_events, persons
from sillok.security.seal import ERASED
from tests.security.conftest import Loot, add_user, location, open_as, raw_engine, staged


def attacker_engine(archive: Archive) -> Engine:
    """Raw SQL on the archive's data: a viewer's key copy on SQLCipher, the server's
    administrator (no key) on PostgreSQL."""
    passphrase = add_user(archive, "qx.viewer", "viewer")
    if location(archive.folder).startswith("sqlcipher:"):
        loot = Loot.from_copy(archive.folder / KEYS_FILE, "qx.viewer", passphrase)
        return raw_engine(archive.folder, loot)
    return raw_engine(archive.folder)


def informant_of(archive: Archive) -> int:
    with archive.store.reading() as conn:
        return int(
            conn.execute(select(persons.c.id).where(persons.c.ref.like("informant:%"))).scalar_one()
        )


@pytest.mark.parametrize("tamper", ["erase", "swap"])
def test_erasing_or_swapping_seal_keys_is_caught_by_verify(yodok: Archive, tamper: str) -> None:
    victim = next(h.id for h in yodok.searcher.search("김여정") if h.kind == "person")
    yodok.protection.protect(victim)
    informant = informant_of(yodok)
    staged(yodok.verification.run().ok, "the archive verifies before the attack")
    engine = attacker_engine(yodok)
    with engine.begin() as conn:
        keys = conn.execute(
            text("SELECT id, wrapped FROM seal_keys WHERE subject LIKE 'person:%' ORDER BY id")
        ).all()
        staged(len(keys) >= 2, "two persons have seal keys")
        if tamper == "erase":
            conn.execute(text("UPDATE seal_keys SET wrapped = NULL WHERE subject LIKE 'person:%'"))
        else:
            (a, wrapped_a), (b, wrapped_b) = keys[:2]
            swap = text("UPDATE seal_keys SET wrapped = :w WHERE id = :id")
            conn.execute(swap, {"w": wrapped_b, "id": a})
            conn.execute(swap, {"w": wrapped_a, "id": b})
    engine.dispose()
    if tamper == "erase":
        shown = yodok.records.show("person", informant, reveal=True)["names"]
        staged(shown[0]["name"] == ERASED, "the informant's identity is destroyed")
    staged(not yodok.audit.events(action="shred"), "no shred was ever audited")
    report = yodok.verification.run()
    done = "erased" if tamper == "erase" else "swapped"
    assert not report.ok, f"`verify` passes after the seal keys were {done}"


@pytest.mark.parametrize(
    "store_kind",
    [
        # SQLCipher gives ids from the largest one left, so new rows take the deleted rows'
        # ids: verify catches the key inserted twice with no deletion between (issue 11 item 7)
        "sqlcipher",
        "postgresql",  # sequences never give an id twice
    ],
)
def test_deleting_the_newest_audit_rows_is_caught_by_verify(yodok: Archive) -> None:
    documenter = add_user(yodok, "qx.documenter", "documenter")
    engine = attacker_engine(yodok)
    newest = select(func.max(audit_events.c.id))
    with engine.connect() as conn:
        before = int(conn.execute(newest).scalar_one())
    with open_as(yodok.folder, "qx.documenter", documenter) as doc:
        doc.records.show("person", informant_of(yodok), reveal=True)
    with engine.begin() as conn:
        opened = conn.execute(
            select(func.count()).where(
                audit_events.c.id > before, audit_events.c.action == "open_sealed"
            )
        ).scalar_one()
        staged(opened, "the documenter's opening of a sealed name was audited")
        deleted_up_to = int(conn.execute(newest).scalar_one())
        conn.execute(audit_events.delete().where(audit_events.c.id > before))
    # colleagues go on working; their logins are the next audit rows
    for _ in range(deleted_up_to - before + 1):
        with open_as(yodok.folder, "qx.documenter", documenter):
            pass
    engine.dispose()
    staged(not yodok.audit.events(action="open_sealed"), "the openings are gone from the trail")
    report = yodok.verification.run()
    assert not report.ok, "`verify` passes after the newest audit rows were deleted"
