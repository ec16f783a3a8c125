"""Unsupervised training of a Splink linker, with two corrections Splink does not make.

Steps: a first prior from near-certain rules; u from random pairs; m by expectation
maximisation on the schema's training rules; m floored; the name's "same name" m shared out
among its spellings as the file shows them (``split_name_m``); then the prior and u refined
together from the trained model (``refine_prior_and_u``), the name's u measured on pairs
whose birth dates are far apart and blended with shipped values
(``name_u_where_dates_differ``). Reviewed decisions, when there are any, can
then replace the m values (``train_from_labels``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sillok.linkage import comparisons as cmp

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
    names_blocked: bool = False,
) -> None:
    """Train ``linker`` in place without labels (see the module docstring).

    Args:
        linker: a Splink ``Linker`` over the prepared records.
        schema: the ``Schema`` (its deterministic and training rules are used).
        settings: the ``LinkageSettings``.
        all_pairs: how many record pairs the linker's input has in all.
        log: receives timings and warnings.
        progress: called with the name of each step.
        names_blocked: every pair that agrees on the name is a candidate pair (the normal
            blocking rules, not the tighter ones for large files).
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
    counts = None
    if settings.split_name_m:
        started = log.step(progress, "sharing the name's m among its spellings")
        counts = level_counts(linker) if _name_comparisons(linker) else None
        if not split_name_m(linker, counts):
            log.warnings.append(
                "too few pairs of records share a name to learn how this file spells names "
                "(Hangul, one romanization, a mix); the shipped shares were used"
            )
        log.done("name_m_split", started)
    if settings.prior_iterations:
        started = log.step(progress, "refining the match rate")
        far = refine_prior_and_u(
            linker, all_pairs, settings.prior_iterations, settings.correct_u,
            sample_pairs=min(all_pairs, settings.u_max_pairs), names_blocked=names_blocked,
            counts=counts,
        )
        if _name_comparisons(linker):
            _warn_about_names(linker, log, far, names_blocked)
        log.done("prior_refined", started)


def _warn_about_names(
    linker: Any,
    log: TrainingLog,
    far: dict[tuple[str, int], tuple[float, float]],
    names_blocked: bool,
) -> None:
    """Say when the chance agreement of names rests mostly on the shipped priors."""
    if not names_blocked:
        return  # a large file: its own random pairs measure it
    dated = max((pairs for _, pairs in far.values()), default=0.0)
    if dated >= cmp.U_PRIOR_PAIRS:
        # Enough dated pairs to weigh more than the shipped values, but while those still
        # weigh a tenth or more, a file whose names collide far more often is scored too
        # high: say so.
        ratios = [
            count / (pairs * cmp.SAME_NAME_U_PRIORS[label])
            for (label, (count, pairs)) in _far_by_label(linker, far)
            if pairs < 9 * cmp.U_PRIOR_PAIRS
            and _disagrees(count, pairs * cmp.SAME_NAME_U_PRIORS[label])
        ]
        if ratios:
            log.warnings.append(
                f"names in this file are shared by different people about "
                f"{max(ratios):.0f} times as often as Korean names at large, and its "
                f"{dated:,.0f} pairs of records with birth dates years apart are too few to "
                "outweigh the shipped priors; pairs that agree on the name and nothing else "
                "are scored too high. Add birth dates (even approximate) where the sources "
                "give them"
            )
        return
    if not far:
        missing = "no two records both have a birth date"
    else:
        missing = f"only {dated:,.0f} pairs of records have birth dates years apart"
    log.warnings.append(
        f"{missing}, so this file cannot show how often different people share a name; "
        "that rate comes mostly from the shipped priors (Korean names at large). "
        "Probabilities for pairs that agree on the name and nothing else are "
        "less certain; add birth dates (even approximate) where the sources give them"
    )


