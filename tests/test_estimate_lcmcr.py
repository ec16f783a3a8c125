"""LCMCR: the Gibbs sampler against exact posteriors and simulated truths; diagnostics."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.special import betaln, gammaln

from sillok.estimate import (
    EstimateSettings,
    EstimationError,
    Method,
    OverlapTable,
    estimate,
    read_overlap_csv,
)
from sillok.estimate.diagnostics import effective_sample_size, split_rhat
from sillok.estimate.lcmcr_sampler import run_chain
from sillok.estimate.simulate import draw_table, latent_class_probabilities

DATA = Path(__file__).parent / "data" / "mse"


def _exact_one_class_quantiles(table: OverlapTable, qs: list[float]) -> np.ndarray:
    """With K=1 the posterior of N has a closed form: lists independent, Beta(1,1), 1/N."""
    n = table.observed
    on_list = np.array(list(table.list_totals().values()))
    totals = np.arange(n, 30 * n)
    log_post = (-np.log(totals) + gammaln(totals + 1) - gammaln(totals - n + 1)
                + sum(betaln(k + 1, totals - k + 1) for k in on_list))
    cdf = np.cumsum(np.exp(log_post - log_post.max()))
    cdf /= cdf[-1]
    return np.array([totals[np.searchsorted(cdf, q)] for q in qs])


@pytest.mark.parametrize("name", ["spina_bifida", "hiv"])
def test_one_class_sampler_matches_the_exact_posterior(name: str) -> None:
    table = read_overlap_csv(DATA / f"{name}.csv")
    qs = [0.025, 0.5, 0.975]
    exact = _exact_one_class_quantiles(table, qs)
    draws, _, _ = run_chain(table.pattern_array(), table.count_array(), 1, 0.25, 0.25,
                            1000, 20000, 3, seed=11)
    assert np.quantile(draws, qs) == pytest.approx(exact, rel=0.012)


def test_plain_python_kernel_samples_the_same_posterior() -> None:
    table = read_overlap_csv(DATA / "spina_bifida.csv")
    exact = _exact_one_class_quantiles(table, [0.5])[0]
    draws, _, _ = run_chain(table.pattern_array(), table.count_array(), 1, 0.25, 0.25,
                            200, 1500, 2, seed=5, compiled=False)
    assert np.median(draws) == pytest.approx(exact, rel=0.01)
    state = np.random.get_state()[1][:4].copy()  # type: ignore[index]
    run_chain(table.pattern_array(), table.count_array(), 2, 0.25, 0.25, 5, 5, 1, seed=1,
              compiled=False)
    assert (np.random.get_state()[1][:4] == state).all()  # type: ignore[index]


FAST = EstimateSettings(method=Method.LCMCR, burnin=4000, samples=800, thinning=10, chains=2)


def test_fixed_seed_reproduces_the_chains_and_another_seed_does_not() -> None:
    table = read_overlap_csv(DATA / "spina_bifida.csv")
    first = estimate(table, replace(FAST, seed=42))
    again = estimate(table, replace(FAST, seed=42))
    other = estimate(table, replace(FAST, seed=43))
    assert first.draws is not None and again.draws is not None and other.draws is not None
    assert np.array_equal(first.draws, again.draws)
    assert (first.estimate, first.lower, first.upper) == (again.estimate, again.lower,
                                                          again.upper)
    assert not np.array_equal(first.draws, other.draws)
    assert first.details["seed"] == 42
    assert first.interval == "95% posterior credible interval (equal-tailed)"


def test_unseeded_runs_report_their_seed() -> None:
    table = read_overlap_csv(DATA / "spina_bifida.csv")
    result = estimate(table, FAST)
    seed = result.details["seed"]
    assert isinstance(seed, int)
    rerun = estimate(table, replace(FAST, seed=seed))
    assert result.draws is not None and rerun.draws is not None
    assert np.array_equal(result.draws, rerun.draws)


def test_intervals_cover_the_truth_on_data_from_the_latent_class_model() -> None:
    # two classes with moderate capture, the kind of heterogeneity LCMCR is built for
    probabilities = latent_class_probabilities(
        [0.3, 0.7], [[0.70, 0.60, 0.70, 0.60], [0.30, 0.30, 0.25, 0.35]])
    rng = np.random.default_rng(2016)
    covered = []
    for replicate in range(5):
        table = draw_table(1000, probabilities, rng)
        result = estimate(table, replace(FAST, seed=replicate))
        assert result.lower is not None and result.upper is not None
        covered.append(result.lower <= 1000 <= result.upper)
    assert sum(covered) >= 4, covered


def test_intervals_cover_the_truth_when_parameters_come_from_the_prior() -> None:
    rng = np.random.default_rng(72)
    covered = []
    for replicate in range(5):
        alpha = rng.gamma(0.25, 4.0)
        sticks = rng.beta(1.0, max(alpha, 1e-3), 10)
        sticks[-1] = 1.0
        weights = sticks * np.concatenate(([1.0], np.cumprod(1 - sticks[:-1])))
        probabilities = latent_class_probabilities(weights / weights.sum(),
                                                   rng.uniform(size=(10, 4)))
        table = draw_table(800, probabilities, rng)
        result = estimate(table, replace(FAST, seed=replicate))
        assert result.lower is not None and result.upper is not None
        covered.append(result.lower <= 800 <= result.upper)
    assert sum(covered) >= 4, covered


def test_sampler_warnings() -> None:
    table = read_overlap_csv(DATA / "spina_bifida.csv")
    one_chain = estimate(table, EstimateSettings(method=Method.LCMCR, seed=1, burnin=500,
                                                 samples=50, thinning=1, chains=1, classes=2))
    text = " | ".join(one_chain.warnings)
    assert "one chain only" in text
    assert "effective sample size" in text
    assert "all K=2 classes" in text
    assert "three lists" in text
    assert one_chain.details["rhat"] is None


def test_two_lists_are_refused() -> None:
    with pytest.raises(EstimationError, match="at least three lists"):
        estimate(OverlapTable(("a", "b"), (10, 20, 5)),
                 EstimateSettings(method=Method.LCMCR, seed=1))


def test_rhat_and_ess_on_known_chains() -> None:
    rng = np.random.default_rng(0)
    iid = rng.normal(size=(4, 2000))
    rhat = split_rhat(iid)
    ess = effective_sample_size(iid)
    assert rhat is not None and ess is not None
    assert rhat < 1.01
    assert ess == pytest.approx(8000, rel=0.15)
    shifted = iid + np.array([[0.0], [0.0], [0.0], [3.0]])
    shifted_rhat = split_rhat(shifted)
    assert shifted_rhat is not None and shifted_rhat > 1.2
    phi = 0.9
    ar = np.zeros((2, 20000))
    noise = rng.normal(size=ar.shape)
    for t in range(1, ar.shape[1]):
        ar[:, t] = phi * ar[:, t - 1] + noise[:, t]
    ar_ess = effective_sample_size(ar)
    assert ar_ess == pytest.approx(40000 * (1 - phi) / (1 + phi), rel=0.3)
    assert split_rhat(np.zeros((2, 3))) is None
