"""What the attackers of the red-team suite hold, and the tools they use.

Each test in this folder is an attack from docs/threat-model.md, written the way an attacker
would run it: with a key copy (a user's entry of ``keys.json`` and their passphrase, opened
with the library's own :class:`~sillok.security.keyfile.KeyFile`), the files of the folder, raw
SQL, and the library's own functions for the formats (a real attacker reads the source). Each
test asserts the *safe* outcome, so a test that is marked ``xfail`` shows an attack that works
today; the marker goes when the fix lands (``strict=True`` makes the test fail as soon as the
attack stops working, so the marker cannot be forgotten).

Two rules keep the markers honest:

* ``raises=AssertionError`` on every marker: only the final check of the safe outcome may fail.
  An attack that breaks on anything else (an import, a renamed function, a format that changed)
  is an error, not an expected failure, and must be brought up to date with the code: an
  attack that fails only because it speaks an old format proves nothing.
* what the *defender* sets up (a user added, a file attached, a person protected) is checked
  with :func:`staged`, which raises :class:`AttackNotStaged`, never an AssertionError. Where the
  *attacker* cannot even begin (the key copy holds nothing that opens the signing key), the
  attack has failed and the test says so by passing;
* a *control* (:func:`tools_fit`) runs the same tools with a copy that may open the asset (the
  administrator's) and must succeed, so that no attack passes only because its tools no longer
  speak the code's formats.

:class:`Loot` is the one place that says what a key copy gives: every secret it opens, and every
key the library derives from those secrets under the labels found in its source. When the key
hierarchy changes, it must keep yielding everything a copy opens (including keys it unwraps
from the database), so that the attacks stay as strong as the code allows.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError

import sillok
from sillok.archive import Archive
from sillok.errors import ArchiveError
from sillok.folder import KEYS_FILE, read_info
from sillok.ledger.checkpoint import Signer
from sillok.ledger.entries import SHAPES, content_commitment
from sillok.ledger.log import ArchiveLog, LogError
from sillok.model import ledger_entries, ledger_state
from sillok.records.attachments import STORE, AttachmentError, open_stream
from sillok.security.keyfile import KeyFile
from sillok.security.keys import derive_key
from sillok.store import Store
from sillok.store.dialects import SqlCipherDialect
from sillok.web.totp import TOTP_FILE
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv

ADMIN = "owner"
"""The administrator the ``archive`` fixture creates (its passphrase is ``PASSPHRASE``)."""

#: SQLCipher 4's page layout: 4096-byte pages ending in a 16-byte IV and a 64-byte HMAC
SQLCIPHER_PAGE = 4096
SQLCIPHER_RESERVE = 80


class AttackNotStaged(Exception):
    """The defender's side of an attack did not happen as planned: the test proves nothing."""


def staged(condition: object, what: str) -> None:
    """Check a step of the setup (never an AssertionError, so no xfail can swallow it)."""
    if not condition:
        raise AttackNotStaged(what)


def tools_fit(condition: object, what: str) -> None:
    """A control: the attack's tools, used with a copy that *may* open the asset, open it.

    Without it an attack could pass for the wrong reason: a format changed and the tool no
    longer speaks it. When a control fails, bring the tool up to date with the new format.
    """
    if not condition:
        raise AttackNotStaged(f"control failed: {what} (update the attack to the code's format)")


def passphrase_of(name: str) -> str:
    """A strong passphrase for a test user (strong, so a strength check will not refuse it)."""
    return f"{name} keeps 7 blue herons beside the Taedong, winter 1987"


def add_user(archive: Archive, name: str, role: str) -> str:
    """Add a user as the administrator; returns their passphrase."""
    passphrase = passphrase_of(name)
    archive.users.add(name, role, passphrase)
    return passphrase


def open_as(folder: Path, name: str, passphrase: str) -> Archive:
    """Open the archive through the library, as a user may."""
    return Archive.open(folder, passphrase, settings=FAST, user=name)


def import_yodok(archive: Archive, tmp_path: Path) -> Archive:
    """The Yodok testimonies (an informant, a victim with a ref, a confidential act)."""
    archive.ingest.run(write_csv(tmp_path / "yodok.csv", YODOK))
    return archive


def admin_loot(folder: Path) -> Loot:
    """What the administrator's copy opens (for the controls)."""
    return Loot.from_copy(folder / KEYS_FILE, ADMIN, PASSPHRASE)


def steal_key_file(folder: Path, to: Path) -> Path:
    """A copy of ``keys.json`` as it is now (a user may keep one; a wipe may leave its blocks)."""
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / KEYS_FILE, to)
    return to


# --- what a key copy gives ----------------------------------------------------------------


@cache
def derivation_labels() -> tuple[str, ...]:
    """Every label the library derives a key under, read from its source (Kerckhoffs)."""
    pattern = re.compile(r'(?:key_for|derive_key)\([^()"]*?"([^"{}]+)"')
    by_name = re.compile(r"(?:key_for|derive_key)\([^()\"]*?,?\s*([A-Z][A-Z_]+)\)")
    found: set[str] = set()
    for path in Path(sillok.__file__).parent.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found.update(pattern.findall(text))
        for constant in by_name.findall(text):  # a label kept in a module constant
            found.update(re.findall(rf'^{constant}\s*=\s*"([^"{{}}]+)"', text, re.M))
    return tuple(sorted(found))


