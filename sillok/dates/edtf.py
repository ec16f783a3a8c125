"""Strict EDTF: the earliest and latest day an EDTF string can mean.

Levels 0 and 1 of the Extended Date/Time Format, and level 2's common shapes, are read with
regular expressions (microseconds); only unusual level 2 forms go through the ``edtf`` package
(milliseconds). :func:`edtf_bounds` is what :func:`sillok.dates.from_edtf` and the reader of
written dates (:mod:`sillok.dates.written`) both use.

Bounds:

* Seasons: spring Mar 1 - May 31, summer Jun 1 - Aug 31, autumn Sep 1 - Nov 30, winter Dec 1 -
  end of February of the next year. Level 2 divisions 25-41 follow the standard.
* ``~`` and ``?`` widen a date by one unit of its precision (a year by 1 year, a month by 1
  month, a day by 7 days); ``%`` by two. Qualified level 2 forms read by the ``edtf`` package
  (``2004-06~-11``) are widened by a year.
* Open (``..``) and unknown (empty) interval ends take the fixed ``OPEN_LOWER`` (1900-01-01)
  and ``OPEN_UPPER`` (2100-12-31), or the known end if it lies beyond them: fixed, not "today",
  so that a stored bound never depends on when it was computed.
* Years 0001-9999 only (``datetime.date``). An interval must not end before it starts.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

OPEN_LOWER = dt.date(1900, 1, 1)
"""Lower bound used for an open or unknown interval start (``../2005``)."""
OPEN_UPPER = dt.date(2100, 12, 31)
"""Upper bound used for an open or unknown interval end (``2005/..``)."""

_APPROX_DAYS = 7


class Invalid(Exception):
    """The text has the shape of a date but names an impossible one; args[0] says why."""


_EDTF_POINT = re.compile(
    r"(\d{4})(?:-(\d\d|XX)(?:-(\d\d|XX))?)?([?~%]?)|(\d{3}X|\d\dXX|\dXXX)([?~%]?)"
)
# Characters the edtf package's grammar can use; anything else is not worth its milliseconds.
_EDTF_CHARS = re.compile(r"[0-9XSEYTZ?~%^\-.:,+\[\]{}]+")
# Level 2 shapes that the human-language reader could misread (qualifier inside a date, sets).
LEVEL2_HINT = re.compile(r"[\[\]{}]|[?~%]-|-[?~%]|\dX-|X-\d|\dX\d|\dS\d|\dE\d|^Y|\dT\d")

# season code -> (first month, last month); months past 12 run into the next year.
SEASON_MONTHS: dict[int, tuple[int, int]] = {
    21: (3, 5), 22: (6, 8), 23: (9, 11), 24: (12, 14),
    25: (3, 5), 26: (6, 8), 27: (9, 11), 28: (12, 14),
    29: (9, 11), 30: (12, 14), 31: (3, 5), 32: (6, 8),
    33: (1, 3), 34: (4, 6), 35: (7, 9), 36: (10, 12),
    37: (1, 4), 38: (5, 8), 39: (9, 12), 40: (1, 6), 41: (7, 12),
}  # fmt: skip

# (strict lower, strict upper, widened lower, widened upper)
_Bounds = tuple[dt.date, dt.date, dt.date, dt.date]


def _year_range(first: int, last: int) -> tuple[dt.date, dt.date]:
    """Jan 1 of first .. Dec 31 of last, clamped to the years datetime can hold."""
    lo = dt.date(first, 1, 1) if first >= dt.MINYEAR else dt.date.min
    hi = dt.date(last, 12, 31) if last <= dt.MAXYEAR else dt.date.max
    return lo, hi


def _month_day(year: int, month: int, last: bool) -> dt.date:
    """First (or last) day of a month given as a possibly out-of-range count, clamped."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        return dt.date.min if year < dt.MINYEAR else dt.date.max
    return dt.date(year, month, calendar.monthrange(year, month)[1] if last else 1)


def _shift_days(day: dt.date, days: int) -> dt.date:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.min if days < 0 else dt.date.max


def _widen(lo: dt.date, hi: dt.date, precision: str, qual: str) -> _Bounds:
    """Add the documented margin for ``~``/``?`` (one unit) or ``%`` (two units)."""
    if not qual:
        return lo, hi, lo, hi
    n = 2 if qual == "%" else 1
    if precision == "year":
        return (lo, hi, *_year_range(lo.year - n, hi.year + n))
    if precision == "month":
        wide = _month_day(lo.year, lo.month - n, False), _month_day(hi.year, hi.month + n, True)
        return lo, hi, *wide
    return lo, hi, _shift_days(lo, -_APPROX_DAYS * n), _shift_days(hi, _APPROX_DAYS * n)


