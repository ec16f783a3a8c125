"""Evidence files, attacked offline with a key copy that the policy denies them.

Threat model: "curious or coerced user of a low role" and "removed user holding an old key
copy", asset "evidence files" (docs/threat-model.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

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
    open_blob,
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
