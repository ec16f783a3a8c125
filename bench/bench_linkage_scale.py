"""Scale: deduplicate N synthetic person records on this machine; wall time and peak memory.

The records are reports of synthetic persons (``sillok.synthetic.persons``, about 2.75
reports per person, hard negatives included), written to a CSV file first (not timed). The
timed run is what ``sillok dedupe persons`` does (read and validate the file, prepare
features, train on a sample, score every candidate pair, cluster, write the clusters), in a
fresh process so that its peak resident memory is its own.

    .venv/bin/python bench/bench_linkage_scale.py --records 1000000 > scale.json

``--compare-clustering`` also clusters the same scored pairs with the plain-Python reference
routine (``average_linkage_reference``) after the timed run, and reports its time and whether
the clusters are identical. ``--diagnose`` runs the model instead of the timed job and says
where recall goes: the share of true pairs the blocking rules (normal and large-file) keep,
the trained prior match rate against the true one, F1 by threshold, F1 with the true prior,
and the hindsight bound (every candidate pair scored by the true share of matches among the
pairs with its comparison levels, as ``bench_linkage_eval.py`` computes it).

``--engine spark`` scores on Spark in local mode (training stays on DuckDB, as in
``sillok dedupe persons --engine spark``); the peak memory is then the whole process tree's
(driver JVM plus Python), sampled by the parent every half second. ``--compare-engines`` runs
the job once per engine on the same file and reports whether the clusters are the same sets
of records, and how many differ.

    .venv/bin/python bench/bench_linkage_scale.py --records 10000 --compare-engines
    .venv/bin/python bench/bench_linkage_scale.py --records 100000 --engine spark
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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
                [
                    r.report_id,
                    r.name,
                    r.name_hangul or "",
                    r.birth or "",
                    r.sex or "",
                    r.origin or "",
                    r.person_id,
                ]
            )
    return len(reports)


def timed_run(
    source: Path,
    output: Path,
    memory_limit: str,
    threads: int,
    compare: bool = False,
    engine: str = "duckdb",
    spark_driver_memory: str = "2g",
) -> dict[str, Any]:
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
        engine=engine,
        engine_options=EngineOptions(
            threads=threads,
            memory_limit=memory_limit,
            temp_directory=tempfile.gettempdir(),
            spark_driver_memory=spark_driver_memory,
        ),
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
    extra: dict[str, Any] = {}
    if compare:
        extra = compare_clustering(records["id"].tolist(), result.pairs, result.clusters)
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
        "engine": engine,
        "duckdb_memory_limit": memory_limit,
        "spark_driver_memory": spark_driver_memory if engine == "spark" else None,
        "threads": threads,
        **extra,
    }


def compare_clustering(
    ids: list[str], pairs: Any, clusters: dict[str, str], threshold: float = 0.5
) -> dict[str, Any]:
    """Cluster the same pairs with the plain-Python reference routine: seconds, identical?"""
    from sillok.linkage.clusters import average_linkage_reference, numba

    started = time.perf_counter()
    reference = average_linkage_reference(
        [str(i) for i in ids],
        zip(pairs["left_id"], pairs["right_id"], pairs["match_probability"], strict=True),
        threshold,
    )
    return {
        "reference_cluster_seconds": round(time.perf_counter() - started, 3),
        "reference_clusters_identical": reference == clusters,
        "numba": getattr(numba, "__version__", None),
    }


# The floor for scoring every candidate pair (as bench_linkage_eval.py does).
ALL_PAIRS = 1e-6
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def diagnose(source: Path, memory_limit: str, threads: int) -> dict[str, Any]:
    """Where recall goes at this size (see the module docstring)."""
    import numpy as np
    import pandas as pd

    from sillok.linkage.engines import EngineOptions
    from sillok.linkage.model import DEFAULT_REVIEW_FLOOR, LinkageModel, LinkageSettings
    from sillok.linkage.plainfile import read_persons
    from sillok.linkage.schema import PERSONS, count_candidate_pairs, prepare

    started = time.perf_counter()
    records = read_persons(source)
    ids = records["id"].astype(str).tolist()
    truth = pd.read_csv(source, usecols=["id", "person_id"], dtype=str)
    person = pd.Series(truth["person_id"].to_numpy(), index=truth["id"])
    true_pairs = truth.merge(truth, on="person_id", suffixes=("_l", "_r"))
    true_pairs = true_pairs[true_pairs["id_l"] < true_pairs["id_r"]]
    settings = LinkageSettings(
        review_floor=ALL_PAIRS,
        engine_options=EngineOptions(
            threads=threads, memory_limit=memory_limit, temp_directory=tempfile.gettempdir()
        ),
    )
    model = LinkageModel(PERSONS, settings).fit(records)
    pairs = model.predict()
    same = (
        person.reindex(pairs["left_id"]).to_numpy() == person.reindex(pairs["right_id"]).to_numpy()
    )
    prior = float(model.linker._settings_obj._probability_two_random_records_match)
    n = len(records)
    true_prior = len(true_pairs) / (n * (n - 1) / 2)

    def f1(probability: Any, threshold: float) -> dict[str, float]:
        kept = probability >= min(threshold, DEFAULT_REVIEW_FLOOR)
        return _cluster_accuracy(ids, pairs[kept], probability[kept], threshold, person)

    probability = pairs["match_probability"].to_numpy()
    odds = np.log2(true_prior / (1 - true_prior)) - np.log2(prior / (1 - prior))
    with_true_prior = 1 / (1 + np.exp2(-(pairs["match_weight"].to_numpy() + odds)))
    gammas = [c for c in pairs.columns if c.startswith("gamma_")]
    hindsight = pairs.assign(same=same).groupby(gammas)["same"].transform("mean").to_numpy()
    prepared = prepare(PERSONS, records)
    return {
        "records": n,
        "true_pairs": len(true_pairs),
        "blocking_rules_used": model.blocking_rules,
        "candidate_pairs": len(pairs),
        "true_pairs_among_candidates": int(same.sum()),
        "blocking": {
            label: _blocking_recall(prepared, true_pairs, rules)
            | {"candidate_pairs_counted": count_candidate_pairs([prepared], rules)}
            for label, rules in (
                ("normal", PERSONS.blocking()),
                ("large", PERSONS.blocking(large=True)),
            )
        },
        "prior_trained": prior,
        "prior_true": true_prior,
        "pairs_at_or_above_0.5": int((probability >= 0.5).sum()),
        "true_pairs_at_or_above_0.5": int((same & (probability >= 0.5)).sum()),
        "by_threshold": {str(t): f1(probability, t) for t in THRESHOLDS},
        "with_true_prior": f1(with_true_prior, 0.5),
        "hindsight_bound": f1(hindsight, 0.5),
        "warnings": model.warnings,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _cluster_accuracy(
    ids: list[str], pairs: Any, probability: Any, threshold: float, person: Any
) -> dict[str, float]:
    from sillok.linkage.clusters import average_linkage_ids
    from sillok.linkage.evaluate import cluster_scores

    clusters = average_linkage_ids(
        ids, zip(pairs["left_id"], pairs["right_id"], probability, strict=True), threshold
    )
    scores = cluster_scores(clusters, person.to_dict()).as_dict()
    return {k: scores[k] for k in ("precision", "recall", "f1")}


def _blocking_recall(prepared: Any, true_pairs: Any, rules: list[str]) -> dict[str, Any]:
    """The share of true pairs that any of the rules (and each rule) makes candidates."""
    import duckdb

    con = duckdb.connect()
    con.register("f", prepared)
    con.register("tp", true_pairs[["id_l", "id_r"]])
    conditions = [f"({rule})" for rule in rules]
    counts = ", ".join(
        f"count(*) FILTER (WHERE {c})" for c in [" OR ".join(conditions), *conditions]
    )
    row = con.execute(
        f"SELECT count(*), {counts} FROM tp JOIN f AS l ON l.unique_id = tp.id_l "
        "JOIN f AS r ON r.unique_id = tp.id_r"
    ).fetchone()
    con.close()
    assert row is not None
    total = row[0] or 1
    return {
        "recall": round(row[1] / total, 4),
        "recall_by_rule": [round(v / total, 4) for v in row[2:]],
    }


def main(argv: list[str] | None = None) -> int:
    """Generate the input (cached), then time the job in a fresh process; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--memory-limit", default="5GB")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--compare-clustering", action="store_true")
    parser.add_argument("--diagnose", action="store_true")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--spark-driver-memory", default="2g")
    parser.add_argument("--compare-engines", action="store_true")
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run is not None:  # the child: time the job only
        if args.diagnose:
            found = diagnose(args.run, args.memory_limit, args.threads)
        else:
            out = args.run.with_suffix(f".{args.engine}.clusters.csv")
            found = timed_run(
                args.run,
                out,
                args.memory_limit,
                args.threads,
                args.compare_clustering,
                args.engine,
                args.spark_driver_memory,
            )
            found["clusters_file"] = str(out)
        print(json.dumps(found))
        return 0
    source = args.workdir / f"sillok-scale-{args.records}-{args.seed}.csv"
    if not source.exists():
        started = time.perf_counter()
        written = write_input(source, args.records, args.seed)
        print(f"wrote {written} records in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    flags = [
        flag
        for flag, on in (
            ("--compare-clustering", args.compare_clustering),
            ("--diagnose", args.diagnose),
        )
        if on
    ]
    command = [
        sys.executable,
        __file__,
        "--run",
        str(source),
        "--memory-limit",
        args.memory_limit,
        "--threads",
        str(args.threads),
        "--spark-driver-memory",
        args.spark_driver_memory,
        *flags,
    ]
    if args.compare_engines:
        runs = {e: _child(command + ["--engine", e]) for e in ("duckdb", "spark")}
        result: dict[str, Any] = {
            "records": runs["duckdb"]["records"],
            "runs": runs,
            "same_clusters": _same_clusters(
                Path(runs["duckdb"]["clusters_file"]), Path(runs["spark"]["clusters_file"])
            ),
        }
    else:
        result = _child(command + ["--engine", args.engine])
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


