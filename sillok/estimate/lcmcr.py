"""The Bayesian latent-class model (LCMCR) estimate: chains, summary and diagnostics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sillok.messages import Message

from .caveats import extrapolation_warning
from .diagnostics import effective_sample_size, split_rhat
from .lcmcr_sampler import has_numba, run_chain
from .results import EstimateResult, EstimationError
from .settings import EstimateSettings

RHAT_LIMIT = 1.05
ESS_LIMIT = 200


def chain_seeds(seed: int, chains: int) -> list[int]:
    """Independent 32-bit seeds for each chain, derived from one seed."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(chains)]


def estimate_lcmcr(patterns: np.ndarray, y: np.ndarray, lists: Sequence[str],
                   settings: EstimateSettings, seed: int, base_warnings: Sequence[str]
                   ) -> EstimateResult:
    """Estimate the total with the latent-class model; the draws are kept on the result.

    The estimate is the posterior median of N and the interval the equal-tailed posterior
    credible interval, pooled over chains.

    Raises:
        EstimationError: fewer than three lists (the model is not identified with two).
    """
    if len(lists) < 3:
        raise EstimationError(
            f"the latent-class model needs at least three lists, got {len(lists)}: "
            "with two lists heterogeneity cannot be told from the total; use --method loglinear"
        )
    runs = [
        run_chain(patterns, y, settings.classes, settings.alpha_shape, settings.alpha_rate,
                  settings.burnin, settings.samples, settings.thinning, chain_seed)
        for chain_seed in chain_seeds(seed, settings.chains)
    ]
    totals = np.array([r[0] for r in runs], dtype=float)
    alphas = np.array([r[1] for r in runs])
    occupied = np.array([r[2] for r in runs])
    pooled = totals.ravel()
    tail = (1.0 - settings.level) / 2.0
    lower, median, upper = np.quantile(pooled, [tail, 0.5, 1.0 - tail])
    rhat = split_rhat(totals) if settings.chains > 1 else None
    ess = effective_sample_size(totals)
    observed = int(y.sum())
    warnings = list(base_warnings)
    warnings.extend(_sampler_warnings(settings, rhat, ess, occupied, len(lists)))
    note = extrapolation_warning(float(median), observed)
    if note:
        warnings.append(note)
    details: dict[str, object] = {
        "posterior_mean": round(float(pooled.mean()), 2),
        "posterior_sd": round(float(pooled.std(ddof=1)), 2) if pooled.size > 1 else None,
        "rhat": None if rhat is None else round(rhat, 4),
        "ess": None if ess is None else round(ess),
        "chains": settings.chains, "samples": settings.samples, "burnin": settings.burnin,
        "thinning": settings.thinning, "K": settings.classes,
        "alpha_prior": [settings.alpha_shape, settings.alpha_rate],
        "alpha_mean": round(float(alphas.mean()), 4),
        "occupied_classes_mean": round(float(occupied.mean()), 2),
        "seed": seed, "sampler": "numba" if has_numba() else "python",
    }
    model = (f"latent-class model (LCMCR), K={settings.classes}, "
             f"Gamma({settings.alpha_shape:g}, {settings.alpha_rate:g}) prior on alpha")
    return EstimateResult(
        method="lcmcr", estimate=float(median), lower=float(lower), upper=float(upper),
        observed=observed, model=model, warnings=tuple(warnings),
        interval=Message(
            "{level:.0%} posterior credible interval (equal-tailed)", level=settings.level
        ),
        lists=tuple(lists), details=details, draws=pooled,
    )


def _sampler_warnings(settings: EstimateSettings, rhat: float | None, ess: float | None,
                      occupied: np.ndarray, n_lists: int) -> list[str]:
    warnings: list[str] = []
    if settings.chains == 1:
        warnings.append(Message("one chain only: R-hat needs two or more (--chains)"))
    if rhat is not None and rhat > RHAT_LIMIT:
        warnings.append(Message(
            "the chains disagree (R-hat {rhat:.2f} > {limit}): they have not converged; "
            "raise --burnin and --samples", rhat=rhat, limit=RHAT_LIMIT,
        ))
    if ess is not None and ess < ESS_LIMIT:
        warnings.append(Message(
            "effective sample size {ess:.0f} is under {limit}: the interval's ends are "
            "imprecise; raise --samples or --thinning", ess=ess, limit=ESS_LIMIT,
        ))
    if settings.classes > 1 and np.quantile(occupied, 0.95) >= settings.classes:
        warnings.append(Message(
            "the sampler often used all K={classes} classes: raise --K", classes=settings.classes
        ))
    if n_lists == 3:
        warnings.append(Message(
            "with three lists the latent-class model is weakly identified: the estimate "
            "leans on the prior; compare with the log-linear estimate"
        ))
    return warnings
