"""SQLCipher with two processes: a CLI import while another process (a server) holds the
archive open and writes. The second writer waits for the write lock (busy_timeout, 10 s) and
then fails with a message that says what to do; nothing is half written, nothing corrupt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from sillok.archive import Archive
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``sillok ARGS`` in a process of its own."""
    env = {**os.environ, "SILLOK_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", "from sillok.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _count(archive: Archive, table: str) -> int:
    with archive.store.reading() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_cli_import_beside_a_writing_server(tmp_path: Path) -> None:
    server = Archive.create(tmp_path / "archive", PASSPHRASE, settings=FAST)
    try:
        server.ingest.run(write_csv(tmp_path / "a.csv", YODOK[:2]))
        more = write_csv(tmp_path / "b.csv", YODOK[2:])
        acts = _count(server, "acts")
        # the server reads (an open snapshot): a CLI import is not held up by readers
        with server.store.reading() as conn:
            conn.execute(text("SELECT count(*) FROM acts")).scalar()
            done = _cli("import", str(server.folder), str(more))
        assert done.returncode == 0, done.stderr
        imported = _count(server, "acts")
        assert imported > acts
        # the server is writing (a long import's transaction holds the write lock)
        again = write_csv(tmp_path / "c.csv", [{**r, "source_ref": "S-999"} for r in YODOK[:1]])
        with server.store.transaction() as conn:
            conn.execute(text("SELECT count(*) FROM acts")).scalar()
            refused = _cli("import", str(server.folder), str(again))
        assert refused.returncode != 0
        assert "the archive is busy" in refused.stderr
        assert "nothing was written" in refused.stderr and "Run the command again" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert _count(server, "acts") == imported
        # once the server's write is done, the same command goes through
        done = _cli("import", str(server.folder), str(again))
        assert done.returncode == 0, done.stderr
        assert _count(server, "acts") == imported + 1
        with server.store.reading() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        report = server.verification.run()
        assert report.ok, report.problems
    finally:
        server.close()