def _child(command: list[str]) -> dict[str, Any]:
    """Run the timed job in a fresh process; its JSON, with the process tree's peak RSS."""
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    with (
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child,
        _peak_tree_rss(child.pid) as peak,
    ):
        stdout, _ = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the timed run failed with status {child.returncode}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["process_wall_seconds"] = round(time.perf_counter() - started, 1)
    result["peak_tree_rss_gib"] = round(peak[0] / 1024**3, 2)
    result["load_average_at_start"] = load_at_start
    result["load_average_at_end"] = os.getloadavg()
    return result


@contextmanager
def _peak_tree_rss(pid: int, interval: float = 0.5) -> Iterator[list[int]]:
    """Sample the summed RSS (bytes) of ``pid`` and its descendants; the peak in ``[0]``.

    Spark's driver JVM is a child of the Python process, so the child's own ``ru_maxrss``
    misses it; /proc is read directly (no psutil in the environment).
    """
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not stop.is_set():
            total = 0
            for proc in _process_tree(pid):
                try:
                    with open(f"/proc/{proc}/statm") as handle:
                        total += int(handle.read().split()[1]) * page
                except (OSError, IndexError, ValueError):
                    continue
            peak[0] = max(peak[0], total)
            stop.wait(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def _process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def _same_clusters(left: Path, right: Path) -> dict[str, Any]:
    """Compare two ``id,cluster_id`` files as sets of clusters (sets of ids)."""

    def clusters(path: Path) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                groups.setdefault(row["cluster_id"], set()).add(row["id"])
        return {frozenset(g) for g in groups.values()}

    a, b = clusters(left), clusters(right)
    only_a, only_b = a - b, b - a
    return {
        "identical": a == b,
        "clusters_duckdb": len(a),
        "clusters_spark": len(b),
        "clusters_only_in_duckdb": len(only_a),
        "clusters_only_in_spark": len(only_b),
        "records_in_differing_clusters": len(set().union(*only_a, *only_b)),
        "files_byte_identical": left.read_bytes() == right.read_bytes(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
