"""The demo archive: synthetic testimonies imported like any file (see sillok.synthetic)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sillok.archive import Archive
from sillok.records.ingest import ImportReport, Progress
from sillok.settings import Settings
from sillok.synthetic.acts import generate_rows


def numbered(rows: Iterator[dict[str, str]]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows numbered from 1, as the importer expects."""
    return ((n, row) for n, row in enumerate(rows, start=1))


def populate(
    archive: Archive, size: int, seed: int, progress: Progress | None = None
) -> ImportReport:
    """Import ``size`` synthetic acts made from ``seed`` into an archive."""
    return archive.ingest.run_rows(
        numbered(generate_rows(size, seed)), f"demo(size={size}, seed={seed})", progress=progress
    )


def open_or_create(
    folder: Path,
    passphrase: str,
    size: int,
    seed: int,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> tuple[Archive, bool]:
    """Open the archive in ``folder``, or create it with demo data; (archive, created)."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        return Archive.open(folder, passphrase, settings), False
    archive = Archive.create(folder, passphrase, settings=settings)
    populate(archive, size, seed, progress)
    return archive, True
