"""Benchmark of ``verify``: in full, and from the last verification.

Prints one JSON document. Run: ``.venv/bin/python bench/bench_verify.py --entries 100000``.
Makes synthetic acts (``bench_core.make_file``, seed 1) for about ``--entries`` log entries
(about 7 per act), imports them into a new SQLCipher archive (or ``--store postgresql``), then
times, back to back in this process (wall and CPU seconds):

1. ``full``: everything recomputed, in this process (``jobs=1``; and the record of it kept, as
   ``sillok verify`` does), then ``full_pool``: the same with ``--jobs`` processes (default: one
   per CPU), then both again in the opposite order (``full_pool_2``, ``full_2``); with
   ``--baseline-tree DIR`` (a checkout of an earlier commit, e.g. made with ``git archive``),
   that tree's full verification of the same archive in a subprocess before and after them,
   serially and with its pool of ``--jobs`` (``baseline``, ``baseline_pool``,
   ``baseline_pool_2``, ``baseline_2``); with ``--fresh-processes``, this tree's full
   verifications run in a subprocess each too (the benchmark's own process, holding the
   import's objects, spent about 15% more CPU on the same verification), then one in this
   process keeps the record (``full_remembered``); the CPU seconds of a pool include its
   workers';
2. ``incremental_unchanged``: from that record, nothing written since;
3. after a further import of ``--new-share`` of the acts (new acts): ``incremental_after_import``
   from the record, then ``full_after_import`` for comparison (both with ``--jobs``).

With ``--profile``, only one full verification runs after the import, under ``cProfile``; its
functions by cumulative time go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.bench_core import PASSPHRASE, _databases, _drop, machine, make_file  # noqa: E402

ENTRIES_PER_ACT = 7.07  # measured: 707,550 log entries for 100,000 acts


def note(what: str, value: object) -> None:
    """One finished step on stderr as it ends (a run cut short still leaves its numbers)."""
    print(json.dumps({what: value}), file=sys.stderr, flush=True)


def cpu_now() -> float:
    """CPU seconds of this process and of its children that have ended (a pool's workers,
    joined before a verification returns)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(run: object) -> dict[str, object]:
    """Run a verification; its report's counts with wall and CPU seconds."""
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), cpu_now()
    report = run()  # type: ignore[operator]
    out = {
        "seconds": round(time.perf_counter() - start, 2),
        "cpu_seconds": round(cpu_now() - cpu, 2),
        "load_avg_before": load,
        "ok": report.ok,
        "entries": report.entries,
        "rows": report.rows,
        "unchanged_rows": report.unchanged_rows,
        "since": report.since,
        "size": report.size,
        "load_avg": os.getloadavg()[0],
    }
    if not report.ok:
        out["problems"] = report.problems[:3]
    return out


_BASELINE = """
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from sillok.archive import Archive
archive = Archive.open(Path(sys.argv[2]), sys.argv[3])
def cpu_now():
    t = os.times()  # with the pool's workers, joined before run() returns
    return t.user + t.system + t.children_user + t.children_system
load = os.getloadavg()[0]
start, cpu = time.perf_counter(), cpu_now()
report = archive.verification.run(jobs=int(sys.argv[4]))
out = {"seconds": round(time.perf_counter() - start, 2),
       "cpu_seconds": round(cpu_now() - cpu, 2), "load_avg_before": load,
       "ok": report.ok, "entries": report.entries, "rows": report.rows,
       "load_avg": os.getloadavg()[0]}
archive.close()
print(json.dumps(out))
"""


def baseline(tree: Path, folder: Path, jobs: int = 1) -> dict[str, object]:
    """A full verification of the archive by another checkout's code, in a subprocess, with
    ``jobs`` processes (the benchmark's passphrase is a constant of this file, not a secret)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, "-c", _BASELINE, str(tree), str(folder), PASSPHRASE, str(jobs)],
        env=env, capture_output=True, text=True, check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def profiled(run: object) -> dict[str, object]:
    """``timed`` under cProfile; the 40 costliest functions (cumulative) go to stderr."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    out = profile.runcall(timed, run)
    pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    return out


