"""Scale: deduplicate N synthetic person records on this machine; wall time and peak memory.

The records are reports of synthetic persons (``sillok.synthetic.persons``, about 2.75
reports per person, hard negatives included), written to a CSV file first (not timed). The
timed run is what ``sillok dedupe persons`` does (read and validate the file, prepare
features, train on a sample, score every candidate pair, cluster, write the clusters), in a
fresh process so that its peak resident memory is its own.

    .venv/bin/python bench/bench_linkage_scale.py --records 1000000 > scale.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPORTS_PER_PERSON = 2.7  # a little under the generator's mean (2.75): enough reports to cut to N


def write_input(path: Path, records: int, seed: int) -> int:
    """Write about ``records`` synthetic reports; returns how many were written."""
    from sillok.synthetic.persons import generate_persons, generate_reports

    persons = generate_persons(max(1, round(records / REPORTS_PER_PERSON)), seed)
    reports = generate_reports(persons, seed=seed)[:records]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "name_hangul", "birth", "sex", "origin", "person_id"])
        for r in reports:
            writer.writerow(
                [r.report_id, r.name, r.name_hangul or "", r.birth or "", r.sex or "",
                 r.origin or "", r.person_id]
            )
    return len(reports)


def timed_run(source: Path, output: Path, memory_limit: str, threads: int) -> dict[str, Any]:
    """The dedupe job, timed, in this process (call it in a fresh one)."""
    import pandas as pd

    from sillok.linkage.engines import EngineOptions
    from sillok.linkage.evaluate import cluster_scores
    from sillok.linkage.model import LinkageSettings, dedupe
    from sillok.linkage.plainfile import read_persons, write_clusters
    from sillok.linkage.schema import PERSONS

    steps: list[tuple[str, float]] = []
    started = time.perf_counter()
    records = read_persons(source)
    read_seconds = time.perf_counter() - started
    settings = LinkageSettings(
        engine_options=EngineOptions(
            threads=threads, memory_limit=memory_limit, temp_directory=tempfile.gettempdir()
        )
    )
    def progress(name: str) -> None:
        steps.append((name, time.perf_counter() - started))
        print(f"{steps[-1][1]:7.1f} s  {name}", file=sys.stderr, flush=True)

    result = dedupe(records, PERSONS, settings, progress=progress)
    write_clusters(output, records["id"].tolist(), result.clusters)
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    truth = pd.read_csv(source, usecols=["id", "person_id"], dtype=str)
    scores = cluster_scores(
        result.clusters, dict(zip(truth["id"], truth["person_id"], strict=True))
    )
    return {
        "records": len(records),
        "wall_seconds": round(wall, 1),
        "peak_rss_gib": round(peak_kib / 1024**2, 2),
        "read_seconds": round(read_seconds, 1),
        "step_seconds": result.timings,
        "candidate_pairs_kept": len(result.pairs),
        "clusters": len(set(result.clusters.values())),
        "accuracy": scores.as_dict(),
        "warnings": result.warnings,
        "blocking_rules": result.blocking_rules,
        "train_sample": settings.train_sample,
        "duckdb_memory_limit": memory_limit,
        "threads": threads,
    }


def main(argv: list[str] | None = None) -> int:
    """Generate the input (cached), then time the job in a fresh process; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--memory-limit", default="5GB")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run is not None:  # the child: time the job only
        out = args.run.with_suffix(".clusters.csv")
        print(json.dumps(timed_run(args.run, out, args.memory_limit, args.threads)))
        return 0
    source = args.workdir / f"sillok-scale-{args.records}-{args.seed}.csv"
    if not source.exists():
        started = time.perf_counter()
        written = write_input(source, args.records, args.seed)
        print(f"wrote {written} records in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    child = subprocess.run(
        [sys.executable, __file__, "--run", str(source), "--memory-limit", args.memory_limit,
         "--threads", str(args.threads)],
        check=True, stdout=subprocess.PIPE, text=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    result["machine"] = {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_end": os.getloadavg(),
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
