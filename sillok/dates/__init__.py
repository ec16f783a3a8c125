"""Uncertain dates: EDTF text plus the earliest and latest day it can mean.

Every date in Sillok is stored as an EDTF string (Library of Congress Extended Date/Time
Format) together with a ``lower`` and an ``upper`` bound (``datetime.date``, both inclusive)
used for range queries. ``parse_date`` reads what documenters write, in English or Korean
(the forms are listed in :mod:`sillok.dates.written` and docs/flat-acts-format.md);
``from_edtf`` reads strict EDTF only (:mod:`sillok.dates.edtf`, which also says how the bounds
are set). Both return an immutable ``UncertainDate`` whose ``edtf`` text parses back to the
same value (``parse_date(u.edtf) == u``).

Common forms are read with regular expressions (microseconds); only unusual level 2 EDTF goes
through the ``edtf`` package (milliseconds). Both parsers are memoized (``lru_cache``).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sillok.dates.edtf import LEVEL2_HINT, OPEN_LOWER, OPEN_UPPER, Invalid, edtf_bounds
from sillok.dates.written import normalise, written_edtf
from sillok.messages import Message

__all__ = [
    "OPEN_LOWER",
    "OPEN_UPPER",
    "DateError",
    "UncertainDate",
    "from_edtf",
    "parse_date",
    "parse_optional",
]

_ACCEPTED = (
    "accepted forms: 2009, 2009-03, 2009-03-15, March 2009, 15 March 2009, 1990s, spring 2010, "
    "around 2005, 2008-2011, 2009년 3월 15일, 2009.3.15, 1990년대 초, 2010년 봄, 2005년경, "
    "2008~2011년, or any EDTF"
)


class DateError(ValueError):
    """A date that cannot be read; the message quotes the offending value."""


@dataclass(frozen=True, slots=True)
class UncertainDate:
    """An EDTF date with the earliest and latest day (inclusive) it can mean."""

    edtf: str
    lower: dt.date
    upper: dt.date

    def __post_init__(self) -> None:
        if self.lower > self.upper:
            raise DateError(
                f"date {self.edtf!r}: lower bound {self.lower} is after upper bound {self.upper}"
            )

    def overlaps(self, other: UncertainDate) -> bool:
        """True when the two dates could share at least one day (bounds are inclusive)."""
        return self.lower <= other.upper and other.lower <= self.upper

    def __str__(self) -> str:
        return self.edtf


@functools.lru_cache(maxsize=1 << 16)
def from_edtf(text: str) -> UncertainDate:
    """Parse strict EDTF (levels 0 and 1, and level 2 through the ``edtf`` package).

    Raises:
        DateError: the text is not EDTF, or names an impossible or unsupported date.
    """
    if not isinstance(text, str):
        raise DateError(f"an EDTF date must be text, not {type(text).__name__}: {text!r}")
    stripped = text.strip()
    try:
        bounds = edtf_bounds(stripped, use_package=True)
    except Invalid as exc:
        raise DateError(
            Message("impossible date: {text!r} ({reason})", text=text, reason=str(exc))
        ) from None
    if bounds is None:
        raise DateError(Message("not a valid EDTF date: {text!r}", text=text))
    return UncertainDate(stripped, *bounds)


@functools.lru_cache(maxsize=1 << 16)
def parse_date(text: str) -> UncertainDate:
    """Parse a date as people write it (English, Korean or EDTF; :mod:`sillok.dates.written`).

    Raises:
        DateError: the text is unreadable or names an impossible date; the message quotes it.
    """
    if not isinstance(text, str):
        raise DateError(f"a date must be text, not {type(text).__name__}: {text!r}")
    s = normalise(text)
    if not s:
        raise DateError(Message("empty date: {text!r}", text=text))
    candidate = s.upper().replace(", ", ",")  # [1667, 1668] -> [1667,1668]
    try:
        bounds = edtf_bounds(candidate, use_package=False)
        if bounds is None and LEVEL2_HINT.search(candidate):
            bounds = edtf_bounds(candidate, use_package=True)
        if bounds is not None:
            return UncertainDate(candidate, *bounds)
        human = written_edtf(s)
        if human is not None:
            bounds = edtf_bounds(human, use_package=False)
            if bounds is not None:  # always, as the human reader writes only common EDTF shapes
                return UncertainDate(human, *bounds)
        bounds = edtf_bounds(candidate, use_package=True)
        if bounds is not None:
            return UncertainDate(candidate, *bounds)
    except Invalid as exc:
        raise DateError(
            Message("impossible date: {text!r} ({reason})", text=text, reason=str(exc))
        ) from None
    raise DateError(
        Message("unreadable date: {text!r} ({accepted})", text=text, accepted=_ACCEPTED)
    )


def parse_optional(text: str | None) -> UncertainDate | None:
    """Like ``parse_date``, but None, "" and blank text give None."""
    if text is None or not text.strip():
        return None
    return parse_date(text)
