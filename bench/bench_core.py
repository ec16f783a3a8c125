"""Benchmark of the core: import rate and memory, against a bare executemany; search latency.

Prints one JSON document. Run: .venv/bin/python bench/bench_core.py --rows 1000000
Each phase runs in its own process so that peak memory is its own. To time searches again on
an archive already imported (``DIR/archive``, e.g. one kept with ``--keep DIR``):
``bench/bench_core.py --phase search --workdir DIR --repeats 20``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSPHRASE = "benchmark passphrase"


def rss_mb() -> float:
    """Current resident memory of this process in MB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def make_file(path: Path, rows: int, seed: int) -> None:
    """The synthetic flat acts file."""
    from sillok.records.flatacts import COLUMNS
    from sillok.synthetic.acts import generate_rows

    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(generate_rows(rows, seed))


def phase_bare(path: Path, workdir: Path) -> dict[str, float]:
    """executemany of the file's first eleven columns into a fresh SQLCipher file."""
    import sqlcipher3

    from sillok.records.flatacts import COLUMNS

    cols = COLUMNS[:11]
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [tuple(r[c] for c in cols) for r in csv.DictReader(fh)]
    conn = sqlcipher3.connect(str(workdir / "bare.db"), isolation_level=None)
    conn.execute("PRAGMA key = \"x'" + "11" * 32 + "'\"")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {', '.join(cols)})")
    start, cpu = time.perf_counter(), time.process_time()
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO t ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows
    )
    conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    return {
        "rows": len(rows),
        "seconds": seconds,
        "rows_per_s": len(rows) / seconds,
        "cpu_seconds": cpu_seconds,
        "rows_per_cpu_s": len(rows) / cpu_seconds,
    }


def phase_import(path: Path, workdir: Path) -> dict[str, object]:
    """Sillok's import of the whole file into a new archive."""
    from sillok.archive import Archive

    archive = Archive.create(workdir / "archive", PASSPHRASE)
    with open(path, encoding="utf-8") as fh:
        total = sum(1 for _ in fh) - 1
    marks: dict[str, float] = {}

    def progress(rows: int) -> None:
        for share in (0.25, 0.5, 0.75, 1.0):
            if rows >= share * total and f"{share:.2f}" not in marks:
                marks[f"{share:.2f}"] = round(rss_mb(), 1)

    start, cpu = time.perf_counter(), time.process_time()
    report = archive.ingest.run(path, progress=progress)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    archive.close()
    size = sum(f.stat().st_size for f in (workdir / "archive").iterdir())
    return {
        "rows": report.rows,
        "seconds": seconds,
        "rows_per_s": report.rows / seconds,
        # on a shared machine CPU time varies less than wall time: both are reported
        "cpu_seconds": cpu_seconds,
        "rows_per_cpu_s": report.rows / cpu_seconds,
        "rss_mb_at_share_of_rows": marks,
        "peak_rss_mb": peak_mb(),
        "archive_mb": size / 1e6,
        "created": report.created,
    }


def phase_search(workdir: Path, repeats: int) -> dict[str, object]:
    """p50/p95 latency of a Hangul, a Latin and a two-syllable query (warm, after one run)."""
    from sillok.archive import Archive

    archive = Archive.open(workdir / "archive", PASSPHRASE)
    queries = {
        "hangul": "요덕",
        "latin": "Yodok",
        "two_syllable": "영철",
        "hangul_name": "김영철",
        "latin_name": "Kim Yong-chol",
        "filtered": "요덕 torture",
    }
    results: dict[str, object] = {"load_avg_at_start": os.getloadavg()}
    for label, query in queries.items():
        archive.searcher.search(query)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            hits = archive.searcher.search(query)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        results[label] = {
            "query": query,
            "hits": len(hits),
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        }
    results["load_avg_at_end"] = os.getloadavg()
    archive.close()
    return results


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    return {
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_avg_at_start": os.getloadavg(),
    }


def _cpu_model() -> str:
    """The processor's name as the kernel gives it (what ``lscpu`` shows as Model name)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--phase", default="all")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", type=Path, help="import into this folder and keep it")
    args = parser.parse_args()
    if args.phase != "all":
        workdir = args.workdir
        path = workdir / "acts.csv"
        result = {
            "bare": lambda: phase_bare(path, workdir),
            "import": lambda: phase_import(path, workdir),
            "search": lambda: phase_search(workdir, args.repeats),
        }[args.phase]()
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="sillok-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        make_file(workdir / "acts.csv", args.rows, args.seed)
        out: dict[str, object] = {
            "rows": args.rows,
            "machine": machine(),
            "generate_seconds": time.perf_counter() - start,
        }
        for phase in ("bare", "import", "search"):
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--phase",
                    phase,
                    "--workdir",
                    str(workdir),
                    "--repeats",
                    str(args.repeats),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            out[phase] = json.loads(done.stdout)
        bare = out["bare"]["rows_per_s"]  # type: ignore[index]
        sillok = out["import"]["rows_per_s"]  # type: ignore[index]
        out["import_to_bare_ratio"] = round(sillok / bare, 3)
        cpu_ratio = out["import"]["rows_per_cpu_s"] / out["bare"]["rows_per_cpu_s"]  # type: ignore[index]
        out["import_to_bare_cpu_ratio"] = round(cpu_ratio, 3)
        out["load_avg_at_end"] = os.getloadavg()
        print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
