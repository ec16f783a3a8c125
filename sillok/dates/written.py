"""Dates as people write them, in English or Korean, read as EDTF text.

:func:`written_edtf` turns a written date into the EDTF text :func:`sillok.dates.parse_date`
stores; the bounds of that text are :mod:`sillok.dates.edtf`'s.

Accepted forms, written -> stored EDTF (as docs/flat-acts-format.md lists them). Case, spacing,
full-width digits and Hangul in NFC or NFD do not matter.

* Year: ``2009``, ``2009년``, ``1980년생`` (born in 1980), ``주체98년`` (Juche N is 1911+N)
  -> ``2009``.
* Month: ``2009-03``, ``2009-3``, ``2009.03``, ``March 2009``, ``Mar. 2009``, ``2009년 3월``
  -> ``2009-03``.
* Day: ``2009-03-15``, ``2009.3.15``, ``2009. 3. 15.``, ``2009/3/15``, ``15 March 2009``,
  ``March 15, 2009``, ``2009년 3월 15일`` -> ``2009-03-15``.
* Decade and century: ``1990s``, ``the 1990s``, ``1990년대`` -> ``199X``; ``20th century``,
  ``20세기`` -> ``19XX``.
* Season: ``spring 2010``, ``2010년 봄`` -> ``2010-21`` (summer/여름 22, autumn/fall/가을 23,
  winter/겨울 24).
* Approximate: ``around``, ``about``, ``circa``, ``c.``, ``ca.``, ``~2005``, ``2005-ish``,
  ``2005년경``, ``2005년 무렵``, ``2005년쯤``, ``약 2005년`` -> ``2005~``.
  Uncertain: ``probably 2005``, ``2005?``, ``2005년(추정)`` -> ``2005?``; both -> ``2005%``.
* Part of a decade: ``early/mid/late 1990s``, ``1990년대 초(반)/중반/말(후반)`` -> ``1990/1993``,
  ``1994/1996``, ``1997/1999``. Of a year: ``early/mid/late 2009``, ``2009년 초/중반/말``
  -> ``2009-01/2009-04``, ``2009-05/2009-08``, ``2009-09/2009-12``; ``2009년 상반기/하반기``
  -> ``2009-01/2009-06``, ``2009-07/2009-12``. Of a month: ``early/mid/late March 2009``,
  ``2009년 3월 초순/중순/하순`` (or 초, 말) -> days 1-10, 11-20, 21 to the end.
* Interval: ``2008-2011``, ``2008 - 2011``, ``2008–2011``, ``2008~2011``, ``2008 to 2011``,
  ``from 2008 to 2011``, ``between 2008 and 2011``, ``2008~2011년``, ``2008년~2011년``,
  ``2008-2011년``, ``2008년부터 2011년까지`` -> ``2008/2011``; ``2008-03 ~ 2009-05``
  -> ``2008-03/2009-05``. An end missing its year (or month) takes it from the other end:
  ``March-May 2008``, ``2008년 3월~5월`` -> ``2008-03/2008-05``; ``15-20 March 2009``.
* Open end (inclusive): ``since 2005``, ``2005년부터``, ``2005년 이후``, ``2005 - present``,
  ``2005년~현재`` -> ``2005/..``; ``until 2005``, ``before 2005``, ``2005년까지``,
  ``2005년 이전`` -> ``../2005``.
* Any EDTF of levels 0 and 1 and most of level 2, kept as written: ``2010-04~``, ``2010%``,
  ``2019-XX``, ``../2005``, ``/2005``, ``2004-06~-11``, ``[1667,1668]``, ``2001-33``.

Rules worth knowing:

* A hyphen is a date separator first: ``2008-11`` is November 2008. A hyphen joins two dates
  only when the whole text is not itself a date, so ``2008-2011`` (four digits on both sides)
  is an interval. En and em dashes and ``~`` between two dates always join an interval; ``~``
  at the start or end means "approximately", as in EDTF.
* ``1900s`` and ``2000s`` are decades (``190X``, ``200X``); a century is ``19XX`` or
  ``20th century``. Two-digit years (``'90s``, ``09년``) and day-first or month-first numerals
  (``15/03/2009``) are refused as ambiguous.
* A qualified season has no strict EDTF form: ``around spring 2010`` is ``2010-03~/2010-05~``.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, replace

from sillok.dates.edtf import SEASON_MONTHS, Invalid, edtf_bounds

_TRANSLATE = str.maketrans(
    {"–": "~", "—": "~", "―": "~", "‒": "~", "〜": "~", "∼": "~", "−": "-", "’": "'", "‘": "'"}
)
_ORD = r"(?:st|nd|rd|th)?"
_MON = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_MONTHS = {name: i for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
)}  # fmt: skip
_SEASONS = {"spring": 21, "summer": 22, "autumn": 23, "fall": 23, "winter": 24,
            "봄": 21, "여름": 22, "가을": 23, "겨울": 24}  # fmt: skip
_SEASON = r"(spring|summer|autumn|fall|winter|봄|여름|가을|겨울)"

_DECADE = re.compile(r"(\d{3})0(?:'?s|\s?년대)")
_CENTURY = re.compile(rf"(\d{{1,3}})(?:{_ORD} century|\s?세기)")
_KO_YMD = re.compile(r"(?:(\d{4})\s?년)?\s?(?:(\d{1,2})\s?월)?\s?(?:(\d{1,2})\s?일)?")
_NUMERIC = re.compile(r"(\d{4})([.\-/])\s?(\d{1,2})(?:\2\s?(\d{1,2}))?\.?")
_YEAR = re.compile(r"\d{4}")
_SEASON_FIRST = re.compile(rf"{_SEASON},?(?: (?:of )?(\d{{4}}))?")
_SEASON_LAST = re.compile(rf"(\d{{4}})\s?년?\s?{_SEASON}")
_EN_DMY = re.compile(rf"(\d{{1,2}}){_ORD}(?: of)? {_MON},?(?: (\d{{4}}))?")
_EN_MDY = re.compile(rf"{_MON} (\d{{1,2}}){_ORD}(?:,? (\d{{4}}))?")
_EN_MY = re.compile(rf"{_MON},?(?: (?:of )?(\d{{4}}))?")
_DAY = re.compile(rf"(\d{{1,2}}){_ORD}")
_JUCHE = re.compile(r"(?:주체|juche)\s?(\d{1,3})\s?(?:\((\d{4})\))?")

_QUALIFIERS = (
    (re.compile(r"^(?:around|about|approx(?:\.|imately)?|circa|ca\.?|c\.|c(?= )|roughly"
                r"|약|대략|~)\s*"), "~"),
    (re.compile(r"\s*(?:경|무렵|쯤|께|즈음|전후|정도|-?ish|~)$"), "~"),
    (re.compile(r"^(?:probably|possibly|perhaps|maybe|아마도?)\s+"), "?"),
    (re.compile(r"\s*(?:\?|\(추정\)|추정)$"), "?"),
)  # fmt: skip
_PARTS = {
    "early": "early", "beginning of": "early", "start of": "early", "mid": "mid",
    "mid-": "mid", "middle of": "mid", "late": "late", "end of": "late",
    "first half of": "h1", "second half of": "h2", "초": "early", "초반": "early",
    "초순": "early", "초기": "early", "중반": "mid", "중순": "mid", "중엽": "mid",
    "후반": "late", "하순": "late", "말": "late", "말기": "late", "말엽": "late",
    "상반기": "h1", "하반기": "h2",
}  # fmt: skip
_PART_PREFIX = re.compile(
    r"^(?:the )?(early|beginning of|start of|mid-|mid|middle of|late|end of"
    r"|first half of|second half of)\s*(?:the )?"
)
_KO_PARTS = sorted((k for k in _PARTS if not k.isascii()), key=len, reverse=True)
_PART_SUFFIX = re.compile(rf"\s?({'|'.join(_KO_PARTS)})$")
# (first, last) offset in years of a decade, month of a year, day of a month (0 = last day)
_DECADE_PARTS = {"early": (0, 3), "mid": (4, 6), "late": (7, 9), "h1": (0, 4), "h2": (5, 9)}
_YEAR_PARTS = {"early": (1, 4), "mid": (5, 8), "late": (9, 12), "h1": (1, 6), "h2": (7, 12)}
_MONTH_PARTS = {"early": (1, 10), "mid": (11, 20), "late": (21, 0), "h1": (1, 15), "h2": (16, 0)}

_OPEN_WORDS = frozenset({"..", "present", "the present", "now", "today", "ongoing", "현재", "지금"})
_RANGE_SEPARATORS = (
    re.compile(r"\s*~\s*"),
    re.compile(r"\s+(?:to|until|till|through|thru)\s+"),
    re.compile(r"\s*(?:부터|에서)\s*"),
    re.compile(r"\s+-\s+"),
    re.compile(r"-"),
    re.compile(r"\s*/\s*"),
)
_OPEN_START = re.compile(r"(?:since|after|from) (.+)|(.+?)\s?(?:부터|이후)")
_OPEN_END = re.compile(r"(?:until|till|up to|before) (.+)|(.+?)\s?(?:까지|이전)")


@dataclass(frozen=True, slots=True)
class _Phrase:
    """One written date, possibly missing its year (or month) until a range fills it in."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    season: int | None = None
    xs: int = 0  # trailing unspecified digits: 1 for a decade, 2 for a century
    part: str = ""  # early, mid, late, h1, h2
    qual: str = ""  # "", "~", "?" or "%"
    is_open: bool = False


