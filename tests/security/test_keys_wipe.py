"""After `sillok wipe`: what an old key copy and a coerced passphrase still open.

Threat model: "seized laptop or backup" after the panic button, with a copy of ``keys.json``
from before the wipe (a user kept one, a backup holds one, or its freed blocks are read back
from the disk) and a passphrase obtained under coercion (docs/threat-model.md). SQLCipher only:
on PostgreSQL the data is on the server, which `wipe` does not reach (documented).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from sillok.archive import Archive
from sillok.custody.wipe import wipe
from sillok.folder import DB_FILE, KEYS_FILE
from sillok.web.totp import TotpStore
from tests.conftest import FAST
from tests.datasets import YODOK, row, write_csv
from tests.security.conftest import (
    ADMIN,
    PASSPHRASE,
    Loot,
    blobs,
    open_blob,
    sqlcipher_pages,
    staged,
    steal_key_file,
    tools_fit,
    totp_secrets,
)

CANARY = "QXWIPECANARYQX"
EVIDENCE = b"QXWIPEDEVIDENCEQX video of the interrogation room"


@pytest.fixture
def wiped(tmp_path: Path) -> Iterator[tuple[Path, Path, str]]:
    """An archive of a few MiB with evidence and a second factor, wiped after a copy of its
    keys.json was kept: (folder, kept keys.json, the TOTP secret)."""
    folder = tmp_path / "archive"
    rows = [
        row(
            source_ref=f"S-{n:04d}",
            source_type="testimony",
            act_type="arbitrary_detention",
            place="요덕",
            victim_name=f"{CANARY} Pak {n}",
            description=f"{CANARY} {n} " + "held in the punishment cells for months; " * 60,
            sharing="public",
        )
        for n in range(600)
    ]
    secret = TotpStore.new_secret()
    with Archive.create(folder, PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(tmp_path / "yodok.csv", YODOK))
        archive.ingest.run(write_csv(tmp_path / "many.csv", rows))
        (tmp_path / "evidence.bin").write_bytes(EVIDENCE)
        archive.attachments.attach("act", 1, tmp_path / "evidence.bin")
        TotpStore(folder).enroll(archive.user.name, archive.keys, secret, pyotp.TOTP(secret).now())
    staged((folder / DB_FILE).stat().st_size > 3 << 20, "the database is larger than 3 MiB")
    kept = steal_key_file(folder, tmp_path / "kept" / KEYS_FILE)
    loot = Loot.from_copy(kept, ADMIN, PASSPHRASE)
    pages = sqlcipher_pages(folder / DB_FILE, loot)
    tools_fit(any(CANARY.encode() in p for p in pages), "the copy decrypts pages before the wipe")
    tools_fit(all(open_blob(b, loot) for b in blobs(folder)), "the copy opens the evidence")
    tools_fit(secret in totp_secrets(folder, loot), "the copy opens the second factor")
    wipe(folder)
    staged(not (folder / KEYS_FILE).exists(), "the archive was wiped")
    yield folder, kept, secret


def test_an_old_key_copy_decrypts_no_database_page_after_wipe(
    wiped: tuple[Path, Path, str],
) -> None:
    folder, kept, _secret = wiped
    loot = Loot.from_copy(kept, ADMIN, PASSPHRASE)
    pages = sqlcipher_pages(folder / DB_FILE, loot)
    found = sum(CANARY.encode() in page for page in pages)
    assert not found, f"{found} of {len(pages)} pages decrypted with a canary after the wipe"


def test_an_old_key_copy_opens_no_evidence_file_after_wipe(
    wiped: tuple[Path, Path, str],
) -> None:
    folder, kept, _secret = wiped
    loot = Loot.from_copy(kept, ADMIN, PASSPHRASE)
    opened = [blob.name for blob in blobs(folder) if open_blob(blob, loot) is not None]
    assert not opened, f"evidence files opened after the wipe: {opened}"


def test_an_old_key_copy_opens_no_totp_secret_after_wipe(wiped: tuple[Path, Path, str]) -> None:
    folder, kept, secret = wiped
    loot = Loot.from_copy(kept, ADMIN, PASSPHRASE)
    assert secret not in totp_secrets(folder, loot), "a second factor opened after the wipe"
