"""Benchmark of multiple systems estimation: bias and coverage by simulation, LCMCR speed.

Prints one JSON object. Simulation: populations of known size drawn from three models
(independent lists, heterogeneous capture from latent classes, list dependence), estimated by
log-linear models (AIC, BIC) and LCMCR; reports bias and the coverage of the 95% intervals.
Speed: LCMCR Gibbs sweeps per second on a 4-list table of about 4,400 people with K=10.

Usage: .venv/bin/python bench/bench_estimate.py [--replicates 200] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from sillok.estimate import Criterion, EstimateSettings, Method, OverlapTable, estimate
from sillok.estimate.lcmcr_sampler import has_numba, run_chain
from sillok.estimate.loglinear import profile_interval, select_model
from sillok.estimate.simulate import (
    draw_table,
    latent_class_probabilities,
    loglinear_probabilities,
)

TRUE_TOTAL = 2000
LEVEL = 0.95


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _prior_draw(rng: np.random.Generator) -> np.ndarray:
    """Class weights and capture probabilities drawn from LCMCR's own prior (K=10)."""
    alpha = rng.gamma(0.25, 1 / 0.25)
    sticks = rng.beta(1.0, max(alpha, 1e-3), 10)
    sticks[-1] = 1.0
    weights = sticks * np.concatenate(([1.0], np.cumprod(1 - sticks[:-1])))
    return latent_class_probabilities(weights / weights.sum(), rng.uniform(size=(10, 4)))


# each scenario maps a generator to the pattern probabilities of one replicate's population
SCENARIOS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "independent lists": lambda rng: latent_class_probabilities(
        [1.0], [[0.30, 0.25, 0.20, 0.35]]),
    "heterogeneous latent classes": lambda rng: latent_class_probabilities(
        [0.3, 0.7], [[0.70, 0.60, 0.70, 0.60], [0.30, 0.30, 0.25, 0.35]]),
    "hidden low-capture class": lambda rng: latent_class_probabilities(
        [0.35, 0.65], [[0.50, 0.45, 0.40, 0.50], [0.10, 0.08, 0.12, 0.10]]),
    "list dependence": lambda rng: loglinear_probabilities(
        [_logit(p) for p in (0.30, 0.25, 0.20, 0.35)], {(0, 1): 1.0, (2, 3): -0.7}),
    "drawn from the LCMCR prior": _prior_draw,
}


def _loglinear(table: OverlapTable) -> dict[str, tuple[float, float, float]]:
    """AIC and BIC choices from one model search, each with its profile interval."""
    patterns, y = table.pattern_array(), table.count_array()
    selection = select_model(patterns, y, table.lists, Criterion.AIC)
    good = [f for f in selection.fits if f.estimable]
    out = {}
    for criterion in Criterion:
        best = min(good, key=lambda f: f.criterion(criterion))
        lower, upper = profile_interval(patterns, y, best.model, best.total, LEVEL)
        out[f"loglinear ({criterion.value.upper()})"] = (
            best.total, lower, np.inf if upper is None else upper)
    return out


def simulate(args: argparse.Namespace) -> dict[str, Any]:
    """Bias and coverage per scenario and method."""
    lcmcr = EstimateSettings(method=Method.LCMCR, burnin=args.burnin, samples=args.samples,
                             thinning=args.thinning, chains=args.chains, classes=10)
    out: dict[str, Any] = {}
    for s_index, (scenario, population) in enumerate(SCENARIOS.items()):
        rng = np.random.default_rng([20240601, s_index])
        tables = [draw_table(TRUE_TOTAL, population(rng), rng) for _ in range(args.replicates)]
        runs: dict[str, list[tuple[float, float, float]]] = {}
        seconds: dict[str, float] = {"loglinear": 0.0, "lcmcr": 0.0}
        low_ess = 0
        for r, table in enumerate(tables):
            started = time.perf_counter()
            for name, triple in _loglinear(table).items():
                runs.setdefault(name, []).append(triple)
            seconds["loglinear"] += time.perf_counter() - started
            started = time.perf_counter()
            result = estimate(table, replace(lcmcr, seed=r))
            seconds["lcmcr"] += time.perf_counter() - started
            assert result.estimate is not None and result.lower is not None
            upper = np.inf if result.upper is None else result.upper
            runs.setdefault("lcmcr", []).append((result.estimate, result.lower, upper))
            ess = result.details.get("ess")
            if isinstance(ess, int | float) and ess < 100:
                low_ess += 1
        out[scenario] = {
            "true_total": TRUE_TOTAL,
            "mean_observed": round(float(np.mean([t.observed for t in tables])), 1),
            "methods": {name: _summary(triples) for name, triples in runs.items()},
            "seconds": {k: round(v, 1) for k, v in seconds.items()},
            "lcmcr_runs_with_ess_under_100": low_ess,
        }
    return out