_BORN = re.compile(r"(\d)\s*년\s*생\b")


def normalise(text: str) -> str:
    """The text in NFKC, lower case, dashes and quotes made plain, spaces single."""
    folded = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).lower()
    # "1980년생" (born in 1980) is how a birth year is usually written: the year itself.
    folded = _BORN.sub(r"\1년", folded)
    return " ".join(folded.split())


def _juche(m: re.Match[str]) -> str:
    year = 1911 + int(m[1])  # Juche 1 is 1912
    if m[2] and int(m[2]) != year:
        raise Invalid(f"Juche {m[1]} is {year}, not {m[2]}")
    return str(year)


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _core(s: str) -> _Phrase | None:
    """The date itself, once qualifiers and early/mid/late are stripped."""
    s = s.removeprefix("the ")
    if m := _DECADE.fullmatch(s):
        return _Phrase(year=int(m[1]) * 10, xs=1)
    if m := _CENTURY.fullmatch(s):
        n = int(m[1])
        return _Phrase(year=(n - 1) * 100, xs=2) if 1 <= n <= 100 else None
    if _YEAR.fullmatch(s):
        return _Phrase(year=int(s))
    if (m := _KO_YMD.fullmatch(s)) and any(m.groups()):
        y, mo, d = m.groups()
        return None if y and d and not mo else _Phrase(_int(y), _int(mo), _int(d))
    if m := _NUMERIC.fullmatch(s):
        y, sep, mo, d = m.groups()
        if sep == "-" and d is None and mo in ("21", "22", "23", "24"):
            return _Phrase(year=int(y), season=int(mo))  # 2010-21~ from EDTF-minded writers
        return None if sep == "/" and d is None else _Phrase(int(y), int(mo), _int(d))
    if m := _SEASON_FIRST.fullmatch(s):
        return _Phrase(year=_int(m[2]), season=_SEASONS[m[1]])
    if m := _SEASON_LAST.fullmatch(s):
        return _Phrase(year=int(m[1]), season=_SEASONS[m[2]])
    if m := _EN_DMY.fullmatch(s):
        return _Phrase(_int(m[3]), _MONTHS[m[2][:3]], int(m[1]))
    if m := _EN_MDY.fullmatch(s):
        return _Phrase(_int(m[3]), _MONTHS[m[1][:3]], int(m[2]))
    if m := _EN_MY.fullmatch(s):
        return _Phrase(_int(m[2]), _MONTHS[m[1][:3]])
    if m := _DAY.fullmatch(s):
        return _Phrase(day=int(m[1]))
    return None