def _far_by_label(
    linker: Any, far: dict[tuple[str, int], tuple[float, float]]
) -> list[tuple[str, tuple[float, float]]]:
    """``name_u_where_dates_differ``'s counts by the level's label."""
    return [
        (level.label_for_charts, far[key])
        for comparison in _name_comparisons(linker)
        for level in _levels(comparison)
        if (key := (comparison.output_column_name, level.comparison_vector_value)) in far
    ]


def _disagrees(count: float, expected: float) -> bool:
    """Whether ``count`` name agreements among pairs dated years apart are far more than the
    shipped chance agreement expects (at least 5, and above four times the expectation plus
    three of its Poisson standard deviations)."""
    return count >= 5 and count > 4 * expected + 3 * math.sqrt(expected)


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


# The levels of the Korean-aware name comparison (``comparisons.person_name_comparison``)
# that say "same name": how their m is shared out among them is read from the file.
SAME_NAME_LEVELS = (
    "same spelling, common surname",
    "same spelling",
    "same name, other spelling, common surname",
    "same name, other spelling",
)


def _name_comparisons(linker: Any) -> list[Any]:
    """The linker's Korean-aware name comparisons (those with the "same name" levels)."""
    return [
        c for c in linker._settings_obj.comparisons
        if {lv.label_for_charts for lv in _levels(c)} >= set(SAME_NAME_LEVELS)
    ]


def level_counts(linker: Any) -> pd.DataFrame:
    """How many candidate pairs fall in each combination of levels (``gamma_<field>``
    columns and ``n``): one scoring pass, whose levels do not depend on the parameters."""
    scored = linker.inference.predict(warning_mode="never")
    gammas = ", ".join(f"gamma_{c.output_column_name}" for c in linker._settings_obj.comparisons)
    counts: pd.DataFrame = linker.misc.query_sql(
        f"SELECT {gammas}, count(*) AS n FROM {scored.physical_name} GROUP BY {gammas}",
        output_type="pandas",
    )
    scored.drop_table_from_database_and_remove_from_cache()
    return counts


def _counts_by(counts: pd.DataFrame, column: str) -> dict[int, float]:
    summed = counts.groupby(column)["n"].sum()
    return {int(level): float(n) for level, n in summed.items()}


def split_name_m(linker: Any, counts: pd.DataFrame | None = None) -> bool:
    """Share the fixed m of "same name" among its four levels as the file shows them.

    Whether two reports of one name are spelt alike depends on how the file was written
    (Hangul only, one romanization, a mix), hardly on whether the two reports are of one
    person or of two namesakes; so the share of "same spelling" among the candidate pairs
    that agree on the name estimates its share among the matches too. Whether the surname is
    Kim, Lee or Park is split by the share of records with one (among the candidate pairs
    it would be too high: namesakes are most often Kims). The total stays the prior's. A
    file in Hangul only has nearly every match spelt alike, a mixed file nearly none, and
    fixed shares are wrong for one of them by a factor of two or more.

    Returns False when a name comparison had too few such pairs and kept the shipped
    shares. ``counts``: ``level_counts(linker)``, when already known.
    """
    comparisons = _name_comparisons(linker)
    if not comparisons:
        return True
    if counts is None:
        counts = level_counts(linker)
    learned = True
    for comparison in comparisons:
        found = _counts_by(counts, f"gamma_{comparison.output_column_name}")
        same = [lv for lv in _levels(comparison) if lv.label_for_charts in SAME_NAME_LEVELS]
        seen = [found.get(lv.comparison_vector_value, 0) for lv in same]
        if sum(seen) < len(same) * 5:
            learned = False
            continue  # too few pairs to say anything: the prior shares stand
        total = sum(float(lv.m_probability) for lv in same)
        # Half a pair per level keeps an unseen level possible.
        weights = {lv.label_for_charts: count + 0.5 for lv, count in zip(same, seen, strict=True)}
        common = _common_surname_share(linker, comparison.output_column_name)
        for lv in same:
            label = lv.label_for_charts
            base = label.removesuffix(", common surname")
            spelt = (weights[base] + weights[f"{base}, common surname"]) / sum(weights.values())
            share = common if label != base else 1 - common
            lv.m_probability = total * spelt * share
    return learned


