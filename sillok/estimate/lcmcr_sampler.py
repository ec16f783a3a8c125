"""The Gibbs sampler of the latent-class model for population size (LCMCR).

Written from Manrique-Vallier (2016), "Bayesian population size estimation using Dirichlet
process mixtures", Biometrics 72(4): 1246-1254. Each person belongs to one of K latent classes;
within class k, list j records them independently with probability lambda_jk. Class weights pi
follow a stick-breaking prior truncated at K classes with concentration alpha ~ Gamma(a, b);
lambda_jk ~ Beta(1, 1); the total N has the improper prior p(N) proportional to 1/N.

The sampler works on the aggregated table, not on individuals: the people of one capture pattern
are exchangeable, so their class labels are drawn at once as a multinomial over classes. One
sweep:

1. for each observed pattern with n_c people, class counts ~ Multinomial(n_c, w), with
   w_k proportional to pi_k prod_j lambda_jk^x_j (1 - lambda_jk)^(1 - x_j);
2. the number never recorded, n0 | lambda, pi ~ NegativeBinomial(n, 1 - p0), with
   p0 = sum_k pi_k prod_j (1 - lambda_jk) (the 1/N prior makes this exact), and their class
   counts ~ Multinomial(n0, pi_k prod_j (1 - lambda_jk) / p0);
3. lambda_jk ~ Beta(1 + recorded_jk, 1 + n_k - recorded_jk), counting the unrecorded too;
4. stick fractions V_k ~ Beta(1 + n_k, alpha + sum_{l>k} n_l) for k < K, V_K = 1;
5. alpha ~ Gamma(a + K - 1, rate b - sum_{k<K} log(1 - V_k)).

The kernel is compiled with numba when it is installed (``pip install sillok[fast]``) and runs
as plain Python otherwise, about a hundred times slower. Seeds reproduce a chain within one
backend; numba and plain Python draw different streams.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

import numpy as np

# V_k = 1 exactly would make log(1 - V_k) infinite and alpha zero
_MAX_STICK = 1.0 - 1e-12

numba: Any
try:
    import numba
except ImportError:  # the optional "fast" extra is not installed
    numba = None


def _jit(function: Callable[..., Any]) -> Callable[..., Any]:
    if numba is None:
        return function
    # compiled on first call and cached on disk, so importing stays cheap
    compiled: Callable[..., Any] = numba.njit(cache=True, nogil=True)(function)
    return compiled


def has_numba() -> bool:
    """Whether the sampler runs compiled (numba installed)."""
    return numba is not None


@_jit
def _draw_multinomial(total: int, weights: np.ndarray, weight_sum: float, out: np.ndarray
                      ) -> None:
    """Split ``total`` over classes by conditional binomials (out is overwritten)."""
    remaining = total
    rest = weight_sum
    last = out.shape[0] - 1
    for k in range(last + 1):
        if remaining == 0:
            out[k] = 0
            continue
        if k == last:
            out[k] = remaining
            remaining = 0
            continue
        share = weights[k] / rest if rest > 0.0 else 1.0
        if share >= 1.0:
            x = remaining
        elif share <= 0.0:
            x = 0
        else:
            x = np.random.binomial(remaining, share)
        out[k] = x
        remaining -= x
        rest -= weights[k]


@_jit
def _chain(patterns: np.ndarray, counts: np.ndarray, classes: int, alpha_shape: float,
           alpha_rate: float, burnin: int, samples: int, thinning: int, seed: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run one chain; return kept draws of N, alpha and the number of occupied classes."""
    np.random.seed(seed)
    n_cells, n_lists = patterns.shape
    observed = 0
    for c in range(n_cells):
        observed += counts[c]
    lam = np.empty((n_lists, classes))
    for j in range(n_lists):
        for k in range(classes):
            lam[j, k] = np.random.beta(1.0, 1.0)
    alpha = 1.0
    pi = np.empty(classes)
    rest = 1.0
    for k in range(classes - 1):
        v = min(np.random.beta(1.0, alpha), _MAX_STICK)
        pi[k] = v * rest
        rest *= 1.0 - v
    pi[classes - 1] = rest

    weights = np.empty(classes)
    split = np.zeros(classes, dtype=np.int64)
    class_total = np.zeros(classes, dtype=np.int64)
    recorded = np.zeros((n_lists, classes), dtype=np.int64)
    keep_n = np.empty(samples, dtype=np.int64)
    keep_alpha = np.empty(samples)
    keep_occupied = np.empty(samples, dtype=np.int64)
    kept = 0
    for sweep in range(burnin + samples * thinning):
        class_total[:] = 0
        recorded[:, :] = 0
        # 1. class counts of the observed, pattern by pattern
        for c in range(n_cells):
            if counts[c] == 0:
                continue
            weight_sum = 0.0
            for k in range(classes):
                w = pi[k]
                for j in range(n_lists):
                    if patterns[c, j] == 1:
                        w *= lam[j, k]
                    else:
                        w *= 1.0 - lam[j, k]
                weights[k] = w
                weight_sum += w
            _draw_multinomial(counts[c], weights, weight_sum, split)
            for k in range(classes):
                if split[k] > 0:
                    class_total[k] += split[k]
                    for j in range(n_lists):
                        if patterns[c, j] == 1:
                            recorded[j, k] += split[k]
        # 2. the unobserved: how many, then their classes
        p_missed = 0.0
        for k in range(classes):
            w = pi[k]
            for j in range(n_lists):
                w *= 1.0 - lam[j, k]
            weights[k] = w
            p_missed += w
        p_missed = min(p_missed, _MAX_STICK)
        missed = np.random.negative_binomial(observed, 1.0 - p_missed)
        _draw_multinomial(missed, weights, p_missed, split)
        for k in range(classes):
            class_total[k] += split[k]
        # 3. capture probabilities
        for j in range(n_lists):
            for k in range(classes):
                lam[j, k] = np.random.beta(1.0 + recorded[j, k],
                                           1.0 + class_total[k] - recorded[j, k])
        # 4. class weights by stick breaking
        tail = observed + missed
        rest = 1.0
        log_rest = 0.0
        for k in range(classes - 1):
            tail -= class_total[k]
            v = min(np.random.beta(1.0 + class_total[k], alpha + tail), _MAX_STICK)
            pi[k] = v * rest
            rest *= 1.0 - v
            log_rest += math.log(1.0 - v)
        pi[classes - 1] = rest
        # 5. concentration
        alpha = np.random.gamma(alpha_shape + classes - 1, 1.0 / (alpha_rate - log_rest))
        if sweep >= burnin and (sweep - burnin + 1) % thinning == 0:
            occupied = 0
            for k in range(classes):
                if class_total[k] > 0:
                    occupied += 1
            keep_n[kept] = observed + missed
            keep_alpha[kept] = alpha
            keep_occupied[kept] = occupied
            kept += 1
    return keep_n, keep_alpha, keep_occupied


