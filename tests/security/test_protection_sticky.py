"""Issue 12 findings 1-4, beyond the red-team attacks: what the fixes must keep working.

The log still verifies after a record's earlier text left its history, and a proof of the
earlier version still verifies offline; a file keeps matching a victim after they are
protected, and the refs survive a key rotation; an archive from before the ref key is
re-keyed (logged) by the first writer's import; a withheld value that would identify a
record makes its row invalid, with the column named.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sillok.archive import Archive
from sillok.custody.proofs import BundleCheck, verify_bundle
from sillok.errors import InvalidInput
from sillok.records.ingest import ImportFailed
from sillok.security.policy import PROTECTED
from sillok.security.refs import RefKey
from sillok.store import rows as store_rows
from tests.datasets import YODOK, row, write_csv

EARLIER = "Qxsticky beaten in the yard"


def sql(archive: Archive, query: str, **params: Any) -> list[Any]:
    with archive.store.reading() as conn:
        return list(conn.execute(text(query), params).all())


def counts(archive: Archive) -> dict[str, int]:
    return {
        t: int(sql(archive, f"SELECT count(*) FROM {t}")[0][0])
        for t in ("acts", "persons", "person_names", "sources", "events")
    }


def made_confidential(archive: Archive, tmp_path: Path) -> int:
    act = row(source_ref="S-1", act_type="torture", act_date="2011", victim_ref="V-1",
              victim_name="Kim Chol", description=EARLIER, sharing="internal")
    archive.ingest.run(write_csv(tmp_path / "a.csv", [act]))
    report = archive.ingest.run(write_csv(tmp_path / "b.csv", [{**act, "sharing": "confidential"}]))
    assert report.withheld == 1
    return int(sql(archive, "SELECT id FROM acts")[0][0])


def test_the_log_verifies_after_the_earlier_text_left_the_history(
    archive: Archive, tmp_path: Path
) -> None:
    act = made_confidential(archive, tmp_path)
    [(data,)] = sql(archive, "SELECT data FROM record_versions WHERE record_kind = 'act'")
    assert "Qxsticky" not in data and '"description": "withheld:v1:' in data
    verified = archive.verification.run()
    assert verified.ok, verified.problems
    # the admin's proof of version 1 withholds the text as its commitment, and verifies
    bundle = archive.proofs.record("act", act, version=1)
    assert "description" in bundle["withheld"] and "description" not in bundle["fields"]
    assert isinstance(verify_bundle(bundle), BundleCheck)
    # the history shows it to nobody, the admin included (the current text opens on reveal)
    history = archive.records.history("act", act)
    assert history[0]["description"] == PROTECTED
    assert archive.records.show("act", act, reveal=True)["description"] == EARLIER


def test_tampering_with_a_withheld_value_is_found(archive: Archive, tmp_path: Path) -> None:
    """The stand-in is the commitment the log holds: any other one fails verify."""
    made_confidential(archive, tmp_path)
    [(kept_id, data)] = sql(
        archive, "SELECT id, data FROM record_versions WHERE record_kind = 'act'"
    )
    start = data.index("withheld:v1:") + len("withheld:v1:")
    forged = data[:start] + "0" * 64 + data[start + 64 :]
    with archive.store.transaction() as conn:
        conn.execute(text("UPDATE record_versions SET data = :d WHERE id = :i"),
                     {"d": forged, "i": kept_id})
    assert not archive.verification.run().ok


def test_a_protected_victim_is_still_matched_by_their_victim_ref(
    archive: Archive, tmp_path: Path
) -> None:
    """After ``protect`` the ref is a keyed hash; the same file imported again changes
    nothing, and a new row about the victim joins them (sealed)."""
    path = write_csv(tmp_path / "y.csv", YODOK)
    archive.ingest.run(path)
    [(victim, ref)] = sql(archive, "SELECT id, ref FROM persons WHERE ref = 'victim:V-001'")
    archive.protection.protect(victim)
    [(new_ref,)] = sql(archive, "SELECT ref FROM persons WHERE id = :p", p=victim)
    assert new_ref.startswith("victim#") and "V-001" not in new_ref
    before = counts(archive)
    report = archive.ingest.run(path)
    assert sum(report.created.values()) == 0 and counts(archive) == before
    later = {**YODOK[0], "source_ref": "S-9", "victim_name": "Qxsticky Alias"}
    archive.ingest.run(write_csv(tmp_path / "later.csv", [later]))
    assert not sql(archive, "SELECT id FROM persons WHERE ref LIKE 'victim%V-001'")
    names = archive.records.show("person", victim, reveal=True)["names"]
    assert "Qxsticky Alias" in {n["name"] for n in names}
    assert archive.records.show("person", victim)["protected"] is True


def test_refs_survive_a_key_rotation(sqlcipher_archive: Archive, tmp_path: Path) -> None:
    """The ref key is a field key: rotation re-wraps it, so a file matches as before."""
    path = write_csv(tmp_path / "y.csv", YODOK)
    sqlcipher_archive.ingest.run(path)
    before = counts(sqlcipher_archive)
    sqlcipher_archive.users.rotate_keys()
    report = sqlcipher_archive.ingest.run(path)
    assert sum(report.created.values()) == 0 and counts(sqlcipher_archive) == before


def test_an_archive_from_before_the_ref_key_is_rekeyed(archive: Archive, tmp_path: Path) -> None:
    """Old refs (a perpetrator's with the name) in a migrated archive: the first import
    re-keys them, each a logged new version, and the old file still matches."""
    path = write_csv(tmp_path / "y.csv", YODOK)
    archive.ingest.run(path)
    [(perp_id,)] = sql(
        archive, "SELECT person_id FROM act_perpetrators WHERE person_id IS NOT NULL"
    )
    with archive.store.transaction() as conn:  # what the refs looked like before 0005
        person = store_rows.get(conn, "person", perp_id)
        assert person is not None
        store_rows.update_record(conn, "person", person, {"ref": "perpetrator:S-001:Pak Chol"},
                                 "old sillok")
        conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    archive.store.migrate()  # 0005 marks the archive
    assert sql(archive, "SELECT value FROM archive_meta WHERE key = 'person refs to re-key'")
    before = counts(archive)
    report = archive.ingest.run(path)
    assert sum(report.created.values()) == 0 and counts(archive) == before
    [(ref,)] = sql(archive, "SELECT ref FROM persons WHERE id = :p", p=perp_id)
    with archive.store.transaction() as conn:
        expected = RefKey.of(archive.vault.sealer, conn).perpetrator("S-001", "Pak Chol")
    assert ref == expected
    assert not sql(archive, "SELECT value FROM archive_meta WHERE key = 'person refs to re-key'")
    verified = archive.verification.run()
    assert verified.ok, verified.problems


def test_a_new_archive_is_not_marked_for_rekeying(archive: Archive) -> None:
    assert not sql(archive, "SELECT value FROM archive_meta WHERE key = 'person refs to re-key'")


@pytest.mark.parametrize("column", ["victim_ref", "source_ref", "act_date"])
def test_a_withheld_value_that_identifies_a_record_is_refused(
    archive: Archive, tmp_path: Path, column: str
) -> None:
    bad = {**YODOK[0], column: "[redacted]"}
    with pytest.raises(ImportFailed, match=f"column {column}: withheld by the export"):
        archive.ingest.run(write_csv(tmp_path / "bad.csv", [bad]))
    assert counts(archive)["acts"] == 0


def test_a_withheld_description_is_left_as_it_is(archive: Archive, tmp_path: Path) -> None:
    act = row(source_ref="S-1", act_type="torture", act_date="2011", victim_ref="V-1",
              victim_name="Kim Chol", description=EARLIER, sharing="internal")
    archive.ingest.run(write_csv(tmp_path / "a.csv", [act]))
    report = archive.ingest.run(write_csv(tmp_path / "b.csv", [{**act, "description": PROTECTED}]))
    assert sum(report.updated.values()) == 0
    assert sql(archive, "SELECT description FROM acts") == [(EARLIER,)]


def test_an_analysts_export_is_refused_by_name(archive: Archive, tmp_path: Path) -> None:
    """Victims withheld from the analyst cannot be matched: the import says so and writes
    nothing (docs/flat-acts-format.md, "Withheld values")."""
    archive.ingest.run(write_csv(tmp_path / "y.csv", YODOK))
    archive.users.add("ana", "analyst", "analyst passphrase, long enough")
    out = io.StringIO()
    with Archive.open(archive.folder, "analyst passphrase, long enough",
                      settings=archive.settings, user="ana") as analyst:
        analyst.exports.write(out, "csv")
    path = tmp_path / "analyst.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    with pytest.raises(InvalidInput, match="victim_ref: withheld"):
        archive.ingest.run(path)
