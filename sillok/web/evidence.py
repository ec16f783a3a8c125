"""Evidence files through the web: upload in a stream, download, always through the archive's
attachment service (sealing, keyed-hash names, SHA-256, chain of custody, audit).

The attachment service reads a file from a path and writes one back to a path, so an upload is
streamed, a chunk at a time (a multi-gigabyte recording never sits in memory), into a private
folder inside the archive (mode 0700, file 0600) and removed as soon as it is sealed; a
download is written there, sent, and removed once sent.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sillok.errors import InvalidInput

if TYPE_CHECKING:
    from sillok.archive import Archive

WORK_FOLDER = ".web-transfer"
CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^\w.\-가-힣 ()]+")


def safe_name(filename: str | None) -> str:
    """A file name without folders or control characters (the original is kept as typed
    where it can be: Hangul, spaces and dots are fine)."""
    name = Path(filename or "").name.strip()
    name = _UNSAFE.sub("_", name)[:200].strip(". ")
    return name or "evidence"


def work_folder(archive: Archive) -> Path:
    """The private folder where files wait between the network and the sealed store."""
    folder = archive.folder / WORK_FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def private_path(archive: Archive, filename: str) -> Path:
    """A path named ``filename`` in a new folder only this process can read (no file yet)."""
    folder = work_folder(archive) / secrets.token_hex(8)
    folder.mkdir(mode=0o700)
    return folder / safe_name(filename)


def private_file(archive: Archive, filename: str) -> Path:
    """A new, empty file only this process can read, named ``filename`` in its own folder."""
    path = private_path(archive, filename)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def discard(path: Path) -> None:
    """Remove a waiting file and its folder."""
    shutil.rmtree(path.parent, ignore_errors=True)


async def receive(stream: AsyncIterator[bytes], path: Path, limit: int) -> int:
    """Write a request body to ``path`` as it arrives; the number of bytes.

    Raises:
        InvalidInput: when the body is larger than ``limit`` (the partial file is removed).
    """
    with _Limited(path, limit) as out:
        async for chunk in stream:
            out.write(chunk)
    return out.size


def copy_upload(source: IO[bytes], path: Path, limit: int) -> int:
    """Copy an uploaded form file to ``path`` a chunk at a time; the number of bytes."""
    with _Limited(path, limit) as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
    return out.size


class _Limited:
    """A new file that refuses to grow past ``limit`` bytes: the partial file is removed and
    :class:`InvalidInput` raised."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path, self.limit, self.size = path, limit, 0
        self._out = open(path, "wb")  # noqa: SIM115  (closed by __exit__)

    def __enter__(self) -> _Limited:
        return self

    def __exit__(self, *exc: object) -> None:
        self._out.close()

    def write(self, chunk: bytes) -> None:
        """Append a chunk, or refuse it when the file would exceed the limit."""
        self.size += len(chunk)
        if self.size > self.limit:
            self._out.close()
            discard(self.path)
            raise InvalidInput(f"the file is larger than the {self.limit} bytes allowed")
        self._out.write(chunk)
