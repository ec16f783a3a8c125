"""Files in Uwazi zips: exported with their rows, imported back with them, all or nothing."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.errors import InvalidInput
from sillok.records import uwazi_files
from sillok.records.attachments import STORE
from sillok.records.uwazi_files import FileLimits
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import write_csv
from tests.security.conftest import opened_as
from tests.test_uwazi import ACTS, GOOD, WITH_PARENT, counts

#: synthetic evidence: a JPEG and a PDF (headers, then noise), a recording, a note
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(300_000)
PDF = b"%PDF-1.4\n" + os.urandom(150_000) + b"\n%%EOF\n"
AUDIO = b"ID3" + os.urandom(20_000)
NOTE = "a note on the event, 증언\n".encode() * 50


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def records_of(archive: Archive, source_ref: str, act_type: str) -> dict[str, int]:
    """The records of the exported row of a source and act type."""
    return next(
        records
        for flat, records in archive.exports.rows_with_records()
        if flat["source_ref"] == source_ref and flat["act_type"] == act_type
    )


def attach(archive: Archive, tmp_path: Path) -> dict[str, bytes]:
    """Attach the evidence to the records of one row of ACTS; file name -> bytes."""
    records = records_of(archive, "S-010", "forced_repatriation")
    files = {
        ("act", "photo of the bridge.jpg"): JPEG,
        ("source", "report.pdf"): PDF,
        ("event", "note|with bar.txt"): NOTE,
        ("person", "interview.mp3"): AUDIO,
    }
    for (kind, name), data in files.items():
        path = tmp_path / "in" / kind / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        archive.attachments.attach(kind, records[kind], path)
    return {name: data for (_kind, name), data in files.items()}


def files_by_row(archive: Archive) -> dict[str, set[tuple[str, str, str]]]:
    """Each exported row's files, by a key the row keeps across archives: (kind of record,
    file name as a zip member can have it, SHA-256)."""
    found = {}
    for flat, records in archive.exports.rows_with_records():
        key = "|".join(flat[c] for c in ("source_ref", "act_type", "act_date", "victim_name"))
        found[key] = {
            (kind, a["filename"].replace("|", "_"), a["sha256"])
            for kind, record_id in records.items()
            for a in archive.attachments.list(kind, record_id)
        }
    return found


def state(archive: Archive) -> dict[str, Any]:
    """What an import that wrote nothing leaves: rows, log entries, attachments, stored blobs."""
    found: dict[str, Any] = counts(archive)
    with archive.store.reading() as conn:
        for table in ("attachments", "attachment_custody", "evidence_keys", "audit_events"):
            found[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    store = archive.folder / STORE
    found["blobs"] = sorted(p.name for p in store.iterdir()) if store.exists() else []
    return found


@pytest.fixture
def with_files(tmp_path: Path) -> Iterator[Archive]:
    """An SQLCipher archive of ACTS with the evidence attached to one row's records."""
    with Archive.create(tmp_path / "with-files", PASSPHRASE, settings=FAST) as arch:
        arch.ingest.run(write_csv(tmp_path / "acts.csv", ACTS))
        attach(arch, tmp_path)
        yield arch


def test_files_round_trip_into_an_empty_archive(
    with_files: Archive, archive: Archive, tmp_path: Path
) -> None:
    """Export with files, import into an empty archive (on each store): the same records
    with the same files, byte for byte; the copy verifies, and exports the same files."""
    path = tmp_path / "uwazi.zip"
    done = uwazi_files.export_zip(with_files.exports, path)
    assert (done.rows, done.files, done.withheld) == (len(ACTS), 4, 0)
    assert done.file_bytes == len(JPEG) + len(PDF) + len(AUDIO) + len(NOTE)
    with zipfile.ZipFile(path) as book:
        members = [n for n in book.namelist() if n.startswith("files/")]
        rows = list(csv.DictReader(io.StringIO(book.read("import.csv").decode("utf-8"))))
        assert sorted(sha(book.read(m)) for m in members) == sorted(
            sha(d) for d in (JPEG, PDF, AUDIO, NOTE)
        )
    assert {m.split("/")[1] for m in members} == {"act", "source", "event", "person"}
    # the '|' of a file name never splits the column: it is written '_'
    assert any(m.endswith("/note_with bar.txt") for m in members)
    named = [r["attachments"].split("|") for r in rows if r["attachments"]]
    assert {m for names in named for m in names} == set(members)
    report = uwazi_files.import_zip(archive.ingest, path)
    assert report.committed and report.valid_rows == len(ACTS)
    assert report.created["attachment"] == 4
    assert files_by_row(archive) == files_by_row(with_files)
    out = tmp_path / "photo.jpg"
    photo = next(a for a in archive.attachments.list("act") if a["filename"].endswith(".jpg"))
    archive.attachments.get(photo["id"], out)
    assert out.read_bytes() == JPEG and photo["media_type"] == "image/jpeg"
    assert [c["action"] for c in photo["custody"]] == ["added"]
    verified = archive.verification.run()
    assert verified.ok and verified.attachments == 4
    again = tmp_path / "again.zip"
    assert uwazi_files.export_zip(archive.exports, again).files == 4
    with zipfile.ZipFile(again) as book:
        assert sorted(
            sha(book.read(n)) for n in book.namelist() if n.startswith("files/")
        ) == sorted(sha(d) for d in (JPEG, PDF, AUDIO, NOTE))
    # importing the same zip again attaches nothing again
    before = state(archive)
    assert "attachment" not in uwazi_files.import_zip(archive.ingest, path).created
    after = state(archive)
    assert (after["attachments"], after["blobs"]) == (before["attachments"], before["blobs"])


