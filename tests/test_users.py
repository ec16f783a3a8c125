"""Users, roles and passphrases: adding, removing, changing, logging in, tampering."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.errors import ArchiveError, InvalidInput, NotFound, WrongPassphrase
from sillok.folder import KEYS_FILE
from sillok.security import keycopy
from sillok.security.audit import FAILED_LOGINS_FILE
from sillok.security.keyfile import KeyFile
from tests.conftest import FAST, PASSPHRASE

runner = CliRunner()


def test_add_open_list_remove(archive: Archive) -> None:
    folder = archive.folder
    archive.users.add("jiwoo", "viewer", "viewer passphrase")
    archive.users.add("minsu", "documenter", "documenter passphrase")
    listed = {u["name"]: u for u in archive.users.list()}
    assert listed["jiwoo"]["role"] == "viewer" and not listed["jiwoo"]["seal_key"]
    assert listed["minsu"]["seal_key"] and listed["owner"]["role"] == "admin"
    with Archive.open(folder, "viewer passphrase", settings=FAST, user="jiwoo") as viewer:
        assert (viewer.user.name, viewer.role) == ("jiwoo", "viewer")
        assert viewer.keys.seal is None and not viewer.sealer.can_open
        with pytest.raises(InvalidInput, match="viewer role may not"):
            viewer.users.add("someone", "admin", "another passphrase")
    with Archive.open(folder, "documenter passphrase", settings=FAST, user="minsu") as doc:
        assert doc.keys.seal == archive.keys.seal
    archive.users.remove("jiwoo")
    assert KeyFile.load(folder / KEYS_FILE).holder("jiwoo") is None
    with pytest.raises(WrongPassphrase):
        Archive.open(folder, "viewer passphrase", settings=FAST, user="jiwoo")
    assert {u["name"]: u["active"] for u in archive.users.list()}["jiwoo"] is False
    actions = [e["action"] for e in archive.audit.events()]
    assert {"user_add", "user_remove", "login"} <= set(actions)
    # the failed login waits in the folder until the next successful one, its name sealed
    noted = (folder / FAILED_LOGINS_FILE).read_text()
    assert "user_sealed" in noted and "jiwoo" not in noted


def test_bad_users_are_refused_by_name(archive: Archive) -> None:
    with pytest.raises(InvalidInput, match="'bad name'"):
        archive.users.add("bad name", "viewer", "long enough passphrase")
    with pytest.raises(InvalidInput, match="'boss'"):
        archive.users.add("alice", "boss", "long enough passphrase")
    with pytest.raises(InvalidInput, match="at least 8"):
        archive.users.add("alice", "viewer", "short")
    archive.users.add("alice", "viewer", "long enough passphrase")
    with pytest.raises(InvalidInput, match="already exists"):
        archive.users.add("alice", "analyst", "long enough passphrase")
    with pytest.raises(InvalidInput, match="last admin"):
        archive.users.remove("owner")
    with pytest.raises(NotFound, match="'nobody'"):
        archive.users.remove("nobody")


def test_passphrases_change(sqlcipher_archive: Archive) -> None:
    archive, folder = sqlcipher_archive, sqlcipher_archive.folder
    archive.users.add("alice", "analyst", "alice passphrase 1")
    archive.users.passwd("alice", "alice passphrase 2")  # an admin resets it
    with pytest.raises(WrongPassphrase):
        Archive.open(folder, "alice passphrase 1", settings=FAST, user="alice")
    with Archive.open(folder, "alice passphrase 2", settings=FAST, user="alice") as alice:
        with pytest.raises(WrongPassphrase):
            alice.users.passwd("alice", "alice passphrase 3", "not the passphrase")
        alice.users.passwd("alice", "alice passphrase 3", "alice passphrase 2")
        with pytest.raises(InvalidInput, match="may not"):
            alice.users.passwd("owner", "stolen passphrase")
    Archive.open(folder, "alice passphrase 3", settings=FAST, user="alice").close()


def test_a_role_changed_in_keys_json_does_not_count(sqlcipher_archive: Archive) -> None:
    archive, folder = sqlcipher_archive, sqlcipher_archive.folder
    archive.users.add("eve", "viewer", "eve passphrase!")
    path = folder / KEYS_FILE
    # eve seals a bundle of her own keys that names her an admin into her entry (sealing to
    # her public key needs no secret)
    copy, keys, _pending = KeyFile.load(path).unlock_holder("eve passphrase!", "eve")
    data = json.loads(path.read_text())
    for entry in data["wrapped"]:
        if entry["locator"] == copy.locator:
            entry["bundle"] = keycopy._seal_to(
                keycopy._unb64(copy.public),
                keycopy._bundle_body(keys, "eve", "admin"),
                keycopy._bundle_aad_v3(copy.locator),
            )
    path.write_text(json.dumps(data))
    with pytest.raises(ArchiveError, match="altered"):
        Archive.open(folder, "eve passphrase!", settings=FAST, user="eve")


def test_failed_logins_reach_the_audit_trail(sqlcipher_archive: Archive) -> None:
    folder = sqlcipher_archive.folder
    sqlcipher_archive.close()
    for _ in range(2):
        with pytest.raises(WrongPassphrase, match="does not unlock"):
            Archive.open(folder, "guess", settings=FAST)
    assert len((folder / FAILED_LOGINS_FILE).read_text().splitlines()) == 2
    with Archive.open(folder, PASSPHRASE, settings=FAST) as again:
        failed = again.audit.events(action="login_failed")
        assert len(failed) == 2 and failed[0]["detail"]["user"] == ""
        assert "guess" not in json.dumps(again.audit.events())
    assert not (folder / FAILED_LOGINS_FILE).exists()


def test_a_failed_login_keeps_the_name_typed_sealed_until_the_next_opening(
    sqlcipher_archive: Archive,
) -> None:
    """The note of a failed login names the user only under the note key (every role's copy
    derives it): the folder shows no name, the audit trail does after the next opening."""
    folder = sqlcipher_archive.folder
    sqlcipher_archive.close()
    with pytest.raises(WrongPassphrase):
        Archive.open(folder, "guess", settings=FAST, user="qx.mistyped.name")
    noted = (folder / FAILED_LOGINS_FILE).read_text()
    assert "qx.mistyped" not in noted and "user_sealed" in noted
    with Archive.open(folder, PASSPHRASE, settings=FAST) as again:
        failed = again.audit.events(action="login_failed")
        assert [e["detail"]["user"] for e in failed] == ["qx.mistyped.name"]


def test_an_archive_from_before_users_is_upgraded(tmp_path: Path) -> None:
    """A key file whose copy seals the data key directly (format 1) still opens."""
    from argon2.low_level import Type, hash_secret_raw
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from tests.legacy import legacy_keys

    folder = tmp_path / "archive"
    with legacy_keys(seal=False):
        archive = Archive.create(folder, PASSPHRASE, settings=FAST)
    data_key = archive.keys.database
    archive.close()
    salt, nonce = os.urandom(16), os.urandom(12)
    kek = hash_secret_raw(PASSPHRASE.encode(), salt, 1, 8 * 1024, 1, 32, Type.ID)
    entry = {
        "holder": "owner",
        "role": "admin",
        "salt": base64.b64encode(salt).decode(),
        "kdf": {"time_cost": 1, "memory_cost_kib": 8 * 1024, "parallelism": 1},
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(
            AESGCM(kek).encrypt(nonce, data_key, b"sillok data key v1")
        ).decode(),
    }
    (folder / KEYS_FILE).write_text(json.dumps({"format": 1, "wrapped": [entry]}))
    with Archive.open(folder, PASSPHRASE, settings=FAST) as opened:
        assert opened.keys.database == data_key and opened.keys.seal is not None
    upgraded = KeyFile.load(folder / KEYS_FILE)
    assert upgraded.format == 2 and b"owner" not in (folder / KEYS_FILE).read_bytes()
    owner = upgraded.holder("owner")
    assert owner is not None and owner.version == 3 and not owner.named_aad
    with Archive.open(folder, PASSPHRASE, settings=FAST) as again:
        assert again.verification.run().ok


def test_the_user_commands(tmp_path: Path) -> None:
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST):
        pass
    folder = str(tmp_path / "arch")
    env = {"SILLOK_PASSPHRASE": PASSPHRASE, "SILLOK_NEW_PASSPHRASE": "reviewer passphrase"}
    result = runner.invoke(app, ["user", "add", folder, "rhee", "--role", "reviewer"], env=env)
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["user", "list", folder, "--json"], env=env)
    assert {u["name"]: u["role"] for u in json.loads(result.stdout)} == {
        "owner": "admin",
        "rhee": "reviewer",
    }
    as_rhee = {"SILLOK_PASSPHRASE": "reviewer passphrase"}
    result = runner.invoke(app, ["--user", "rhee", "user", "list", folder], env=as_rhee)
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["--user", "rhee", "user", "remove", folder, "owner"], env=as_rhee)
    assert result.exit_code == 2 and "reviewer role may not" in result.stderr
    result = runner.invoke(app, ["--user", "rhee", "audit", folder], env=as_rhee)
    assert result.exit_code == 2 and "may not read the audit trail" in result.stderr
    result = runner.invoke(app, ["audit", folder, "--action", "user_add", "--json"], env=env)
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["detail"]["user"] == "rhee"
    result = runner.invoke(app, ["user", "remove", folder, "rhee"], env=env)
    assert result.exit_code == 0 and "keys rotate" in result.stdout
    result = runner.invoke(app, ["--user", "rhee", "user", "list", folder], env=as_rhee)
    assert result.exit_code == 2 and "does not unlock" in result.stderr


def test_rotating_the_keys(sqlcipher_archive: Archive, tmp_path: Path) -> None:
    from sillok.security.keys import derive_key
    from sillok.store import Store
    from sillok.store.dialects import SqlCipherDialect
    from tests.datasets import YODOK, write_csv

    archive, folder = sqlcipher_archive, sqlcipher_archive.folder
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    archive.users.add("kang", "documenter", "documenter passphrase")
    archive.users.add("lee", "analyst", "analyst passphrase")
    old_key = derive_key(archive.keys.database, "database")
    old = archive.keys
    done = archive.users.rotate_keys()
    # the informant's, the archive-wide and the ref key (security/refs.py)
    assert done == {"users": 3, "field_keys": 3, "evidence_keys": 0, "evidence_missing": 0}
    rotated = ("seal", "attachments", "checkpoint signing key", "key file")
    assert all(archive.keys.get(p) != old.get(p) for p in rotated)
    # no file's data key needs the old evidence key (tests/test_attachments.py): not kept
    assert archive.keys.evidence_keys() == [archive.keys.get("attachments")]
    archive.ingest.run(write_csv(tmp_path / "b.csv", [dict(YODOK[0], informant="Witness Beta")]))
    archive.close()
    # a copy of the old key (a removed user's) no longer opens the database
    stale = Store(SqlCipherDialect(folder / "archive.db"), old_key)
    with pytest.raises(ArchiveError, match="cannot be read"):
        stale.check()
    stale.close()
    for user, passphrase in (("kang", "documenter passphrase"), ("lee", "analyst passphrase")):
        with Archive.open(folder, passphrase, settings=FAST, user=user) as opened:
            assert opened.verification.run().ok
    with Archive.open(folder, "documenter passphrase", settings=FAST, user="kang") as kang:
        from sqlalchemy import select

        from sillok.model import persons

        with kang.store.reading() as conn:
            ids = conn.execute(
                select(persons.c.id).where(persons.c.ref.like("informant:%"))
            ).scalars()
            informants = sorted(ids)
        names = {
            kang.records.show("person", pid, reveal=True)["names"][0]["name"] for pid in informants
        }
    # sealed before the rotation and after it, both open with the new keys
    assert names == {"Witness Alpha", "Witness Beta"}


def test_a_format_one_key_file_is_converted_at_the_next_administrators_open(
    archive: Archive,
) -> None:
    """keys.json as written before names were hidden (format 1: each holder and role in the
    clear) keeps working for every user, and an administrator's open converts it."""
    from tests.legacy import rewrite_as_format_one

    folder = archive.folder
    passphrases = {"owner": PASSPHRASE, "vera": "vera reads nine old ledgers by lamplight"}
    archive.users.add("vera", "viewer", passphrases["vera"])
    rewrite_as_format_one(folder, archive.keys, passphrases)
    archive.close()
    path = folder / KEYS_FILE
    assert b'"vera"' in path.read_bytes() and b'"viewer"' in path.read_bytes()
    # a viewer opens format 1 (in a copy of the folder: her copy has no author key yet, and
    # this archive, made by today's code, registered authors before its key file was
    # rewritten as format 1, so her unsigned write would not pass `verify` here; an archive
    # made before authorship registers none until the conversion)
    if (folder / "archive.db").exists():  # SQLCipher: the folder is the whole archive
        copy_folder = folder.parent / "copy"
        shutil.copytree(folder, copy_folder)
        with Archive.open(copy_folder, passphrases["vera"], settings=FAST, user="vera") as vera:
            assert vera.role == "viewer"
        assert KeyFile.load(copy_folder / KEYS_FILE).format == 1  # a viewer converts nothing
    with Archive.open(folder, PASSPHRASE, settings=FAST) as owner:
        listed = {u["name"]: (u["role"], u["active"]) for u in owner.users.list()}
        assert listed == {"owner": ("admin", True), "vera": ("viewer", True)}
    converted = KeyFile.load(path)
    assert converted.format == 2
    assert b"vera" not in path.read_bytes() and b"viewer" not in path.read_bytes()
    copy = converted.holder("vera")
    assert copy is not None and copy.named_aad  # sealed with her name until she logs in
    with Archive.open(folder, passphrases["vera"], settings=FAST, user="vera") as vera:
        assert vera.role == "viewer" and vera.keys.author is not None
    resealed = KeyFile.load(path).holder("vera")
    assert resealed is not None and not resealed.named_aad
    with Archive.open(folder, PASSPHRASE, settings=FAST) as owner:
        owner.users.rotate_keys()  # every converted entry is authenticated
        assert owner.verification.run().ok
    with Archive.open(folder, passphrases["vera"], settings=FAST, user="vera") as vera:
        assert vera.role == "viewer"


