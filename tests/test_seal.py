"""Sealed fields: what is sealed, that a sealed value is bound to its row, crypto-shredding."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from sillok.archive import Archive
from sillok.model import person_contacts, person_names, persons
from sillok.security.policy import PROTECTED
from sillok.security.seal import ERASED, SealError, is_sealed
from tests.conftest import FAST
from tests.datasets import YODOK, write_csv


def informant_id(archive: Archive) -> int:
    with archive.store.reading() as conn:
        found = conn.execute(select(persons.c.id).where(persons.c.ref.like("informant:%")))
        return int(found.scalar_one())


def stored_names(archive: Archive, person_id: int) -> list[str]:
    with archive.store.reading() as conn:
        return [
            r.name
            for r in conn.execute(
                select(person_names).where(person_names.c.person_id == person_id)
            )
        ]


def test_protected_values_are_sealed_in_the_store(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    pid = informant_id(archive)
    names = stored_names(archive, pid)
    assert len(names) == 1 and is_sealed(names[0]) and "Witness" not in names[0]
    with archive.store.reading() as conn:
        descriptions: dict[str, str] = {
            r.sharing: r.description
            for r in conn.execute(text("SELECT sharing, description FROM acts"))
        }
    assert is_sealed(descriptions["confidential"])
    assert not is_sealed(descriptions["public"])  # public descriptions stay searchable
    assert archive.records.show("person", pid, reveal=True)["names"][0]["name"] == "Witness Alpha"
    # importing the same file again writes nothing new: sealed values compare by plaintext
    report = archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    assert sum(report.updated.values()) == 0 and len(stored_names(archive, pid)) == 1


def test_a_sealed_value_moved_to_another_row_does_not_open(
    archive: Archive, tmp_path: Path
) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    with archive.store.reading() as conn:
        rows = conn.execute(text("SELECT id, description FROM acts ORDER BY id")).all()
    sealed_id, value = next((r.id, r.description) for r in rows if is_sealed(r.description))
    other = next(r.id for r in rows if r.id != sealed_id)
    with archive.store.reading() as conn:
        assert archive.sealer.open_value(conn, "acts", "description", sealed_id, value)
        with pytest.raises(SealError, match=f"acts.description of row {other}") as err:
            archive.sealer.open_value(conn, "acts", "description", other, value)
        with pytest.raises(SealError, match="altered or moved"):
            archive.sealer.open_value(conn, "events", "description", sealed_id, value)
    assert "Beaten" not in str(err.value)


def test_a_viewer_cannot_open_seals_even_with_the_database(
    archive: Archive, tmp_path: Path
) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    pid = informant_id(archive)
    archive.users.add("vera", "viewer", "viewer passphrase")
    with Archive.open(archive.folder, "viewer passphrase", settings=FAST, user="vera") as viewer:
        (sealed,) = stored_names(viewer, pid)
        with viewer.store.reading() as conn:
            row_id = conn.execute(
                select(person_names.c.id).where(person_names.c.person_id == pid)
            ).scalar_one()
            with pytest.raises(SealError, match="does not include the seal key"):
                viewer.sealer.open_value(conn, "person_names", "name", int(row_id), sealed)
        assert viewer.records.show("person", pid, reveal=True)["names"] == [PROTECTED]


def test_protecting_a_victim_seals_their_names(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    victim = next(h.id for h in archive.searcher.search("김여정") if h.kind == "person")
    archive.protection.protect(victim)
    assert all(is_sealed(n) for n in stored_names(archive, victim))
    assert not [h for h in archive.searcher.search("김여정") if h.kind == "person"]
    shown = archive.records.show("person", victim)
    assert shown["names"] == [PROTECTED] and shown["protected"] is True
    revealed = archive.records.show("person", victim, reveal=True)["names"]
    assert {n["name"] for n in revealed} == {"Kim Yo-jong", "김여정"}
    assert archive.verification.run().ok


def test_shredding_erases_names_and_contacts_for_good(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    pid = informant_id(archive)
    archive.protection.add_contact(pid, "phone", "+82-10-0000-0000")
    with archive.store.reading() as conn:
        stored = conn.execute(select(person_contacts.c.value)).scalar()
    assert is_sealed(stored) and "0000" not in str(stored)
    assert archive.protection.contacts(pid, reveal=True)[0]["value"] == "+82-10-0000-0000"
    assert archive.protection.contacts(pid)[0]["value"] == PROTECTED
    assert archive.protection.shred(pid) is True
    assert archive.protection.shred(pid) is False
    assert archive.protection.contacts(pid, reveal=True)[0]["value"] == ERASED
    assert archive.records.show("person", pid, reveal=True)["names"][0]["name"] == ERASED
    folder = archive.folder
    archive.close()
    from tests.conftest import PASSPHRASE

    with Archive.open(folder, PASSPHRASE, settings=FAST) as again:
        assert again.protection.contacts(pid, reveal=True)[0]["value"] == ERASED
        assert again.verification.run().ok  # the log commits to ciphertext: still verifies
        assert again.audit.events(action="shred")[0]["record"] == f"person:{pid}"
