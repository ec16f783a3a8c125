"""Which role's copy holds which key (``keys_for_role``), and archives from before the purpose
keys: they open, and an administrator's open gives every copy only its role's keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from sillok.archive import Archive
from sillok.folder import KEYS_FILE
from sillok.security.keyfile import KeyFile
from sillok.security.keys import (
    EVIDENCE,
    KEY_FILE,
    PSEUDONYMS,
    SALTS,
    SEAL,
    SIGNING,
    ArchiveKeys,
    keys_for_role,
)
from sillok.security.policy import ROLES, may
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv
from tests.legacy import legacy_keys, rewrite_as_legacy


def strong(name: str) -> str:
    return f"{name} counts nine lanterns over the Amnok in March"


@pytest.mark.parametrize("role", ROLES)
def test_a_roles_keys_follow_the_policy(role: str) -> None:
    held = keys_for_role(role)
    assert (SEAL in held) == may(role, "seal.open")
    assert (EVIDENCE in held) == (may(role, "attachment.get") or may(role, "attachment.add"))
    assert (SIGNING in held) == may(role, "keys")
    assert (KEY_FILE in held) == may(role, "users")
    assert {SALTS, PSEUDONYMS} <= held


def test_each_users_copy_holds_exactly_their_roles_keys(sqlcipher_archive: Archive) -> None:
    folder = sqlcipher_archive.folder
    for role in ROLES:
        if role != "admin":
            sqlcipher_archive.users.add(f"u.{role}", role, strong(role))
    for role in ROLES:
        name = "owner" if role == "admin" else f"u.{role}"
        passphrase = PASSPHRASE if role == "admin" else strong(role)
        _copy, keys, _pending = KeyFile.load(folder / KEYS_FILE).unlock_holder(passphrase, name)
        assert set(keys.purposes) == keys_for_role(role), role
        assert keys.own is not None


def test_purpose_keys_are_independent() -> None:
    keys = ArchiveKeys.generate()
    values = [keys.database, *keys.purposes.values()]
    assert len(set(values)) == len(values)
    assert ArchiveKeys.from_bytes(keys.to_bytes()) == keys


def test_an_archive_from_before_the_purpose_keys_is_migrated(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    evidence = tmp_path / "evidence.bin"
    evidence.write_bytes(b"testimony recording " * 1000)
    with legacy_keys():
        archive = Archive.create(folder, PASSPHRASE, settings=FAST)
    with archive:
        archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
        attached = archive.attachments.attach("act", 1, evidence)
        archive.users.add("vera", "viewer", strong("vera"))
        with archive.store.reading() as conn:
            old_key = archive.log.head(conn).verifier_key
        rewrite_as_legacy(folder, archive.keys, {"owner": PASSPHRASE, "vera": strong("vera")})
    # a viewer's legacy copy still opens (and holds everything, as it did before)
    with Archive.open(folder, strong("vera"), settings=FAST, user="vera") as viewer:
        assert viewer.keys.is_legacy() and viewer.keys.get(SIGNING) is not None
    with Archive.open(folder, PASSPHRASE, settings=FAST) as admin:
        assert not admin.keys.is_legacy()
        report = admin.verification.run()
        assert report.ok, report.problems
        admin.attachments.get(attached["id"], tmp_path / "out.bin")
        assert (tmp_path / "out.bin").read_bytes() == evidence.read_bytes()
        with admin.store.reading() as conn:
            first, chain = admin.log.key_chain(conn)
        assert first == old_key and len(chain) == 1 and chain[0].new_key != old_key
    _copy, keys, _pending = KeyFile.load(folder / KEYS_FILE).unlock_holder(strong("vera"), "vera")
    assert set(keys.purposes) == keys_for_role("viewer")
    with Archive.open(folder, strong("vera"), settings=FAST, user="vera") as viewer:
        assert viewer.verification.run().ok


def test_a_tampered_key_file_entry_stops_user_add_and_rotation(sqlcipher_archive: Archive) -> None:
    import base64
    import json

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from sillok.errors import ArchiveError

    archive = sqlcipher_archive
    archive.users.add("vera", "viewer", strong("vera"))
    path = archive.folder / KEYS_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    public = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    owner = KeyFile.load(path).locate("owner")  # a colleague knows the administrator's name
    for entry in data["wrapped"]:
        if entry["locator"] == owner:
            entry["public"] = base64.b64encode(public).decode()
    path.write_text(json.dumps(data), encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(ArchiveError, match="the entry of 'owner' is not as an administrator"):
        archive.users.add("kim", "documenter", strong("kim"))
    with pytest.raises(ArchiveError, match="nothing was changed"):
        archive.users.rotate_keys()
    assert path.read_bytes() == before
    assert archive.users.get("kim") is None


def test_changing_ones_own_passphrase_keeps_the_entry_authenticated(
    sqlcipher_archive: Archive,
) -> None:
    folder = sqlcipher_archive.folder
    sqlcipher_archive.users.add("vera", "viewer", strong("vera"))
    with Archive.open(folder, strong("vera"), settings=FAST, user="vera") as vera:
        vera.users.passwd("vera", strong("vera again"), strong("vera"))
    sqlcipher_archive.users.rotate_keys()  # checks every entry first
    with Archive.open(folder, strong("vera again"), settings=FAST, user="vera") as vera:
        assert vera.role == "viewer"
