"""Backups, restores and replicas: copies that check themselves and refuse rewritten history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.custody.backup import MANIFEST, BackupError, FolderReplica, check_manifest
from sillok.errors import ArchiveError, WrongPassphrase
from sillok.ledger.merkle import CompactRange, leaf_hash
from sillok.model import ledger_checkpoints, ledger_entries, ledger_state
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv

runner = CliRunner()


@pytest.fixture
def filled(sqlcipher_archive: Archive, tmp_path: Path) -> Archive:
    sqlcipher_archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    return sqlcipher_archive


def test_backup_and_restore(filled: Archive, tmp_path: Path) -> None:
    manifest = filled.backups.backup(tmp_path / "bk")
    assert set(manifest["files"]) == {"archive.db", "archive.json", "keys.json"}
    assert manifest["row_counts"]["acts"] == 3
    assert check_manifest(tmp_path / "bk")["root"] == manifest["root"]
    filled.ingest.run(write_csv(tmp_path / "b.csv", [dict(YODOK[2], source_ref="S-9")]))
    done = Archive.restore(tmp_path / "bk", tmp_path / "restored", PASSPHRASE)
    assert done["rows"]["acts"] == 3 and done["root"] == manifest["root"]
    with Archive.open(tmp_path / "restored", PASSPHRASE, settings=FAST) as restored:
        assert restored.verification.run().ok
        assert [h.kind for h in restored.searcher.search("요덕")]
        assert restored.audit.events(action="restore")


def test_a_damaged_backup_is_refused(filled: Archive, tmp_path: Path) -> None:
    filled.backups.backup(tmp_path / "bk")
    db = tmp_path / "bk" / "archive.db"
    data = bytearray(db.read_bytes())
    data[len(data) // 2] ^= 0xFF
    db.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="archive.db does not match its manifest"):
        check_manifest(tmp_path / "bk")
    with pytest.raises(BackupError, match="does not match"):
        Archive.restore(tmp_path / "bk", tmp_path / "restored", PASSPHRASE)
    assert not (tmp_path / "restored").exists()


def test_a_truncated_backup_with_a_forged_manifest_is_refused(
    filled: Archive, tmp_path: Path
) -> None:
    filled.backups.backup(tmp_path / "bk")
    db = tmp_path / "bk" / "archive.db"
    db.write_bytes(db.read_bytes()[:8192])
    manifest = json.loads((tmp_path / "bk" / MANIFEST).read_text())
    import hashlib

    manifest["files"]["archive.db"] = hashlib.sha256(db.read_bytes()).hexdigest()
    (tmp_path / "bk" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArchiveError, match="damaged|incomplete|cannot be read|malformed"):
        Archive.restore(tmp_path / "bk", tmp_path / "restored", PASSPHRASE)
    assert not (tmp_path / "restored").exists()
    with pytest.raises(WrongPassphrase):
        Archive.restore(tmp_path / "bk", tmp_path / "again", "not the passphrase")


def _rewrite_history(archive: Archive) -> None:
    """What an insider with the database and signing keys could do: change an old entry,
    recompute every hash and re-sign. The archive alone then verifies."""
    with archive.store.transaction() as conn:
        conn.execute(update(ledger_entries).where(ledger_entries.c.seq == 3).values(op="delete"))
        leaves = []
        for row in conn.execute(select(ledger_entries).order_by(ledger_entries.c.seq)):
            from sillok.ledger.entries import entry_bytes

            leaf = leaf_hash(
                entry_bytes(
                    row.tbl,
                    row.row_id,
                    row.row_sub,
                    row.row_version,
                    row.op,
                    None if row.content is None else bytes(row.content),
                )
            )
            leaves.append(leaf)
            conn.execute(
                update(ledger_entries).where(ledger_entries.c.seq == row.seq).values(leaf_hash=leaf)
            )
        frontier = CompactRange.from_leaf_hashes(leaves)
        conn.execute(delete(ledger_checkpoints))
        conn.execute(update(ledger_state).values(frontier=frontier.to_bytes()))
        state = conn.execute(select(ledger_state)).one()
        archive.log._signer = archive.log._load_signer(state)
        archive.log._sign(conn, frontier, state.origin)


def test_replicas_accept_extensions_and_refuse_rewritten_history(
    filled: Archive, tmp_path: Path
) -> None:
    replicas = [FolderReplica(tmp_path / "r1"), FolderReplica(tmp_path / "r2")]
    first = filled.backups.replicate(replicas)
    assert [r["from_size"] for r in first] == [0, 0]
    filled.ingest.run(write_csv(tmp_path / "b.csv", [dict(YODOK[2], source_ref="S-9")]))
    second = filled.backups.replicate(replicas)
    assert second[0]["from_size"] == first[0]["to_size"] < second[0]["to_size"]
    accepted = replicas[0].accepted()
    assert accepted is not None
    _rewrite_history(filled)
    assert filled.verification.run(rows=False).ok  # the archive alone cannot tell
    with pytest.raises(BackupError, match="history was rewritten"):
        filled.backups.replicate(replicas)
    assert replicas[0].accepted() == accepted  # the replica keeps what it had
    check_manifest(tmp_path / "r1" / "copy")
    Archive.restore(tmp_path / "r1", tmp_path / "from-replica", PASSPHRASE)


def test_postgresql_archives_are_backed_up_by_the_server(pg_url: str, tmp_path: Path) -> None:
    with (
        Archive.create(tmp_path / "a", PASSPHRASE, database=pg_url, settings=FAST) as arch,
        pytest.raises(BackupError, match="pg_dump"),
    ):
        arch.backups.backup(tmp_path / "bk")
    assert not (tmp_path / "bk").exists()


def test_the_commands(filled: Archive, tmp_path: Path) -> None:
    folder = str(filled.folder)
    filled.close()
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    result = runner.invoke(app, ["backup", folder, str(tmp_path / "bk")], env=env)
    assert result.exit_code == 0 and "Backed up" in result.stdout, result.stderr
    result = runner.invoke(app, ["restore", str(tmp_path / "bk"), str(tmp_path / "r")], env=env)
    assert result.exit_code == 0 and "verified" in result.stdout, result.stderr
    result = runner.invoke(app, ["restore", str(tmp_path / "bk"), str(tmp_path / "r")], env=env)
    assert result.exit_code == 2 and "not empty" in result.stderr
    result = runner.invoke(app, ["replicate", folder, str(tmp_path / "rep")], env=env)
    assert result.exit_code == 0 and "0 ->" in result.stdout, result.stderr
