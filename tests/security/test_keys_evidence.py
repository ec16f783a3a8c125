"""Evidence files, attacked offline with a key copy that the policy denies them.

Threat model: "curious or coerced user of a low role" and "removed user holding an old key
copy", asset "evidence files" (docs/threat-model.md).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from sillok.archive import Archive
from sillok.folder import KEYS_FILE
from sillok.model import acts
from sillok.security.policy import may
from tests.security.conftest import (
    AttackNotStaged,
    Loot,
    add_user,
    admin_loot,
    blobs,
    data_keys,
    evidence_key_rows,
    open_blob,
    raw_engine,
    staged,
    steal_key_file,
    tools_fit,
)

CANARY = b"QXATTACHQX interview recording, Hyesan"
AFTER_ROTATION = b"QXPOSTROTATEQX photograph, Chongjin"


def attach(archive: Archive, path: Path, content: bytes) -> Path:
    """Attach a file holding ``content`` to the first act; returns the new sealed blob."""
    path.write_bytes(content + b"\n" + bytes(range(256)) * 64)
    before = blobs(archive.folder)
    with archive.store.reading() as conn:
        act_id = conn.execute(select(acts.c.id).order_by(acts.c.id)).scalars().first()
    if act_id is None:
        raise AttackNotStaged("the archive has no act to attach evidence to")
    archive.attachments.attach("act", int(act_id), path)
    (blob,) = blobs(archive.folder) - before
    return blob


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_a_role_denied_evidence_cannot_decrypt_it_offline(
    yodok: Archive, role: str, tmp_path: Path
) -> None:
    blob = attach(yodok, tmp_path / "evidence.bin", CANARY)
    name = f"qx.{role}"
    passphrase = add_user(yodok, name, role)
    staged(not may(role, "attachment.get"), f"the policy denies the {role} evidence")
    tools_fit(open_blob(blob, admin_loot(yodok.folder)), "the administrator's copy opens the file")
    # the attacker: their own key copy, the folder, no Sillok
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, name, passphrase)
    recovered = open_blob(blob, loot)
    assert recovered is None, f"the {role}'s copy decrypted {recovered[:40]!r}"


@pytest.mark.parametrize("role", ["viewer", "documenter"])
def test_a_removed_users_old_copy_cannot_decrypt_evidence_attached_after_rotation(
    yodok: Archive, role: str, tmp_path: Path
) -> None:
    name = f"qx.former.{role}"
    passphrase = add_user(yodok, name, role)
    kept = steal_key_file(yodok.folder, tmp_path / "kept" / KEYS_FILE)
    yodok.users.remove(name)
    yodok.users.rotate_keys()
    staged(
        yodok.users.get(name) is None and yodok.audit.events(action="keys_rotate"),
        "the user was removed and the keys rotated",
    )
    blob = attach(yodok, tmp_path / "after.bin", AFTER_ROTATION)
    tools_fit(open_blob(blob, admin_loot(yodok.folder)), "the administrator's copy opens the file")
    loot = Loot.from_copy(kept, name, passphrase)
    recovered = open_blob(blob, loot)
    assert recovered is None, f"the removed {role}'s old copy decrypted {recovered[:40]!r}"


@pytest.mark.parametrize("role", ["documenter", "reviewer"])
def test_a_removed_users_old_copy_opens_no_file_after_rotation_old_or_new(
    yodok: Archive, role: str, tmp_path: Path
) -> None:
    # the attacker held evidence (their role may get it) and kept their keys.json entry only
    name = f"qx.former.{role}"
    passphrase = add_user(yodok, name, role)
    staged(may(role, "attachment.get"), f"the {role} may get evidence")
    before = attach(yodok, tmp_path / "before.bin", CANARY)
    kept = steal_key_file(yodok.folder, tmp_path / "kept" / KEYS_FILE)
    yodok.users.remove(name)
    yodok.users.rotate_keys()
    after = attach(yodok, tmp_path / "after.bin", AFTER_ROTATION)
    # later they are handed every stored file and every row of the database as it is now (a
    # server's administrator, a backup): stronger than the folder they kept
    everything = evidence_key_rows(yodok.folder, admin_loot(yodok.folder))
    for blob in (before, after):
        tools_fit(open_blob(blob, admin_loot(yodok.folder), everything), "the admin opens it")
    loot = Loot.from_copy(kept, name, passphrase)
    opened = {b.name: open_blob(b, loot, everything) for b in (before, after)}
    recovered = {n: p[:40] for n, p in opened.items() if p is not None}
    assert not recovered, f"the removed {role}'s old copy decrypted {recovered}"


def test_limit_a_removed_user_who_kept_a_files_wrapped_key_still_opens_that_file(
    yodok: Archive, tmp_path: Path
) -> None:
    """The limit docs/threat-model.md states: rotation re-wraps data keys, it does not
    re-encrypt files. Whoever could open a file before and kept its bytes (the stored file
    and its wrapped key, or the key itself) can still open that one file afterwards."""
    name = "qx.leaver"
    passphrase = add_user(yodok, name, "documenter")
    before = attach(yodok, tmp_path / "before.bin", CANARY)
    kept_copy = steal_key_file(yodok.folder, tmp_path / "kept" / KEYS_FILE)
    loot = Loot.from_copy(kept_copy, name, passphrase)
    kept_rows = evidence_key_rows(yodok.folder, loot)  # read with their own database key
    kept_blob = tmp_path / "kept" / "attachments" / before.name
    kept_blob.parent.mkdir()
    kept_blob.write_bytes(before.read_bytes())
    yodok.users.remove(name)
    yodok.users.rotate_keys()
    recovered = open_blob(kept_blob, loot, kept_rows)
    assert recovered is not None and recovered.startswith(CANARY)


def _stored_values(engine: Engine) -> tuple[set[str], list[tuple[str, str]], set[str]]:
    """(every value of the attachments' sha256 column, (blob, sha256) pairs, every digest)."""
    with engine.connect() as conn:
        found = conn.execute(text("SELECT blob_name, sha256 FROM attachments"))
        pairs = [(str(blob), str(sha)) for blob, sha in found]
        try:
            digests = {str(d) for (d,) in conn.execute(text("SELECT digest FROM evidence_keys"))}
        except SQLAlchemyError:  # an archive from before keeps no digests
            digests = set()
    return {h for _b, h in pairs}, pairs, digests


def confirms_known_file(folder: Path, loot: Loot, content: bytes) -> str | None:
    """How the loot confirms that the archive holds a file the attacker has a copy of, or
    None. The attacker compares the file's SHA-256 with every stored value (the rows, the blob
    names in the folder), with every keyed hash of it under a key of the loot, and with every
    sealed SHA-256 a key of the loot (or a data key it unwraps) opens. The log commits to the
    rows as stored, so a guess tested against it is one tested against the stored values."""
    sha = hashlib.sha256(content).hexdigest()
    engine = raw_engine(folder, loot)
    try:
        shas, pairs, digests = _stored_values(engine)
    finally:
        engine.dispose()
    names = {p.name for p in blobs(folder)}
    if sha in shas | digests | names:
        return "stored in the clear"
    for key in loot.candidates():
        if hmac.new(key, bytes.fromhex(sha), hashlib.sha256).hexdigest() in digests | names:
            return "a keyed hash under a key of the copy"
    rows = evidence_key_rows(folder, loot)
    if not rows:
        return None
    from sillok.security.evidence import open_sha256  # the library's own format

    for blob, stored in pairs:
        for key in data_keys(blob, rows, loot):
            if open_sha256(key, blob, stored) == sha:
                return "a sealed SHA-256 opened with an unwrapped data key"
    return None


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_a_role_denied_evidence_cannot_confirm_that_the_archive_holds_a_known_file(
    yodok: Archive, role: str, tmp_path: Path
) -> None:
    blob = attach(yodok, tmp_path / "evidence.bin", CANARY)
    known = (tmp_path / "evidence.bin").read_bytes()  # a copy circulates: the attacker has one
    name = f"qx.{role}"
    passphrase = add_user(yodok, name, role)
    staged(not may(role, "attachment.get"), f"the policy denies the {role} evidence")
    staged(blob.is_file(), "the file is stored")
    tools_fit(
        confirms_known_file(yodok.folder, admin_loot(yodok.folder), known),
        "the administrator's copy confirms the file",
    )
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, name, passphrase)
    how = confirms_known_file(yodok.folder, loot, known)
    assert how is None, f"the {role}'s copy confirmed the known file: {how}"
