"""Multiple systems estimation: how many people were recorded by no list.

Start from an :class:`OverlapTable` (counts per capture pattern), read from CSV or built from
per-person list memberships, then call :func:`estimate` or :func:`estimate_strata`, and pass the
result through :func:`publish` before showing it to anyone (small-cell protection).

>>> table = read_overlap_csv("counts.csv")                       # doctest: +SKIP
>>> result = estimate(table, EstimateSettings(method=Method.LCMCR, seed=1))  # doctest: +SKIP
>>> publish(result, threshold=5)["estimate"]                      # doctest: +SKIP
"""

from .charts import render_svg, write_chart
from .disclosure import publish, withheld_strata
from .estimator import estimate, estimate_strata
from .results import EstimateResult, EstimationError, StratifiedResult
from .settings import Criterion, EstimateSettings, Method, SettingsError
from .table import (
    OverlapTable,
    TableError,
    read_overlap_csv,
    read_strata_csv,
    strata_from_memberships,
    table_from_memberships,
)

__all__ = [
    "Criterion",
    "EstimateResult",
    "EstimateSettings",
    "EstimationError",
    "Method",
    "OverlapTable",
    "SettingsError",
    "StratifiedResult",
    "TableError",
    "estimate",
    "estimate_strata",
    "publish",
    "read_overlap_csv",
    "read_strata_csv",
    "render_svg",
    "strata_from_memberships",
    "table_from_memberships",
    "withheld_strata",
    "write_chart",
]
