"""``sillok verify`` from the user's last verification: it recomputes only what changed, and
catches what a full verification catches, whatever is done to its signed record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.custody import verified
from sillok.custody.verify import VerifyReport
from sillok.model import events
from sillok.store import ledger as store_ledger
from tests.conftest import PASSPHRASE
from tests.datasets import YODOK, write_csv

runner = CliRunner()
EDIT_OLD_EVENT = "UPDATE events SET title = 'rewritten' WHERE id = (SELECT min(id) FROM events)"


def again(archive: Archive) -> VerifyReport:
    """A verification as ``sillok verify`` runs it: from the last one, and remembered."""
    return archive.verification.run(since_last=True, remember=True)


@pytest.fixture
def verified_once(archive: Archive, tmp_path: Path) -> Archive:
    """Half the Yodok dataset imported and verified (in full: there was no record yet)."""
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK[: len(YODOK) // 2]))
    first = again(archive)
    assert first.ok, first.problems
    assert first.since is None and "no earlier verification" in first.notes[0]
    return archive


def raw(archive: Archive, *statements: str) -> None:
    """Run SQL straight on the store, as an intruder with the database key would."""
    with archive.store.engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))


def record_key(archive: Archive) -> str:
    with archive.store.reading() as conn:
        origin = store_ledger.log_state(conn).origin  # type: ignore[union-attr]
    signer = archive.vault.log.author_signer(origin)
    assert signer is not None
    return f"verified:{verified.who(signer)}"


def test_the_next_verification_recomputes_only_what_is_new(
    verified_once: Archive, tmp_path: Path
) -> None:
    verified_once.ingest.run(write_csv(tmp_path / "b.csv", YODOK))
    second = again(verified_once)
    assert second.ok, second.problems
    assert second.since is not None and 0 < second.since < second.size
    assert 0 < second.unchanged_rows < second.rows
    full = verified_once.verification.run()
    assert full.ok and full.entries == full.size > second.size
    third = again(verified_once)
    assert third.since == second.size and third.ok


def test_tampering_in_the_new_part_is_caught(verified_once: Archive, tmp_path: Path) -> None:
    verified_once.ingest.run(write_csv(tmp_path / "b.csv", YODOK))
    raw(verified_once, "UPDATE acts SET act_type = 'torture' WHERE id = (SELECT max(id) FROM acts)")
    report = again(verified_once)
    assert report.since is not None
    assert "differs from what the log recorded" in " | ".join(report.problems)
    # nothing is remembered from a verification that failed: the next one still fails
    assert not again(verified_once).ok


def test_a_new_log_entry_edited_is_caught(verified_once: Archive, tmp_path: Path) -> None:
    verified_once.ingest.run(write_csv(tmp_path / "b.csv", YODOK))
    raw(
        verified_once,
        "UPDATE ledger_entries SET row_version = 7 WHERE seq = (SELECT max(seq) - 3 FROM "
        "ledger_entries)",
    )
    report = again(verified_once)
    assert report.since is not None
    assert "does not hash to its stored leaf hash" in " | ".join(report.problems)


def test_an_old_row_edited_behind_the_log_is_caught(verified_once: Archive) -> None:
    """Not only ``--full``: the old row's chunk no longer has the fingerprint verified."""
    raw(verified_once, EDIT_OLD_EVENT)
    report = again(verified_once)
    assert report.since is not None
    assert "the stored row was changed" in " | ".join(report.problems)
    full = verified_once.verification.run()
    assert "the stored row was changed" in " | ".join(full.problems)


def test_an_old_log_entry_edited_makes_it_verify_everything(verified_once: Archive) -> None:
    raw(verified_once, "UPDATE ledger_entries SET op = 'update' WHERE seq = 5")
    report = again(verified_once)
    assert report.since is None
    assert "changed since they were last verified" in report.notes[0]
    assert "log entry 5" in " | ".join(report.problems)


