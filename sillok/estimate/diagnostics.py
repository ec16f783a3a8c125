"""Convergence diagnostics for Markov chains: split R-hat and effective sample size.

Both follow Gelman et al., Bayesian Data Analysis (3rd ed., ch. 11) as used by Stan: R-hat
compares the spread between and within half-chains; the effective sample size sums
autocorrelations pooled over chains, truncated by Geyer's initial monotone sequence.
"""

from __future__ import annotations

import numpy as np


def split_rhat(chains: np.ndarray) -> float | None:
    """Split R-hat of an (M chains, S draws) array; None with fewer than 4 draws per chain.

    Values near 1 mean the chains agree; above about 1.05 they have not mixed.
    """
    draws = np.asarray(chains, dtype=float)
    if draws.ndim != 2 or draws.shape[1] < 4:
        return None
    half = draws.shape[1] // 2
    halves = np.vstack([draws[:, :half], draws[:, -half:]])
    n = halves.shape[1]
    within = float(halves.var(axis=1, ddof=1).mean())
    between = float(n * halves.mean(axis=1).var(ddof=1))
    if within == 0.0:
        return 1.0 if between == 0.0 else float("inf")
    pooled = (n - 1) / n * within + between / n
    return float(np.sqrt(pooled / within))


def effective_sample_size(chains: np.ndarray) -> float | None:
    """Effective sample size of an (M chains, S draws) array (None with fewer than 4 draws).

    The number of independent draws that would estimate the mean as precisely.
    """
    draws = np.asarray(chains, dtype=float)
    if draws.ndim != 2 or draws.shape[1] < 4:
        return None
    n_chains, n = draws.shape
    autocov = np.array([_autocovariance(chain) for chain in draws])
    within = float(autocov[:, 0].mean() * n / (n - 1))
    pooled = within * (n - 1) / n
    if n_chains > 1:
        pooled += float(draws.mean(axis=1).var(ddof=1))
    if pooled <= 0.0:
        return float(n_chains * n)
    rho = 1.0 - (within - autocov.mean(axis=0)) / pooled
    rho[0] = 1.0
    # Geyer: sum adjacent pairs while positive, forcing them to decrease
    pair_sums = []
    previous = np.inf
    for t in range(0, n - 1, 2):
        pair = rho[t] + rho[t + 1]
        if pair <= 0.0:
            break
        pair = min(pair, previous)
        pair_sums.append(pair)
        previous = pair
    tau = -1.0 + 2.0 * float(sum(pair_sums))
    tau = max(tau, 1.0 / np.log10(max(n_chains * n, 10)))
    return float(n_chains * n / tau)


def _autocovariance(chain: np.ndarray) -> np.ndarray:
    """Autocovariances at every lag (divided by n), through the FFT."""
    n = len(chain)
    centred = chain - chain.mean()
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(centred, size)
    return np.fft.irfft(spectrum * np.conjugate(spectrum), size)[:n].real / n
