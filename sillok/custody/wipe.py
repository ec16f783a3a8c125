"""The panic button: make an archive impossible to open, fast, without a passphrase.

``sillok wipe ARCHIVE`` overwrites and deletes every wrapped copy of the archive's keys
(``keys.json``, and any half-written ``keys.tmp``), overwrites the start of the database file
(the SQLCipher salt and first pages) and deletes its write-ahead log. The database key was
random and lived only in those copies, so what remains (the encrypted database, the sealed
attachments) cannot be decrypted by anyone, including the archive's own users. It takes well
under a second on any archive size: nothing but the key file and a megabyte is written.

What it cannot do: reach copies elsewhere (backups, replicas, a PostgreSQL server's data,
whose sealed fields do become unreadable but whose other columns are the server's to erase),
or guarantee that a flash drive's wear levelling kept no old block of ``keys.json``.
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

_HEADER_BYTES = 1 << 20


@dataclass
class WipeReport:
    """What was destroyed, and how long it took."""

    folder: str
    destroyed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _overwrite(path: Path, size: int | None = None) -> None:
    """Overwrite a file (or its first ``size`` bytes) with random bytes and flush it to disk."""
    length = path.stat().st_size if size is None else min(size, path.stat().st_size)
    with open(path, "r+b") as fh:
        fh.write(os.urandom(max(length, 1)))
        fh.flush()
        os.fsync(fh.fileno())


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
    # The keys first: once they are gone nothing else matters, so a slow disk or a pulled
    # plug later on still leaves the archive unopenable.
    for name in (KEYS_FILE, "keys.tmp"):
        path = folder / name
        if path.exists():
            _overwrite(path)
            path.unlink()
            report.destroyed.append(name)
    db = folder / DB_FILE
    if db.exists():
        _overwrite(db, _HEADER_BYTES)
        report.destroyed.append(f"{DB_FILE} (first {_HEADER_BYTES // 1024} KiB)")
    for name in (f"{DB_FILE}-wal", f"{DB_FILE}-shm", "failed-logins.jsonl"):
        path = folder / name
        if path.exists():
            path.unlink()
            report.destroyed.append(name)
    marker = {"wiped_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()}
    (folder / WIPED_FILE).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    report.seconds = time.perf_counter() - started
    return report
