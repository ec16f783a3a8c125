"""Benchmark of ``verify``: in full, and from the last verification.

Prints one JSON document. Run: ``.venv/bin/python bench/bench_verify.py --entries 100000``.
Makes synthetic acts (``bench_core.make_file``, seed 1) for about ``--entries`` log entries
(about 7 per act), imports them into a new SQLCipher archive (or ``--store postgresql``), then
times, back to back in this process (wall and CPU seconds):

1. ``full``: everything recomputed (and the record of it kept, as ``sillok verify`` does);
2. ``incremental_unchanged``: from that record, nothing written since;
3. after a further import of ``--new-share`` of the acts (new acts): ``incremental_after_import``
   from the record, then ``full_after_import`` for comparison.

With ``--profile``, only one full verification runs after the import, under ``cProfile``; its
functions by cumulative time go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_core import PASSPHRASE, _databases, _drop, machine, make_file  # noqa: E402

ENTRIES_PER_ACT = 7.07  # measured: 707,550 log entries for 100,000 acts


def note(what: str, value: object) -> None:
    """One finished step on stderr as it ends (a run cut short still leaves its numbers)."""
    print(json.dumps({what: value}), file=sys.stderr, flush=True)


def timed(run: object) -> dict[str, object]:
    """Run a verification; its report's counts with wall and CPU seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    report = run()  # type: ignore[operator]
    out = {
        "seconds": round(time.perf_counter() - start, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
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


def profiled(run: object) -> dict[str, object]:
    """``timed`` under cProfile; the 40 costliest functions (cumulative) go to stderr."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    out = profile.runcall(timed, run)
    pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--new-share", type=float, default=0.01)
    parser.add_argument("--store", choices=("sqlcipher", "postgresql"), default="sqlcipher")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--profile", action="store_true", help="one full verify, profiled")
    args = parser.parse_args()

    from sillok.archive import Archive

    acts = max(10, int(args.entries / ENTRIES_PER_ACT))
    new = max(1, int(acts * args.new_share))
    urls = _databases(args.pg_url, 1) if args.store == "postgresql" else []
    out: dict[str, object] = {"entries_asked": args.entries, "acts": acts, "machine": machine()}
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
            out["full"] = timed(lambda: verification.run(remember=True))
            note("full", out["full"])
            out["incremental_unchanged"] = timed(
                lambda: verification.run(since_last=True, remember=True)
            )
            note("incremental_unchanged", out["incremental_unchanged"])
            archive.ingest.run(work / "new.csv")
            out["new_acts"] = new
            out["incremental_after_import"] = timed(
                lambda: verification.run(since_last=True, remember=False)
            )
            note("incremental_after_import", out["incremental_after_import"])
            out["full_after_import"] = timed(lambda: verification.run())
            archive.close()
    finally:
        if urls:
            _drop(args.pg_url, urls)
    full = out["full_after_import"]["seconds"]  # type: ignore[index]
    incremental = out["incremental_after_import"]["seconds"]  # type: ignore[index]
    out["full_to_incremental_after_import"] = round(full / incremental, 2)
    out["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