def test_a_second_factor_enrolled_before_names_were_hidden_keeps_working(
    sqlcipher_archive: Archive,
) -> None:
    """An entry of web-totp.json named by the plain hash of the user name (format-1 key file)
    still opens after the conversion, and is renamed by the user's locator at the next code."""
    import pyotp

    from sillok.web.totp import TotpStore
    from tests.legacy import rewrite_as_format_one

    folder = sqlcipher_archive.folder
    rewrite_as_format_one(folder, sqlcipher_archive.keys, {"owner": PASSPHRASE})
    sqlcipher_archive.close()
    secret = TotpStore.new_secret()
    with Archive.open(folder, PASSPHRASE, settings=FAST) as owner:  # converts keys.json
        keys = owner.keys
    totp = TotpStore(folder)
    # enrolled while keys.json was of format 1: the entry is named by the hash of the name
    old_name = TotpStore.hashed_name("owner")
    totp._write({old_name: json.loads(json.dumps(_sealed(keys.own, secret, old_name)))})
    assert totp.enrolled("owner")
    assert TotpStore(folder).verify("owner", keys, pyotp.TOTP(secret).now())
    names = set(json.loads((folder / "web-totp.json").read_text()))
    assert names == {totp.entry_name("owner")} and old_name not in names
    assert not TotpStore(folder).verify("owner", keys, "000000")


