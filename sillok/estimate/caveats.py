"""Caveats about the data that every method reports: small lists, empty cells, extrapolation.

Messages never quote a count under the small-cell threshold; they say "fewer than N" instead,
so that warnings can be published with the estimate.
"""

from __future__ import annotations

import itertools

from sillok.messages import Message

from .table import OverlapTable


def data_warnings(table: OverlapTable, small_list: int, threshold: int) -> list[str]:
    """Warnings about the table itself, whatever the method.

    Args:
        table: the overlap table.
        small_list: lists with fewer records than this are called small.
        threshold: the small-cell threshold; counts under it are not quoted.
    """
    warnings = list(table.notes)
    limit = max(small_list, threshold)
    for name, total in table.list_totals().items():
        if total < limit:
            warnings.append(Message(
                "list '{name}' has fewer than {limit} records: estimates that lean on it are "
                "unstable", name=name, limit=limit,
            ))
    empty = [table.describe_pattern(i) for i, count in enumerate(table.counts) if count == 0]
    if empty:
        shown = ", ".join(empty[:6]) + (", ..." if len(empty) > 6 else "")
        warnings.append(Message(
            "{empty} of {patterns} capture patterns have no records ({shown}): "
            "interactions among those lists may not be estimable",
            empty=len(empty), patterns=len(table.counts), shown=shown,
        ))
    patterns = table.pattern_array()
    counts = table.count_array()
    for a, b in itertools.combinations(range(table.n_lists), 2):
        shared = int(counts[(patterns[:, a] == 1) & (patterns[:, b] == 1)].sum())
        if shared == 0:
            warnings.append(Message(
                "lists '{a}' and '{b}' share no records: the data say little about how they "
                "overlap, and an estimate that relies on their overlap can be arbitrarily large",
                a=table.lists[a], b=table.lists[b],
            ))
    return warnings


def extrapolation_warning(estimate: float, observed: int) -> str | None:
    """A warning when most of the estimated total is people on no list."""
    if observed > 0 and estimate > 3 * observed:
        share = 1 - observed / estimate
        return Message(
            "{share:.0%} of the estimated total were on no list: the figure rests on the "
            "model's extrapolation more than on the data", share=share,
        )
    return None


def fmt(value: float) -> str:
    """Format a count-like number for messages: 12,345."""
    return f"{value:,.0f}"
