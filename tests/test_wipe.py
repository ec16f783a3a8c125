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
    assert (folder / DB_FILE).read_bytes()[:4096] != header
    with pytest.raises(ArchiveError, match="was wiped"):
        Archive.open(folder, PASSPHRASE, settings=FAST)
    (folder / "WIPED").unlink()
    with pytest.raises(ArchiveError, match="keys.json is missing"):
        Archive.open(folder, PASSPHRASE, settings=FAST)
    # someone who had copied the database key still gets nothing
    store = Store(SqlCipherDialect(folder / DB_FILE), database_key)
    with pytest.raises(ArchiveError, match="cannot be read"):
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