def test_each_exported_file_is_in_its_custody_and_the_audit(
    with_files: Archive, tmp_path: Path
) -> None:
    path = tmp_path / "uwazi.zip"
    uwazi_files.export_zip(with_files.exports, path)
    listed = with_files.attachments.list()
    assert len(listed) == 4
    for attachment in listed:
        assert [c["action"] for c in attachment["custody"]] == ["added", "opened"]
    got = with_files.audit.events(action="attachment_get")
    assert sorted(e["record"] for e in got) == sorted(f"attachment:{a['id']}" for a in listed)
    assert all(e["detail"] == {"export": "uwazi", "file": "uwazi.zip"} for e in got)
    export = with_files.audit.events(action="export")[0]
    assert export["detail"]["files"] == 4 and export["detail"]["format"] == "uwazi"


def test_a_role_that_may_not_open_evidence_exports_no_files(
    with_files: Archive, tmp_path: Path
) -> None:
    path = tmp_path / "viewer.zip"
    with opened_as(with_files, "viewer") as viewer:
        done = uwazi_files.export_zip(viewer.exports, path)
    assert done.rows > 0 and done.files == 0 and done.withheld == 4
    assert "4 file(s) not exported: the viewer role may not open the evidence" in done.note
    with zipfile.ZipFile(path) as book:
        assert not [n for n in book.namelist() if n.startswith("files/")]
        shown = b"".join(book.read(n) for n in book.namelist())
    assert b"photo of the bridge" not in shown and JPEG[:64] not in shown
    custody = [c["action"] for a in with_files.attachments.list() for c in a["custody"]]
    assert "opened" not in custody
    assert not with_files.audit.events(action="attachment_get")


def test_files_of_records_a_role_may_not_read_are_never_written(
    with_files: Archive, tmp_path: Path
) -> None:
    """A confidential act's file stays out of a coordinator's export (it may not read the
    act's text), while the internal act's is in it."""
    records = records_of(with_files, "S-010", "forced_repatriation")
    secret = b"%PDF-1.4\n" + os.urandom(5000)
    (tmp_path / "secret.pdf").write_bytes(secret)
    confidential = next(
        r for f, r in with_files.exports.rows_with_records() if f["sharing"] == "confidential"
    )
    with_files.attachments.attach("act", confidential["act"], tmp_path / "secret.pdf")
    path = tmp_path / "coordinator.zip"
    with opened_as(with_files, "coordinator") as coordinator:
        done = uwazi_files.export_zip(coordinator.exports, path)
    with zipfile.ZipFile(path) as book:
        written = {sha(book.read(n)) for n in book.namelist() if n.startswith("files/")}
    assert sha(secret) not in written and done.files == len(written)
    assert sha(JPEG) in written  # the internal act's photo is the coordinator's to read
    assert records["act"] != confidential["act"]