def _sealed(key: bytes | None, secret: str, name: str) -> dict[str, str]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    assert key is not None
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), name.encode())
    return {"nonce": base64.b64encode(nonce).decode(), "secret": base64.b64encode(sealed).decode()}


def test_a_role_change_opens_with_the_new_role_and_says_when_keys_must_rotate(
    sqlcipher_archive: Archive,
) -> None:
    archive = sqlcipher_archive
    folder = archive.folder
    archive.users.add("hana", "documenter", "documenter passphrase")
    lowered = archive.users.set_role("hana", "viewer", "the viewer passphrase now")
    assert (lowered.role, lowered.was) == ("viewer", "documenter")
    # a documenter's copy held the seal key: a copy of it she kept still opens sealed names
    assert lowered.rotate and "seal" in lowered.keys_lost
    with pytest.raises(WrongPassphrase):
        Archive.open(folder, "documenter passphrase", settings=FAST, user="hana")
    with Archive.open(folder, "the viewer passphrase now", settings=FAST, user="hana") as hana:
        assert hana.role == "viewer" and hana.keys.seal is None
    raised = archive.users.set_role("hana", "documenter", "documenter passphrase again")
    assert raised.was == "viewer" and not raised.rotate and not raised.keys_lost
    with pytest.raises(InvalidInput, match="already has"):
        archive.users.set_role("hana", "documenter", "documenter passphrase again")
    with pytest.raises(InvalidInput, match="last admin"):
        archive.users.set_role("owner", "viewer", "owner passphrase lowered")
    result = runner.invoke(
        app,
        ["user", "role", str(folder), "hana", "--role", "analyst"],
        env={"SILLOK_PASSPHRASE": PASSPHRASE, "SILLOK_NEW_PASSPHRASE": "analyst passphrase one"},
    )
    assert result.exit_code == 0, result.output
    assert "sillok keys rotate" in " ".join(result.output.split())
