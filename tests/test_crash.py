"""Crash safety: writers killed with SIGKILL lose nothing they acknowledged; faults are clean.

Each round starts several writer processes on one archive. A writer imports one testimony per
transaction and prints ``ACK <source ref>`` only after the import returned (committed). The
test kills every writer with SIGKILL once it has acknowledged a random number of records, so
the kill lands at an arbitrary point of the next transaction. Then it reopens the archive
and checks: every acknowledged record is there, ``verify`` passes, and SQLite's
``PRAGMA integrity_check`` says ``ok``. ``bench/bench_integrity.py`` runs the same rounds
(at least 30) and reports the totals; the suite runs a few.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.errors import ArchiveError
from sillok.folder import DB_FILE
from sillok.model import ledger_entries, sources
from sillok.store.rows import by_refs
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, row, write_csv

ROOT = Path(__file__).resolve().parent.parent


def writer(folder: str, name: str, count: int) -> None:
    """Run in a child process: import one row per transaction, acknowledge each commit."""
    archive = Archive.open(Path(folder), PASSPHRASE, settings=FAST)
    for n in range(count):
        ref = f"{name}-{n}"
        raw = row(
            source_ref=ref,
            informant=f"Crash witness {name}",
            act_type="arbitrary_detention",
            act_date="2012",
            place="요덕",
            victim_name=f"Victim {ref}",
            description=f"testimony {ref}",
            sharing="confidential" if n % 3 == 0 else "internal",
        )
        archive.ingest.run_rows([(2, raw)], f"{ref}.csv")
        sys.stdout.write(f"ACK {ref}\n")
        sys.stdout.flush()


@dataclass
class RoundResult:
    """What one round found."""

    acknowledged: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    verified: bool = False
    integrity: str = ""


def crash_round(
    folder: Path, writers: int, rng: random.Random, per_writer: int = 40
) -> RoundResult:
    """Start writers, kill each (SIGKILL) after a random number of acknowledgements, check."""
    code = (
        "import sys; from tests.test_crash import writer; writer(*sys.argv[1:3], int(sys.argv[3]))"
    )
    procs = []
    for w in range(writers):
        name = f"r{rng.randrange(10**9)}w{w}"
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", code, str(folder), name, str(per_writer)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        )
    result = RoundResult()
    for proc in procs:
        target = rng.randint(1, 6)
        assert proc.stdout is not None
        acked = 0
        for line in proc.stdout:
            if line.startswith("ACK "):
                result.acknowledged.append(line[4:].strip())
                acked += 1
                if acked >= target:
                    break
        proc.send_signal(signal.SIGKILL)
    for proc in procs:
        proc.wait()
        assert proc.stdout is not None
        # acknowledgements printed before the kill landed still count
        result.acknowledged += [line[4:].strip() for line in proc.stdout if line.startswith("ACK ")]
    with Archive.open(folder, PASSPHRASE, settings=FAST) as archive:
        with archive.store.reading() as conn:
            found = by_refs(conn, "source", result.acknowledged)
            result.integrity = str(conn.execute(text("PRAGMA integrity_check")).scalar())
        result.lost = [ref for ref in result.acknowledged if ref not in found]
        report = archive.verification.run()
        result.verified = report.ok
        assert report.ok, report.problems
    return result


@pytest.mark.slow
def test_killed_writers_lose_nothing_acknowledged(tmp_path: Path) -> None:
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    rng = random.Random(20261127)
    total = 0
    for _ in range(2):  # bench/bench_integrity.py runs 30 rounds and more
        result = crash_round(tmp_path / "arch", writers=3, rng=rng)
        assert result.acknowledged and not result.lost
        assert result.verified and result.integrity == "ok"
        total += len(result.acknowledged)
    assert total >= 6


def _child_rotation(folder: str, kill_after: str) -> None:
    """Run in a child: rotate the keys, and SIGKILL itself right after one step."""
    from sillok.security import keyfile, seal
    from sillok.store import Store

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    saves = {"n": 0}
    original_save = keyfile.KeyFile.save
    original_rewrap = seal.Sealer.rewrap
    original_check = Store.check

    def save(self: keyfile.KeyFile) -> None:
        original_save(self)
        saves["n"] += 1
        if (kill_after, saves["n"]) in (("pending", 1), ("promoted", 2)):
            die()

    def rewrap(self: seal.Sealer, conn: object, master: bytes) -> int:
        done = original_rewrap(self, conn, master)  # type: ignore[arg-type]
        if kill_after == "rewrap":
            conn.commit()  # type: ignore[attr-defined]
            die()
        return done

    def check(self: Store) -> None:
        original_check(self)
        if kill_after == "rekey" and saves["n"] == 1:
            die()

    keyfile.KeyFile.save = save  # type: ignore[method-assign]
    seal.Sealer.rewrap = rewrap  # type: ignore[method-assign,assignment]
    Store.check = check  # type: ignore[method-assign]
    archive = Archive.open(Path(folder), PASSPHRASE, settings=FAST)
    saves["n"] = 0  # opening may upgrade the key file; count the rotation's saves only
    archive.users.rotate_keys()


@pytest.mark.parametrize("kill_after", ["pending", "rewrap", "rekey", "promoted"])
def test_a_rotation_killed_at_any_step_leaves_an_archive_that_opens(
    tmp_path: Path, kill_after: str
) -> None:
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
        archive.users.add("dora", "documenter", "documenter passphrase")
    code = (
        "import sys; from tests.test_crash import _child_rotation; _child_rotation(*sys.argv[1:3])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "arch"), kill_after],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    for user, passphrase in (("owner", PASSPHRASE), ("dora", "documenter passphrase")):
        with Archive.open(tmp_path / "arch", passphrase, settings=FAST, user=user) as opened:
            informant = next(h.id for h in opened.searcher.search("S-001") if h.kind == "source")
            shown = opened.records.show("source", informant, reveal=True)
            assert shown["informant"] == "Witness Alpha"
            assert opened.verification.run().ok
    # running the rotation again finishes it
    with Archive.open(tmp_path / "arch", PASSPHRASE, settings=FAST) as opened:
        opened.users.rotate_keys()
    with Archive.open(tmp_path / "arch", "documenter passphrase", settings=FAST, user="dora") as d:
        assert d.vault.pending_keys is None and d.verification.run().ok


# --- faults: a full disk, a read-only store, damaged files ------------------------------------


def _inject(archive: Archive, pragma: str) -> Callable[[object, object], None]:
    """Every new connection of the archive's engine runs ``pragma`` (the fault)."""

    def fault(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute(pragma)  # type: ignore[attr-defined]

    event.listen(archive.store.engine, "connect", fault)
    archive.store.engine.dispose()  # the pool's open connections were made before the fault
    return fault


def _counts(archive: Archive) -> tuple[int, int]:
    with archive.store.reading() as conn:
        return (
            int(conn.execute(select(func.count()).select_from(sources)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()),
        )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("full", "the disk is full: nothing was written"),
        ("readonly", "read-only"),
    ],
)
def test_a_fault_gives_a_clean_error_and_no_partial_record(
    sqlcipher_archive: Archive, tmp_path: Path, fault: str, message: str
) -> None:
    archive = sqlcipher_archive
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK[:1]))
    before = _counts(archive)
    with archive.store.reading() as conn:
        pages = int(conn.execute(text("PRAGMA page_count")).scalar_one())
    injected = _inject(
        archive,
        f"PRAGMA max_page_count = {pages}" if fault == "full" else "PRAGMA query_only = ON",
    )
    many = [dict(YODOK[2], source_ref=f"F-{i}", description="x" * 2000) for i in range(300)]
    with pytest.raises(ArchiveError, match=message):
        archive.ingest.run(write_csv(tmp_path / "b.csv", many))
    event.remove(archive.store.engine, "connect", injected)
    archive.store.engine.dispose()  # and none made with it stays in the pool
    assert _counts(archive) == before
    report = archive.verification.run()
    assert report.ok, report.problems


def test_damaged_files_give_clear_messages(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    folder = tmp_path / "arch"
    result = runner.invoke(app, ["stats", str(folder)], env={"SILLOK_PASSPHRASE": "wrong"})
    assert result.exit_code == 2 and "does not unlock" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for suffix in ("-wal", "-shm"):
        (folder / f"{DB_FILE}{suffix}").unlink(missing_ok=True)
    db = folder / DB_FILE
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])
    result = runner.invoke(app, ["verify", str(folder)], env=env)
    assert result.exit_code in (1, 2) and "Traceback" not in result.stderr
    assert "error:" in result.stderr or "FAILED" in result.stderr
    db.write_bytes(b"\0" * len(data))
    result = runner.invoke(app, ["stats", str(folder)], env=env)
    assert result.exit_code == 2 and "cannot be read" in result.stderr
