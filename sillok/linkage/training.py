"""Unsupervised training of a Splink linker, with two corrections Splink does not make.

Steps: a first prior from near-certain rules; u from random pairs; m by expectation
maximisation on the schema's training rules; m floored; then the prior and u refined together
from the trained model (``refine_prior_and_u``). Reviewed decisions, when there are any, can
then replace the m values (``train_from_labels``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

Progress = Callable[[str], None]


@dataclass
class TrainingLog:
    """What training did: seconds per step and warnings worth showing a user."""

    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def step(self, progress: Progress | None, name: str) -> float:
        """Announce a step; returns its start time for ``done``."""
        if progress is not None:
            progress(name)
        return time.perf_counter()

    def done(self, name: str, started: float) -> None:
        """Record a step's duration."""
        self.timings[name] = round(time.perf_counter() - started, 3)


def train(
    linker: Any,
    schema: Any,
    settings: Any,
    all_pairs: float,
    log: TrainingLog,
    progress: Progress | None = None,
) -> None:
    """Train ``linker`` in place without labels (see the module docstring).

    Args:
        linker: a Splink ``Linker`` over the prepared records.
        schema: the ``Schema`` (its deterministic and training rules are used).
        settings: the ``LinkageSettings``.
        all_pairs: how many record pairs the linker's input has in all.
        log: receives timings and warnings.
        progress: called with the name of each step.
    """
    from splink.internals.exceptions import SplinkException

    training = linker.training
    settings_obj = linker._settings_obj
    started = log.step(progress, "estimating the match rate")
    try:
        training.estimate_probability_two_random_records_match(
            schema.deterministic(), recall=settings.prior_recall
        )
    except ValueError:
        # The rules found more matches than the assumed recall allows: trust them fully.
        training.estimate_probability_two_random_records_match(schema.deterministic(), recall=1.0)
    if not settings_obj._probability_two_random_records_match > 0 and all_pairs:
        # No exact duplicate at all: start from "about one duplicate per record".
        settings_obj._probability_two_random_records_match = min(0.5, 1.0 / math.sqrt(all_pairs))
    log.done("prior", started)

    started = log.step(progress, "estimating chance agreement (u)")
    if all_pairs <= settings.u_max_pairs:
        # Every pair, in one chunk: small runs are then exactly repeatable.
        training.estimate_u_using_random_sampling(
            max_pairs=max(all_pairs, 1), seed=settings.seed, min_count_per_level=None, num_chunks=1
        )
    else:
        training.estimate_u_using_random_sampling(
            max_pairs=settings.u_max_pairs, seed=settings.seed
        )
    log.done("u", started)

    for i, rule in enumerate(schema.training()):
        started = log.step(progress, f"training m (rule {i + 1})")
        try:
            training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True, max_pairs=settings.em_max_pairs
            )
        except (SplinkException, ValueError) as exc:
            # Too few pairs under this rule (small files), or an m value driven to nothing
            # (Splink refuses it with a ValueError): the prior m values stand.
            log.warnings.append(f"training rule {i + 1} skipped: {str(exc).splitlines()[0]}")
        log.done(f"em_{i + 1}", started)
    floor_m(linker, settings.min_m)
    if settings.prior_iterations:
        started = log.step(progress, "refining the match rate")
        refine_prior_and_u(linker, all_pairs, settings.prior_iterations, settings.correct_u)
        log.done("prior_refined", started)


def _levels(comparison: Any) -> list[Any]:
    return [lv for lv in comparison.comparison_levels if not lv.is_null_level]


def floor_m(linker: Any, floor: float) -> None:
    """Keep every trained m probability at or above ``floor``, renormalised per comparison.

    EM happily learns that true matches never disagree on sex or differ by years of birth
    date; one slip by a witness would then veto a true match outright.
    """
    for comparison in linker._settings_obj.comparisons:
        levels = _levels(comparison)
        # Only values EM or the settings set; a level never seen in training has none.
        raw = [lv._m_probability for lv in levels]
        if not any(isinstance(v, float) for v in raw):
            continue
        raised = [max(v, floor) if isinstance(v, float) else floor for v in raw]
        total = sum(raised)
        for level, value in zip(levels, raised, strict=True):
            level.m_probability = value / total


def expected_matches(linker: Any) -> float:
    """The sum of match probabilities over every candidate pair (computed in the engine)."""
    scored = linker.inference.predict(warning_mode="never")
    total = linker.misc.query_sql(
        f"SELECT sum(match_probability) AS s FROM {scored.physical_name}", output_type="pandas"
    )["s"].iloc[0]
    scored.drop_table_from_database_and_remove_from_cache()
    return 0.0 if total is None or pd.isna(total) else float(total)


def refine_prior_and_u(linker: Any, all_pairs: float, rounds: int, correct_u: bool) -> None:
    """Re-estimate the prior match rate and the u values together, from the trained model.

    The first guess of the prior rests on an assumed recall of exact rules, which spelling
    variation makes poor. And u (how often a level occurs among non-matches) is measured on
    random pairs, which Splink takes for non-matches; where records are reported many times
    and names are the main evidence, a good share of random pairs that agree on the name are
    in fact the same person, so u comes out too high and every name agreement too weak.

    Each round: prior = expected matches among the candidate pairs over all pairs (blocking
    is assumed to find nearly every match); then, the random sample being a mixture of both,
    u = (observed share - prior * m) / (1 - prior) for every level.
    """
    settings_obj = linker._settings_obj
    observed = {
        (c.output_column_name, lv.comparison_vector_value): lv.u_probability
        for c in settings_obj.comparisons
        for lv in _levels(c)
    }
    for _ in range(rounds):
        expected = expected_matches(linker)
        if not all_pairs or expected <= 0:
            return
        new = min(max(expected / all_pairs, 1e-12), 0.5)
        old = settings_obj._probability_two_random_records_match
        settings_obj._probability_two_random_records_match = new
        if correct_u:
            _correct_u(linker, observed, new)
        if old > 0 and abs(math.log(new / old)) < 0.01:
            return


def _correct_u(linker: Any, observed: dict[tuple[str, int], float | None], prior: float) -> None:
    """u = (observed - prior * m) / (1 - prior), at least a twentieth of the observed share."""
    for comparison in linker._settings_obj.comparisons:
        levels = _levels(comparison)
        corrected = []
        for level in levels:
            seen = observed.get((comparison.output_column_name, level.comparison_vector_value))
            m = level.m_probability
            if seen is None or m is None:
                break
            corrected.append(max((seen - prior * m) / (1.0 - prior), seen / 20.0, 1e-9))
        else:
            total = sum(corrected)
            for level, value in zip(levels, corrected, strict=True):
                level.u_probability = value / total


def copy_parameters(source: Any, target: Any) -> None:
    """Copy the trained prior, m and u values from one linker to another of the same schema.

    Lets a model trained on DuckDB score on Spark: the settings are rebuilt for the target
    engine's SQL dialect and only the numbers travel.
    """
    src, dst = source._settings_obj, target._settings_obj
    dst._probability_two_random_records_match = src._probability_two_random_records_match
    for c_src, c_dst in zip(src.comparisons, dst.comparisons, strict=True):
        for l_src, l_dst in zip(_levels(c_src), _levels(c_dst), strict=True):
            l_dst.m_probability = l_src.m_probability
            l_dst.u_probability = l_src.u_probability
