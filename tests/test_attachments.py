"""Evidence files: sealed and streamed, named by a keyed hash, back out byte for byte."""

from __future__ import annotations

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
