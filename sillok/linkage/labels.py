"""Reviewed decisions as labels: how well a model agrees with them, and tuning it on them.

A label is ``(left id, right id, is_match)``: an accepted link is a match, a rejected one a
non-match. ``evaluate`` scores a model's predictions against the labelled pairs only (an
unreviewed pair is neither right nor wrong). ``tune`` re-estimates the m values (how often
each level occurs among true matches) from the accepted pairs with Splink's
``estimate_m_from_pairwise_labels``, once there are at least ``MIN_TUNING_MATCHES`` of them.
``correct`` then learns from every label, accepted and rejected alike, how far each level's
weight is off (a logistic regression on the labelled pairs with the model's own log-odds as
offset and a Gaussian prior of no change), and moves the weights by that much.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sillok.linkage.evaluate import normalise_pair, pairs_from_list, pairwise_scores
from sillok.linkage.training import floor_m

if TYPE_CHECKING:
    from sillok.linkage.model import LinkageModel

Label = tuple[str, str, bool]

# Fewer accepted pairs than this say little about the m values of a comparison with four to
# nine levels: most levels would not be seen at all.
MIN_TUNING_MATCHES = 10
# How many labelled pairs the unsupervised m values weigh when the two are blended: with ten
# accepted pairs the labels count for half, with ninety for nine tenths.
PRIOR_WEIGHT_PAIRS = 10
# Precision (1 / variance, in nats^-2) of the prior on each level's weight correction, centred
# on no change: one rejected pair scored 0.95 (four levels) lowers pairs with its levels to
# 0.89, a handful of them well below one half; a level no label reached is not moved.
CORRECTION_PRIOR = 4.0
# Log-odds (nats) beyond which a labelled pair's offset is clipped, so that a pair the model
# is certain about cannot overflow the fit.
MAX_LOG_ODDS = 30.0


@dataclass(frozen=True)
class Tuning:
    """What ``tune`` did.

    Attributes:
        applied: whether the m values were re-estimated.
        matches: the accepted pairs available.
        note: one line for the run summary.
    """

    applied: bool
    matches: int
    note: str


def evaluate(model: LinkageModel, labels: Sequence[Label], scored: pd.DataFrame
             ) -> dict[str, Any] | None:
    """Pairwise precision, recall and F1 at the model's threshold over the labelled pairs.

    A labelled pair that ``scored`` (the model's ``predict`` output) lacks was not predicted:
    it fell below the review floor or no blocking rule compared it. None without labels.

    Returns:
        ``PairwiseScores.as_dict()`` plus ``threshold``, ``accepted`` and ``rejected``.
    """
    labelled = pairs_from_list((str(a), str(b)) for a, b, _ in labels)
    if not labelled:
        return None
    truth = pairs_from_list((str(a), str(b)) for a, b, match in labels if match)
    threshold = model.settings.threshold
    probability = {
        normalise_pair(str(a), str(b)): float(p)
        for a, b, p in zip(
            scored["left_id"], scored["right_id"], scored["match_probability"], strict=True
        )
    }
    predicted = {pair for pair in labelled if probability.get(pair, 0.0) >= threshold}
    result = pairwise_scores(predicted, truth).as_dict()
    result.update(threshold=threshold, accepted=len(truth), rejected=len(labelled - truth))
    return result


def m_values(model: LinkageModel) -> dict[tuple[str, str], float | None]:
    """(field, level label) -> m probability of every level but the null ones."""
    return {
        (c.output_column_name, lv.label_for_charts): lv.m_probability
        for c in model.linker._settings_obj.comparisons
        for lv in c._comparison_levels_excluding_null
    }


def tune(model: LinkageModel, labels: Sequence[Label],
         minimum: int = MIN_TUNING_MATCHES) -> Tuning:
    """Re-estimate a fitted model's m values from the accepted pairs, in place.

    Splink counts each level among the labelled matches; the new m value of a level is that
    share blended with the unsupervised one, the labels weighing their number against
    ``PRIOR_WEIGHT_PAIRS``. Levels with a fixed m keep it; the u values and the prior stay as
    training left them; m values are floored again (``training.floor_m``). Every labelled
    record must be among the model's records.

    Args:
        model: a fitted model.
        labels: (left id, right id, is_match); only matches are used.
        minimum: fewest accepted pairs to tune with; below it nothing changes.
    """
    matches = sorted(pairs_from_list((str(a), str(b)) for a, b, match in labels if match))
    if len(matches) < minimum:
        return Tuning(False, len(matches), f"not tuned: {len(matches)} accepted pairs, "
                                           f"tuning needs {minimum}")
    linker = model.linker
    comparisons = linker._settings_obj.comparisons
    before = {
        id(lv): (lv.m_probability, lv.u_probability)
        for c in comparisons
        for lv in c._comparison_levels_excluding_null
    }
    table = linker.table_management.register_table(
        pd.DataFrame({
            "unique_id_l": [a for a, _ in matches],
            "unique_id_r": [b for _, b in matches],
        }),
        f"__sillok_labels_{uuid.uuid4().hex[:12]}",
        overwrite=True,
    )
    try:
        linker.training.estimate_m_from_pairwise_labels(table)
    finally:
        table.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
    # Splink then sets every m to the median of all its estimates and every u back to the
    # sampled value, undoing the corrections of training: put u back and blend m instead.
    for comparison in comparisons:
        _blend(comparison._comparison_levels_excluding_null, before, len(matches))
    floor_m(linker, model.settings.min_m)
    n = len(matches)
    return Tuning(True, n, f"m values re-estimated from {n} accepted pairs")


def _blend(levels: list[Any], before: dict[int, tuple[Any, Any]], n: int) -> None:
    """Set each level's m to its share among ``n`` labelled matches blended with its old m;
    fixed levels keep theirs, the others share what the fixed ones leave."""
    fixed = 0.0
    blended: list[tuple[Any, float]] = []
    for level in levels:
        old_m, old_u = before[id(level)]
        level.u_probability = old_u
        if level._fix_m_probability:
            level.m_probability = old_m
            fixed += float(old_m or 0.0)
            continue
        latest = level._trained_m_probabilities[-1]["probability"]
        share = float(latest) if isinstance(latest, (int, float)) else 0.0
        value = share if old_m is None else (
            (n * share + PRIOR_WEIGHT_PAIRS * old_m) / (n + PRIOR_WEIGHT_PAIRS)
        )
        blended.append((level, value))
    total = sum(v for _, v in blended)
    for level, value in blended:
        level.m_probability = value / total * (1.0 - fixed) if total > 0 else value


def correct(model: LinkageModel, labels: Sequence[Label],
            prior: float = CORRECTION_PRIOR) -> Tuning:
    """Move each level's weight by what the reviewed pairs, accepted and rejected, say.

    The labelled pairs are scored (blocked or not, at any probability); a logistic regression
    of their labels on indicators of the levels they fall in, with the model's log-odds as a
    fixed offset and a Gaussian prior (precision ``prior``) pulling every correction to 0,
    gives each level a correction in log-odds. A rejected pair thus lowers the weights of its
    levels, and the probability of every pair alike to it; an accepted pair raises them; a
    level no label fell in keeps its weight. Reviewers pick pairs by their score, which is a
    function of the levels, so the selection does not bias the fit. The correction is made
    in the model's parameters (the u value, or the m value of a level with term-frequency
    weights, whose weight does not depend on u), so ``predict``, ``score`` and ``explain``
    all use it. In place; the m and u values stay probabilities.
    """
    rows = sorted(pairs_from_list((str(a), str(b)) for a, b, _ in labels))
    if not rows:
        return Tuning(False, 0, "no reviewed pairs to correct the weights with")
    truth = pairs_from_list((str(a), str(b)) for a, b, match in labels if match)
    scored = model.score_pairs(rows)
    if scored.empty:
        return Tuning(False, 0, "no reviewed pair is among the records compared")
    levels = _correctable_levels(model)
    columns = [key for key in levels if f"gamma_{key[0]}" in scored]
    design = np.column_stack([
        (scored[f"gamma_{field}"].to_numpy() == gamma).astype(float) for field, gamma in columns
    ]) if columns else np.zeros((len(scored), 0))
    offset = np.clip(scored["match_weight"].to_numpy(float) * math.log(2),
                     -MAX_LOG_ODDS, MAX_LOG_ODDS)
    target = np.array([
        1.0 if normalise_pair(a, b) in truth else 0.0
        for a, b in zip(scored["left_id"], scored["right_id"], strict=True)
    ])
    beta = _ridge_logistic(design, offset, target, prior)
    for (field, gamma), delta in zip(columns, beta, strict=True):
        if abs(delta) > 1e-9:
            _shift_weight(levels[(field, gamma)], float(delta))
    accepted = int(target.sum())
    return Tuning(True, len(target), f"weights corrected from {accepted} accepted and "
                                     f"{len(target) - accepted} rejected pairs")


def _correctable_levels(model: LinkageModel) -> dict[tuple[str, int], Any]:
    """(field, level value) -> the Splink level, for every level but the null ones."""
    return {
        (c.output_column_name, lv.comparison_vector_value): lv
        for c in model.linker._settings_obj.comparisons
        for lv in c._comparison_levels_excluding_null
    }


def _ridge_logistic(design: np.ndarray, offset: np.ndarray, target: np.ndarray,
                    prior: float, rounds: int = 50) -> np.ndarray:
    """The coefficients maximising the logistic likelihood with a fixed offset and a
    Gaussian prior of precision ``prior`` on each (Newton's method; the problem is convex)."""
    beta = np.zeros(design.shape[1])
    if not design.shape[1]:
        return beta
    eye = np.eye(design.shape[1]) * prior
    for _ in range(rounds):
        eta = offset + design @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        gradient = design.T @ (target - p) - prior * beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + eye
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return beta


def _shift_weight(level: Any, nats: float) -> None:
    """Multiply a level's Bayes factor by ``exp(nats)``, keeping m and u within (0, 1]."""
    if level.m_probability is None or level.u_probability is None:
        return  # a level training never reached: no weight to move
    m = float(level.m_probability)
    u = float(level.u_probability)
    factor = math.exp(nats)
    if getattr(level, "_has_tf_adjustments", False):
        # the term-frequency weight replaces u: only m moves this level
        level.m_probability = min(1.0, m * factor)
    elif factor >= 1.0:
        level.u_probability = u / factor
    else:
        raised = min(1.0, u / factor)
        level.u_probability = raised
        level.m_probability = m * factor * raised / u
