"""The canary: known strings planted in every protected field never appear in plaintext.

Planted: an informant's name, a protected victim's names (Latin and Hangul), a contact, a
source's narrative, a confidential act's description and a confidential event's description.
Then every way in is exercised for several roles (show, history, search, export, proof
bundles, audit, verify, the CLI, error paths, a backup), with SQLAlchemy logging every
statement and its parameters. Scanned afterwards: every page of the SQLCipher database and of
its write-ahead log, *decrypted with the database key* (what a viewer who copied the file and
has a passphrase could read), every backup file (raw and decrypted), every export and bundle,
every captured log line and everything the commands printed. On PostgreSQL, every column of
every table as the server holds it. Zero hits.

The only ways to see a protected value are the audited openings (``reveal``, a protected
export by an administrator); they are not exercised here.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import select, text
from typer.testing import CliRunner

from sillok.archive import DB_FILE, Archive
from sillok.cli import app
from sillok.model import events, persons, sources
from sillok.model import metadata as model
from sillok.security.keys import derive_key
from sillok.security.policy import may
from sillok.security.seal import SealError
from sillok.store import rows as store_rows
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, row, write_csv

PAGE, RESERVE = 4096, 80  # SQLCipher 4 defaults: IV (16) and HMAC-SHA512 (64) per page
MARK = "qzvxkw"
CANARIES = {
    "informant": "Qzvxkwinformant Alpha",
    "victim": "Vqzjpwvictim Kim",
    "victim_hangul": "뷔큐즈피해자",
    "contact": "+82-10-Qzvxkw-5555",
    "narrative": "Qzvxkwnarrative of the testimony 큐즈브진술",
    "act": "Qzvxkwdescription beaten 큐즈브구타",
    "event": "Qzvxkwevent held at night 큐즈브사건",
}
#: the victim is entered unprotected and protected afterwards, so their marks are looked for
#: only in what follows the protection (and in the files, which must hold no trace of before)
VICTIM_MARKS = [b"vqzjpw", "뷔큐즈".encode()]
NEEDLES = [MARK.encode(), "큐즈브".encode(), *VICTIM_MARKS]
runner = CliRunner()


def _decrypt(page: bytes, number: int, key: bytes) -> bytes:
    start = 16 if number == 1 else 0  # page 1 starts with the file's salt
    iv = page[PAGE - RESERVE : PAGE - RESERVE + 16]
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(page[start : PAGE - RESERVE]) + decryptor.finalize()


def decrypted(db: Path, key: bytes) -> Iterator[bytes]:
    """Every page of an SQLCipher file and of its WAL, decrypted (free pages included)."""
    raw = db.read_bytes()
    for offset in range(0, len(raw) - PAGE + 1, PAGE):
        yield _decrypt(raw[offset : offset + PAGE], offset // PAGE + 1, key)
    wal = db.with_name(db.name + "-wal")
    if wal.exists():
        frames = wal.read_bytes()[32:]
        for offset in range(0, len(frames) - (24 + PAGE) + 1, 24 + PAGE):
            number = int.from_bytes(frames[offset : offset + 4], "big")
            page = frames[offset + 24 : offset + 24 + PAGE]
            yield _decrypt(page, number, key)


def hits(blob: bytes | str, needles: list[bytes] = NEEDLES) -> list[str]:
    data = (blob.encode("utf-8", "replace") if isinstance(blob, str) else blob).lower()
    return [n.decode() for n in needles if n in data]


def plant(archive: Archive, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> dict[str, int]:
    """Plant the canaries; the informant and the confidential act are sealed as they are
    written (checked in the logs of the import), the victim once protected."""
    planted = [
        *YODOK,
        row(
            source_ref="S-Q",
            informant=CANARIES["informant"],
            event_ref="E-Q",
            event_title="Detention at Chongori",
            act_type="torture",
            act_date="2011",
            place="청거리",
            victim_name=CANARIES["victim"],
            victim_name_hangul=CANARIES["victim_hangul"],
            description=CANARIES["act"],
            sharing="confidential",
        ),
    ]
    archive.ingest.run(write_csv(tmp_path / "planted.csv", planted))
    before = [n for n in NEEDLES if n not in VICTIM_MARKS]
    assert not hits("\n".join(r.getMessage() for r in caplog.records), before)
    with archive.store.reading() as conn:
        source = conn.execute(select(sources).where(sources.c.ref == "S-Q")).one()
        event = conn.execute(select(events).where(events.c.ref == "E-Q")).one()
        victim = conn.execute(
            select(persons.c.id).where(persons.c.ref.like("victim@S-Q:%"))
        ).scalar_one()
    archive.protection.protect(victim)
    caplog.clear()
    archive.protection.add_contact(source.informant_id, "phone", CANARIES["contact"])
    with archive.store.transaction() as conn:
        store_rows.update_record(
            conn, "source", source, {"narrative": CANARIES["narrative"]}, "owner"
        )
        store_rows.update_record(
            conn,
            "event",
            event,
            {"description": CANARIES["event"], "sharing": "confidential"},
            "owner",
        )
    return {
        "source": int(source.id),
        "event": int(event.id),
        "victim": int(victim),
        "informant": int(source.informant_id),
    }


def exercise(archive: Archive, ids: dict[str, int], tmp_path: Path) -> list[str]:
    """Everything a user can do short of an audited opening; returns what came out."""
    out: list[str] = []
    with archive.store.reading() as conn:
        act_ids = [r[0] for r in conn.execute(text("SELECT id FROM acts"))]
        person_ids = [r[0] for r in conn.execute(text("SELECT id FROM persons"))]
    for kind, rid in [
        *[("act", a) for a in act_ids],
        *[("person", p) for p in person_ids],
        ("source", ids["source"]),
        ("event", ids["event"]),
    ]:
        out.append(json.dumps(archive.records.show(kind, rid), ensure_ascii=False, default=str))
        out.append(json.dumps(archive.records.history(kind, rid), ensure_ascii=False, default=str))
        if kind != "person" and may(archive.role, "proof"):
            out.append(json.dumps(archive.proofs.record(kind, rid), ensure_ascii=False))
    for query in ("Kim", "Yodok", "Chongori", "torture"):
        out.extend(h.title for h in archive.searcher.search(query))
    for fmt in ("json", "csv"):
        buffer = io.StringIO()
        archive.exports.write(buffer, fmt)
        out.append(buffer.getvalue())
    out.append(json.dumps(archive.protection.contacts(ids["informant"]), ensure_ascii=False))
    if archive.role == "admin":
        out.append(json.dumps(archive.audit.events(limit=10_000), ensure_ascii=False))
    out.append(json.dumps(archive.verification.run().to_json()))
    return out


def test_no_protected_value_leaks_anywhere(
    archive: Archive, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # statements and parameters
    try:
        ids = plant(archive, tmp_path, caplog)
        outputs = exercise(archive, ids, tmp_path)
        archive.users.add("vic", "viewer", "viewer passphrase")
        archive.users.add("ana", "analyst", "analyst passphrase")
        archive.users.add("rev", "reviewer", "reviewer passphrase")
        for name, passphrase in (
            ("vic", "viewer passphrase"),
            ("ana", "analyst passphrase"),
            ("rev", "reviewer passphrase"),
        ):
            with Archive.open(archive.folder, passphrase, settings=FAST, user=name) as other:
                outputs += exercise(other, ids, tmp_path)
        # error paths: a moved ciphertext, a wrong passphrase
        with archive.store.reading() as conn:
            sealed = conn.execute(
                text("SELECT id, description FROM acts WHERE sharing = 'confidential'")
            ).first()
            assert sealed is not None
            with pytest.raises(SealError) as moved:
                archive.sealer.open_value(conn, "acts", "description", -1, sealed.description)
            outputs.append(str(moved.value))
        env = {"SILLOK_PASSPHRASE": PASSPHRASE}
        folder = str(archive.folder)
        for args in (
            ["show", folder, "person", str(ids["victim"])],
            ["show", folder, "source", str(ids["source"]), "--json"],
            ["history", folder, "event", str(ids["event"])],
            ["search", folder, "Kim"],
            ["export", folder, "--format", "csv"],
            ["proof", folder, "--record", f"event:{ids['event']}"],
            ["audit", folder, "--limit", "1000"],
            ["verify", folder],
        ):
            result = runner.invoke(app, args, env=env)
            assert result.exit_code == 0, (args, result.stderr)
            outputs += [result.stdout, result.stderr]
        result = runner.invoke(app, ["stats", folder], env={"SILLOK_PASSPHRASE": "wrong"})
        outputs += [result.stdout, result.stderr]
        backup = None
        if archive.store.dialect.name == "sqlcipher":
            backup = tmp_path / "backup"
            archive.backups.backup(backup)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    # searching for the protected words finds nothing (they are in no index); the queries
    # themselves are the searcher's words, so they run after the logging is off
    for word in (CANARIES["victim"], CANARIES["victim_hangul"], "Qzvxkwinformant", "큐즈브구타"):
        assert not [h for h in archive.searcher.search(word) if hits(h.title) or h.kind == "person"]
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "INSERT INTO person_contacts" in logs  # the statements were logged, with parameters
    found = {f"output {i}": hits(o) for i, o in enumerate(outputs)}
    found["logs"] = hits(logs)
    key = derive_key(archive.keys.database, "database")
    if archive.store.dialect.name == "sqlcipher":
        db = archive.folder / DB_FILE
        assert not hits(db.read_bytes())
        pages = b"".join(decrypted(db, key))
        assert b"SQLite format" not in pages[:16] and b"acts" in pages  # decryption works
        found["database pages"] = hits(pages)
        assert backup is not None
        for path in backup.rglob("*"):
            if path.is_file():
                found[f"backup {path.name}"] = hits(path.read_bytes())
        found["backup pages"] = hits(b"".join(decrypted(backup / DB_FILE, key)))
    else:
        with archive.store.reading() as conn:
            for table in model.sorted_tables:
                for values in conn.execute(select(table)):
                    found.setdefault(f"table {table.name}", []).extend(
                        hits(" ".join(str(v) for v in values))
                    )
            docs = conn.execute(text("SELECT tokens::text FROM search_docs")).scalars()
            found["search index"] = hits(" ".join(docs))
    leaks = {where: what for where, what in found.items() if what}
    if leaks:
        bad = []
        for r in caplog.records:
            msg = r.getMessage()
            low = msg.lower()
            for needle in ("qzvxkw", "큐즈브", "vqzjpw", "뷔큐즈"):
                at = low.find(needle)
                if at >= 0:
                    bad.append(msg[max(0, at - 200) : at + 80])
        bad += [o[:300] for o in outputs if hits(o)]
    assert not leaks, (leaks, bad[:5])
    # and the planted values are really there, for the roles and openings that may see them
    assert archive.records.show("person", ids["victim"], reveal=True)["names"][0]["name"] in (
        CANARIES["victim"],
        CANARIES["victim_hangul"],
    )
