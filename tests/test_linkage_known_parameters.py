"""Calibration against the truth itself: records simulated from known m and u values (each
field of a report agrees with another report of the same entity with a known probability m,
and with a report of another entity with probability u = 1 / the number of values), so the
true match probability of every pair is known from Bayes' rule. The model, trained without
labels, must predict it within a tolerance.

``test_linkage_calibration.py`` checks the Korean-name model against observed shares of
matches; this one checks the training machinery (prior, u sampling and its correction,
expectation maximisation, floors) against the exact posterior, where the Fellegi-Sunter
assumptions hold by construction.

The domain is where a file identifies its parameters: at least 200 entities, fields with at
least 10 values (u <= 0.1) kept with probability 0.75 or more. Below it the unsupervised
estimates drift without a warning: with 150 entities, 6 values per field (u = 0.17) and
m = 0.7, expectation maximisation found m = 0.97 / 0.64 / 0.98 / 0.91 and pairs that agree
on every field were scored 0.19 too low (docs/linkage.md, "Limits and known gaps").
"""

from __future__ import annotations

import math
import random
import string

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sillok.linkage.model import LinkageModel, LinkageSettings
from sillok.linkage.schema import FieldSpec, Schema

FIELDS = ("f1", "f2", "f3", "f4")
SCHEMA = Schema(
    name="known",
    fields=tuple(FieldSpec(f, "identifier", (f,)) for f in FIELDS),
    blocking_rules=tuple(f"l.{f} = r.{f}" for f in FIELDS),
    training_rules=("l.f1 = r.f1", "l.f2 = r.f2"),
    deterministic_rules=("l.f1 = r.f1 AND l.f2 = r.f2 AND l.f3 = r.f3",),
)
# Mean absolute gap between predicted and true probability over the candidate pairs that
# either calls more likely a match than not (most candidate pairs are near 0 on both sides and
# would hide a gap), and the largest gap between the mean predicted and the mean true
# probability of a pattern of agreements that at least 30 candidate pairs share. Measured on
# the ten examples: 0.001 to 0.073 and 0.017 to 0.21 (0.28 on an example of an earlier
# draw). A rarer pattern carries more of the error of an m value put near 1: one example
# scored the 21 pairs that disagree on one field 0.009 where the truth is 0.22.
MEAN_GAP = 0.1
PATTERN_GAP = 0.3


def simulate(entities: int, values: list[int], keep: list[float], seed: int
             ) -> tuple[pd.DataFrame, list[int]]:
    """Entities reported once or twice; field i takes one of ``values[i]`` far-apart strings,
    and a second report keeps the entity's value with probability ``keep[i]`` (else another
    value), independently per field: m = keep, u = 1 / values, exactly the model's
    assumptions. Returns the records and each record's entity."""
    rng = random.Random(seed)
    pools = [
        ["".join(rng.choices(string.ascii_uppercase, k=10)) for _ in range(v)] for v in values
    ]
    rows, owner = [], []
    for entity in range(entities):
        truth = [rng.choice(pool) for pool in pools]
        for report in range(rng.choice((1, 2))):
            row = []
            for i, pool in enumerate(pools):
                if report == 0 or rng.random() < keep[i]:
                    row.append(truth[i])
                else:
                    row.append(rng.choice([v for v in pool if v != truth[i]]))
            rows.append(row)
            owner.append(entity)
    frame = pd.DataFrame(rows, columns=list(FIELDS))
    frame.insert(0, "id", [f"r{i:05d}" for i in range(len(rows))])
    return frame, owner


def true_probability(agree: np.ndarray, values: list[int], keep: list[float], prior: float
                     ) -> np.ndarray:
    """P(match | agreements) by Bayes' rule from the simulation's own m, u and prior."""
    log_odds = np.full(len(agree), math.log(prior / (1 - prior)))
    for i, (v, k) in enumerate(zip(values, keep, strict=True)):
        m = k
        u = 1 / v
        log_odds += np.where(agree[:, i], math.log(m / u), math.log((1 - m) / (1 - u)))
    return 1 / (1 + np.exp(-log_odds))


# Each example trains a model (seconds): no shrinking, the failing example is printed as is.
@settings(max_examples=10, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(
    entities=st.integers(200, 400),
    values=st.lists(st.integers(10, 40), min_size=4, max_size=4),
    keep=st.lists(st.floats(0.75, 0.97), min_size=4, max_size=4),
    seed=st.integers(0, 1000),
)
def test_predicted_probabilities_are_the_true_posterior(
    entities: int, values: list[int], keep: list[float], seed: int
) -> None:
    frame, owner = simulate(entities, values, keep, seed)
    n = len(frame)
    same_entity = pd.Series(owner).value_counts()
    prior = float((same_entity * (same_entity - 1) / 2).sum()) / (n * (n - 1) / 2)
    model = LinkageModel(SCHEMA, LinkageSettings(review_floor=1e-9)).fit(frame)
    pairs = model.predict()
    index = {record: i for i, record in enumerate(frame["id"])}
    left = frame.iloc[[index[a] for a in pairs["left_id"]]][list(FIELDS)].to_numpy()
    right = frame.iloc[[index[b] for b in pairs["right_id"]]][list(FIELDS)].to_numpy()
    agree = left == right
    truth = true_probability(agree, values, keep, prior)
    predicted = pairs["match_probability"].to_numpy()
    gap = np.abs(predicted - truth)
    likely = (truth >= 0.5) | (predicted >= 0.5)
    assert likely.any()
    assert float(gap[likely].mean()) <= MEAN_GAP, (float(gap[likely].mean()), model.warnings)
    patterns = pd.DataFrame({"pattern": [row.tobytes() for row in agree],
                             "predicted": predicted, "truth": truth})
    by_pattern = patterns.groupby("pattern").agg(
        predicted=("predicted", "mean"), truth=("truth", "mean"), pairs=("truth", "size"))
    shared = by_pattern[by_pattern["pairs"] >= 30]
    worst = float((shared["predicted"] - shared["truth"]).abs().max())
    assert worst <= PATTERN_GAP, (shared, model.warnings)
