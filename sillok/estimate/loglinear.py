"""Poisson log-linear models for multiple systems estimation.

The observed cells of the overlap table are modelled as independent Poisson counts with
log(mean) linear in the lists' main effects and chosen interactions. The unobserved cell (on no
list) has design row (1, 0, ..., 0), so its fitted mean is exp(intercept), and the estimated total
is the observed count plus that mean.

Models are chosen by AIC or BIC over every hierarchical model (up to five lists) or by a stepwise
search (six or more). The interval is the profile-likelihood interval of Cormack (1992): for each
candidate total N the model is fitted to the completed table with N - n people in the unobserved
cell, and N is inside the interval while twice the drop in the multinomial log-likelihood stays
under the chi-square(1) quantile.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import erfinv, gammaincc, gammaln

from sillok.messages import Message

from .caveats import extrapolation_warning, fmt
from .loglinear_terms import LogLinearModel, all_hierarchical_models
from .results import EstimateResult, EstimationError
from .settings import Criterion, EstimateSettings

EXHAUSTIVE_MAX_LISTS = 5
_MAX_ETA = 700.0  # exp() overflows just above 709
_BOUNDARY_MU = 1e-10


@dataclass(frozen=True)
class PoissonFit:
    """A Poisson GLM fit (log link): coefficients, fitted means, log-likelihood.

    ``converged`` is False when the maximum likelihood lies on the boundary (a coefficient
    runs off to minus infinity because of zero cells) or Newton's method did not settle.
    """

    beta: np.ndarray
    mu: np.ndarray
    loglik: float
    converged: bool


def fit_poisson(design: np.ndarray, y: np.ndarray, start: np.ndarray | None = None,
                max_iter: int = 100, tol: float = 1e-10) -> PoissonFit:
    """Maximise the Poisson log-likelihood by Newton's method with step halving."""
    y = np.asarray(y, dtype=float)
    log_factorials = float(gammaln(y + 1).sum())

    def loglik(eta: np.ndarray) -> float:
        return float(y @ eta - np.exp(eta).sum() - log_factorials)

    if start is None:
        # least squares on log counts: a start close enough for Newton's method
        gram = design.T @ design
        beta = np.linalg.solve(gram, design.T @ np.log(y + 0.5))
    else:
        beta = np.array(start, dtype=float)
    eta = design @ beta
    current = loglik(np.minimum(eta, _MAX_ETA))
    converged = False
    for _ in range(max_iter):
        mu = np.exp(np.minimum(eta, _MAX_ETA))
        gradient = design.T @ (y - mu)
        hessian = (design.T * mu) @ design
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        scale = 1.0
        while True:
            candidate = beta + scale * step
            eta_candidate = design @ candidate
            if eta_candidate.max() < _MAX_ETA:
                value = loglik(eta_candidate)
                if value >= current - 1e-12 * (1.0 + abs(current)):
                    break
            scale *= 0.5
            if scale < 1e-12:
                break
        if scale < 1e-12:
            break
        beta, eta, current = candidate, eta_candidate, value
        if np.max(np.abs(scale * step)) < tol:
            converged = True
            break
        if np.exp(eta).min() < _BOUNDARY_MU:
            break
    mu = np.exp(np.minimum(eta, _MAX_ETA))
    return PoissonFit(beta, mu, current, converged)


@dataclass(frozen=True)
class ModelFit:
    """A log-linear model fitted to an overlap table."""

    model: LogLinearModel
    fit: PoissonFit
    observed: int
    y: np.ndarray

    @property
    def estimable(self) -> bool:
        """Whether the maximum-likelihood estimate exists (is not on the boundary)."""
        return self.fit.converged

    @property
    def unobserved(self) -> float:
        """The fitted mean of the unobserved cell, exp(intercept)."""
        return math.exp(min(float(self.fit.beta[0]), _MAX_ETA))

    @property
    def total(self) -> float:
        """The estimated total: observed plus unobserved."""
        return self.observed + self.unobserved

    @property
    def deviance(self) -> float:
        """The residual deviance against the saturated model of the observed cells."""
        y, mu = self.y, self.fit.mu
        positive = y > 0
        terms = np.where(positive, y * np.log(np.where(positive, y, 1.0) / mu), 0.0)
        return float(2.0 * np.sum(terms - (y - mu)))

    @property
    def df(self) -> int:
        """Residual degrees of freedom."""
        return len(self.y) - self.model.n_params

    def criterion(self, which: Criterion) -> float:
        """AIC (-2 logL + 2p) or BIC (-2 logL + p log n, n = people observed)."""
        penalty = 2.0 if which is Criterion.AIC else math.log(max(self.observed, 2))
        return -2.0 * self.fit.loglik + penalty * self.model.n_params

    def fit_p_value(self) -> float | None:
        """The deviance goodness-of-fit p-value (None with no degrees of freedom)."""
        if self.df <= 0:
            return None
        return float(gammaincc(self.df / 2.0, self.deviance / 2.0))  # chi-square upper tail


