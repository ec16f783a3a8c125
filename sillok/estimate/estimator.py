"""Estimate the total from an overlap table, or per stratum and in sum."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from sillok.messages import Message

from .caveats import data_warnings
from .results import EstimateResult, EstimationError, StratifiedResult
from .settings import EstimateSettings, Method
from .table import OverlapTable


def resolve_seed(seed: int | None) -> int:
    """The seed to use: the one given, or a fresh random one (reported so runs can repeat)."""
    return secrets.randbits(32) if seed is None else seed


def estimate(table: OverlapTable, settings: EstimateSettings | None = None) -> EstimateResult:
    """Estimate the total number of people, listed or not, from an overlap table.

    Args:
        table: counts per capture pattern.
        settings: method and options; defaults to log-linear models chosen by AIC.

    Raises:
        EstimationError: the table cannot support the estimate (the message says why).
    """
    settings = settings or EstimateSettings()
    return _estimate(table, settings, resolve_seed(settings.seed), keep_draws=False)


def estimate_strata(tables: Mapping[str, OverlapTable], by: str,
                    settings: EstimateSettings | None = None) -> StratifiedResult:
    """Estimate each stratum separately and their total.

    The total is the sum of the strata's estimates; its interval comes from summing the
    strata's draws (posterior draws for LCMCR, parametric-bootstrap draws for log-linear
    models, each stratum keeping its chosen model). A stratum that cannot be estimated is
    reported with its reason, and then the total is not estimated either.

    Args:
        tables: one overlap table per stratum label, all over the same lists.
        by: the name of the stratifying field (for the output).
        settings: method and options.

    Raises:
        EstimationError: there are no strata.
    """
    settings = settings or EstimateSettings()
    if not tables:
        raise EstimationError(Message("no strata: the data have no values of '{by}'", by=by))
    seed = resolve_seed(settings.seed)
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(len(tables))]
    strata = []
    for (label, table), stratum_seed in zip(tables.items(), seeds, strict=True):
        try:
            result = _estimate(table, settings, stratum_seed, keep_draws=True)
        except EstimationError as exc:
            result = EstimateResult(
                method=settings.method.value, estimate=None, lower=None, upper=None,
                observed=table.observed, model="",
                warnings=(Message("not estimated: {reason}", reason=exc.args[0]),),
                interval="", lists=table.lists,
            )
        strata.append(replace(result, stratum=label))
    total = _total(strata, settings, seed)
    return StratifiedResult(by=by, total=total, strata=tuple(strata))


def _estimate(table: OverlapTable, settings: EstimateSettings, seed: int,
              keep_draws: bool) -> EstimateResult:
    where = (
        Message(" in stratum '{stratum}'", stratum=table.stratum)
        if table.stratum is not None else ""
    )
    if table.observed == 0:
        raise EstimationError(Message("no one is on any list{where}", where=where))
    warnings: list[str] = []
    empty = [name for name, total in table.list_totals().items() if total == 0]
    if empty:
        if table.n_lists - len(empty) < 2:
            raise EstimationError(Message(
                "only {n} list has records{where}; at least two lists must overlap to "
                "estimate anything", n=table.n_lists - len(empty), where=where,
            ))
        table = table.without_lists(empty)
        warnings.append(Message(
            "list(s) {names} have no records{where} and were left out",
            names=", ".join(empty), where=where,
        ))
    warnings.extend(data_warnings(table, settings.small_list, settings.threshold))
    patterns, y = table.pattern_array(), table.count_array()
    if settings.method is Method.LCMCR:
        from .lcmcr import estimate_lcmcr  # numba loads only when this method is used

        result = estimate_lcmcr(patterns, y, table.lists, settings, seed, warnings)
    else:
        from .loglinear import estimate_loglinear

        rng = np.random.default_rng(seed) if keep_draws else None
        result, _ = estimate_loglinear(patterns, y, table.lists, settings, warnings, rng)
        if keep_draws:
            result = replace(result, details={**result.details, "seed": seed,
                                              "bootstrap": settings.bootstrap})
    return replace(result, stratum=table.stratum)


def _total(strata: list[EstimateResult], settings: EstimateSettings, seed: int
           ) -> EstimateResult:
    observed = sum(r.observed for r in strata)
    lists = tuple(dict.fromkeys(name for r in strata for name in r.lists))
    method = settings.method.value
    failed = [r.stratum or "" for r in strata if r.estimate is None or r.draws is None]
    if failed:
        return EstimateResult(
            method=method, estimate=None, lower=None, upper=None, observed=observed,
            model="sum of strata", lists=lists, interval="",
            warnings=(Message(
                "the total is not estimated because stratum(s) {names} could not be; merge "
                "small strata or estimate without --by", names=", ".join(failed),
            ),),
            details={"seed": seed},
        )
    draws = np.vstack([np.asarray(r.draws, dtype=float) for r in strata])
    warnings: list[str] = []
    for r, row in zip(strata, draws, strict=True):
        failed_refits = int(np.isnan(row).sum())
        if failed_refits:
            warnings.append(Message(
                "in stratum {stratum}, {failed} of {size} bootstrap refits have no finite "
                "estimate (the stratum is sparse); they count as unbounded in the total's "
                "interval: merge small strata for a tighter one",
                stratum=r.stratum, failed=failed_refits, size=row.size,
            ))
    # a refit with no finite estimate says the data allow any large total: count it so
    sums = np.where(np.isnan(draws), np.inf, draws).sum(axis=0)
    tail = (1.0 - settings.level) / 2.0
    # with infinite draws, interpolating between order statistics would give inf - inf
    if np.isinf(sums).any():
        ends = np.quantile(sums, [tail, 1.0 - tail], method="inverted_cdf")
    else:
        ends = np.quantile(sums, [tail, 1.0 - tail])
    lower, upper = float(ends[0]), float(ends[1])
    unbounded = [r.stratum or "" for r in strata if r.upper is None]
    result_upper: float | None = upper if math.isfinite(upper) else None
    if unbounded:
        result_upper = None
        warnings.append(Message(
            "stratum(s) {names} have no finite upper end, so neither has the total",
            names=", ".join(unbounded),
        ))
    elif result_upper is None:
        warnings.append(Message("the total's interval has no finite upper end"))
    estimate = float(sum(r.estimate for r in strata if r.estimate is not None))
    if settings.method is Method.LCMCR:
        interval = Message(
            "{level:.0%} posterior credible interval of the summed strata", level=settings.level
        )
    else:
        interval = Message(
            "{level:.0%} parametric-bootstrap percentile interval ({replicates} replicates, "
            "each stratum's model held fixed)",
            level=settings.level, replicates=settings.bootstrap,
        )
    return EstimateResult(
        method=method, estimate=estimate, lower=lower, upper=result_upper,
        observed=observed, model="sum of strata", warnings=tuple(warnings),
        interval=interval, lists=lists, details={"seed": seed, "strata": len(strata)},
        draws=sums,
    )