def _edtf_point(text: str) -> _Bounds | None:
    """Bounds of one EDTF date in the common shapes; None for any other shape."""
    m = _EDTF_POINT.fullmatch(text)
    if m is None:
        return None
    y, mo, d, qual, unspecified, uqual = m.groups()
    if unspecified:
        n = unspecified.count("X")
        first = int(unspecified[:-n]) * 10**n
        return _widen(*_year_range(first, first + 10**n - 1), "year", uqual)
    year = int(y)
    if year == 0:
        raise Invalid("year 0000 is outside the supported years 0001-9999")
    if mo is None or mo == "XX":
        if d not in (None, "XX"):
            return None  # 2009-XX-15 is level 2: leave it to the edtf package
        return _widen(*_year_range(year, year), "year", qual)
    month = int(mo)
    if d is None and month in SEASON_MONTHS:
        if qual:
            return None  # a qualified season is not valid EDTF
        first, last = SEASON_MONTHS[month]
        lo, hi = _month_day(year, first, False), _month_day(year, last, True)
        return lo, hi, lo, hi
    if not 1 <= month <= 12:
        raise Invalid(f"there is no month {mo}")
    if d is None or d == "XX":
        lo, hi = _month_day(year, month, False), _month_day(year, month, True)
        return _widen(lo, hi, "month", qual)
    day, last_day = int(d), calendar.monthrange(year, month)[1]
    if not 1 <= day <= last_day:
        raise Invalid(f"{calendar.month_name[month]} {year} has no day {d}")
    when = dt.date(year, month, day)
    return _widen(when, when, "day", qual)


def _struct_date(value: object, lower: bool) -> dt.date | None:
    """A date from the edtf package's struct_time; None for its +-infinity."""
    if isinstance(value, float):
        return None
    year, month, day = value[0], value[1], value[2]  # type: ignore[index]
    if lower and year == 0:
        return dt.date.min  # 0XXX, XXXX: the unspecified years start at 0000
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise Invalid(f"year {year} is outside the supported years 0001-9999")
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def _package_point(text: str) -> _Bounds | None:
    """Bounds of a level 2 EDTF date read by the edtf package; None if it is not EDTF."""
    if not _EDTF_CHARS.fullmatch(text) or " " in text:  # the package tolerates stray spaces
        return None
    import edtf  # imported lazily: its grammar is slow to build and rarely needed

    try:
        parsed = edtf.parse_edtf(text)
    except Exception:  # the package raises assorted errors (even AttributeError) on bad input
        return None
    lo = _struct_date(parsed.lower_strict(), lower=True)
    hi = _struct_date(parsed.upper_strict(), lower=False)
    if lo is None:
        lo = OPEN_LOWER if hi is None else min(OPEN_LOWER, hi)
    if hi is None:
        hi = max(OPEN_UPPER, lo)
    if lo > hi:
        raise Invalid(f"it ends ({hi}) before it starts ({lo})")
    has = {q for q in "?~%" if q in text}
    qual = "%" if "%" in has or {"?", "~"} <= has else ("~" if has else "")
    return _widen(lo, hi, "year", qual)


def edtf_bounds(text: str, use_package: bool) -> tuple[dt.date, dt.date] | None:
    """(lower, upper) of an EDTF string, None when not EDTF; raises Invalid if impossible."""
    sides = text.split("/")
    if len(sides) > 2:
        return None
    ends: list[_Bounds | None] = []
    for side in sides:
        if len(sides) == 2 and side in ("", ".."):
            ends.append(None)
            continue
        bounds = _edtf_point(side)
        # a set ([..], {..}) may stand alone but cannot be an interval end
        if bounds is None and use_package and (len(sides) == 1 or side[:1] not in "[{"):
            bounds = _package_point(side)
        if bounds is None:
            return None
        ends.append(bounds)
    if len(ends) == 1:
        assert ends[0] is not None
        return ends[0][2], ends[0][3]
    start, end = ends
    if start is None and end is None:
        raise Invalid("an interval needs at least one known end")
    if start is None:
        assert end is not None
        return min(OPEN_LOWER, end[2]), end[3]
    if end is None:
        return start[2], max(OPEN_UPPER, start[3])
    if start[0] > end[1]:
        raise Invalid("the interval ends before it starts")
    return start[2], end[3]