def fit_model(patterns: np.ndarray, y: np.ndarray, model: LogLinearModel,
              designs: DesignColumns | None = None) -> ModelFit:
    """Fit one log-linear model to the observed cells."""
    design = designs.of(model) if designs is not None else model.design(patterns)
    fit = fit_poisson(design, y)
    return ModelFit(model, fit, int(y.sum()), np.asarray(y, dtype=float))


class DesignColumns:
    """Every possible term's column for one table, built once and sliced per model.

    Building a design matrix costs more than fitting it on tables this small, and a search
    fits thousands of models on the same rows.
    """

    def __init__(self, patterns: np.ndarray) -> None:
        n_lists = patterns.shape[1]
        terms = [frozenset(c) for size in range(2, n_lists)
                 for c in itertools.combinations(range(n_lists), size)]
        self._column = {term: 1 + n_lists + i for i, term in enumerate(terms)}
        self._base = list(range(1 + n_lists))
        full = LogLinearModel(tuple(str(j) for j in range(n_lists)), frozenset(terms))
        self._matrix = full.design(patterns)
        order = [self._column[t] for t in full.sorted_terms()]
        if order != sorted(order):
            raise AssertionError("term order of DesignColumns and LogLinearModel differ")

    def of(self, model: LogLinearModel) -> np.ndarray:
        """The design matrix of a model, columns in the model's own order."""
        columns = self._base + [self._column[t] for t in model.sorted_terms()]
        return self._matrix[:, columns]


@dataclass(frozen=True)
class Selection:
    """The outcome of a model search."""

    best: ModelFit
    fits: tuple[ModelFit, ...]
    searched: int
    excluded: int
    how: str


def select_model(patterns: np.ndarray, y: np.ndarray, lists: Sequence[str],
                 criterion: Criterion) -> Selection:
    """Choose the hierarchical model with the smallest AIC or BIC.

    Every hierarchical model is fitted for up to five lists; beyond, a stepwise search starts
    from independence and adds or drops one term at a time while the criterion improves.
    Models whose maximum-likelihood estimate does not exist are left out.

    Raises:
        EstimationError: no model has a finite estimate.
    """
    name = criterion.value.upper()
    if len(lists) <= EXHAUSTIVE_MAX_LISTS:
        designs = DesignColumns(patterns)
        fits = [fit_model(patterns, y, m, designs) for m in all_hierarchical_models(lists)]
        how = f"{name} over all {len(fits)} hierarchical models"
    else:
        fits = _stepwise(patterns, y, lists, criterion)
        how = f"{name}, stepwise search ({len(fits)} hierarchical models fitted)"
    good = [f for f in fits if f.estimable]
    if not good:
        raise EstimationError(Message(
            "no log-linear model has a finite estimate for this table (too many empty cells)"
        ))
    best = min(good, key=lambda f: f.criterion(criterion))
    return Selection(best, tuple(fits), len(fits), len(fits) - len(good), how)


def _stepwise(patterns: np.ndarray, y: np.ndarray, lists: Sequence[str],
              criterion: Criterion) -> list[ModelFit]:
    seen: dict[LogLinearModel, ModelFit] = {}
    designs = DesignColumns(patterns)

    def get(model: LogLinearModel) -> ModelFit:
        if model not in seen:
            seen[model] = fit_model(patterns, y, model, designs)
        return seen[model]

    current = get(LogLinearModel.independence(lists))
    while True:
        options = [get(m) for m in current.model.neighbours()]
        options = [f for f in options if f.estimable]
        if not options:
            break
        step = min(options, key=lambda f: f.criterion(criterion))
        if step.criterion(criterion) >= current.criterion(criterion):
            break
        current = step
    return list(seen.values())