def _secrets_in(value: Any, seen: set[int] | None = None) -> Iterator[bytes]:
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, bytes | bytearray | memoryview):
        if len(value) >= 16:
            yield bytes(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _secrets_in(item, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _secrets_in(getattr(value, f.name), seen)


@dataclass(frozen=True)
class Loot:
    """Every secret one key copy opens (current and pending keys alike)."""

    secrets: tuple[bytes, ...]

    @classmethod
    def from_copy(cls, keys_json: Path, holder: str, passphrase: str) -> Loot:
        """Open ``holder``'s copy in a ``keys.json`` (the live one or one kept from before)."""
        _copy, keys, pending = KeyFile.load(keys_json).unlock_holder(passphrase, holder)
        found = tuple(dict.fromkeys(_secrets_in((keys, pending))))
        staged(found, f"{holder}'s key copy opened but held no secret")
        return cls(found)

    def candidates(self) -> list[bytes]:
        """Each secret, and each key derived from one under the library's labels (two deep)."""
        return list(_candidates(self.secrets))


@cache
def _candidates(secrets: tuple[bytes, ...]) -> tuple[bytes, ...]:
    labels = derivation_labels()
    first = [derive_key(s, label) for s in secrets for label in labels]
    second = [derive_key(k, label) for k in first for label in labels]
    return tuple(dict.fromkeys([*secrets, *first, *second]))


# --- tools ----------------------------------------------------------------------------------


def blobs(folder: Path) -> set[Path]:
    """The sealed evidence files on disk."""
    store = folder / STORE
    return {p for p in store.iterdir() if p.is_file()} if store.is_dir() else set()


def evidence_key_rows(folder: Path, loot: Loot | None) -> list[tuple[str, bytes]]:
    """Every (blob name, wrapped data key) the archive's database holds, read with raw SQL
    (:func:`raw_engine`: the server's administrator, or a key of the loot on SQLCipher); none
    when the database does not open (wiped) or keeps no data keys (an archive from before)."""
    if not _has_info(folder):
        return []
    where = location(folder)
    if where.startswith("sqlcipher:") and not (folder / where[len("sqlcipher:") :]).is_file():
        return []
    try:
        engine = raw_engine(folder, loot)
    except AttackNotStaged:
        return []
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT blob_name, wrapped FROM evidence_keys")).all()
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()
    return [(str(blob), bytes(wrapped)) for blob, wrapped in found]


def _has_info(folder: Path) -> bool:
    try:
        location(folder)
    except (ArchiveError, OSError, KeyError, ValueError):
        return False
    return True


def data_keys(blob: str, rows: list[tuple[str, bytes]], loot: Loot) -> list[bytes]:
    """The data keys of a blob that a key of the loot unwraps from the rows."""
    wrapped = [w for name, w in rows if name == blob]
    if not wrapped:
        return []
    from sillok.security.evidence import unwrap_data_key  # the library's own format

    found = (unwrap_data_key(k, blob, w) for w in wrapped for k in loot.candidates())
    return [k for k in found if k is not None]


def open_blob(
    path: Path, loot: Loot, rows: list[tuple[str, bytes]] | None = None
) -> bytes | None:
    """The plaintext of a sealed evidence file, if any key of the loot opens it: directly (a
    file sealed under an evidence key) or through a data key it unwraps from ``rows`` (by
    default, the wrapped data keys that the loot reads from the archive's database)."""
    if rows is None:
        rows = evidence_key_rows(path.parent.parent, loot)
    for key in [*data_keys(path.name, rows, loot), *loot.candidates()]:
        try:
            with open(path, "rb") as source:
                return b"".join(open_stream(source, key))
        except AttachmentError:
            continue
    return None


def totp_secrets(folder: Path, loot: Loot) -> set[str]:
    """Every second-factor secret in the folder that a key of the loot opens."""
    path = folder / TOTP_FILE
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    found = set()
    for username, entry in entries.items():
        nonce, sealed = base64.b64decode(entry["nonce"]), base64.b64decode(entry["secret"])
        for key in loot.candidates():
            try:
                found.add(AESGCM(key).decrypt(nonce, sealed, username.encode()).decode())
            except (InvalidTag, ValueError):
                continue
    return found


def extract_signer(loot: Loot, archive: Archive) -> Signer | None:
    """The archive's checkpoint-signing key, if the loot opens it (as a seed or its seal)."""
    with archive.store.reading() as conn:
        state = conn.execute(select(ledger_state).where(ledger_state.c.id == 1)).one()
    sealed_seed = getattr(state, "signing_key", None)
    for key in loot.candidates():
        if sealed_seed is not None:
            try:
                return ArchiveLog(archive.store.dialect, key, key)._load_signer(state)
            except LogError:
                pass
        if len(key) == 32:
            signer = Signer.from_private_bytes(state.origin, key)
            if signer.verifier_key() == state.verifier_key:
                return signer
    return None


def salt_keys(loot: Loot, archive: Archive) -> list[bytes]:
    """Keys of the loot that reproduce the log's commitment of some row the attacker can read."""
    found = []
    with archive.store.reading() as conn:
        known = []
        for table in ("acts", "sources", "person_names", "events"):
            shape = SHAPES[table]
            for row in conn.execute(select(shape.table).limit(3)):
                mapping = dict(row._mapping)
                entry = conn.execute(
                    select(ledger_entries.c.content)
                    .where(
                        ledger_entries.c.tbl == table,
                        ledger_entries.c.row_id == shape.key_of(mapping)[0],
                    )
                    .order_by(ledger_entries.c.seq.desc())
                    .limit(1)
                ).scalar()
                if entry is not None:
                    known.append((shape, mapping, bytes(entry)))
    for key in loot.candidates():
        log = ArchiveLog(archive.store.dialect, key, key)
        for shape, mapping, content in known:
            version = int(mapping["version"]) if shape.versioned else None
            if content_commitment(log.committed(shape, mapping, version)) == content:
                found.append(key)
                break
    return found


def location(folder: Path) -> str:
    """Where the archive's data lives (``archive.json``): an SQLCipher file or a server URL."""
    return str(read_info(folder)["store"])


def raw_engine(folder: Path, loot: Loot | None = None) -> Engine:
    """A connection to the archive's database outside Sillok.

    PostgreSQL: the server's administrator, who needs no key of Sillok's. SQLCipher: whoever
    holds a key copy, opening the file with whichever key of the loot opens it.
    """
    where = location(folder)
    if not where.startswith("sqlcipher:"):
        return create_engine(where.replace("postgresql://", "postgresql+psycopg://", 1))
    if loot is None:
        raise AttackNotStaged("an SQLCipher file needs a key copy to open")
    for key in loot.candidates():
        store = Store(SqlCipherDialect(folder / where[len("sqlcipher:") :]), key)
        try:
            store.check()
        except ArchiveError:
            store.close()
            continue
        return store.engine
    raise AttackNotStaged("no key of the loot opens the database, though the user may open it")


def sqlcipher_pages(path: Path, loot: Loot) -> list[bytes]:
    """Every page of an SQLCipher file that decrypts with a key of the loot.

    SQLCipher keyed with raw key bytes encrypts each page with AES-256-CBC under that key and
    the IV stored at the page's end; the file's salt (its first 16 bytes) only derives the HMAC
    key, so pages decrypt without it, even once the start of the file is destroyed.
    """
    data = path.read_bytes() if path.exists() else b""
    pages = [
        data[at : at + SQLCIPHER_PAGE]
        for at in range(0, len(data) - SQLCIPHER_PAGE + 1, SQLCIPHER_PAGE)
    ]
    sample = pages[:: max(1, len(pages) // 64)]  # spread out: freelist runs are not b-trees
    for key in loot.candidates():
        if len(key) != 32:
            continue
        # a b-tree page starts with its type (interior or leaf, index or table) and counts at
        # most 60 fragmented free bytes: random bytes pass one time in about 270
        plain = _decrypt(key, sample)
        if sum(p[0] in (2, 5, 10, 13) and p[7] <= 60 for p in plain) >= 4:
            return _decrypt(key, pages)
    return []


def _decrypt(key: bytes, pages: list[bytes]) -> list[bytes]:
    body = SQLCIPHER_PAGE - SQLCIPHER_RESERVE
    return [
        Cipher(algorithms.AES(key), modes.CBC(page[body : body + 16]))
        .decryptor()
        .update(page[:body])
        for page in pages
    ]


@pytest.fixture
def yodok(archive: Archive, tmp_path: Path) -> Archive:
    """The ``archive`` fixture (both stores) with the Yodok testimonies imported."""
    return import_yodok(archive, tmp_path)


__all__ = [
    "ADMIN",
    "admin_loot",
    "tools_fit",
    "PASSPHRASE",
    "AttackNotStaged",
    "Loot",
    "add_user",
    "blobs",
    "data_keys",
    "evidence_key_rows",
    "extract_signer",
    "import_yodok",
    "location",
    "open_as",
    "open_blob",
    "passphrase_of",
    "raw_engine",
    "salt_keys",
    "sqlcipher_pages",
    "staged",
    "steal_key_file",
    "totp_secrets",
]


# --- the hostile files of tests/data/hostile --------------------------------------------------

HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile"


def _load_make() -> ModuleType:
    """tests/data/hostile/make.py (a script, not a package), loaded once for every test."""
    spec = importlib.util.spec_from_file_location("hostile_make", HOSTILE / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _load_make()


@contextmanager
def opened_as(archive: Archive, role: str) -> Iterator[Archive]:
    """The archive opened by a user of ``role`` (made on first use; the admin is the
    archive's own user)."""
    if role == "admin":
        yield archive
        return
    name, passphrase = f"{role}1", f"{role} passphrase, long enough"
    if archive.users.get(name) is None:
        archive.users.add(name, role, passphrase)
    with Archive.open(archive.folder, passphrase, settings=FAST, user=name) as other:
        yield other
