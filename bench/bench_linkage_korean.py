"""Korean-name accuracy: Sillok's person linkage vs Splink's default name comparison.

Synthetic persons (``sillok.synthetic.persons``) are reported one to four times each with
romanization variants, DPRK/ROK Hangul, swapped name order, typos, approximate birth years,
and hard negatives (different persons whose names differ in one syllable). Both models use
the same features, blocking rules, training and threshold; only the name comparison differs:

* ``sillok``: ``comparisons.person_name_comparison`` over the canonical name keys;
* ``splink_default_names``: Splink's ``NameComparison`` on the name as written.

Scores are pairwise over the clusters (every two reports put in one identity), which is what
a resolved identity asserts; clusters are formed as ``sillok dedupe`` forms them (average
linkage). Also reported: Sillok's pairs clustered as connected components (the clustering
before average linkage), and ``bound_same_comparisons``, the F1 that the same comparison levels
would give with hindsight-perfect weights. Develop with one seed, report with another
(``--seed``).

    .venv/bin/python bench/bench_linkage_korean.py --persons 5000 --seed 2 > korean.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import splink.comparison_library as cl
from splink.internals.comparison_creator import ComparisonCreator

from sillok.linkage.clusters import average_linkage_ids, cluster_ids
from sillok.linkage.evaluate import PairwiseScores, cluster_scores
from sillok.linkage.model import (
    DEFAULT_REVIEW_FLOOR,
    DEFAULT_THRESHOLD,
    LinkageModel,
    LinkageSettings,
)
from sillok.linkage.schema import PERSONS, Schema
from sillok.synthetic.persons import reports_frame


class SplinkNamesSchema(Schema):
    """PERSONS with Splink's default name comparison in place of Sillok's."""

    def comparisons(self) -> list[ComparisonCreator]:
        """Splink's NameComparison on the raw name, Sillok's comparisons for the rest."""
        rest = super().comparisons()[1:]
        return [cl.NameComparison("name_text"), *rest]


def _clusters_at(
    pairs: pd.DataFrame, ids: list[str], threshold: float, clustering: str
) -> dict[str, str]:
    """Clusters as ``dedupe`` forms them (``average``: average linkage over the pairs down to
    the review floor) or as connected components of the pairs at the threshold."""
    kept = pairs[pairs["match_probability"] >= min(threshold, DEFAULT_REVIEW_FLOOR)]
    if clustering == "components":
        above = kept[kept["match_probability"] >= threshold]
        return cluster_ids(ids, zip(above["left_id"], above["right_id"], strict=True))
    return average_linkage_ids(
        ids, zip(kept["left_id"], kept["right_id"], kept["match_probability"], strict=True),
        threshold,
    )


def _scores(
    pairs: pd.DataFrame, frame: pd.DataFrame, threshold: float, clustering: str
) -> dict[str, Any]:
    """Pairwise scores of the clusters at the threshold, and F1 at every threshold."""
    ids = frame["id"].astype(str).tolist()
    truth = dict(zip(ids, frame["person_id"], strict=True))
    scores: PairwiseScores = cluster_scores(
        _clusters_at(pairs, ids, threshold, clustering), truth
    )
    curve = {}
    for t in np.round(np.arange(0.1, 1.0, 0.1), 2).tolist() + [0.95, 0.99]:
        curve[str(t)] = round(
            cluster_scores(_clusters_at(pairs, ids, t, clustering), truth).f1, 4
        )
    best = max(curve.items(), key=lambda kv: kv[1])
    return {
        **scores.as_dict(),
        "threshold": threshold,
        "clustering": clustering,
        "f1_by_threshold": curve,
        "best": {"threshold": float(best[0]), "f1": best[1]},
    }


def scored_pairs(schema: Schema, frame: pd.DataFrame, settings: LinkageSettings) -> pd.DataFrame:
    """Train and score every candidate pair down to probability 0.01."""
    model = LinkageModel(schema, replace(settings, review_floor=0.01))
    model.fit(frame)
    return model.predict()


def bound(pairs: pd.DataFrame, frame: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """What the same comparisons could give at best: every pair scored by the true share of
    matches among the candidate pairs with its comparison levels (known only in hindsight),
    then clustered the same way. The gap to it is what better weights could still win; the
    rest needs more information than the fields hold."""
    truth = dict(zip(frame["id"].astype(str), frame["person_id"], strict=True))
    gammas = [c for c in pairs.columns if c.startswith("gamma_")]
    same = [truth[a] == truth[b] for a, b in zip(pairs["left_id"], pairs["right_id"],
                                                 strict=True)]
    hindsight = pairs.assign(same=same)
    hindsight["match_probability"] = hindsight.groupby(gammas)["same"].transform("mean")
    return _scores(hindsight, frame, threshold, "average")


def main(argv: list[str] | None = None) -> int:
    """Run both models on one synthetic data set and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2, help="1 is the development seed")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)
    frame = reports_frame(args.persons, args.seed)
    frame["name_text"] = frame["name"]  # the baseline's name column, as written
    settings = LinkageSettings()
    started = time.perf_counter()
    sillok_pairs = scored_pairs(PERSONS, frame, settings)
    sillok_seconds = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    baseline_schema = SplinkNamesSchema(**{**PERSONS.__dict__, "extra_columns": ("name_text",)})
    result = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "persons": args.persons,
        "seed": args.seed,
        "reports": len(frame),
        "true_pairs": int(
            frame.groupby("person_id").size().map(lambda k: k * (k - 1) // 2).sum()
        ),
        "sillok": {**_scores(sillok_pairs, frame, args.threshold, "average"),
                   "seconds": sillok_seconds},
        "sillok_connected_components": _scores(
            sillok_pairs, frame, args.threshold, "components"
        ),
        "splink_default_names": {
            **_scores(scored_pairs(baseline_schema, frame, settings), frame, args.threshold,
                      "average"),
            "seconds": round(time.perf_counter() - started, 2),
        },
        "bound_same_comparisons": bound(sillok_pairs, frame, args.threshold),
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
