"""Settings for an estimate, in one dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sillok.errors import InvalidInput


class Method(StrEnum):
    """Estimation methods."""

    LOGLINEAR = "loglinear"
    LCMCR = "lcmcr"


class Criterion(StrEnum):
    """Information criteria for choosing a log-linear model."""

    AIC = "aic"
    BIC = "bic"


class SettingsError(InvalidInput, ValueError):
    """A setting is out of range; the message names it."""


@dataclass(frozen=True)
class EstimateSettings:
    """How to estimate.

    Args:
        method: log-linear models or the latent-class model (LCMCR).
        criterion: AIC or BIC, for choosing a log-linear model.
        model: log-linear terms named by hand (``"l1:l2 + l3:l4"``, ``"independence"``,
            ``"two-way"``); None searches the hierarchical models.
        level: the interval's coverage (0.95 for a 95% interval).
        seed: random seed (LCMCR chains, bootstraps); None draws one and reports it.
        samples: LCMCR posterior draws kept per chain.
        burnin: LCMCR iterations discarded at the start of each chain.
        thinning: LCMCR iterations per kept draw.
        chains: LCMCR chains (two or more for R-hat).
        classes: LCMCR truncation K (the most latent classes allowed).
        alpha_shape: shape a of the Gamma(a, b) prior on the stick-breaking concentration.
        alpha_rate: rate b of that prior.
        bootstrap: parametric bootstrap replicates for a log-linear total over strata.
        threshold: counts under this are never published (small-cell protection).
        small_list: a list with fewer records than this draws a warning.
    """

    method: Method = Method.LOGLINEAR
    criterion: Criterion = Criterion.AIC
    model: str | None = None
    level: float = 0.95
    seed: int | None = None
    samples: int = 1000
    burnin: int = 10000
    thinning: int = 10
    chains: int = 3
    classes: int = 10
    alpha_shape: float = 0.25
    alpha_rate: float = 0.25
    bootstrap: int = 1000
    threshold: int = 5
    small_list: int = 30

    def __post_init__(self) -> None:
        if not 0.5 <= self.level < 1:
            raise SettingsError(f"level must be in [0.5, 1), got {self.level}")
        for name in ("samples", "thinning", "chains", "bootstrap"):
            value = getattr(self, name)
            if value < 1:
                raise SettingsError(f"{name} must be at least 1, got {value}")
        if self.burnin < 0:
            raise SettingsError(f"burnin must not be negative, got {self.burnin}")
        if self.classes < 1:
            raise SettingsError(f"classes (K) must be at least 1, got {self.classes}")
        if self.alpha_shape <= 0 or self.alpha_rate <= 0:
            raise SettingsError(
                f"the Gamma prior on alpha needs positive a and b, got "
                f"a={self.alpha_shape}, b={self.alpha_rate}"
            )
        if self.threshold < 1:
            raise SettingsError(f"threshold must be at least 1, got {self.threshold}")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise SettingsError(f"seed must be a non-negative integer, got {self.seed}")
