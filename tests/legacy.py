"""Archives as the code before the purpose keys made them (for the migration tests).

Before the purpose keys, every copy held the database key and an *archive secret* (equal to the
first database key), and every other key was derived from the secret with HKDF; bundles sealed
the raw bytes ``database || archive [|| seal]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from sillok.folder import KEYS_FILE
from sillok.security import keyfile
from sillok.security.keys import KEY_FILE, SEAL, ArchiveKeys


@contextmanager
def legacy_keys(seal: bool = True) -> Iterator[None]:
    """While active, new archives get the keys the old code would have derived."""
    with pytest.MonkeyPatch.context() as patch:

        def generate(cls: type[ArchiveKeys]) -> ArchiveKeys:
            database = os.urandom(32)
            keys = ArchiveKeys.from_legacy(database, database, os.urandom(32) if seal else None)
            # the key-file key only so that this code can make the archive; the old copies
            # written by rewrite_as_legacy do not hold it
            purposes = {**keys.purposes, KEY_FILE: os.urandom(32)}
            return replace(keys, purposes=purposes, legacy=False)

        patch.setattr(ArchiveKeys, "generate", classmethod(generate))
        yield


def rewrite_as_legacy(folder: Path, keys: ArchiveKeys) -> None:
    """Seal every entry's bundle as the old code did (raw key bytes), from an admin's keys."""
    path = folder / KEYS_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    database = keys.database
    for entry in data["wrapped"]:
        raw = database + database
        if entry["role"] in ("admin", "documenter") and keys.get(SEAL):
            raw += keys.purposes[SEAL]
        aad = keyfile._bundle_aad(entry["holder"], entry["role"])
        entry["bundle"] = keyfile._seal_to(keyfile._unb64(entry["public"]), raw, aad)
    path.write_text(json.dumps(data), encoding="utf-8")
