"""Log-linear multiple systems estimation: reference figures, model choice, profile interval."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats
from scipy.special import gammaln, logsumexp

from sillok.estimate import (
    Criterion,
    EstimateSettings,
    EstimationError,
    OverlapTable,
    estimate,
    read_overlap_csv,
)
from sillok.estimate.loglinear import bootstrap_totals, fit_model, fit_poisson, profile_interval
from sillok.estimate.loglinear_terms import LogLinearModel, all_hierarchical_models
from sillok.estimate.simulate import draw_table, latent_class_probabilities

DATA = Path(__file__).parent / "data" / "mse"


def _table(name: str) -> OverlapTable:
    return read_overlap_csv(DATA / f"{name}.csv")


@pytest.mark.parametrize(
    ("name", "model", "expected"),
    [
        ("hiv", "independence", 11124.58),
        ("hiv", "two-way", 23443.54),
        ("spina_bifida", "independence", 763.89),
        ("spina_bifida", "two-way", 762.98),
    ],
)
def test_reference_figures_to_the_cent(name: str, model: str, expected: float) -> None:
    result = estimate(_table(name), EstimateSettings(model=model))
    assert result.estimate is not None
    assert round(result.estimate, 2) == expected
    assert result.lower is not None and result.upper is not None
    assert result.observed < result.lower < result.estimate < result.upper


def test_fit_agrees_with_statsmodels_on_a_three_way_model() -> None:
    table = _table("madigan_york")
    model = LogLinearModel.parse("l1:l2:l4 + l3:l5", table.lists)
    patterns, y = table.pattern_array(), table.count_array()
    ours = fit_model(patterns, y, model)
    theirs = sm.GLM(y, model.design(patterns), family=sm.families.Poisson()).fit()
    assert ours.estimable
    assert ours.total == pytest.approx(y.sum() + math.exp(theirs.params[0]), rel=1e-9)
    assert ours.deviance == pytest.approx(theirs.deviance, rel=1e-7)
    assert ours.criterion(Criterion.AIC) == pytest.approx(theirs.aic, rel=1e-9)


# the saturated model has no residual degrees of freedom: statsmodels warns about its scale
@pytest.mark.filterwarnings("ignore::RuntimeWarning",
                            "ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
def test_aic_and_bic_choose_the_minimum_over_all_hierarchical_models() -> None:
    table = _table("spina_bifida")
    frame = pd.DataFrame(table.pattern_array(), columns=list(table.lists))
    y = table.count_array()
    scores = {}
    for model in all_hierarchical_models(table.lists):
        columns = {name: frame[name] for name in table.lists}
        for term in model.sorted_terms():
            names = [table.lists[j] for j in sorted(term)]
            columns[":".join(names)] = frame[names].prod(axis=1)
        fitted = sm.GLM(y, sm.add_constant(pd.DataFrame(columns)),
                        family=sm.families.Poisson()).fit()
        loglik = fitted.llf
        scores[model.describe()] = (-2 * loglik + 2 * model.n_params,
                                    -2 * loglik + math.log(y.sum()) * model.n_params)
    for index, criterion in enumerate(Criterion):
        result = estimate(table, EstimateSettings(criterion=criterion))
        assert result.model == min(scores, key=lambda name: scores[name][index])
        assert result.details["criterion"] == criterion.value
        assert result.details["selection"] == (
            f"{criterion.value.upper()} over all 8 hierarchical models")


def test_models_with_no_finite_estimate_are_left_out_and_reported() -> None:
    result = estimate(_table("hiv"), EstimateSettings(criterion=Criterion.AIC))
    assert result.details["models_searched"] == 113
    assert result.details["models_excluded"] == 19
    assert any("19 of 113 models have no finite estimate" in w for w in result.warnings)
    assert "l1:l3:l4" not in result.model
    with pytest.raises(EstimationError, match="has no finite estimate for this table"):
        estimate(_table("hiv"), EstimateSettings(model="l1:l3:l4"))


def _independent_profile(table: OverlapTable, model: LogLinearModel, total: float) -> float:
    """The profile log-likelihood at N by direct numerical maximisation (no IRLS)."""
    patterns = np.vstack([np.zeros((1, table.n_lists), dtype=np.int64), table.pattern_array()])
    design = model.design(patterns)[:, 1:]  # the intercept is absorbed by normalising
    y = table.count_array().astype(float)
    cells = np.concatenate(([total - y.sum()], y))

    def negative(beta: np.ndarray) -> float:
        eta = design @ beta
        return -float(cells @ (eta - logsumexp(eta)))

    best = optimize.minimize(negative, np.zeros(design.shape[1]), method="BFGS",
                             options={"gtol": 1e-9})
    return float(gammaln(total + 1) - gammaln(total - y.sum() + 1) - gammaln(y + 1).sum()
                 - best.fun)


def test_profile_interval_ends_are_where_the_likelihood_drops_by_the_chi_square_quantile(
) -> None:
    table = _table("spina_bifida")
    model = LogLinearModel.parse("l1:l2 + l2:l3", table.lists)
    patterns, y = table.pattern_array(), table.count_array()
    fitted = fit_model(patterns, y, model)
    lower, upper = profile_interval(patterns, y, model, fitted.total, 0.95)
    assert upper is not None
    peak = -optimize.minimize_scalar(
        lambda n: -_independent_profile(table, model, n),
        bounds=(fitted.total - 20, fitted.total + 20), method="bounded").fun
    quantile = stats.chi2.ppf(0.95, 1)
    for end in (lower, upper):
        drop = 2 * (peak - _independent_profile(table, model, end))
        assert drop == pytest.approx(quantile, abs=0.01)


def test_two_lists_give_lincoln_petersen_and_a_warning() -> None:
    table = OverlapTable(("a", "b"), (120, 80, 40))  # (0,1), (1,0), (1,1)
    result = estimate(table)
    on_a, on_b, both = 80 + 40, 120 + 40, 40
    assert result.estimate == pytest.approx(on_a * on_b / both, rel=1e-9)
    assert result.model == "independence"
    assert any("two lists" in w and "cannot be checked" in w for w in result.warnings)


def test_data_warnings_small_lists_zero_cells_and_dependence() -> None:
    hiv = estimate(_table("hiv"), EstimateSettings(model="independence"))
    assert any("2 of 15 capture patterns have no records (l1+l3+l4, l1+l2+l3+l4)" in w
               for w in hiv.warnings)
    assert any("of the estimated total were on no list" in w for w in hiv.warnings)
    spina = estimate(_table("spina_bifida"), EstimateSettings(model="independence"))
    assert any(w.startswith("the lists are not independent") for w in spina.warnings)
    small = OverlapTable.from_cells(("a", "b", "c"), {(1, 0, 0): 200, (0, 1, 0): 150,
                                                      (1, 1, 0): 60, (0, 0, 1): 3,
                                                      (1, 0, 1): 4, (0, 1, 1): 2})
    result = estimate(small, EstimateSettings(model="independence"))
    assert any("list 'c' has fewer than 30 records" in w for w in result.warnings)
    assert not any("list 'a'" in w for w in result.warnings)


def test_empty_list_is_dropped_and_too_few_lists_is_an_error() -> None:
    table = OverlapTable.from_cells(("a", "b", "c"), {(1, 0, 0): 50, (0, 1, 0): 40,
                                                      (1, 1, 0): 10})
    result = estimate(table)
    assert result.lists == ("a", "b")
    assert any("list(s) c have no records" in w for w in result.warnings)
    lone = OverlapTable.from_cells(("a", "b"), {(1, 0): 5})
    with pytest.raises(EstimationError, match="only 1 list has records"):
        estimate(lone)


def test_stepwise_search_beyond_five_lists() -> None:
    rng = np.random.default_rng(6)
    probabilities = latent_class_probabilities([1.0], [[0.3, 0.25, 0.2, 0.35, 0.3, 0.25]])
    table = draw_table(1500, probabilities, rng)
    result = estimate(table, EstimateSettings(criterion=Criterion.BIC))
    assert "stepwise search" in str(result.details["selection"])
    assert result.lower is not None and result.upper is not None
    assert result.lower <= 1500 <= result.upper


@pytest.mark.parametrize(("n_lists", "count"), [(2, 1), (3, 8), (4, 113)])
def test_number_of_hierarchical_models(n_lists: int, count: int) -> None:
    models = all_hierarchical_models([f"l{j}" for j in range(n_lists)])
    assert len(models) == len(set(models)) == count
    for model in models:
        for term in model.terms:
            assert 2 <= len(term) < n_lists
            for sub in itertools.combinations(sorted(term), len(term) - 1):
                assert len(sub) < 2 or frozenset(sub) in model.terms


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=3, max_value=6).flatmap(
    lambda j: st.tuples(st.just(j), st.lists(
        st.sets(st.integers(min_value=0, max_value=j - 1), min_size=2, max_size=j - 1),
        max_size=4))))
def test_model_names_parse_back(case: tuple[int, list[set[int]]]) -> None:
    n_lists, generators = case
    lists = [f"list{j}" for j in range(n_lists)]
    model = LogLinearModel.from_generators(lists, generators)
    assert LogLinearModel.parse(model.describe(), lists) == model


def test_model_parse_errors() -> None:
    lists = ["a", "b", "c"]
    with pytest.raises(EstimationError, match="unknown list 'd' in model term 'a:d'"):
        LogLinearModel.parse("a:d", lists)
    with pytest.raises(EstimationError, match="joins all 3 lists"):
        LogLinearModel.parse("a:b:c", lists)
    with pytest.raises(EstimationError, match="no terms"):
        LogLinearModel.parse(" , ", lists)
    assert LogLinearModel.parse("a, b:c", lists).describe() == "b:c"
    assert LogLinearModel.parse("two-way", lists) == LogLinearModel.all_two_way(lists)


def test_batched_bootstrap_refits_match_one_at_a_time_fits() -> None:
    table = _table("hiv")
    patterns, y = table.pattern_array(), table.count_array()
    fitted = fit_model(patterns, y, LogLinearModel.all_two_way(table.lists))
    totals = bootstrap_totals(patterns, fitted, 200, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    full = np.concatenate(([fitted.unobserved], fitted.fit.mu))
    cells = rng.multinomial(round(fitted.total), full / full.sum(), size=200)[:, 1:]
    design = fitted.model.design(patterns)
    for total, replicate in zip(totals, cells, strict=True):
        fit = fit_poisson(design, replicate, start=fitted.fit.beta)
        if fit.converged:
            assert total == pytest.approx(replicate.sum() + math.exp(fit.beta[0]), rel=1e-9)
        else:
            assert math.isnan(total)
    assert np.isnan(totals).sum() < 20
