"""The files of an archive folder.

Folder layout::

    ARCHIVE/archive.json   format version and where the data lives ("sqlcipher:archive.db" or a
                           PostgreSQL URL)
    ARCHIVE/keys.json      the keys, wrapped under each holder's passphrase
    ARCHIVE/archive.db     the SQLCipher database (embedded store only)
    ARCHIVE/WIPED          written by ``sillok wipe``: when the archive was destroyed
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sillok.errors import ArchiveError

ARCHIVE_FORMAT = 1
ARCHIVE_FILE = "archive.json"
KEYS_FILE = "keys.json"
DB_FILE = "archive.db"
WIPED_FILE = "WIPED"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a small JSON file atomically (a temporary file, then a rename)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def read_info(folder: Path) -> dict[str, Any]:
    """``archive.json`` of the archive in ``folder``, checked for its format.

    Raises:
        ArchiveError: the file is missing or damaged, or of a format this version cannot read.
    """
    path = folder / ARCHIVE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchiveError(f"{path.parent} is not a Sillok archive ({path.name} missing)") from None
    except (ValueError, UnicodeDecodeError):
        raise ArchiveError(f"{path} is damaged") from None
    if not isinstance(data, dict):
        raise ArchiveError(f"{path} is damaged")
    if data.get("format") != ARCHIVE_FORMAT:
        raise ArchiveError(f"{folder}: archive format {data.get('format')!r} is not supported")
    return data


def without_password(location: str) -> str:
    """A store location with any password taken out of it.

    ``archive.json`` lies in the folder in the clear, readable without a passphrase, so a
    PostgreSQL password never goes there: the server's password comes from PostgreSQL's own
    ``PGPASSWORD`` or password file (``~/.pgpass``, ``PGPASSFILE``) when the archive is opened.
    """
    parts = urlsplit(location)
    if not parts.scheme.startswith("postgres") or parts.password is None:
        return location
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def write_info(folder: Path, location: str) -> None:
    """Write ``archive.json`` for a new archive whose data lives at ``location`` (any password
    left out: :func:`without_password`)."""
    write_json(
        folder / ARCHIVE_FILE, {"format": ARCHIVE_FORMAT, "store": without_password(location)}
    )


def wiped_at(folder: Path) -> str | None:
    """When the archive in ``folder`` was wiped, or None."""
    path = Path(folder) / WIPED_FILE
    if not path.exists():
        return None
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("wiped_at", "?"))
    except (ValueError, OSError):
        return "?"
