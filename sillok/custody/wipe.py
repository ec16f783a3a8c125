"""The panic button: make an archive impossible to open, and its files unreadable, without a
passphrase.

``sillok wipe ARCHIVE`` first overwrites and deletes every wrapped copy of the archive's keys
(``keys.json``, and any half-written ``keys.tmp``): from that moment nobody can open the archive,
in well under a second whatever its size. It then overwrites every other file of the archive
with random bytes and deletes it: the database, its write-ahead log and shared memory, the
sealed evidence files, the TOTP secrets, the failed-login notes, ``archive.json``. Overwriting
matters because a key copy may survive elsewhere (a copy of ``keys.json`` taken earlier, or its
old blocks on the disk) and, with a coerced passphrase, would open whatever ciphertext is left.
Only the ``WIPED`` marker stays (the time of the wipe, nothing else), so that a running server's
store and anyone opening the folder are told what happened; delete the folder to leave no mark.

What it cannot do: reach copies elsewhere (backups, replicas, a PostgreSQL server's data,
whose sealed fields do become unreadable but whose other columns are the server's to erase),
or overwrite in place on a disk that does not write in place: SSDs remap blocks (wear
levelling) and copy-on-write or journaling file systems may keep old blocks. There, only
full-disk encryption makes deleted data unreadable; docs/security.md says what to do.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from sillok.errors import ArchiveError
from sillok.folder import ARCHIVE_FILE, DB_FILE, KEYS_FILE, WIPED_FILE

_CHUNK = 1 << 20


@dataclass
class WipeReport:
    """What was destroyed, and how long it took."""

    folder: str
    destroyed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def overwrite(path: Path) -> None:
    """Overwrite a whole file with random bytes, in place, and flush it to the disk.

    One random megabyte is written over and over: the bytes only have to differ from the
    ciphertext they replace, and a fresh megabyte per megabyte would cost more than the disk.
    """
    length = path.stat().st_size
    noise = os.urandom(min(max(length, 1), _CHUNK))
    with open(path, "r+b") as fh:
        done = 0
        while done < max(length, 1):
            chunk = noise[: max(length, 1) - done]
            fh.write(chunk)
            done += len(chunk)
        fh.flush()
        os.fsync(fh.fileno())


def _destroy(path: Path) -> None:
    overwrite(path)
    path.unlink()


def wipe(folder: Path) -> WipeReport:
    """Destroy the archive in ``folder`` for good.

    Raises:
        ArchiveError: the folder holds no archive (nothing is touched).
    """
    started = time.perf_counter()
    folder = Path(folder)
    if not (folder / ARCHIVE_FILE).is_file():
        raise ArchiveError(f"{folder} is not a Sillok archive: nothing was wiped")
    report = WipeReport(str(folder))
    # The keys first: once they are gone nobody can open the archive, so a slow disk or a
    # pulled plug later on still leaves it unopenable.
    for name in (KEYS_FILE, "keys.tmp"):
        path = folder / name
        if path.exists():
            _destroy(path)
            report.destroyed.append(name)
    # The marker next, so that a running server's store stops handing out connections before
    # the files under it change.
    marker = {"wiped_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()}
    (folder / WIPED_FILE).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    # Then everything else, the database (the largest) last among the archive's own files.
    files = sorted(
        (p for p in folder.rglob("*") if p.is_file() and p.name != WIPED_FILE),
        key=lambda p: (p.name == DB_FILE, str(p)),
    )
    for path in files:
        _destroy(path)
        report.destroyed.append(str(path.relative_to(folder)))
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        sub.rmdir()
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    report.seconds = time.perf_counter() - started
    return report