def _common_surname_share(linker: Any, field: str) -> float:
    """The share of the records whose surname is Kim, Lee or Park: the share of a person's
    pairs of reports that carry one. (Among the candidate pairs it would be too high: two
    namesakes are more often a Kim than anything else.)"""
    names = ", ".join(repr(s) for s in cmp.COMMON_SURNAMES)
    shares = []
    for table in linker._input_tables_dict.values():
        row = linker.misc.query_sql(
            f"SELECT sum(CASE WHEN {field}_sn IN ({names}) THEN 1 ELSE 0 END) AS c, "
            f"count({field}_sn) AS n FROM {table.physical_name}",
            output_type="pandas",
        ).iloc[0]
        shares.append((float(row["c"] or 0), float(row["n"] or 0)))
    common, counted = sum(c for c, _ in shares), sum(n for _, n in shares)
    if counted < 20:
        return cmp.COMMON_SURNAME_SHARE
    return min(max(common / counted, 0.05), 0.95)


def name_u_where_dates_differ(
    linker: Any,
    observed: dict[tuple[str, int], float | None],
    all_pairs: float,
    counts: pd.DataFrame | None = None,
) -> dict[tuple[str, int], tuple[float, float]]:
    """For each "same name" level: how many pairs with birth dates far apart fall in it, and
    how many such pairs there are in all (count, pairs).

    Two reports whose dates of birth are years apart are nearly never of one person, and
    among different persons the name does not depend on the birth date; so the share of
    those pairs that agree on the name is the chance agreement (u) of the name, free of the
    file's own duplicates. Needs every name-agreeing pair among the candidates (the normal
    blocking rules) and a date comparison with a "dates far apart" level; empty otherwise.
    ``counts``: ``level_counts(linker)``, when already known.
    """
    comparisons = linker._settings_obj.comparisons
    names = _name_comparisons(linker)
    dates = [(c, lv) for c in comparisons for lv in _levels(c)
             if lv.label_for_charts == "dates far apart"]
    if not names or not dates or not all_pairs:
        return {}
    date, far_level = dates[0]
    share = observed.get((date.output_column_name, far_level.comparison_vector_value))
    if not share:
        return {}
    # Splink's u is a share of the pairs where both dates are known.
    column = f"{date.output_column_name}_lo"
    known = [
        float(linker.misc.query_sql(
            f"SELECT count({column}) AS n FROM {table.physical_name}", output_type="pandas"
        )["n"].iloc[0] or 0)
        for table in linker._input_tables_dict.values()
    ]
    dated_pairs = known[0] * (known[0] - 1) / 2 if len(known) == 1 else math.prod(known)
    far_pairs = share * dated_pairs
    if far_pairs < 1:
        return {}
    if counts is None:
        counts = level_counts(linker)
    far = counts[counts[f"gamma_{date.output_column_name}"] == far_level.comparison_vector_value]
    out: dict[tuple[str, int], tuple[float, float]] = {}
    for name in names:
        found = _counts_by(far, f"gamma_{name.output_column_name}")
        for level in _levels(name):
            if level.label_for_charts in SAME_NAME_LEVELS:
                key = (name.output_column_name, level.comparison_vector_value)
                out[key] = (found.get(level.comparison_vector_value, 0.0), far_pairs)
    return out


def expected_matches(linker: Any) -> float:
    """The sum of match probabilities over every candidate pair (computed in the engine)."""
    scored = linker.inference.predict(warning_mode="never")
    total = linker.misc.query_sql(
        f"SELECT sum(match_probability) AS s FROM {scored.physical_name}", output_type="pandas"
    )["s"].iloc[0]
    scored.drop_table_from_database_and_remove_from_cache()
    return 0.0 if total is None or pd.isna(total) else float(total)