def run_chain(patterns: np.ndarray, counts: np.ndarray, classes: int, alpha_shape: float,
              alpha_rate: float, burnin: int, samples: int, thinning: int, seed: int,
              compiled: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run one LCMCR chain on the aggregated table.

    Args:
        patterns: (cells, J) 0/1 int64 matrix of observed patterns.
        counts: int64 counts per pattern.
        classes: truncation K.
        alpha_shape: a of the Gamma(a, b) prior on alpha.
        alpha_rate: b of that prior.
        burnin: sweeps discarded.
        samples: draws kept.
        thinning: sweeps per kept draw.
        seed: a 32-bit seed for this chain.
        compiled: False forces the plain-Python kernel (for checks against the compiled one).

    Returns:
        Draws of the total N, of alpha, and of the number of occupied classes.
    """
    patterns = np.ascontiguousarray(patterns, dtype=np.int64)
    counts = np.ascontiguousarray(counts, dtype=np.int64)
    args = (patterns, counts, int(classes), float(alpha_shape), float(alpha_rate), int(burnin),
            int(samples), int(thinning), int(seed) % 2**32)
    if numba is None:
        return _seeded_python(_chain, args)
    if compiled:
        result: tuple[np.ndarray, np.ndarray, np.ndarray] = _chain(*args)
        return result
    # the plain-Python twin of the compiled kernel, calling the plain multinomial too
    plain = types.FunctionType(
        getattr(_chain, "py_func").__code__,  # noqa: B009 - numba dispatchers only
        {**globals(), "_draw_multinomial": getattr(_draw_multinomial, "py_func")},  # noqa: B009
    )
    return _seeded_python(plain, args)


def _seeded_python(kernel: Callable[..., Any], args: tuple[Any, ...]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # the plain kernel seeds numpy's global generator: leave it as we found it
    state = np.random.get_state()
    try:
        result: tuple[np.ndarray, np.ndarray, np.ndarray] = kernel(*args)
        return result
    finally:
        np.random.set_state(state)
