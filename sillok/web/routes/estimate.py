"""Estimation on the web: how many victims no list recorded, from the archive's own lists
(multiple systems estimation, as ``sillok estimate ARCHIVE --lists FIELD``).

The page calls the same library functions as the command (:func:`overlap_tables`,
:func:`estimate`, :func:`publish` with its small-cell threshold), with log-linear models chosen
by AIC; the result is kept until the archive changes, since a model search costs seconds.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from sillok.errors import InvalidInput, SillokError
from sillok.estimate import EstimateSettings, estimate, estimate_strata, publish
from sillok.estimate.archive import LIST_FIELDS, STRATA, overlap_tables
from sillok.messages import not_one_of
from sillok.web.context import Req, requester

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["estimate"])

ReqDep = Annotated[Req, Depends(requester)]
#: counts under this are never shown (as the command's default --threshold)
THRESHOLD = 5

Lists = Annotated[str, Query(max_length=20)]
By = Annotated[str | None, Query(max_length=20)]
Word = Annotated[str | None, Query(max_length=100)]


def _estimate(
    req: Req, lists: str, by: str | None, act_type: str | None, date_from: str | None,
    date_to: str | None,
) -> dict[str, Any]:
    """The published estimate (or ``{"error": ...}`` when the lists cannot support one)."""
    req.require("read")
    if lists not in LIST_FIELDS:
        raise InvalidInput(not_one_of(lists, LIST_FIELDS, "lists"))
    if by and by not in STRATA:
        raise InvalidInput(not_one_of(by, STRATA, "by"))
    where = [f"{k}={v}" for k, v in (("act_type", act_type), ("from", date_from),
                                     ("to", date_to)) if v]
    mark: Hashable = req.archive.store.state_mark()
    key = ("estimate", req.principal.policy_role, lists, by, tuple(where))

    def compute() -> dict[str, Any]:
        try:
            tables = overlap_tables(req.archive, lists, where, by or None)
            settings = EstimateSettings()
            if isinstance(tables, dict):
                return publish(estimate_strata(tables, by or "", settings), THRESHOLD)
            return publish(estimate(tables, settings), THRESHOLD)
        except InvalidInput:
            raise
        except SillokError as exc:  # too few lists, too few people: said, not failed
            return {"error": exc.args[0] if len(exc.args) == 1 else str(exc)}

    return req.web.cache.get(mark, key, compute)


def _bar(value: Any, top: float) -> float:
    return round(100 * float(value) / top, 1) if isinstance(value, int | float) and top else 0.0


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Observed, estimate and interval per row (the total, then each stratum) with widths in
    percent of the largest upper end, for the bars."""
    rows = [{"label": None, **result}] + [
        {"label": s["stratum"], **s} for s in result.get("strata", [])
    ]
    ends = [r.get(k) for r in rows for k in ("upper", "estimate", "observed")]
    top = max((float(v) for v in ends if isinstance(v, int | float)), default=0.0)
    for r in rows:
        r["bars"] = {k: _bar(r.get(k), top) for k in ("observed", "estimate", "lower", "upper")}
    return rows


@pages.get("/estimate")
def estimate_page(
    req: ReqDep,
    lists: Lists = "source_type",
    by: By = None,
    act_type: Word = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """The estimate with its interval, model and warnings, and the choices that made it."""
    result = _estimate(req, lists, by, act_type, date_from, date_to)
    return req.render(
        "estimate.html",
        result=result,
        rows=[] if "error" in result else _rows(result),
        choices={"lists": LIST_FIELDS, "by": STRATA},
        chosen={"lists": lists, "by": by or "", "act_type": act_type or "",
                "from": date_from or "", "to": date_to or ""},
    )


@api.get("/estimate", summary="Multiple systems estimate from the archive's lists")
def api_estimate(
    req: ReqDep,
    lists: Lists = "source_type",
    by: By = None,
    act_type: Word = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> dict[str, Any]:
    """The published estimate as JSON (the keys of ``sillok estimate --json``)."""
    return _estimate(req, lists, by, act_type, date_from, date_to)
