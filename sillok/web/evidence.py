"""Files between the network and the archive: evidence uploads and downloads, import files.

The attachment service reads a file from a path and writes one back to a path, and the import
reader takes a path, so an upload is streamed, a chunk at a time (a multi-gigabyte recording
never sits in memory), into a private folder inside the archive (``.web-transfer/``, mode
0700, files 0600), and a download is written there; each file is overwritten with zeros and
removed as soon as it is sealed, read or sent. Nothing goes to the system's temporary folder
(see :mod:`sillok.web.bodies` for how multipart forms are kept from Starlette's spooling).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

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


def discard(path: Path) -> None:
    """Overwrite a waiting file (and anything else in its folder) with zeros, then remove the
    folder. On a plain filesystem the plaintext then does not stay in the freed blocks; what
    this cannot reach (copy-on-write filesystems, SSD remapping) is said in docs/web.md."""
    folder = path.parent  # a folder of its own, made by private_path
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.is_file() and not entry.is_symlink():
            _overwrite(entry)
    shutil.rmtree(folder, ignore_errors=True)


def _overwrite(path: Path) -> None:
    try:
        with open(path, "r+b", buffering=0) as fh:
            left = os.fstat(fh.fileno()).st_size
            zeros = bytes(CHUNK)
            while left > 0:
                left -= fh.write(zeros[: min(CHUNK, left)])
            os.fsync(fh.fileno())
    except OSError:
        pass  # removed anyway; the folder was private to this process


async def receive(stream: AsyncIterator[bytes], path: Path, limit: int) -> int:
    """Write a request body to ``path`` as it arrives; the number of bytes.

    Raises:
        FileTooLarge: when the body is larger than ``limit`` (the partial file is removed).
    """
    with Limited(path, limit) as out:
        async for chunk in stream:
            out.write(chunk)
    return out.size


class FileTooLarge(InvalidInput):
    """A file that grew past the size allowed while it was received."""


class Limited:
    """A new file (mode 0600) that refuses to grow past ``limit`` bytes: the partial file is
    overwritten and removed, and :class:`FileTooLarge` raised."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path, self.limit, self.size = path, limit, 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._out = os.fdopen(fd, "wb")

    def __enter__(self) -> Limited:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (it stays, for the caller to use and discard)."""
        self._out.close()

    def write(self, chunk: bytes) -> None:
        """Append a chunk, or refuse it when the file would exceed the limit."""
        self.size += len(chunk)
        if self.size > self.limit:
            self._out.close()
            discard(self.path)
            raise FileTooLarge(f"the file is larger than the {self.limit} bytes allowed")
        self._out.write(chunk)


#: the kinds of evidence shown in the browser, by their first bytes (never by a name or a
#: type someone typed): raster images and PDF. Anything else (SVG, HTML, text) would run or
#: render in the site's own origin, so it is only ever downloaded.
_PREVIEWS = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


def preview_type(path: Path) -> str | None:
    """The media type to show a decrypted evidence file as, from its first bytes; None when
    it is not an image or a PDF the browser may show."""
    with path.open("rb") as fh:
        head = fh.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((media for magic, media in _PREVIEWS if head.startswith(magic)), None)