def ratios(out: dict[str, Any]) -> dict[str, float]:
    """Means of the repeated runs, as ratios: pool over serial, serial over the baseline."""

    def mean(names: list[str], key: str) -> float:
        return sum(float(out[n][key]) for n in names) / len(names)

    got: dict[str, float] = {}
    for key in ("seconds", "cpu_seconds"):
        serial = mean(["full", "full_2"], key)
        got[f"pool_over_serial_{key}"] = round(mean(["full_pool", "full_pool_2"], key) / serial, 3)
        if "baseline" in out:
            base = mean(["baseline", "baseline_2"], key)
            got[f"serial_over_baseline_{key}"] = round(serial / base, 3)
            pool = mean(["full_pool", "full_pool_2"], key)
            base_pool = mean(["baseline_pool", "baseline_pool_2"], key)
            got[f"pool_over_baseline_pool_{key}"] = round(pool / base_pool, 3)
    return got


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--new-share", type=float, default=0.01)
    parser.add_argument("--store", choices=("sqlcipher", "postgresql"), default="sqlcipher")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--profile", action="store_true", help="one full verify, profiled")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--baseline-tree", type=Path, default=None)
    parser.add_argument(
        "--fresh-processes",
        action="store_true",
        help="this tree's full verifications in a new process each, as the baseline's",
    )
    args = parser.parse_args()

    from sillok.archive import Archive

    acts = max(10, int(args.entries / ENTRIES_PER_ACT))
    new = max(1, int(acts * args.new_share))
    urls = _databases(args.pg_url, 1) if args.store == "postgresql" else []
    out: dict[str, Any] = {
        "load_avg_at_start": os.getloadavg(),
        "entries_asked": args.entries,
        "acts": acts,
        "machine": machine(),
    }
    try:
        with tempfile.TemporaryDirectory(prefix="sillok-bench-verify-") as tmp:
            work = Path(tmp)
            make_file(work / "all.csv", acts + new, 1)
            lines = (work / "all.csv").read_text(encoding="utf-8").splitlines(keepends=True)
            (work / "old.csv").write_text("".join(lines[: acts + 1]), encoding="utf-8")
            (work / "new.csv").write_text(lines[0] + "".join(lines[acts + 1 :]), encoding="utf-8")
            archive = Archive.create(
                work / "archive", PASSPHRASE, database=urls[0] if urls else None
            )
            start, cpu = time.perf_counter(), time.process_time()
            archive.ingest.run(work / "old.csv")
            out["import_seconds"] = round(time.perf_counter() - start, 1)
            out["import_cpu_seconds"] = round(time.process_time() - cpu, 1)
            note("import_seconds", out["import_seconds"])
            verification = archive.verification
            if args.profile:
                out["full_profiled"] = profiled(verification.run)
                archive.close()
                print(json.dumps(out, indent=2))
                return
            jobs = args.jobs
            out["jobs"] = jobs
            runs = {
                "full": lambda: verification.run(remember=True),
                "full_pool": lambda: verification.run(jobs=jobs),
            }
            order = ["full", "full_pool", "full_pool_2", "full_2"]
            if args.baseline_tree is not None:
                order = ["baseline", "baseline_pool", *order, "baseline_pool_2", "baseline_2"]
            for name in order:
                way = jobs if "pool" in name else 1
                if name.startswith("baseline"):
                    out[name] = baseline(args.baseline_tree, work / "archive", way)
                elif args.fresh_processes:
                    out[name] = baseline(HERE, work / "archive", way)
                else:
                    out[name] = timed(runs[name.removesuffix("_2")])
                note(name, out[name])
            if args.fresh_processes:  # the record the incremental runs start from
                out["full_remembered"] = timed(runs["full"])
                note("full_remembered", out["full_remembered"])
            out["incremental_unchanged"] = timed(
                lambda: verification.run(since_last=True, remember=True, jobs=jobs)
            )
            note("incremental_unchanged", out["incremental_unchanged"])
            archive.ingest.run(work / "new.csv")
            out["new_acts"] = new
            out["incremental_after_import"] = timed(
                lambda: verification.run(since_last=True, remember=False, jobs=jobs)
            )
            note("incremental_after_import", out["incremental_after_import"])
            out["full_after_import"] = timed(lambda: verification.run(jobs=jobs))
            archive.close()
    finally:
        if urls:
            _drop(args.pg_url, urls)
    full = out["full_after_import"]["seconds"]
    incremental = out["incremental_after_import"]["seconds"]
    out["full_to_incremental_after_import"] = round(full / incremental, 2)
    out["ratios"] = ratios(out)
    out["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
