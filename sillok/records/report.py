"""A report on an archive: its counts and its estimate, gathered for print.

``sillok report ARCHIVE --output FILE.pdf`` and the PDF renderer (:mod:`sillok.web.pdf`) call
:func:`gather`: it checks the options (each error names the option and its value), counts the
acts by act type, year, province, facility type and agency with :class:`~sillok.records.stats.Stats`
(the same counts as ``sillok stats`` and the dashboard) under the same filter, and asks the
estimator it is given for a multiple systems estimate. An archive whose data do not support an
estimate still gets its report: the estimate is then absent and the reason is among its
warnings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sillok.dates import DateError, parse_date
from sillok.errors import InvalidInput, SillokError
from sillok.records.search import Searcher
from sillok.records.stats import GROUPINGS, Stats
from sillok.store.queries import ActFilter

LANGUAGES = ("ko", "en")
LIST_FIELDS = ("collection", "source_type")
#: the estimator: ``key=value`` filters (as ``sillok estimate --where`` takes them) and the
#: list field -> the published estimate (:func:`sillok.estimate.publish`'s dict)
Estimator = Callable[[list[str], str], dict[str, Any]]


@dataclass(frozen=True)
class ReportOptions:
    """What a report covers and how it reads.

    Attributes:
        lang: ``ko`` or ``en``, the language of the report.
        date_from: acts whose date may fall on or after this (any date Sillok reads).
        date_to: acts whose date may fall on or before this.
        place: acts at this place or anywhere inside it (a name in any script, or a code).
        lists: the source field whose values are the lists of the estimate.
        threshold: counts under this are never shown in the estimate (small-cell protection).
    """

    lang: str = "ko"
    date_from: str | None = None
    date_to: str | None = None
    place: str | None = None
    lists: str = "collection"
    threshold: int = 5

    def where(self) -> list[str]:
        """The filters as ``sillok estimate --where`` takes them."""
        pairs = (("from", self.date_from), ("to", self.date_to), ("place", self.place))
        return [f"{key}={value}" for key, value in pairs if value]

    def filters(self) -> list[tuple[str, str]]:
        """The filters that are set, as (option, value), to print on the report."""
        pairs = (("--from", self.date_from), ("--to", self.date_to), ("--place", self.place))
        return [(option, value) for option, value in pairs if value]


@dataclass(frozen=True)
class ReportData:
    """What a report shows: counts per grouping, the estimate (or why there is none)."""

    options: ReportOptions
    generated: str
    act_filter: ActFilter
    totals: dict[str, int]
    counts: dict[str, list[dict[str, Any]]]
    acts: int
    estimate: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)


def check_options(searcher: Searcher, options: ReportOptions) -> ActFilter:
    """The act filter of the options, after checking each of them.

    Raises:
        InvalidInput: naming the option and the value that is wrong.
    """
    if options.lang not in LANGUAGES:
        raise InvalidInput(f"--lang {options.lang!r}: expected one of {', '.join(LANGUAGES)}")
    if options.lists not in LIST_FIELDS:
        raise InvalidInput(f"--lists {options.lists!r}: expected one of {', '.join(LIST_FIELDS)}")
    if options.threshold < 1:
        raise InvalidInput(f"--threshold {options.threshold}: expected 1 or more")
    bounds = {}
    for option, text in (("--from", options.date_from), ("--to", options.date_to)):
        if text is None:
            continue
        try:
            bounds[option] = parse_date(text)
        except DateError as exc:
            raise InvalidInput(f"{option} {text!r}: {exc}") from None
    if "--from" in bounds and "--to" in bounds and bounds["--from"].lower > bounds["--to"].upper:
        raise InvalidInput(
            f"--from {options.date_from!r} is after --to {options.date_to!r}: no act can match"
        )
    if options.place is not None and not options.place.strip():
        raise InvalidInput("--place '': give a place name or code")
    return searcher.act_filter(
        date_from=options.date_from, date_to=options.date_to, place=options.place
    )


def gather(
    stats: Stats,
    searcher: Searcher,
    options: ReportOptions,
    estimator: Estimator,
    today: dt.date | None = None,
) -> ReportData:
    """Everything a report shows, for the archive's role, under the options' filter.

    Args:
        stats: the archive's counts.
        searcher: resolves the place and dates of the filter.
        options: what the report covers (checked first: :func:`check_options`).
        estimator: makes the estimate; an error it raises (too few lists, no victims...)
            becomes the report's warning instead of failing the report.
        today: the date printed on the report (default: today, UTC).

    Raises:
        InvalidInput: an option is wrong (naming it and its value).
    """
    act_filter = check_options(searcher, options)
    counts = {by: stats.count(by, act_filter) for by in GROUPINGS}
    acts = sum(row["count"] for row in counts["act_type"])
    estimate: dict[str, Any] | None = None
    warnings: list[str] = []
    try:
        estimate = estimator(options.where(), options.lists)
    except SillokError as exc:
        warnings.append(f"no estimate: {exc}")
    if estimate is not None:
        warnings.extend(estimate.get("warnings", []))
        if estimate.get("estimate") is None:
            warnings.insert(0, "no estimate: the data do not support one")
    return ReportData(
        options=options,
        generated=(today or dt.datetime.now(dt.UTC).date()).isoformat(),
        act_filter=act_filter,
        totals=stats.archive_counts(),
        counts=counts,
        acts=acts,
        estimate=estimate,
        warnings=warnings,
    )


def counts_by_key(data: ReportData, by: str) -> Mapping[str, int]:
    """One grouping's counts as key -> count (for checks and tests)."""
    key = "facility_type" if by == "facility" else by
    return {str(row[key]): int(row["count"]) for row in data.counts[by]}
