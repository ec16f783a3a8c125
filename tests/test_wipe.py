"""The panic button: after ``sillok wipe`` nobody can open the archive, and it is quick."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sillok.archive import DB_FILE, KEYS_FILE, Archive
from sillok.cli import app
from sillok.custody.wipe import wipe
from sillok.errors import ArchiveError
from sillok.security.keys import derive_key
from sillok.store import Store
from sillok.store.dialects import SqlCipherDialect
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv

runner = CliRunner()


def test_a_wiped_archive_cannot_be_opened_even_with_its_key(tmp_path: Path) -> None:
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
        database_key = derive_key(archive.keys.database, "database")
    folder = tmp_path / "arch"
    header = (folder / DB_FILE).read_bytes()[:4096]
    report = wipe(folder)
    assert report.seconds < 2.0
    assert KEYS_FILE in report.destroyed
    assert not (folder / KEYS_FILE).exists() and not (folder / f"{DB_FILE}-wal").exists()
    assert header and not (folder / DB_FILE).exists()
    assert [p.name for p in folder.iterdir()] == ["WIPED"]
    with pytest.raises(ArchiveError, match="was wiped"):
        Archive.open(folder, PASSPHRASE, settings=FAST)
    (folder / "WIPED").unlink()
    with pytest.raises(ArchiveError, match="not a Sillok archive"):
        Archive.open(folder, PASSPHRASE, settings=FAST)
    # someone who had copied the database key still gets nothing
    store = Store(SqlCipherDialect(folder / DB_FILE), database_key)
    with pytest.raises(ArchiveError):
        store.check()
    store.close()


def test_the_command_asks_for_yes_and_touches_only_archives(tmp_path: Path) -> None:
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST):
        pass
    result = runner.invoke(app, ["wipe", str(tmp_path / "arch")], env={})
    assert result.exit_code == 2 and "--yes" in result.stderr
    assert (tmp_path / "arch" / KEYS_FILE).exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["wipe", str(tmp_path / "other"), "--yes"], env={})
    assert result.exit_code == 2 and "nothing was wiped" in result.stderr
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
    result = runner.invoke(app, ["wipe", str(tmp_path / "arch"), "--yes"], env={})
    assert result.exit_code == 0 and "WIPED" in result.stdout
    result = runner.invoke(
        app, ["stats", str(tmp_path / "arch")], env={"SILLOK_PASSPHRASE": PASSPHRASE}
    )
    assert result.exit_code == 2 and "wiped" in result.stderr


def test_the_old_blocks_of_every_file_are_overwritten(tmp_path: Path) -> None:
    """A hard link keeps a file's blocks reachable after it is deleted, as a disk keeps freed
    blocks: after a wipe they hold noise, so a key copy kept from before opens nothing."""
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
        (tmp_path / "note.txt").write_bytes(b"QXEVIDENCEQX" * 100)
        archive.attachments.attach("source", 1, tmp_path / "note.txt")
        database_key = derive_key(archive.keys.database, "database")
    folder = tmp_path / "arch"
    kept = tmp_path / "kept"
    kept.mkdir()
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any("attachments" in p.parts for p in files)
    for n, path in enumerate(files):
        (kept / f"{n}-{path.name}").hardlink_to(path)
    before = {copy: copy.read_bytes() for copy in kept.iterdir()}
    wipe(folder)
    for copy in kept.iterdir():
        data = copy.read_bytes()
        assert data != before[copy] and len(data) == len(before[copy]), copy.name
        assert b"QXEVIDENCEQX" not in data and b'"wrapped"' not in data and b"format" not in data
    store = Store(SqlCipherDialect(next(kept.glob(f"*-{DB_FILE}"))), database_key)
    with pytest.raises(ArchiveError):
        store.check()
    store.close()


def test_saving_the_key_file_overwrites_the_old_one(tmp_path: Path) -> None:
    """keys.json is replaced by a rename; the old file's blocks are overwritten, so a removed
    user's copy does not linger on the disk."""
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST) as archive:
        archive.users.add("jiwoo", "viewer", "viewer passphrase 2")
        (tmp_path / "before.json").hardlink_to(tmp_path / "arch" / KEYS_FILE)
        archive.users.remove("jiwoo")
    leftover = (tmp_path / "before.json").read_bytes()
    assert b"jiwoo" not in leftover and b"wrapped" not in leftover
    assert b"wrapped" in (tmp_path / "arch" / KEYS_FILE).read_bytes()