def _strip_qualifiers(s: str, found: set[str]) -> str:
    changed = True
    while changed:
        changed = False
        for pattern, qual in _QUALIFIERS:
            m = pattern.search(s)
            if m and m.end() - m.start() < len(s):
                s, changed = s[: m.start()] + s[m.end() :], True
                found.add(qual)
    return s.strip()


def _phrase(s: str) -> _Phrase | None:
    """Read one date phrase with its qualifiers; None when no form matches."""
    if s in _OPEN_WORDS:
        return _Phrase(is_open=True)
    found: set[str] = set()
    s = _strip_qualifiers(s, found)
    part = ""
    if m := _PART_PREFIX.match(s):
        part, s = _PARTS[m[1]], s[m.end() :]
    elif m := _PART_SUFFIX.search(s):
        part, s = _PARTS[m[1]], s[: m.start()]
    s = _strip_qualifiers(s, found)
    core = _core(s)
    if core is None:
        return None
    if not part and not found:
        return core
    return replace(core, part=part, qual="%" if len(found) == 2 else "".join(found))


def _inherit(p: _Phrase, other: _Phrase) -> _Phrase:
    """Fill a range end's missing year (and month, for a bare day) from the other end."""
    if p.is_open or p.year is not None or other.year is None:
        return p
    if p.day is not None and p.month is None:
        return p if other.month is None else replace(p, year=other.year, month=other.month)
    return replace(p, year=other.year)


