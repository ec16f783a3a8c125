"""Evidence files: sealed and streamed, named by a keyed hash, back out byte for byte."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.errors import InvalidInput, NotFound
from sillok.records.attachments import STORE, AttachmentError, open_stream, seal_stream
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv

runner = CliRunner()


def sha256sum(path: Path) -> str:
    """What the coreutils command prints for a file."""
    done = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    return done.stdout.split()[0]


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    """A 3.5 MiB 'scan' (a JPEG header, then noise): several chunks, a short last one."""
    path = tmp_path / "scan-0001.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(3 * (1 << 20) + 500_000))
    return path


def test_attach_and_get_back_byte_for_byte(
    archive: Archive, evidence: Path, tmp_path: Path
) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    added = archive.attachments.attach("source", 1, evidence)
    assert added["sha256"] == sha256sum(evidence)
    assert added["size"] == evidence.stat().st_size and added["media_type"] == "image/jpeg"
    stored = archive.folder / STORE / added["blob_name"]
    assert added["blob_name"] != added["sha256"] and stored.exists()
    assert evidence.read_bytes()[4:4096] not in stored.read_bytes()  # sealed, not copied
    out = tmp_path / "out.jpg"
    archive.attachments.get(added["id"], out)
    assert out.read_bytes() == evidence.read_bytes() and sha256sum(out) == added["sha256"]
    listed = archive.attachments.list("source", 1)
    assert [c["action"] for c in listed[0]["custody"]] == ["added", "opened"]
    assert archive.audit.events(action="attachment_get")[0]["record"] == f"attachment:{added['id']}"
    report = archive.verification.run()
    assert report.ok and report.attachments == 1


def test_equal_files_share_a_blob_and_names_are_keyed(
    sqlcipher_archive: Archive, evidence: Path, tmp_path: Path
) -> None:
    archive = sqlcipher_archive
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    first = archive.attachments.attach("source", 1, evidence)
    second = archive.attachments.attach("event", 1, evidence)
    assert first["blob_name"] == second["blob_name"] and first["id"] != second["id"]
    assert len(list((archive.folder / STORE).iterdir())) == 1
    with Archive.create(tmp_path / "other", PASSPHRASE, settings=FAST) as other:
        other.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
        elsewhere = other.attachments.attach("source", 1, evidence)
    assert elsewhere["blob_name"] != first["blob_name"]  # another archive, another name


def test_an_altered_or_truncated_blob_is_caught(
    sqlcipher_archive: Archive, evidence: Path, tmp_path: Path
) -> None:
    archive = sqlcipher_archive
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    added = archive.attachments.attach("source", 1, evidence)
    stored = archive.folder / STORE / added["blob_name"]
    original = stored.read_bytes()
    chunk = (1 << 20) + 16
    stored.write_bytes(original[: 36 + 2 * chunk])  # cut exactly at a chunk boundary
    with pytest.raises(AttachmentError, match="altered or truncated"):
        archive.attachments.get(added["id"], tmp_path / "cut.jpg")
    assert not (tmp_path / "cut.jpg").exists() and not (tmp_path / "cut.jpg.partial").exists()
    report = archive.verification.run()
    assert not report.ok and f"attachment {added['id']}" in report.problems[0]
    flipped = bytearray(original)
    flipped[100] ^= 1
    stored.write_bytes(bytes(flipped))
    assert "altered" in str(archive.verification.run().problems)
    stored.unlink()
    assert "missing" in str(archive.verification.run().problems)


def test_sealing_streams_in_flat_memory() -> None:
    size = 24 * (1 << 20)

    class Zeros(io.RawIOBase):
        left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            n = min(len(buffer), self.left)
            buffer[:n] = b"\0" * n
            self.left -= n
            return n

    class Sink(io.RawIOBase):
        written = 0

        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self.written += len(data)
            return len(data)

    sink = Sink()
    tracemalloc.start()
    digest, total = seal_stream(io.BufferedReader(Zeros()), sink, b"k" * 32)  # type: ignore[arg-type,type-var]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert total == size and peak < 8 * (1 << 20)
    import hashlib

    assert digest == hashlib.sha256(b"\0" * size).hexdigest()


def test_round_trip_of_small_and_boundary_sizes() -> None:
    for size in (0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 2 << 20):
        data = os.urandom(size)
        sealed = io.BytesIO()
        digest, total = seal_stream(io.BytesIO(data), sealed, b"k" * 32)
        sealed.seek(0)
        assert b"".join(open_stream(sealed, b"k" * 32)) == data and total == size


def test_who_may_attach_and_get(archive: Archive, evidence: Path, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    added = archive.attachments.attach("source", 1, evidence)
    with pytest.raises(NotFound, match="no source with id 999"):
        archive.attachments.attach("source", 999, evidence)
    with pytest.raises(InvalidInput, match="no such file"):
        archive.attachments.attach("source", 1, tmp_path / "missing.jpg")
    archive.users.add("ana", "analyst", "analyst passphrase")
    with Archive.open(archive.folder, "analyst passphrase", settings=FAST, user="ana") as ana:
        with pytest.raises(InvalidInput, match="analyst role may not"):
            ana.attachments.get(added["id"], tmp_path / "x.jpg")
        with pytest.raises(InvalidInput, match="analyst role may not"):
            ana.attachments.attach("source", 1, evidence)


def test_the_commands(tmp_path: Path, evidence: Path) -> None:
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    folder, env = str(tmp_path / "arch"), {"SILLOK_PASSPHRASE": PASSPHRASE}
    result = runner.invoke(app, ["attach", folder, "source:1", str(evidence)], env=env)
    assert result.exit_code == 0 and sha256sum(evidence) in result.stdout, result.stderr
    out = tmp_path / "back.jpg"
    result = runner.invoke(app, ["attachment", "get", folder, "1", str(out)], env=env)
    assert result.exit_code == 0 and out.read_bytes() == evidence.read_bytes(), result.stderr
    result = runner.invoke(app, ["attachment", "get", folder, "1", str(out)], env=env)
    assert result.exit_code == 2 and "exists" in result.stderr
    result = runner.invoke(app, ["attachment", "list", folder, "source:1", "--json"], env=env)
    assert result.exit_code == 0 and '"opened"' in result.stdout


# --- who may open which file (review C6) ------------------------------------------------------


def test_evidence_follows_the_records_text() -> None:
    from sillok.security.policy import ROLES, may_get_evidence

    levels = ("confidential", "internal", "public")
    opens = {role: {lv for lv in levels if may_get_evidence(role, lv)} for role in ROLES}
    assert opens["admin"] == opens["documenter"] == {"confidential", "internal", "public"}
    assert opens["coordinator"] == opens["reviewer"] == {"internal", "public"}
    assert opens["analyst"] == opens["viewer"] == set()


def _act_of(archive: Archive, sharing: str) -> int:
    for hit in archive.searcher.search("", archive.searcher.act_filter(date_from="1900")):
        if archive.records.show("act", hit.id)["sharing"] == sharing:
            return int(hit.id)
    raise AssertionError(f"no {sharing} act in the data set")


def test_only_roles_that_read_the_text_open_the_evidence(
    archive: Archive, evidence: Path, tmp_path: Path
) -> None:
    from sillok.records.attachments import EvidenceWithheld
    from sillok.security.policy import REDACTED

    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    secret = archive.attachments.attach("act", _act_of(archive, "confidential"), evidence)
    plain = archive.attachments.attach("act", _act_of(archive, "internal"), evidence)
    digest = sha256sum(evidence)
    for role in ("coordinator", "reviewer", "viewer"):
        archive.users.add(f"u.{role}", role, f"{role} passphrase, long enough")
    for role in ("coordinator", "reviewer"):
        with Archive.open(
            archive.folder, f"{role} passphrase, long enough", settings=FAST, user=f"u.{role}"
        ) as other:
            with pytest.raises(EvidenceWithheld, match=f"the {role} role may not open"):
                other.attachments.get(secret["id"], tmp_path / f"{role}.jpg")
            assert not (tmp_path / f"{role}.jpg").exists()
            listed = {a["id"]: a for a in other.attachments.list("act")}
            assert not listed[secret["id"]]["openable"]
            assert listed[secret["id"]]["sha256"] == REDACTED
            assert listed[plain["id"]]["openable"] and listed[plain["id"]]["sha256"] == digest
            got = other.attachments.get(plain["id"], tmp_path / f"{role}-plain.jpg")
            assert got["sha256"] == digest and got["filename"] == evidence.name
    with Archive.open(
        archive.folder, "viewer passphrase, long enough", settings=FAST, user="u.viewer"
    ) as viewer:
        shown = viewer.attachments.list("act")
        assert shown and all(a["sha256"] == REDACTED and not a["openable"] for a in shown)
    got = archive.attachments.get(secret["id"], tmp_path / "admin.jpg")
    assert got["sha256"] == digest


def test_the_sha256_is_stored_sealed_and_duplicates_are_still_found(
    sqlcipher_archive: Archive, evidence: Path, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from sillok.model import attachments, evidence_keys

    archive = sqlcipher_archive
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    first = archive.attachments.attach("source", 1, evidence)
    digest = sha256sum(evidence)
    with archive.store.reading() as conn:
        stored = conn.execute(select(attachments.c.sha256, attachments.c.blob_name)).all()
        keys = conn.execute(select(evidence_keys.c.blob_name, evidence_keys.c.digest)).all()
    assert stored[0][0].startswith("sealed-sha256:v1:") and digest not in stored[0][0]
    assert keys[0][0] == first["blob_name"] and keys[0][1] != digest
    archive.users.rotate_keys()  # the fingerprints are recomputed under the new key
    again = archive.attachments.attach("event", 1, evidence)
    assert again["blob_name"] == first["blob_name"]
    with archive.store.reading() as conn:
        assert len(conn.execute(select(evidence_keys.c.id)).all()) == 1
    assert archive.verification.run().ok


# --- rotation re-wraps the data keys --------------------------------------------------------


def test_rotation_rewraps_every_data_key_and_drops_the_retired_evidence_keys(
    archive: Archive, evidence: Path, tmp_path: Path
) -> None:
    from sillok.folder import KEYS_FILE
    from sillok.security.keyfile import KeyFile

    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    added = archive.attachments.attach("source", 1, evidence)
    archive.users.add("dora", "documenter", "documenter passphrase")
    before = archive.keys.evidence_keys()
    done = archive.users.rotate_keys()
    assert done["evidence_keys"] == 1 and done["evidence_missing"] == 0
    archive.users.rotate_keys()
    for name, passphrase in (("owner", PASSPHRASE), ("dora", "documenter passphrase")):
        _copy, keys, pending = KeyFile.load(archive.folder / KEYS_FILE).unlock_holder(
            passphrase, name
        )
        assert pending is None and len(keys.evidence_keys()) == 1
        assert not set(before) & set(keys.purposes.values())
        with Archive.open(archive.folder, passphrase, settings=FAST, user=name) as opened:
            out = tmp_path / f"{name}.jpg"
            opened.attachments.get(added["id"], out)
            assert out.read_bytes() == evidence.read_bytes()
            assert opened.verification.run().ok


# --- archives from before the data keys -----------------------------------------------------


def attach_as_before_0007(archive: Archive, kind: str, record_id: int, path: Path) -> str:
    """Attach a file as the code before migration 0007 did: sealed directly under the evidence
    key, named by a keyed hash of its SHA-256, the SHA-256 in the clear in the row."""
    import hmac

    from sillok.security.keys import EVIDENCE_NAMES
    from sillok.store.attachments import add_custody
    from sillok.store.rows import insert_records, now

    folder = archive.folder / STORE
    folder.mkdir(mode=0o700, exist_ok=True)
    incoming = folder / ".incoming-old"
    with open(path, "rb") as source, open(incoming, "wb") as target:
        digest, size = seal_stream(source, target, archive.keys.evidence_keys()[0])
    names = archive.key_for(EVIDENCE_NAMES)
    blob = hmac.new(names, bytes.fromhex(digest), hashlib.sha256).hexdigest()
    os.replace(incoming, folder / blob)
    values = {
        "record_kind": kind,
        "record_id": record_id,
        "filename": path.name,
        "media_type": "image/jpeg",
        "size": size,
        "sha256": digest,
        "blob_name": blob,
        "captured_at": None,
        "captured_place": None,
    }
    dialect = archive.store.dialect
    with archive.store.transaction() as conn:
        (aid,) = insert_records(conn, dialect, "attachment", [values], archive.user.name)
        add_custody(
            conn,
            dialect,
            {"attachment_id": aid, "at": now(), "actor": "owner", "action": "added"}
            | {"origin": None},
        )
    return blob


def test_files_sealed_before_the_data_keys_open_and_are_given_keys_at_rotation(
    archive: Archive, evidence: Path, tmp_path: Path
) -> None:
    from alembic import command
    from sqlalchemy import select

    from sillok.model import evidence_keys
    from sillok.store import _alembic_config

    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    blob = attach_as_before_0007(archive, "source", 1, evidence)
    config = _alembic_config()
    with archive.store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")  # the schema as it was
    folder = archive.folder
    archive.close()
    with Archive.open(folder, PASSPHRASE, settings=FAST) as upgraded:  # migrates to 0007
        (old_key,) = upgraded.keys.evidence_keys()  # the file opens only with this one
        out = tmp_path / "before.jpg"
        assert upgraded.attachments.get(1, out)["sha256"] == sha256sum(evidence)
        assert upgraded.verification.run().ok
        done = upgraded.users.rotate_keys()
        assert done["evidence_keys"] == 1 and done["evidence_missing"] == 0
        with upgraded.store.reading() as conn:
            assert [r.blob_name for r in conn.execute(select(evidence_keys))] == [blob]
    with Archive.open(folder, PASSPHRASE, settings=FAST) as rotated:
        assert old_key not in rotated.keys.evidence_keys()
        out = tmp_path / "after.jpg"
        rotated.attachments.get(1, out)
        assert out.read_bytes() == evidence.read_bytes()
        # an equal file attached now finds the old one
        assert rotated.attachments.attach("event", 1, evidence)["blob_name"] == blob
        report = rotated.verification.run()
        assert report.ok and report.attachments == 2, report.problems


# --- a rotation killed at any step -----------------------------------------------------------


def _child_rotation(folder: str, kill_after: str) -> None:
    """Run in a child: rotate the keys, and SIGKILL itself right after one step."""
    import signal

    from sillok.security import evidence, keyfile
    from sillok.store import Store

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    saves = {"n": 0}
    original_save = keyfile.KeyFile.save
    original_rewrap = evidence.EvidenceKeys.rewrap
    original_check = Store.check

    def save(self: keyfile.KeyFile) -> None:
        original_save(self)
        saves["n"] += 1
        if (kill_after, saves["n"]) in (("pending", 1), ("promoted", 2)):
            die()

    def rewrap(self: evidence.EvidenceKeys, conn: object, new_key: bytes) -> dict[str, int]:
        done = original_rewrap(self, conn, new_key)  # type: ignore[arg-type]
        if kill_after == "rewrap":
            conn.commit()  # type: ignore[attr-defined]
            die()
        return done

    def check(self: Store) -> None:
        original_check(self)
        if kill_after == "rekey" and saves["n"] == 1:
            die()

    keyfile.KeyFile.save = save  # type: ignore[method-assign]
    evidence.EvidenceKeys.rewrap = rewrap  # type: ignore[method-assign]
    Store.check = check  # type: ignore[method-assign]
    archive = Archive.open(Path(folder), PASSPHRASE, settings=FAST)
    saves["n"] = 0
    archive.users.rotate_keys()


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", ["pending", "rewrap", "rekey", "promoted"])
def test_a_rotation_killed_at_any_step_leaves_every_file_open(
    tmp_path: Path, evidence: Path, kill_after: str
) -> None:
    import signal
    import sys

    root = Path(__file__).resolve().parent.parent
    folder = tmp_path / "arch"
    old_way = tmp_path / "old.bin"
    old_way.write_bytes(b"a file sealed before the data keys " * 999)
    with Archive.create(folder, PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
        new = archive.attachments.attach("source", 1, evidence)
        attach_as_before_0007(archive, "event", 1, old_way)
        archive.users.add("dora", "documenter", "documenter passphrase")
    code = (
        "import sys; from tests.test_attachments import _child_rotation; "
        "_child_rotation(*sys.argv[1:3])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder), kill_after],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr

    def all_open(name: str, passphrase: str) -> None:
        with Archive.open(folder, passphrase, settings=FAST, user=name) as opened:
            for aid, original in ((new["id"], evidence), (2, old_way)):
                out = tmp_path / f"{name}-{kill_after}-{aid}-{os.urandom(2).hex()}"
                opened.attachments.get(aid, out)
                assert out.read_bytes() == original.read_bytes()
            assert opened.verification.run().ok

    for name, passphrase in (("owner", PASSPHRASE), ("dora", "documenter passphrase")):
        all_open(name, passphrase)
    with Archive.open(folder, PASSPHRASE, settings=FAST) as opened:
        opened.users.rotate_keys()  # running it again finishes it
    for name, passphrase in (("owner", PASSPHRASE), ("dora", "documenter passphrase")):
        all_open(name, passphrase)
        with Archive.open(folder, passphrase, settings=FAST, user=name) as opened:
            assert opened.vault.pending_keys is None
            assert len(opened.keys.evidence_keys()) == 1


def test_showing_an_attachment_as_a_record_follows_its_records_level(
    sqlcipher_archive: Archive, evidence: Path, tmp_path: Path
) -> None:
    from sillok.security.policy import REDACTED

    archive = sqlcipher_archive
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    secret = archive.attachments.attach("act", _act_of(archive, "confidential"), evidence)
    archive.users.add("vic", "viewer", "viewer passphrase, long enough")
    with Archive.open(
        archive.folder, "viewer passphrase, long enough", settings=FAST, user="vic"
    ) as viewer:
        shown = viewer.records.show("attachment", secret["id"])
    # a viewer reads the names of files on internal records, not on confidential ones
    assert shown["filename"] == REDACTED and shown["sha256"] == REDACTED
    assert archive.records.show("attachment", secret["id"])["filename"] == evidence.name


def test_a_proof_of_an_attachment_follows_its_records_level(
    sqlcipher_archive: Archive, evidence: Path, tmp_path: Path
) -> None:
    archive = sqlcipher_archive
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    secret = archive.attachments.attach("act", _act_of(archive, "confidential"), evidence)
    archive.users.add("cora", "coordinator", "coordinator passphrase, long enough")
    with Archive.open(
        archive.folder, "coordinator passphrase, long enough", settings=FAST, user="cora"
    ) as coordinator:
        bundle = coordinator.proofs.record("attachment", secret["id"])
    assert "filename" in bundle["withheld"] and "filename" not in bundle["fields"]
    assert archive.proofs.record("attachment", secret["id"])["fields"]["filename"] == evidence.name


def test_an_archive_from_before_the_purpose_keys_gets_data_keys_at_rotation(
    tmp_path: Path, evidence: Path
) -> None:
    from tests.legacy import legacy_keys, rewrite_as_legacy

    folder = tmp_path / "archive"
    with legacy_keys():
        archive = Archive.create(folder, PASSPHRASE, settings=FAST)
    with archive:
        archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
        attach_as_before_0007(archive, "source", 1, evidence)
        archive.users.add("dora", "documenter", "documenter passphrase")
        passphrases = {"owner": PASSPHRASE, "dora": "documenter passphrase"}
        rewrite_as_legacy(folder, archive.keys, passphrases)
    with Archive.open(folder, PASSPHRASE, settings=FAST) as admin:
        # the administrator's open replaced the evidence key; the file's is kept, retired
        assert len(admin.keys.evidence_keys()) == 2
        admin.attachments.get(1, tmp_path / "migrated.jpg")
        assert admin.users.rotate_keys()["evidence_keys"] == 1
    with Archive.open(folder, "documenter passphrase", settings=FAST, user="dora") as dora:
        assert len(dora.keys.evidence_keys()) == 1
        dora.attachments.get(1, tmp_path / "rotated.jpg")
        assert (tmp_path / "rotated.jpg").read_bytes() == evidence.read_bytes()
        assert dora.verification.run().ok


@pytest.mark.parametrize("change", ["erase", "swap"])
def test_an_evidence_key_erased_or_swapped_behind_the_log_is_caught(
    sqlcipher_archive: Archive, evidence: Path, tmp_path: Path, change: str
) -> None:
    from sqlalchemy import text

    archive = sqlcipher_archive
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    archive.attachments.attach("source", 1, evidence)
    other = tmp_path / "other.bin"
    other.write_bytes(b"another file " * 500)
    archive.attachments.attach("event", 1, other)
    assert archive.verification.run().ok
    with archive.store.engine.begin() as conn:  # a holder of the database key, raw SQL
        if change == "erase":
            conn.execute(text("DELETE FROM evidence_keys WHERE id = 1"))
        else:
            conn.execute(
                text(
                    "UPDATE evidence_keys SET wrapped = "
                    "(SELECT wrapped FROM evidence_keys WHERE id = 2) WHERE id = 1"
                )
            )
    report = archive.verification.run()
    assert not report.ok and any("evidence_keys" in p for p in report.problems), report.problems