def _zip_with(path: Path, cells: str, files: dict[str, bytes], stored: bool = False) -> Path:
    """A zip of one good row whose ``attachments`` cell is ``cells``, with ``files``."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [[*GOOD[0], "attachments"], ["A", "가", "S-1", WITH_PARENT, "2009", cells]]
    )
    kind = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", kind) as book:
        book.writestr("import.csv", out.getvalue())
        for name, data in files.items():
            book.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("traversal", "row 2, column attachments: refused name"),
        ("absolute", "row 2, column attachments: refused name"),
        ("missing", "row 2, column attachments: no such file in missing.zip ('2.jpg')"),
        (
            "oversized",
            "row 2, column attachments: 300,004 bytes, more than 100,000 (the limit "
            "FileLimits.file_bytes) ('big.jpg')",
        ),
        ("bomb", "a zip bomb"),
        ("event without event", "an event's file, and the row has no event_ref"),
        ("withheld victim", "a victim's file, and the row names no victim"),
        ("too much together", "its files inflate to 450,020 bytes, more than 400,000"),
        ("bad crc", "a file could not be read from the zip"),
    ],
)
def test_a_zip_with_bad_files_is_refused_and_nothing_changes(
    with_files: Archive, tmp_path: Path, case: str, expected: str
) -> None:
    path = tmp_path / f"{case.split()[0]}.zip"
    if case == "traversal":
        _zip_with(path, "1.jpg|../1.jpg", {"1.jpg": JPEG})
    elif case == "absolute":
        _zip_with(path, "/tmp/1.jpg", {"1.jpg": JPEG})
    elif case == "missing":
        _zip_with(path, "1.jpg | 2.jpg", {"1.jpg": JPEG})
    elif case == "oversized":
        _zip_with(path, "big.jpg", {"big.jpg": JPEG})
    elif case == "bomb":
        _zip_with(path, "silence.wav", {"silence.wav": b"RIFF" + bytes(8 << 20)})
    elif case == "event without event":
        _zip_with(path, "files/event/1/note.txt", {"files/event/1/note.txt": NOTE})
    elif case == "withheld victim":
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(
            [
                [*GOOD[0], "victim_name", "attachments"],
                ["A", "가", "S-1", WITH_PARENT, "2009", "[protected]", "files/person/1/v.jpg"],
            ]
        )
        with zipfile.ZipFile(path, "w") as book:
            book.writestr("import.csv", out.getvalue())
            book.writestr("files/person/1/v.jpg", JPEG)
    elif case == "too much together":
        _zip_with(path, "1.jpg|2.pdf", {"1.jpg": JPEG, "2.pdf": PDF})
    elif case == "bad crc":
        # names and sizes pass; the bytes do not match the zip's CRC: found while the
        # import's transaction attaches them, which then writes nothing
        _zip_with(path, "1.jpg|2.pdf", {"1.jpg": JPEG, "2.pdf": PDF}, stored=True)
        data = bytearray(path.read_bytes())
        at = data.index(PDF[:9]) + 5000
        data[at] ^= 0xFF
        path.write_bytes(bytes(data))
    limits = FileLimits(
        file_bytes=100_000 if case == "oversized" else 64 << 20,
        total_bytes=400_000 if case == "too much together" else 1 << 30,
    )
    before = state(with_files)
    with pytest.raises(InvalidInput) as refused:
        uwazi_files.import_zip(with_files.ingest, path, limits)
    assert expected in str(refused.value)
    assert path.name in str(refused.value) or case in (
        "traversal",
        "absolute",
        "oversized",
        "bomb",
        "event without event",
        "withheld victim",
    )
    assert state(with_files) == before
    assert with_files.verification.run().ok


def test_an_uwazi_made_zip_attaches_its_files_to_the_acts(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    """Uwazi's own example (csv/specs/zipData): files at the top of the zip, a ``file`` and
    ``|``-separated ``attachments``, headers with spaces around them."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [
            ["Title ", " Source ref", "Act type ", " file ", " attachments"],
            ["file1", "U-1", WITH_PARENT, "1.pdf", "att1.doc"],
            ["file2", "U-2", WITH_PARENT, "2.pdf", "att1.doc|att2.jpg"],
            ["file3", "U-3", WITH_PARENT, "", ""],
        ]
    )
    doc = b"\xd0\xcf\x11\xe0" + os.urandom(3000)
    path = tmp_path / "made.zip"
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("import.csv", out.getvalue())
        for name, data in (
            ("1.pdf", PDF),
            ("2.pdf", PDF[:5000]),
            ("att1.doc", doc),
            ("att2.jpg", JPEG),
        ):
            book.writestr(name, data)
    report = uwazi_files.import_zip(sqlcipher_archive.ingest, path)
    assert report.created["act"] == 3 and report.created["attachment"] == 5
    by_source = {
        flat["source_ref"]: sorted(
            a["filename"] for a in sqlcipher_archive.attachments.list("act", records["act"])
        )
        for flat, records in sqlcipher_archive.exports.rows_with_records()
    }
    assert by_source == {
        "U-1": ["1.pdf", "att1.doc"],
        "U-2": ["2.pdf", "att1.doc", "att2.jpg"],
        "U-3": [],
    }
    custody = sqlcipher_archive.attachments.list()[0]["custody"]
    assert [c["action"] for c in custody] == ["added"]
    assert sqlcipher_archive.verification.run().ok


def test_the_command_line_with_files(with_files: Archive, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    out = tmp_path / "cli.zip"
    with_files.close()
    result = runner.invoke(
        app, ["export", str(with_files.folder), "--format", "uwazi", "--output", str(out)], env=env
    )
    assert result.exit_code == 0, result.stderr
    assert f"Exported {len(ACTS)} acts and 4 files (" in result.stdout
    new = tmp_path / "new"
    with Archive.create(new, PASSPHRASE, settings=FAST):
        pass
    result = runner.invoke(app, ["import", str(new), str(out), "--format", "uwazi"], env=env)
    assert result.exit_code == 0, result.stderr
    assert "files attached: 4" in result.stdout
    result = runner.invoke(
        app, ["import", str(new), str(out), "--format", "uwazi", "--json"], env=env
    )
    assert result.exit_code == 0  # the same zip again: the records have their files
    assert "attachment" not in json.loads(result.stdout)["created"]
    result = runner.invoke(app, ["verify", str(new)], env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
