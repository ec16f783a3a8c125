"""``sillok verify``: any change made behind the archive's back, with raw SQL, is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from tests.conftest import PASSPHRASE
from tests.datasets import YODOK, write_csv

runner = CliRunner()


@pytest.fixture
def filled(archive: Archive, tmp_path: Path) -> Archive:
    """The Yodok dataset, imported, then one act changed (so a history exists)."""
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    changed = [dict(r) for r in YODOK]
    changed[0]["description"] = "요덕 관리소에 3년간 수감"
    archive.ingest.run(write_csv(tmp_path / "b.csv", changed))
    return archive


def raw(archive: Archive, *statements: str) -> None:
    """Run SQL straight on the store, as an intruder with the database key would."""
    with archive.store.engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))


def problems(archive: Archive) -> str:
    report = archive.verification.run()
    assert not report.ok
    return " | ".join(report.problems)


def test_an_untouched_archive_verifies(filled: Archive) -> None:
    report = filled.verification.run()
    assert report.ok, report.problems
    assert report.entries == report.size > 50
    assert report.versions == 1 and report.rows > 40


def test_the_command_reports_ok_and_failure(filled: Archive) -> None:
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    result = runner.invoke(app, ["verify", str(filled.folder)], env=env)
    assert result.exit_code == 0, result.stderr
    assert "OK:" in result.stdout and "root" in result.stdout
    raw(filled, "UPDATE events SET title = 'rewritten' WHERE id = (SELECT min(id) FROM events)")
    result = runner.invoke(app, ["verify", str(filled.folder)], env=env)
    assert result.exit_code == 1
    assert "FAILED: events" in result.stderr and "was changed" in result.stderr


# --- stored rows -----------------------------------------------------------------------------


def test_an_edited_row_is_caught(filled: Archive) -> None:
    raw(filled, "UPDATE acts SET act_type = 'torture' WHERE id = (SELECT max(id) FROM acts)")
    assert "differs from what the log recorded" in problems(filled)


def test_a_deleted_row_is_caught(filled: Archive) -> None:
    raw(filled, "DELETE FROM person_names WHERE id = (SELECT max(id) FROM person_names)")
    assert "person_names" in problems(filled) and "is missing" in problems(filled)


def test_a_row_added_behind_the_log_is_caught(filled: Archive) -> None:
    raw(
        filled,
        "INSERT INTO events (id, version, created_by, created_at, updated_by, updated_at, "
        "title, sharing) VALUES (9999, 1, 'x', '2020-01-01 00:00:00', 'x', "
        "'2020-01-01 00:00:00', 'invented', 'public')",
    )
    assert "events 9999 is not in the log" in problems(filled)


def test_reordered_rows_are_caught(filled: Archive) -> None:
    # two names swap places: the same set of rows, in a different order
    with filled.store.reading() as conn:
        lo, hi = conn.execute(text("SELECT min(id), max(id) FROM person_names")).one()
    raw(
        filled,
        f"UPDATE person_names SET id = -1 WHERE id = {lo}",
        f"UPDATE person_names SET id = {lo} WHERE id = {hi}",
        f"UPDATE person_names SET id = {hi} WHERE id = -1",
    )
    assert "person_names" in problems(filled)


def test_an_edited_earlier_version_is_caught(filled: Archive) -> None:
    raw(filled, "UPDATE record_versions SET data = replace(data, '수감', '석방')")
    assert "in its history differs" in problems(filled)


def test_a_deleted_earlier_version_is_caught(filled: Archive) -> None:
    raw(filled, "DELETE FROM record_versions")
    assert "missing from its history" in problems(filled)


# --- the log ---------------------------------------------------------------------------------


def test_an_edited_entry_is_caught(filled: Archive) -> None:
    raw(filled, "UPDATE ledger_entries SET op = 'delete' WHERE seq = 5")
    assert "log entry 5" in problems(filled) and "was edited" in problems(filled)


def test_a_deleted_entry_is_caught(filled: Archive) -> None:
    raw(filled, "DELETE FROM ledger_entries WHERE seq = 7")
    assert "log entry 7 is missing" in problems(filled)


def test_reordered_entries_are_caught(filled: Archive) -> None:
    raw(
        filled,
        "UPDATE ledger_entries SET seq = -1 WHERE seq = 3",
        "UPDATE ledger_entries SET seq = 3 WHERE seq = 4",
        "UPDATE ledger_entries SET seq = 4 WHERE seq = -1",
    )
    assert "do not have the root of the checkpoint" in problems(filled)


def test_a_row_and_its_entry_rewritten_together_are_caught(filled: Archive) -> None:
    """An intruder who rewrites a row and recomputes its entry still breaks the signed roots."""
    from sqlalchemy import select

    from sillok.ledger.entries import SHAPES, content_commitment, entry_bytes
    from sillok.ledger.merkle import leaf_hash
    from sillok.model import acts, ledger_entries

    raw(filled, "UPDATE acts SET act_type = 'torture' WHERE id = (SELECT min(id) FROM acts)")
    with filled.store.engine.begin() as conn:
        row = conn.execute(select(acts).order_by(acts.c.id).limit(1)).one()
        content = content_commitment(filled.log.committed(SHAPES["acts"], row._mapping, 1))
        seq = conn.execute(
            select(ledger_entries.c.seq).where(
                ledger_entries.c.tbl == "acts", ledger_entries.c.row_id == row.id
            )
        ).scalar()
        leaf = leaf_hash(entry_bytes("acts", row.id, None, 1, "insert", content))
        conn.execute(
            ledger_entries.update()
            .where(ledger_entries.c.seq == seq)
            .values(content=content, leaf_hash=leaf)
        )
    found = problems(filled)
    assert "acts" not in found.split("|")[0] or "root" in found
    assert "do not have the root of the checkpoint" in found


def test_a_tampered_checkpoint_is_caught(filled: Archive) -> None:
    raw(
        filled,
        "UPDATE ledger_checkpoints SET note = replace(note, '\n\n', '\nextra\n\n') "
        "WHERE size = (SELECT max(size) FROM ledger_checkpoints)",
    )
    assert "checkpoint at size" in problems(filled)


def test_every_service_writes_through_the_log(filled: Archive) -> None:
    """Statements (signatories and events replaced, edits, publishing) leave a verifiable log."""
    statements = filled.statements
    first = statements.write("Joint statement", "We call on...", "en", date="2021-12-10")
    statements.set_signatories(first.id, ["Test Alliance", "테스트모임"])
    statements.set_signatories(first.id, ["Test Alliance"])
    statements.set_events(first.id, [1])
    statements.set_events(first.id, [])
    statements.edit(first.id, title="Joint statement (revised)")
    statements.publish(first.id)
    report = filled.verification.run()
    assert report.ok, report.problems
    raw(filled, "DELETE FROM statement_signatories")
    assert "statement_signatories" in problems(filled)


def test_every_roles_writes_are_signed_by_their_author_and_verify(
    filled: Archive, tmp_path: Path
) -> None:
    """Each user's session signs its checkpoints with their own author key: a documenter's
    import, a coordinator's statement, a reviewer's opening of evidence (custody), a viewer's
    login all verify, none is left unsigned, and the documenter's head carries their author
    signature alone until an administrator's session countersigns it."""
    from sillok.ledger.checkpoint import author_key_name, is_signed
    from tests.conftest import FAST

    archive, folder = filled, filled.folder
    evidence = tmp_path / "evidence.bin"
    evidence.write_bytes(b"a recorded testimony " * 50)
    attached = archive.attachments.attach("act", 1, evidence)
    passphrase = "{} keeps seven lanterns lit on the Amnok in March"
    for role in ("documenter", "coordinator", "reviewer", "viewer"):
        archive.users.add(f"u.{role}", role, passphrase.format(role))

    def opened(role: str) -> Archive:
        return Archive.open(folder, passphrase.format(role), settings=FAST, user=f"u.{role}")

    with opened("documenter") as documenter:
        changed = [dict(YODOK[0], act_type="public_execution")]
        documenter.ingest.run(write_csv(tmp_path / "c.csv", changed))
        with documenter.store.reading() as conn:
            head = documenter.log.head(conn)
    assert is_signed(head.checkpoint, author_key_name(head.origin))
    assert not is_signed(head.checkpoint, head.origin)  # not the organisation's key
    with opened("coordinator") as coordinator:
        coordinator.statements.write("Yodok", "a statement", "en", date="2020-01-01")
    with opened("reviewer") as reviewer:
        reviewer.attachments.get(attached["id"], tmp_path / "out.bin")
    opened("viewer").close()  # the viewer's login: their head, their signature
    assert archive.proofs.sign_head()  # the administrator countersigns it
    with archive.store.reading() as conn:
        head = archive.log.head(conn)
    assert is_signed(head.checkpoint, head.origin)
    assert is_signed(head.checkpoint, author_key_name(head.origin))  # the viewer's line stays
    report = archive.verification.run()
    assert report.ok, report.problems
    assert report.unsigned == 0