def profile_interval(patterns: np.ndarray, y: np.ndarray, model: LogLinearModel,
                     estimate: float, level: float) -> tuple[float, float | None]:
    """The profile-likelihood interval for the total N (upper None when unbounded)."""
    observed = float(y.sum())
    full_patterns = np.vstack([np.zeros((1, patterns.shape[1]), dtype=np.int64), patterns])
    design = model.design(full_patterns)
    log_factorials = float(gammaln(np.asarray(y, dtype=float) + 1).sum())
    warm: list[np.ndarray | None] = [None]

    def loglik(total: float) -> float:
        cells = np.concatenate(([max(total - observed, 0.0)], y)).astype(float)
        fit = fit_poisson(design, cells, start=warm[0])
        if fit.converged:
            warm[0] = fit.beta
        positive = cells > 0
        fitted = float(fit.mu.sum())
        log_p = np.log(fit.mu[positive] / fitted)
        return float(gammaln(total + 1) - gammaln(total - observed + 1) - log_factorials
                     + cells[positive] @ log_p)

    width = max(5.0, 0.05 * estimate)
    best = max(loglik(estimate),
               _golden_max(loglik, max(observed, estimate - width), estimate + width))
    quantile = 2.0 * float(erfinv(level)) ** 2  # chi-square(1) quantile at the level

    def excess(total: float) -> float:
        return 2.0 * (best - loglik(total)) - quantile

    lower = observed
    if excess(observed) > 0:
        lower = _bisect(excess, observed, estimate)
    span = max(estimate - observed, 1.0)
    high = estimate + span
    cap = 1e4 * estimate + 1e6
    while excess(high) <= 0:
        if high > cap:
            return lower, None
        span *= 2.0
        high = estimate + span
    upper = _bisect(excess, estimate, high)
    return float(lower), float(upper)


def _bisect(function: Callable[[float], float], low: float, high: float,
            tol: float = 1e-7) -> float:
    """The root of a function that changes sign once between low and high."""
    low_sign = function(low) > 0
    while high - low > tol * max(1.0, abs(high)):
        middle = 0.5 * (low + high)
        if (function(middle) > 0) == low_sign:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def _golden_max(function: Callable[[float], float], low: float, high: float,
                tol: float = 1e-6) -> float:
    """The largest value of a unimodal function on [low, high] (golden-section search)."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = function(c), function(d)
    while b - a > tol * max(1.0, abs(b)):
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = function(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = function(d)
    return max(fc, fd)


def bootstrap_totals(patterns: np.ndarray, fitted: ModelFit, replicates: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Parametric bootstrap of the total under a fitted model (NaN where a refit fails).

    Each replicate draws a complete population of the estimated size from the fitted cell
    probabilities, hides its unobserved cell, and refits the same model.
    """
    full_mu = np.concatenate(([fitted.unobserved], fitted.fit.mu))
    size = int(round(fitted.total))
    cells = rng.multinomial(size, full_mu / full_mu.sum(), size=replicates)[:, 1:]
    design = fitted.model.design(patterns)
    intercepts = _batch_newton(design, cells.astype(float), fitted.fit.beta)
    totals = cells.sum(axis=1) + np.exp(np.minimum(intercepts, _MAX_ETA))
    for b in np.flatnonzero(np.isnan(intercepts)):
        # the batch did not settle here: refit alone, with step halving and boundary checks
        fit = fit_poisson(design, cells[b], start=fitted.fit.beta)
        totals[b] = cells[b].sum() + math.exp(min(float(fit.beta[0]), _MAX_ETA)) \
            if fit.converged else np.nan
    return totals


def _batch_newton(design: np.ndarray, cells: np.ndarray, start: np.ndarray,
                  max_iter: int = 30, tol: float = 1e-9) -> np.ndarray:
    """Fit one design to many count vectors at once; the intercepts, NaN where unsettled.

    Plain Newton steps from a good start (the fit the replicates were drawn from) settle in a
    few iterations; replicates that do not are left to the careful one-at-a-time fit.
    """
    beta = np.tile(start, (len(cells), 1))
    settled = np.zeros(len(cells), dtype=bool)
    for _ in range(max_iter):
        eta = np.minimum(beta @ design.T, _MAX_ETA)
        mu = np.exp(eta)
        gradient = (cells - mu) @ design
        hessian = np.einsum("bi,ij,ik->bjk", mu, design, design)
        try:
            step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        except np.linalg.LinAlgError:
            break
        step[settled] = 0.0
        beta += step
        settled |= np.max(np.abs(step), axis=1) < tol
        if settled.all():
            break
    mu_min = np.exp(np.minimum(beta @ design.T, _MAX_ETA)).min(axis=1)
    usable = settled & (mu_min > _BOUNDARY_MU) & np.isfinite(beta).all(axis=1)
    return np.where(usable, beta[:, 0], np.nan)


