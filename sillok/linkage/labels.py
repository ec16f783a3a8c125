"""Reviewed decisions as labels: how well a model agrees with them, and tuning it on them.

A label is ``(left id, right id, is_match)``: an accepted link is a match, a rejected one a
non-match. ``evaluate`` scores a model's predictions against the labelled pairs only (an
unreviewed pair is neither right nor wrong). ``tune`` re-estimates the m values (how often
each level occurs among true matches) from the accepted pairs with Splink's
``estimate_m_from_pairwise_labels``, once there are at least ``MIN_TUNING_MATCHES`` of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
