"""Small-cell protection: what of an estimate may be published.

An observed count under the threshold (default 5) could point at identifiable people (the three
known victims of one county in one year), so it is never published, nor is the estimate built on
it. When strata are shown beside their total, hiding one small stratum is not enough: the total
minus the others would give it back. So more strata are withheld (smallest first) until at least
two are hidden and together they hold at least the threshold.

Capture patterns are never published one by one. Warnings may name patterns that have no records
at all: an empty pattern identifies no one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sillok.messages import Message

from .results import EstimateResult, StratifiedResult


def withheld_strata(counts: Mapping[str, int], threshold: int) -> set[str]:
    """The strata whose counts must be withheld when the total is published.

    Primary: every count under the threshold. Complementary: then the smallest other strata,
    until at least two are withheld and their sum reaches the threshold (or none are left).
    """
    withheld = {label for label, count in counts.items() if count < threshold}
    if not withheld:
        return withheld
    others = sorted((c, label) for label, c in counts.items() if label not in withheld)
    while others and (len(withheld) < 2 or sum(counts[s] for s in withheld) < threshold):
        withheld.add(others.pop(0)[1])
    return withheld


def publish(result: EstimateResult | StratifiedResult, threshold: int = 5) -> dict[str, Any]:
    """The publishable form of a result, as a JSON-ready dict.

    Keys: ``method``, ``estimate``, ``lower``, ``upper``, ``observed``, ``model``,
    ``warnings``, ``interval``, ``lists``, ``details``, ``threshold``, and for stratified
    results ``by`` and ``strata`` (a list of the same keys plus ``stratum``). A withheld count
    reads ``"<5"`` (under the threshold) or ``"withheld"`` (hidden to protect another);
    withheld strata carry no estimate.
    """
    if isinstance(result, EstimateResult):
        out = _entry(result, threshold, None)
        out["threshold"] = threshold
        return out
    hidden = withheld_strata({r.stratum or "": r.observed for r in result.strata}, threshold)
    strata = []
    for r in result.strata:
        label = r.stratum or ""
        reason = None
        if label in hidden:
            reason = "primary" if r.observed < threshold else "complementary"
        strata.append({"stratum": label, **_entry(r, threshold, reason)})
    out = _entry(result.total, threshold, None)
    out.update(by=result.by, strata=strata, threshold=threshold)
    return out


def _entry(r: EstimateResult, threshold: int, reason: str | None) -> dict[str, Any]:
    if reason is None and r.observed < threshold:
        reason = "primary"
    if reason is not None:
        if reason == "primary":
            observed: int | str = f"<{threshold}"
            why = Message("withheld: fewer than {threshold} people recorded", threshold=threshold)
        else:
            observed = "withheld"
            why = Message("withheld so that a smaller stratum cannot be worked out from the total")
        return {"method": r.method, "estimate": None, "lower": None, "upper": None,
                "observed": observed, "model": "", "warnings": [why], "interval": "",
                "lists": list(r.lists), "details": {}}
    return {
        "method": r.method, "estimate": _round(r.estimate), "lower": _round(r.lower),
        "upper": _round(r.upper), "observed": r.observed, "model": r.model,
        "warnings": list(r.warnings), "interval": r.interval, "lists": list(r.lists),
        "details": dict(r.details),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)
