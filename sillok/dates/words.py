"""Uncertain dates in words, as people read them: ``2017-23`` is "autumn 2017" / "2017년 가을".

The archive stores EDTF; titles, pages and reports say it in words (the records service's
titles in a reader's language, :meth:`sillok.records.reading.RecordBook.titles`).
"""

from __future__ import annotations

import re

_SEASONS = {
    "en": {"21": "spring", "22": "summer", "23": "autumn", "24": "winter"},
    "ko": {"21": "봄", "22": "여름", "23": "가을", "24": "겨울"},
}
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
_POINT = re.compile(r"^(\d{4}|\d{3}X|\d{2}XX)(?:-(\d{2}))?(?:-(\d{2}))?([~?%]?)$")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _point(text: str, lang: str) -> str | None:
    m = _POINT.match(text)
    if m is None:
        return None
    year, part, day, qual = m[1], m[2], m[3], m[4]
    ko = lang == "ko"
    if year.endswith("XX"):  # 19XX: a century, not a decade
        century = int(year[:2]) + 1
        base = f"{century}세기" if ko else f"the {_ordinal(century)} century"
    elif "X" in year:
        decade = year.replace("X", "0")
        base = f"{decade}년대" if ko else f"the {decade}s"
    elif part in _SEASONS["en"]:
        season = _SEASONS[lang if ko else "en"][part]
        base = f"{year}년 {season}" if ko else f"{season} {year}"
    elif part and day and 1 <= int(part) <= 12:
        base = (f"{year}년 {int(part)}월 {int(day)}일" if ko
                else f"{int(day)} {_MONTHS[int(part) - 1]} {year}")
    elif part and 1 <= int(part) <= 12:
        base = f"{year}년 {int(part)}월" if ko else f"{_MONTHS[int(part) - 1]} {year}"
    elif part:
        return None
    else:
        base = f"{year}년" if ko else year
    if qual in ("~", "%"):
        return f"{base}경" if ko else f"around {base}"
    if qual == "?":
        return f"{base}(불확실)" if ko else f"{base} (uncertain)"
    return base


def human_date(edtf: str | None, lang: str) -> str | None:
    """How an EDTF date reads in ``lang`` (``ko`` or ``en``); None when it is not one this
    knows how to say (the EDTF itself is then shown alone)."""
    if not edtf:
        return None
    if edtf.startswith("[") or edtf.startswith("{"):  # one of a set: "A or B"
        inner = [_point(p.strip(), lang) for p in edtf.strip("[]{}").split(",")]
        if inner and all(inner):
            return (" 또는 " if lang == "ko" else " or ").join(str(p) for p in inner)
        return None
    if "/" in edtf:
        first, _, last = edtf.partition("/")
        left, right = _point(first, lang), _point(last, lang)
        if left and right:
            return f"{left} ~ {right}" if lang == "ko" else f"between {left} and {right}"
        return None
    return _point(edtf, lang)
