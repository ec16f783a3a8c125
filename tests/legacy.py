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
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sillok.folder import KEYS_FILE
from sillok.security import keycopy
from sillok.security.keyfile import KeyFile
from sillok.security.keys import KEY_FILE, SEAL, ArchiveKeys, _b64, _kek


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


def rewrite_as_format_one(folder: Path, keys: ArchiveKeys, passphrases: dict[str, str]) -> None:
    """Write keys.json as the code before format 2 did (names and roles in the clear, version-2
    entries), from an administrator's keys and every user's passphrase."""
    path = folder / KEYS_FILE
    current = KeyFile.load(path).named(keys.purposes[KEY_FILE])
    entries = []
    for entry in current.wrapped:
        named = replace(entry, holder=entry.holder)
        opened, held, _pending = named.opened(passphrases[entry.holder])
        private = named._private(passphrases[entry.holder])
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed = AESGCM(_kek(passphrases[entry.holder], salt, entry.kdf)).encrypt(
            nonce, private.private_bytes_raw(), keycopy._USER_KEY_AAD + entry.holder.encode()
        )
        public = keycopy._unb64(entry.public)
        old = keycopy.WrappedKey(
            holder=opened.holder,
            role=opened.role,
            salt=_b64(salt),
            kdf=entry.kdf,
            nonce=_b64(nonce),
            ciphertext=_b64(sealed),
            version=2,
            public=entry.public,
            bundle=keycopy._seal_to(
                public,
                replace(held, own=None, author=None).to_bytes(),
                keycopy._bundle_aad(opened.holder, opened.role),
            ),
        )
        entries.append(old.authenticated(keys.purposes[KEY_FILE]).to_json())
    path.write_text(json.dumps({"format": 1, "wrapped": entries}), encoding="utf-8")


def rewrite_as_legacy(folder: Path, keys: ArchiveKeys, passphrases: dict[str, str]) -> None:
    """Seal every entry's bundle as the old code did (raw key bytes), from an admin's keys, in
    a key file of format 1 (every user's passphrase is needed to write it)."""
    rewrite_as_format_one(folder, keys, passphrases)
    path = folder / KEYS_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    database = keys.database
    for entry in data["wrapped"]:
        raw = database + database
        if entry["role"] in ("admin", "documenter") and keys.get(SEAL):
            raw += keys.purposes[SEAL]
        aad = keycopy._bundle_aad(entry["holder"], entry["role"])
        entry["bundle"] = keycopy._seal_to(keycopy._unb64(entry["public"]), raw, aad)
    path.write_text(json.dumps(data), encoding="utf-8")