def refine_prior_and_u(
    linker: Any,
    all_pairs: float,
    rounds: int,
    correct_u: bool,
    sample_pairs: float = 0.0,
    names_blocked: bool = False,
    counts: pd.DataFrame | None = None,
) -> dict[tuple[str, int], tuple[float, float]]:
    """Re-estimate the prior match rate and the u values together, from the trained model.

    The first guess of the prior rests on an assumed recall of exact rules, which spelling
    variation makes poor. And u (how often a level occurs among non-matches) is measured on
    random pairs, which Splink takes for non-matches; where records are reported many times
    and names are the main evidence, a good share of random pairs that agree on the name are
    in fact the same person, so u comes out too high and every name agreement too weak.

    Each round: prior = expected matches among the candidate pairs over all pairs (blocking
    is assumed to find nearly every match); then, the random sample being a mixture of both,
    u = (observed share - prior * m) / (1 - prior) for every level. The "same name" levels
    then blend this with the shipped chance agreement (``SAME_NAME_U_PRIORS``), which counts
    as ``U_PRIOR_PAIRS`` random pairs against the ``sample_pairs`` the file gave: in a file
    of a few hundred reports every pair that shares a name is mostly the file's own
    duplicates, and no correction can tell how many.

    With ``names_blocked`` (every pair that agrees on the name is a candidate pair, as under
    the normal blocking rules) the file's own share for those levels is measured where it is
    clean instead (``name_u_where_dates_differ``) and counts as that many pairs.

    Returns what ``name_u_where_dates_differ`` found (empty when it could not measure).
    """
    settings_obj = linker._settings_obj
    observed = {
        (c.output_column_name, lv.comparison_vector_value): lv.u_probability
        for c in settings_obj.comparisons
        for lv in _levels(c)
    }
    far = (
        name_u_where_dates_differ(linker, observed, all_pairs, counts) if names_blocked else {}
    )
    for _ in range(rounds):
        expected = expected_matches(linker)
        if not all_pairs or expected <= 0:
            return far
        new = min(max(expected / all_pairs, 1e-12), 0.5)
        old = settings_obj._probability_two_random_records_match
        settings_obj._probability_two_random_records_match = new
        if correct_u:
            _correct_u(linker, observed, new, sample_pairs, far)
        if old > 0 and abs(math.log(new / old)) < 0.01:
            return far
    return far


def _correct_u(
    linker: Any,
    observed: dict[tuple[str, int], float | None],
    prior: float,
    sample_pairs: float = 0.0,
    far: dict[tuple[str, int], tuple[float, float]] | None = None,
) -> None:
    """u = (observed - prior * m) / (1 - prior), at least a twentieth of the observed share;
    for the "same name" levels blended with the shipped prior (see ``refine_prior_and_u``)."""
    own = sample_pairs / (sample_pairs + cmp.U_PRIOR_PAIRS) if sample_pairs > 0 else 1.0
    for comparison in linker._settings_obj.comparisons:
        levels = _levels(comparison)
        corrected = []
        for level in levels:
            seen = observed.get((comparison.output_column_name, level.comparison_vector_value))
            m = level.m_probability
            if seen is None or m is None:
                break
            value = max((seen - prior * m) / (1.0 - prior), seen / 20.0, 1e-9)
            key = (comparison.output_column_name, level.comparison_vector_value)
            if level.label_for_charts in cmp.SAME_NAME_U_PRIORS:
                shipped = cmp.SAME_NAME_U_PRIORS[level.label_for_charts]
                if far and key in far:
                    count, pairs = far[key]
                    value = (count + cmp.U_PRIOR_PAIRS * shipped) / (pairs + cmp.U_PRIOR_PAIRS)
                elif own < 1.0:
                    value = own * value + (1 - own) * shipped
            corrected.append(value)
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