def _summary(triples: list[tuple[float, float, float]]) -> dict[str, Any]:
    values = np.array([t[0] for t in triples])
    covered = [lo <= TRUE_TOTAL <= hi for _, lo, hi in triples]
    widths = [hi - lo for _, lo, hi in triples]
    return {
        "replicates": len(values),
        "mean_estimate": round(float(values.mean()), 1),
        "bias": round(float(values.mean() - TRUE_TOTAL), 1),
        "relative_bias": round(float(values.mean() / TRUE_TOTAL - 1), 4),
        "rmse": round(float(np.sqrt(np.mean((values - TRUE_TOTAL) ** 2))), 1),
        "coverage_95": round(float(np.mean(covered)), 3),
        "median_interval_width": round(float(np.median(widths)), 1),
        "unbounded_intervals": int(np.sum(np.isinf(widths))),
    }


def speed(repeats: int = 3) -> dict[str, Any]:
    """LCMCR sweeps per second (K=10) on a synthetic 4-list table of about 4,400 people."""
    rng = np.random.default_rng(4400)
    probabilities = latent_class_probabilities(
        [0.4, 0.6], [[0.45, 0.35, 0.30, 0.40], [0.12, 0.10, 0.15, 0.08]])
    table = draw_table(8000, probabilities, rng)
    patterns, counts = table.pattern_array(), table.count_array()
    run_chain(patterns, counts, 10, 0.25, 0.25, 100, 10, 1, 1)  # compile outside the clock
    sweeps = 300_000
    rates, cpu_rates = [], []
    for seed in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        run_chain(patterns, counts, 10, 0.25, 0.25, 0, sweeps // 10, 10, seed)
        rates.append(sweeps / (time.perf_counter() - started))
        # CPU time too: on a shared machine, wall time also counts other people's work
        cpu_rates.append(sweeps / (time.process_time() - cpu_started))
    python_sweeps = 2_000
    started = time.perf_counter()
    run_chain(patterns, counts, 10, 0.25, 0.25, 0, python_sweeps, 1, 0, compiled=False)
    python_rate = python_sweeps / (time.perf_counter() - started)
    rate = float(np.median(rates))
    return {
        "table_people": table.observed,
        "lists": table.n_lists,
        "K": 10,
        "sweeps_per_run": sweeps,
        "iterations_per_second": round(rate),
        "iterations_per_second_runs": [round(r) for r in rates],
        "iterations_per_cpu_second": round(float(np.median(cpu_rates))),
        "reference_r_package_iterations_per_second": 85_000,
        "ratio_to_reference": round(rate / 85_000, 2),
        "compiled_with_numba": has_numba(),
        "plain_python_iterations_per_second": round(python_rate),
    }


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--burnin", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--thinning", type=int, default=20)
    parser.add_argument("--chains", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="20 replicates, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.replicates = 20
    started, cpu_started = time.perf_counter(), time.process_time()
    report: dict[str, Any] = {
        "benchmark": "estimate",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "speed": speed(),
        "simulation": {
            "replicates_per_scenario": args.replicates,
            "lcmcr_settings": {"burnin": args.burnin, "samples": args.samples,
                               "thinning": args.thinning, "chains": args.chains, "K": 10},
            "scenarios": simulate(args),
        },
    }
    report["elapsed_seconds"] = round(time.perf_counter() - started, 1)
    report["cpu_seconds"] = round(time.process_time() - cpu_started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
