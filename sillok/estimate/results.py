"""What an estimate returns: the figure, its interval, the model and the caveats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sillok.errors import SillokError


class EstimationError(SillokError, ValueError):
    """The data cannot support the requested estimate; the message says why."""


@dataclass(frozen=True)
class EstimateResult:
    """An estimate of the total number of people, seen and unseen.

    Args:
        method: ``loglinear`` or ``lcmcr``.
        estimate: the estimated total (None when it could not be estimated).
        lower: the interval's lower end (None when not estimated).
        upper: the interval's upper end (None when unbounded or not estimated).
        observed: people on at least one list.
        model: the model used, in words (log-linear terms, or the latent-class model).
        warnings: caveats a reader must see.
        interval: what the interval is (``95% profile-likelihood interval``, ...).
        lists: the lists used.
        stratum: the stratum, or None for an unstratified estimate or a total.
        details: fit statistics and diagnostics (criterion, deviance, R-hat, ESS, seed, ...).
        draws: posterior or bootstrap draws of the total, when kept (for summing strata).
    """

    method: str
    estimate: float | None
    lower: float | None
    upper: float | None
    observed: int
    model: str
    warnings: tuple[str, ...]
    interval: str
    lists: tuple[str, ...]
    stratum: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class StratifiedResult:
    """Estimates per stratum and for their total.

    The total's estimate is the sum of the strata's; its interval comes from summing the
    strata's posterior (LCMCR) or parametric-bootstrap (log-linear) draws.
    """

    by: str
    total: EstimateResult
    strata: tuple[EstimateResult, ...]