def estimate_loglinear(table_patterns: np.ndarray, y: np.ndarray, lists: Sequence[str],
                       settings: EstimateSettings, base_warnings: Sequence[str],
                       rng: np.random.Generator | None = None) -> tuple[EstimateResult, ModelFit]:
    """Estimate the total with a chosen or named log-linear model and its profile interval.

    Args:
        table_patterns: the (2^J - 1, J) pattern matrix.
        y: the counts per pattern.
        lists: list names.
        settings: criterion, model, level, bootstrap replicates.
        base_warnings: warnings about the data, put first.
        rng: when given, parametric-bootstrap draws of the total are kept on the result.

    Raises:
        EstimationError: the named model has no finite estimate, or none does.
    """
    warnings = list(base_warnings)
    details: dict[str, object] = {}
    if settings.model:
        model = LogLinearModel.parse(settings.model, lists)
        chosen = fit_model(table_patterns, y, model)
        if not chosen.estimable:
            raise EstimationError(
                f"the model {model.describe()} has no finite estimate for this table: zero "
                "cells make one of its interactions run off to infinity; drop the terms that "
                "involve the empty patterns"
            )
        details["selection"] = "named by hand"
        fits: tuple[ModelFit, ...] = (chosen,)
    else:
        selection = select_model(table_patterns, y, lists, settings.criterion)
        chosen, fits = selection.best, selection.fits
        details.update(criterion=settings.criterion.value, selection=selection.how,
                       models_searched=selection.searched, models_excluded=selection.excluded)
        if selection.excluded:
            warnings.append(Message(
                "{excluded} of {searched} models have no finite estimate (zero cells) and were "
                "left out of the search", excluded=selection.excluded, searched=selection.searched,
            ))
        warnings.extend(_competing_models(chosen, fits, settings.criterion))
    warnings.extend(_fit_warnings(table_patterns, y, lists, chosen, fits))
    lower, upper = profile_interval(table_patterns, y, chosen.model, chosen.total,
                                    settings.level)
    if upper is None:
        warnings.append(Message(
            "the likelihood does not fall off above the estimate: the interval has no finite "
            "upper end"
        ))
    note = extrapolation_warning(chosen.total, chosen.observed)
    if note:
        warnings.append(note)
    p_value = chosen.fit_p_value()
    details.update(deviance=round(chosen.deviance, 4), df=chosen.df,
                   fit_p_value=None if p_value is None else round(p_value, 4),
                   aic=round(chosen.criterion(Criterion.AIC), 4),
                   bic=round(chosen.criterion(Criterion.BIC), 4),
                   parameters=chosen.model.n_params)
    draws = None
    if rng is not None:
        draws = bootstrap_totals(table_patterns, chosen, settings.bootstrap, rng)
    result = EstimateResult(
        method="loglinear", estimate=chosen.total, lower=lower, upper=upper,
        observed=chosen.observed, model=chosen.model.describe(), warnings=tuple(warnings),
        interval=Message("{level:.0%} profile-likelihood interval", level=settings.level),
        lists=tuple(lists),
        details=details, draws=draws,
    )
    return result, chosen


def _competing_models(chosen: ModelFit, fits: Sequence[ModelFit],
                      criterion: Criterion) -> list[str]:
    best = chosen.criterion(criterion)
    close = [f for f in fits if f.estimable and f.criterion(criterion) - best < 2.0]
    totals = [f.total for f in close]
    if len(close) > 1 and (max(totals) - min(totals)) > 0.1 * chosen.total:
        return [Message(
            "{models} models are within 2 {criterion} points of the chosen one and give totals "
            "from {low} to {high}: the choice of model matters more than the interval shows",
            models=len(close), criterion=criterion.value.upper(), low=fmt(min(totals)),
            high=fmt(max(totals)),
        )]
    return []


def _fit_warnings(patterns: np.ndarray, y: np.ndarray, lists: Sequence[str], chosen: ModelFit,
                  fits: Sequence[ModelFit]) -> list[str]:
    warnings: list[str] = []
    if len(lists) == 2:
        warnings.append(Message(
            "with two lists the lists must be assumed independent and that cannot be checked: "
            "if being on one list changes the chance of being on the other, or some people are "
            "easier to record than others, the estimate is biased (usually too low)"
        ))
        return warnings
    independent = next((f for f in fits if not f.model.terms), None)
    if independent is None:
        independent = fit_model(patterns, y, LogLinearModel.independence(lists))
    p_independent = independent.fit_p_value()
    if p_independent is not None and p_independent < 0.05:
        warnings.append(Message(
            "the lists are not independent (independence model deviance {deviance:.1f} on "
            "{df} df, p = {p:.2g}): lists depend on each other or capture probabilities are "
            "heterogeneous; the estimate rests on the interactions chosen",
            deviance=independent.deviance, df=independent.df, p=p_independent,
        ))
    p_chosen = chosen.fit_p_value()
    if p_chosen is None:
        warnings.append(Message("the chosen model leaves no degrees of freedom to check its fit"))
    elif p_chosen < 0.05:
        warnings.append(Message(
            "the chosen model fits poorly (deviance {deviance:.1f} on {df} df, p = {p:.2g})",
            deviance=chosen.deviance, df=chosen.df, p=p_chosen,
        ))
    return warnings
