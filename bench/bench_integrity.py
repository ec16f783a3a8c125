"""Benchmark of integrity and confidentiality: crash rounds, opening, verifying a large log.

Prints one JSON document. Run:

    .venv/bin/python bench/bench_integrity.py --rounds 30 --entries 1000000

* ``crash``: rounds of SIGKILLed writers (tests/test_crash.py's ``crash_round``): rounds,
  acknowledged records, lost records, whether every round verified and passed
  ``PRAGMA integrity_check``.
* ``open``: the time to open an archive with the default argon2id parameters (RFC 9106's
  second recommendation, 64 MiB), median of several openings.
* ``verify``: a log grown to ``--entries`` entries (audit events appended in batches, each a
  logged row), then the time of ``verify --log-only`` (every entry re-hashed, every checkpoint
  checked) and of the full verification (every row's commitment recomputed as well).
* ``import``: rows per second of a flat-acts import and log entries per row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSPHRASE = "benchmark passphrase"


def bench_crash(rounds: int, writers: int, workdir: Path) -> dict[str, object]:
    """Crash rounds on one archive."""
    from sillok.archive import Archive
    from tests.conftest import FAST
    from tests.conftest import PASSPHRASE as TEST_PASSPHRASE
    from tests.datasets import YODOK, write_csv
    from tests.test_crash import crash_round

    folder = workdir / "crash"
    with Archive.create(folder, TEST_PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(workdir / "y.csv", YODOK))
    rng = random.Random(7)
    acknowledged = lost = 0
    all_ok = True
    started = time.perf_counter()
    for _ in range(rounds):
        result = crash_round(folder, writers, rng)
        acknowledged += len(result.acknowledged)
        lost += len(result.lost)
        all_ok = all_ok and result.verified and result.integrity == "ok"
    return {
        "rounds": rounds,
        "writers_per_round": writers,
        "acknowledged": acknowledged,
        "lost": lost,
        "all_verified_and_integrity_ok": all_ok,
        "seconds": round(time.perf_counter() - started, 1),
    }


def bench_open(workdir: Path, repeats: int) -> dict[str, object]:
    """Opening with the default (RFC 9106) argon2id parameters."""
    from sillok.archive import Archive

    folder = workdir / "open"
    Archive.create(folder, PASSPHRASE).close()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        Archive.open(folder, PASSPHRASE).close()
        times.append(time.perf_counter() - started)
    return {
        "kdf": "argon2id t=3 m=64MiB p=4",
        "median_seconds": round(statistics.median(times), 3),
        "max_seconds": round(max(times), 3),
        "repeats": repeats,
    }


def bench_verify(workdir: Path, entries: int) -> dict[str, object]:
    """Grow a log to ``entries`` entries, then time both verifications."""
    from sqlalchemy import select

    from sillok.archive import Archive
    from sillok.model import ledger_state
    from tests.conftest import FAST

    folder = workdir / "big"
    archive = Archive.create(folder, PASSPHRASE, settings=FAST)
    started = time.perf_counter()
    batch = 20_000
    with archive.store.reading() as conn:
        size = int(conn.execute(select(ledger_state.c.size)).scalar_one())
    while size < entries:
        n = min(batch, entries - size)
        events = [("verify", None, None, {"n": i}) for i in range(n)]
        archive.audit.record_many(events)
        size += n
    grow = time.perf_counter() - started
    archive.close()
    archive = Archive.open(folder, PASSPHRASE, settings=FAST)
    log_only = archive.verification.run(rows=False)
    full = archive.verification.run()
    archive.close()
    db_mb = sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6
    return {
        "entries": log_only.entries,
        "grow_seconds": round(grow, 1),
        "log_only_seconds": round(log_only.seconds, 2),
        "full_seconds": round(full.seconds, 2),
        "rows_checked": full.rows,
        "ok": log_only.ok and full.ok,
        "archive_mb": round(db_mb, 1),
    }


def bench_import(workdir: Path, rows: int) -> dict[str, object]:
    """Import rate with the log and sealing on, and log entries per row."""
    import csv

    from sillok.archive import Archive
    from sillok.records.flatacts import COLUMNS
    from sillok.synthetic.acts import generate_rows
    from tests.conftest import FAST

    path = workdir / "acts.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(generate_rows(rows, 1))
    with Archive.create(workdir / "imp", PASSPHRASE, settings=FAST) as archive:
        started = time.perf_counter()
        archive.ingest.run(path)
        seconds = time.perf_counter() - started
        report = archive.verification.run(rows=False)
    return {
        "rows": rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds, 1),
        "log_entries": report.entries,
        "entries_per_row": round(report.entries / rows, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--writers", type=int, default=3)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=20_000)
    parser.add_argument("--open-repeats", type=int, default=5)
    parser.add_argument("--only", default="crash,open,verify,import")
    args = parser.parse_args()
    only = set(args.only.split(","))
    out: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "cores": os.cpu_count(),
            "load_avg_at_start": os.getloadavg(),
        }
    }
    with tempfile.TemporaryDirectory(prefix="sillok-integrity-") as tmp:
        workdir = Path(tmp)
        if "open" in only:
            out["open"] = bench_open(workdir, args.open_repeats)
        if "crash" in only:
            out["crash"] = bench_crash(args.rounds, args.writers, workdir)
        if "import" in only:
            out["import"] = bench_import(workdir, args.import_rows)
        if "verify" in only:
            out["verify"] = bench_verify(workdir, args.entries)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