def _render(p: _Phrase) -> str:
    assert p.year is not None
    if p.xs:
        return f"{p.year // 10**p.xs:0{4 - p.xs}d}" + "X" * p.xs
    text = f"{p.year:04d}"
    if p.season is not None:
        return f"{text}-{p.season}"
    if p.month is not None:
        text += f"-{p.month:02d}"
    if p.day is not None:
        text += f"-{p.day:02d}"
    return text


def _part_ends(p: _Phrase) -> tuple[_Phrase, _Phrase] | None:
    """Start and end of early/mid/late (or a half) of a decade, a year or a month."""
    assert p.year is not None
    if p.xs == 1:
        a, b = _DECADE_PARTS[p.part]
        return _Phrase(p.year + a), _Phrase(p.year + b)
    if p.xs or p.season is not None or p.day is not None:
        return None
    if p.month is None:
        a, b = _YEAR_PARTS[p.part]
        return _Phrase(p.year, a), _Phrase(p.year, b)
    a, b = _MONTH_PARTS[p.part]
    b = b or calendar.monthrange(p.year, p.month)[1]
    return _Phrase(p.year, p.month, a), _Phrase(p.year, p.month, b)


def _ends(p: _Phrase) -> tuple[str, str] | None:
    """EDTF text of the start and the end of a complete phrase; None if it is incomplete."""
    if p.is_open:
        return "..", ".."
    if p.year is None or (p.day is not None and p.month is None):
        return None
    if p.month is not None and not 1 <= p.month <= 12:
        raise Invalid(f"there is no month {p.month}")
    if p.part:
        pair = _part_ends(p)
        return None if pair is None else (_render(pair[0]) + p.qual, _render(pair[1]) + p.qual)
    if p.season is not None and p.qual:
        first, last = SEASON_MONTHS[p.season]
        start = _Phrase(p.year, first)
        end = _Phrase(p.year + (last - 1) // 12, (last - 1) % 12 + 1)
        return _render(start) + p.qual, _render(end) + p.qual
    text = _render(p) + p.qual
    return text, text


def _range(left: str, right: str) -> str | None:
    """EDTF interval for two written ends; None if either end is unreadable."""
    a, b = _phrase(left), _phrase(re.sub(r"\s?까지$", "", right))
    if a is None or b is None:
        return None
    ends_a, ends_b = _ends(_inherit(a, b)), _ends(_inherit(b, a))
    if ends_a is None or ends_b is None or (a.is_open and b.is_open):
        return None
    start, end = ends_a[0], ends_b[1]
    text = start if start == end else f"{start}/{end}"
    edtf_bounds(text, use_package=False)  # raises Invalid for a range that runs backwards
    return text


def written_edtf(s: str) -> str | None:
    """EDTF text for a date written in English or Korean, as :func:`normalise` leaves it;
    None when no form matches.

    Raises:
        Invalid: the text has a date's shape but names an impossible one.
    """
    s = _JUCHE.sub(_juche, s).replace("년도", "년")  # 년도 (year as a period) reads as 년
    single = _phrase(s)
    if single is not None and not single.is_open and (ends := _ends(single)) is not None:
        return ends[0] if ends[0] == ends[1] else f"{ends[0]}/{ends[1]}"
    problem: Invalid | None = None
    pairs: list[tuple[str, str]]
    if s.startswith("between ") and " and " in s:
        left, right = s[8:].split(" and ", 1)
        pairs = [(left, right)]
    else:
        body = s.removeprefix("from ")
        pairs = [
            (body[: m.start()], body[m.end() :])
            for separator in _RANGE_SEPARATORS
            for m in separator.finditer(body)
        ]
    if m := _OPEN_START.fullmatch(s):
        pairs.append((m[1] or m[2], ".."))
    if m := _OPEN_END.fullmatch(s):
        pairs.append(("..", m[1] or m[2]))
    for left, right in pairs:
        if not left.strip() or not right.strip():
            continue
        try:
            text = _range(left.strip(), right.strip())
        except Invalid as exc:  # keep looking: another split of the text may be the right one
            problem = problem or exc
            continue
        if text is not None:
            return text
    if problem is not None:
        raise problem
    return None
