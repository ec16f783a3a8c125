"""The key file and the folder: substituted keys, names in the clear, weak passphrases.

Threat model: "curious or coerced user of a low role" (key substitution), "seized laptop or
backup" (what the folder shows without a passphrase, how cheap a passphrase is to guess),
assets "witness identities", "user list" (docs/threat-model.md).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.errors import SillokError, WrongPassphrase
from sillok.folder import KEYS_FILE
from sillok.model import person_names
from sillok.security import keycopy
from sillok.security import keyfile as keys_module
from sillok.security.audit import FAILED_LOGINS_FILE
from sillok.security.keyfile import KeyFile
from sillok.security.keys import ArchiveKeys
from sillok.security.policy import ROLES
from sillok.security.seal import Sealer, SealError, is_sealed
from sillok.web.totp import TotpStore
from tests.conftest import FAST
from tests.security.conftest import (
    ADMIN,
    PASSPHRASE,
    Loot,
    add_user,
    open_as,
    passphrase_of,
)

runner = CliRunner()


def open_sealed_names(archive: Archive, loot: Loot) -> set[str]:
    """Every sealed name any key of the loot opens, used as a seal master key."""
    opened: set[str] = set()
    with archive.store.reading() as conn:
        rows = [r for r in conn.execute(select(person_names)) if is_sealed(r.name)]
        for key in loot.candidates():
            sealer = Sealer(archive.store.dialect, key)
            for row in rows:
                try:
                    opened.add(sealer.open_value(conn, "person_names", "name", row.id, row.name))
                except SealError:
                    continue
    return opened


def test_a_public_key_substituted_in_keys_json_obtains_nothing_at_rotation(
    yodok: Archive,
) -> None:
    """The viewer puts their own public key where the administrator's is kept (today the
    entry's ``public`` field; once public keys move, wherever they move to, with the database
    key if that is where they are) and waits for a rotation."""
    passphrase = add_user(yodok, "qx.viewer", "viewer")
    path = yodok.folder / KEYS_FILE
    # the viewer writes their own public key into the administrator's entry (found by the
    # locator of the administrator's name, which a colleague knows)
    private = X25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    target = KeyFile.load(path).locate(ADMIN)
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data["wrapped"]:
        if entry.get("locator", entry.get("holder")) in (target, ADMIN):
            entry["public"] = base64.b64encode(public).decode()
    path.write_text(json.dumps(data), encoding="utf-8")
    # the administrator rotates the keys, as the docs advise after a suspect leaves
    try:
        with Archive.open(yodok.folder, PASSPHRASE, settings=FAST, user=ADMIN) as admin:
            admin.users.rotate_keys()
    except SillokError:
        pass  # refused: what should happen
    # the viewer opens whatever keys.json now seals to their key (a bundle is the canonical
    # JSON of the keys, with the holder's name and role in format 2; older bundles were the
    # raw keys, 32 bytes each)
    opened: list[bytes] = []
    for entry in json.loads(path.read_text(encoding="utf-8"))["wrapped"]:
        aads = (
            [keys_module._bundle_aad(entry["holder"], entry["role"])]
            if "holder" in entry
            else [keycopy._bundle_aad_v3(entry["locator"])]
        )
        for sealed in (entry.get("bundle"), entry.get("pending")):
            for aad in aads:
                if not sealed:
                    continue
                try:
                    keys = ArchiveKeys.from_bytes(keys_module._open_sealed(private, sealed, aad))
                except SillokError:
                    continue
                opened += [keys.database, *keys.purposes.values()]
    stolen = Loot(tuple(opened))
    with open_as(yodok.folder, "qx.viewer", passphrase) as viewer:
        names = open_sealed_names(viewer, stolen) if stolen.secrets else set()
    assert not names, f"the substituted key opened the sealed names {names}"


def every_file(folder: Path) -> dict[str, bytes]:
    """Every file of the folder, as a seized laptop gives it."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_folder_without_a_passphrase_shows_no_user_names_or_roles(yodok: Archive) -> None:
    names = {role: f"qx.user{n}.kim" for n, role in enumerate(ROLES) if role != "admin"}
    for role, name in names.items():
        add_user(yodok, name, role)
    with open_as(yodok.folder, names["reviewer"], passphrase_of(names["reviewer"])) as reviewer:
        secret = TotpStore.new_secret()
        TotpStore(yodok.folder).enroll(
            reviewer.user.name, reviewer.keys, secret, pyotp.TOTP(secret).now()
        )
    # a colleague mistypes their passphrase: the note of the failure is in the folder until
    # the next successful opening, and must not name them either
    with pytest.raises(WrongPassphrase):
        Archive.open(
            yodok.folder, "not the passphrase at all", settings=FAST, user=names["analyst"]
        )
    assert (yodok.folder / FAILED_LOGINS_FILE).exists()
    words = [*names.values(), *names]
    shown = sorted(
        f"{word!r} in {name}"
        for word in words
        for name, content in every_file(yodok.folder).items()
        if re.search(rb"(?<![a-z])" + re.escape(word.encode()) + rb"(?![a-z])", content)
    )
    assert not shown, f"without a passphrase the folder shows {shown}"


def test_the_folder_does_not_hold_the_postgresql_password(pg_url: str, tmp_path: Path) -> None:
    password = "qxPGsecretQX"
    url = pg_url.replace("postgres@", f"postgres:{password}@", 1)
    with Archive.create(tmp_path / "archive", PASSPHRASE, database=url, settings=FAST):
        pass
    shown = [n for n, content in every_file(tmp_path / "archive").items() if b"PGsecret" in content]
    assert not shown, f"the server's password is in {shown}"


def test_init_refuses_a_one_character_passphrase(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    result = runner.invoke(app, ["init", str(folder)], env={"SILLOK_PASSPHRASE": "a"})
    created = result.exit_code == 0 and (folder / KEYS_FILE).exists()
    assert not created, "an archive was created under the passphrase 'a'"


@pytest.mark.parametrize("weak", ["password", "12345678", "qwertyuiop"])
def test_adding_a_user_or_changing_a_passphrase_refuses_a_weak_one(
    sqlcipher_archive: Archive, weak: str
) -> None:
    accepted = []
    try:
        sqlcipher_archive.users.add("qx.weak", "viewer", weak)
        accepted.append("user add")
    except SillokError:
        pass
    add_user(sqlcipher_archive, "qx.strong", "viewer")
    try:
        sqlcipher_archive.users.passwd("qx.strong", weak)
        accepted.append("user passwd")
    except SillokError:
        pass
    assert not accepted, f"{weak!r} was accepted by {accepted}"
