"""Red team, issue 12 finding 11: backups, restores and replicas are the owner's alone.

The attacker is another account on the same machine (a shared laptop, a server's other
service), holding no passphrase: they read whatever files the umask left readable. A backup
holds the wrapped keys (guessable offline with a weak passphrase), the encrypted database and
the sealed evidence, so every folder must be 0700 and every file 0600 whatever the umask of
the administrator who made it. Before issue 12 a backup made under umask 022 came out
0755/0644.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.custody.backup import FolderReplica
from tests.conftest import PASSPHRASE
from tests.datasets import YODOK, write_csv

runner = CliRunner()


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run with the process umask set to ``mask`` (the administrator's shell's)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def readable_by_others(folder: Path) -> list[str]:
    """Every path under ``folder`` (and itself) that group or others may read, enter or
    write, with its mode: what the other account can reach."""
    found = []
    for path in [folder, *sorted(folder.rglob("*"))]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(folder.parent)} {mode:o}")
    return found


def test_a_backup_made_under_umask_022_is_not_readable_by_group_or_others(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    archive = sqlcipher_archive
    archive.ingest.run(write_csv(tmp_path / "yodok.csv", YODOK))
    evidence = tmp_path / "photo.jpg"
    evidence.write_bytes(b"\xff\xd8\xff\xe0 a photograph of the camp")
    archive.attachments.attach("source", 1, evidence)
    with umask(0o022):
        archive.backups.backup(tmp_path / "bk")
    assert (tmp_path / "bk" / "attachments").is_dir()  # the evidence store is in the copy too
    assert readable_by_others(tmp_path / "bk") == []


def test_the_backup_command_under_umask_022_and_a_folder_made_beforehand(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    """The administrator made the (empty) folder with ``mkdir`` before: it was 0755."""
    passphrase_file = tmp_path / "pass"
    passphrase_file.write_text(PASSPHRASE)
    with umask(0o022):
        (tmp_path / "bk").mkdir()
        result = runner.invoke(
            app,
            ["backup", str(sqlcipher_archive.folder), str(tmp_path / "bk"),
             "--passphrase-file", str(passphrase_file)],
            env={},
        )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert readable_by_others(tmp_path / "bk") == []


def test_a_restore_and_a_replica_under_umask_022_are_not_readable_by_others(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    archive = sqlcipher_archive
    archive.ingest.run(write_csv(tmp_path / "yodok.csv", YODOK))
    archive.backups.backup(tmp_path / "bk")
    # a backup carried on a stick whose file system gave every file 0644
    for path in (tmp_path / "bk").rglob("*"):
        os.chmod(path, 0o644)
    os.chmod(tmp_path / "bk", 0o755)
    with umask(0o022):
        Archive.restore(tmp_path / "bk", tmp_path / "restored", PASSPHRASE)
        archive.backups.replicate([FolderReplica(tmp_path / "replica")])
    assert readable_by_others(tmp_path / "restored") == []
    assert readable_by_others(tmp_path / "replica") == []