def test_a_forged_record_is_reported_and_does_not_hide_a_change(
    verified_once: Archive,
) -> None:
    """An intruder edits an old row, then rewrites the record so that the row's chunk has
    the fingerprint of the edited rows: the record no longer opens with the user's key."""
    raw(verified_once, EDIT_OLD_EVENT)
    key = record_key(verified_once)
    with verified_once.store.reading() as conn:
        note = conn.execute(
            text("SELECT value FROM archive_meta WHERE key = :k"), {"k": key}
        ).scalar_one()
        first = int(conn.execute(text("SELECT min(id) FROM events")).scalar_one())
        number = first // verified.CHUNK
        lo, hi = number * verified.CHUNK, (number + 1) * verified.CHUNK
        rows = store_ledger.raw_rows_in_range(conn, events, ("id",), lo, hi)
        kept = sorted(store_ledger.kept_versions_in_range(conn, "event", lo, hi))
    forged_print = verified.fingerprint([*rows, "versions", *kept])
    text_part, _blank, signature = note.rpartition("\n\n")
    lines = text_part.split("\n")
    body = json.loads(lines[2])
    assert body["rows"]["events"][str(number)] != forged_print
    body["rows"]["events"][str(number)] = forged_print
    lines[2] = json.dumps(body, sort_keys=True)
    forged = "\n".join(lines) + "\n\n" + signature
    raw(verified_once, f"UPDATE archive_meta SET value = '{forged}' WHERE key = '{key}'")
    report = again(verified_once)
    problems = " | ".join(report.problems)
    assert report.since is None
    assert "does not open with their author key" in problems
    assert "the stored row was changed" in problems


def test_an_older_record_put_back_still_catches_a_change(
    verified_once: Archive, tmp_path: Path
) -> None:
    key = record_key(verified_once)
    with verified_once.store.reading() as conn:
        older = conn.execute(
            text("SELECT value FROM archive_meta WHERE key = :k"), {"k": key}
        ).scalar_one()
    verified_once.ingest.run(write_csv(tmp_path / "b.csv", YODOK))
    assert again(verified_once).ok
    raw(verified_once, "UPDATE acts SET act_type = 'torture' WHERE id = (SELECT max(id) FROM acts)")
    with verified_once.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE archive_meta SET value = :v WHERE key = :k"), {"v": older, "k": key}
        )
    report = again(verified_once)
    assert report.since is not None
    assert "differs from what the log recorded" in " | ".join(report.problems)


def test_a_deleted_record_means_a_full_verification(verified_once: Archive) -> None:
    raw(verified_once, f"DELETE FROM archive_meta WHERE key = '{record_key(verified_once)}'")
    raw(verified_once, EDIT_OLD_EVENT)
    report = again(verified_once)
    assert report.since is None and "no earlier verification" in report.notes[0]
    assert "the stored row was changed" in " | ".join(report.problems)


def test_the_command_starts_from_the_last_verification_unless_full(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    sqlcipher_archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    folder = str(sqlcipher_archive.folder)
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    first = runner.invoke(app, ["verify", folder], env=env)
    assert first.exit_code == 0, first.stderr
    assert "no earlier verification by" in first.stdout
    second = runner.invoke(app, ["verify", folder], env=env)
    assert second.exit_code == 0, second.stderr
    assert "from your last verification at tree size" in second.stdout
    full = runner.invoke(app, ["verify", folder, "--full", "--json"], env=env)
    assert full.exit_code == 0, full.stderr
    data = json.loads(full.stdout)
    assert data["ok"] and data["since"] is None and data["unchanged_rows"] == 0
    raw(sqlcipher_archive, "UPDATE events SET title = 'x' WHERE id = (SELECT min(id) FROM events)")
    failed = runner.invoke(app, ["verify", folder], env=env)
    assert failed.exit_code == 1 and "FAILED: events" in failed.stderr


def test_another_authors_writes_after_the_record_verify(tmp_path: Path) -> None:
    """The authors registered before the record are known when the checkpoints after it are
    checked (their registrations are replayed from the older entries, not recomputed)."""
    from tests.conftest import FAST

    admin = Archive.create(tmp_path / "archive", PASSPHRASE, settings=FAST)
    try:
        admin.users.add("dora", "documenter", "documenter passphrase, long enough")
        admin.ingest.run(write_csv(tmp_path / "a.csv", YODOK[:2]))
        assert again(admin).ok
        dora = Archive.open(
            tmp_path / "archive", "documenter passphrase, long enough", user="dora"
        )
        try:
            dora.ingest.run(write_csv(tmp_path / "b.csv", YODOK[2:]))
        finally:
            dora.close()
        report = again(admin)
        assert report.ok, report.problems
        assert report.since is not None
    finally:
        admin.close()
