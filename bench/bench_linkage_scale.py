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
    source: Path, output: Path, memory_limit: str, threads: int, compare: bool = False
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
        "duckdb_memory_limit": memory_limit,
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
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run is not None:  # the child: time the job only
        if args.diagnose:
            found = diagnose(args.run, args.memory_limit, args.threads)
        else:
            out = args.run.with_suffix(".clusters.csv")
            found = timed_run(
                args.run, out, args.memory_limit, args.threads, args.compare_clustering
            )
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
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--run",
            str(source),
            "--memory-limit",
            args.memory_limit,
            "--threads",
            str(args.threads),
            *flags,
        ],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
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
