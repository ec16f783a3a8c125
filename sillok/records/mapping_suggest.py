"""Suggesting a column mapping for a spreadsheet of a group's own.

Two kinds of evidence, each column on its own:

* its **header**, compared (after :func:`~sillok.records.mapping.normalise`: case, spaces,
  punctuation, Hangul spacing) with a table of names in Korean and English for each flat acts
  field: the same name is *high* confidence, a known name inside a longer header *medium*;
* its **values** in the first rows: most of them dates (a date field), act types of the
  vocabulary (``act_type``), sexes, source types, sharing levels, perpetrator roles, facilities,
  places of the archive's gazetteer, agencies of its directory: *low* confidence for a date
  (which date field is a guess), *medium* for the others.

A field that takes one value goes to the column with the best evidence; the others are left
unmapped, with the reason. Nothing here reads or writes the archive beyond its directories.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sillok import vocab
from sillok.dates import DateError, parse_date
from sillok.directory import Directory
from sillok.records.flatacts import (
    PERPETRATOR_ROLES,
    REQUIRED,
    SEXES,
    SHARING,
    SOURCE_TYPES,
    Row,
)
from sillok.records.mapping import IGNORE, MULTI_VALUED, ColumnMapping, normalise

SAMPLE_ROWS = 20
"""How many of the first rows a suggestion reads the values of."""
SHARE = 0.8
"""The share of a column's sampled values that must fit a kind for the column to be taken."""
RANK = {"high": 3, "medium": 2, "low": 1}

#: names of each flat acts field in their headers, in Korean and English (compared normalised)
# fmt: off
SYNONYMS: dict[str, tuple[str, ...]] = {
    "source_ref": ("출처 번호", "자료 번호", "증언 번호", "면담 번호", "문서 번호", "사례 번호",
                   "번호", "연번", "일련번호", "관리번호", "출처", "source", "source ref",
                   "source id", "source no", "testimony id", "testimony no", "interview id",
                   "interview no", "document id", "case id", "case no", "case number", "ref", "id",
                   "no", "number", "record id"),
    "source_type": ("출처 유형", "자료 유형", "자료 종류", "출처 종류", "source type",
                    "type of source", "kind of source"),
    "source_date": ("증언 일자", "증언일", "면담 일자", "면담일", "인터뷰 일자", "조사 일자",
                    "작성일", "문서 일자", "보고 일자", "source date", "interview date",
                    "testimony date", "date of interview", "date of testimony", "report date",
                    "document date"),
    "informant": ("증언자", "제보자", "진술자", "정보원", "informant", "witness", "interviewee",
                  "testifier", "source person"),
    "event_ref": ("사건 번호", "사건 id", "event ref", "event id", "event no", "incident id",
                  "incident no", "event number"),
    "event_title": ("사건명", "사건 이름", "사건 제목", "사건", "event", "event title",
                    "event name", "incident", "incident title", "title"),
    "act_type": ("침해 유형", "인권침해 유형", "피해 유형", "위반 유형", "행위 유형", "유형",
                 "침해", "act type", "violation", "violation type", "type of violation", "abuse",
                 "abuse type", "type", "act"),
    "act_date": ("발생 일자", "발생일", "발생 일시", "발생 시기", "사건 일자", "사건 일시",
                 "피해 일자", "일자", "날짜", "시기", "date", "act date", "date of incident",
                 "incident date", "when", "date of violation", "event date"),
    "place": ("발생 장소", "장소", "지역", "발생 지역", "사건 장소", "place", "location", "where",
              "place of incident", "region", "province", "area"),
    "facility": ("구금 시설", "시설", "수용소", "구금 장소", "관리소", "facility",
                 "detention facility", "camp", "prison", "place of detention"),
    "victim_ref": ("피해자 번호", "피해자 id", "피해자 식별번호", "victim id", "victim ref",
                   "victim no", "victim number"),
    "victim_name": ("피해자 이름", "피해자 성명", "피해자명", "피해자", "이름", "성명", "victim",
                    "victim name", "name", "name of victim", "victims name"),
    "victim_name_hangul": ("피해자 한글 이름", "한글 이름", "한글 성명", "한글명",
                           "name in hangul", "hangul name", "korean name", "victim name hangul",
                           "victim hangul"),
    "victim_aliases": ("다른 이름", "별명", "가명", "이명", "aliases", "alias", "other names",
                       "also known as", "aka"),
    "victim_sex": ("성별", "피해자 성별", "sex", "gender", "victim sex", "victim gender"),
    "victim_birth": ("생년", "생년월일", "출생", "출생 연도", "출생년도", "출생일", "born",
                     "birth", "date of birth", "birth date", "year of birth", "birth year", "dob"),
    "victim_origin": ("출신", "출신 지역", "출신지", "고향", "거주지", "origin", "home",
                      "home region", "hometown", "place of origin", "residence"),
    "perpetrator_org": ("가해 기관", "가해 기관명", "가해 부대", "가해 조직", "가해 주체", "기관",
                        "perpetrator", "perpetrator org", "perpetrator organization",
                        "perpetrator unit", "perpetrator agency", "agency", "unit",
                        "responsible agency", "responsible unit", "perpetrators agency"),
    "perpetrator_name": ("가해자", "가해자 이름", "가해자 성명", "가해자명", "perpetrator name",
                         "perpetrator names", "named perpetrator", "alleged perpetrator",
                         "perpetrator person"),
    "perpetrator_role": ("가해자 역할", "역할", "가담 형태", "책임 유형", "role",
                         "perpetrator role", "mode of liability", "involvement"),
    "description": ("내용", "설명", "피해 내용", "사건 내용", "상세 내용", "개요", "진술 내용",
                    "요약", "description", "details", "summary", "narrative", "what happened",
                    "account"),
    "sharing": ("공개 여부", "공개 범위", "공개 수준", "공유 수준", "보안 등급", "sharing",
                "sharing level", "access", "confidentiality", "classification", "visibility"),
    "protected": ("보호 대상", "신원 보호", "protected", "protection"),
}
# fmt: on

_EXACT: dict[str, str] = {normalise(n): f for f, names in SYNONYMS.items() for n in (f, *names)}
_INSIDE = sorted(_EXACT.items(), key=lambda item: -len(item[0]))  # the longest known name first


@dataclass
class Evidence:
    """Why a column looks like a field."""

    target: str
    confidence: str  # high, medium, low
    reason: str


@dataclass
class Suggestion:
    """A proposed mapping for a file, with the reason for each column and samples of values."""

    file: str
    mapping: ColumnMapping
    notes: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    saved: dict[str, str] | None = None  # when the mapping is one saved for this layout

    @property
    def unmapped(self) -> list[str]:
        """The file's columns the suggestion leaves unmapped."""
        return [c for c, t in self.mapping.columns.items() if t is None]

    def to_yaml(self) -> str:
        """The mapping as YAML, a comment with the confidence and reason per column."""
        heading = [f"Column mapping for {self.file} (sillok import --suggest-map)."]
        if self.saved:
            heading.append(
                f"The mapping saved for this layout on {self.saved.get('saved_at', '?')} "
                f"by {self.saved.get('saved_by', '?')}."
            )
        else:
            heading.append("Suggested from the headers and the first rows: check every line.")
        if self.unmapped:
            heading.append(f"Not mapped: {', '.join(self.unmapped)}.")
        missing = [t for t in REQUIRED if t not in self.mapping.columns.values()]
        missing = [t for t in missing if t not in self.mapping.fixed]
        if missing:
            needed = ", ".join(missing)
            heading.append(
                f"Required and not found: {needed}: map a column or give it under fixed:."
            )
        return self.mapping.to_yaml(self.notes, heading)

    def to_json(self) -> dict[str, Any]:
        """The suggestion as JSON-ready data."""
        return {
            "file": self.file,
            "mapping": self.mapping.to_dict(),
            "columns": [
                {
                    "column": c,
                    "target": t,
                    "confidence": self.confidence.get(c),
                    "reason": self.notes.get(c, ""),
                    "samples": self.samples.get(c, []),
                }
                for c, t in self.mapping.columns.items()
            ],
            "unmapped": self.unmapped,
            "saved": self.saved,
        }


def by_header(header: str) -> Evidence | None:
    """What a header's name says: a field whose known name it is, or contains."""
    key = normalise(header)
    if not key:
        return None
    if key in _EXACT:
        return Evidence(_EXACT[key], "high", f"the header names {_EXACT[key]}")
    for name, target in _INSIDE:
        # a one-letter Latin name ("no") inside a header is chance, not a name
        if len(name) >= (2 if not name.isascii() else 4) and name in key:
            return Evidence(target, "medium", f"the header contains {name!r} ({target})")
    return None


def _words(table: dict[str, tuple[str, ...]]) -> set[str]:
    return {w.lower() for key, words in table.items() for w in (key, *words)}


def _is_date(value: str) -> bool:
    if value.isdigit() and len(value) != 4:
        return False
    try:
        parse_date(value)
    except DateError:
        return False
    return True


def _value_kinds(
    places: Directory | None, organizations: Directory | None
) -> list[tuple[str, str, Callable[[str], bool]]]:
    """(field, what the values are, test) in the order they are tried."""
    act_types, facility_types = vocab.load("act_types"), vocab.load("facility_types")
    sexes, sharing = _words(SEXES), _words(SHARING)
    source_types, roles = _words(SOURCE_TYPES), _words(PERPETRATOR_ROLES)

    def facility(v: str) -> bool:
        if facility_types.lookup(v) is not None:
            return True
        entry = places.resolve(v, facility=True) if places is not None else None
        return entry is not None and entry.kind == "facility"

    def place(v: str) -> bool:
        entry = places.resolve(v) if places is not None else None
        return entry is not None and entry.kind != "facility"

    def agency(v: str) -> bool:
        return organizations is not None and organizations.resolve(v) is not None

    return [
        ("victim_sex", "sexes", lambda v: v.lower() in sexes),
        ("sharing", "sharing levels", lambda v: v.lower() in sharing),
        ("source_type", "source types", lambda v: v.lower() in source_types),
        ("perpetrator_role", "perpetrator roles", lambda v: v.lower() in roles),
        ("act_type", "act types of the vocabulary", lambda v: act_types.lookup(v) is not None),
        ("facility", "detention facilities", facility),
        ("place", "places of the gazetteer", place),
        ("perpetrator_org", "agencies of the directory", agency),
        ("act_date", "dates", _is_date),
    ]


def _by_values(
    values: Sequence[str], kinds: list[tuple[str, str, Callable[[str], bool]]]
) -> Evidence | None:
    if not values:
        return None
    for target, what, test in kinds:
        fits = sum(1 for v in values if test(v))
        if fits / len(values) >= SHARE:
            confidence = "low" if target == "act_date" else "medium"
            return Evidence(target, confidence, f"{fits} of {len(values)} values are {what}")
    return None


#: where a column whose values fit a field goes when that field is taken
_NEXT = {"act_date": "source_date", "place": "victim_origin"}


def suggest(
    file: str,
    header: list[str],
    rows: Iterable[Row],
    places: Directory | None = None,
    organizations: Directory | None = None,
) -> Suggestion:
    """A mapping for a file from its header and first rows (:data:`SAMPLE_ROWS`)."""
    samples: dict[str, list[str]] = {h: [] for h in header}
    for count, row in enumerate(rows):
        if count >= SAMPLE_ROWS:
            break
        for h in header:
            if row.get(h):
                samples[h].append(row[h])
    kinds = _value_kinds(places, organizations)
    found: dict[str, Evidence] = {}
    for column in header:
        evidence = by_header(column)
        if evidence is None:
            evidence = _by_values(samples[column], kinds)
        if evidence is not None:
            found[column] = evidence
    chosen: dict[str, str | None] = dict.fromkeys(header)
    notes: dict[str, str] = {}
    confidence: dict[str, str] = {}
    taken: dict[str, str] = {}
    order = sorted(found, key=lambda c: -RANK[found[c].confidence])  # stable: file order
    for column in order:
        evidence = found[column]
        target = evidence.target
        if target in taken and target not in MULTI_VALUED and target in _NEXT:
            target = _NEXT[target] if _NEXT[target] not in taken else target
        if target in taken and target not in MULTI_VALUED:
            notes[column] = (
                f"not mapped: looks like {target} ({evidence.reason}), but "
                f"{taken[target]!r} gives it"
            )
            continue
        taken.setdefault(target, column)
        chosen[column] = target
        confidence[column] = evidence.confidence
        moved = "" if target == evidence.target else f"; {evidence.target} is taken"
        notes[column] = f"{evidence.confidence}: {evidence.reason}{moved}"
    for column in header:
        notes.setdefault(column, "not mapped: no header or value matched a field")
    return Suggestion(
        file,
        ColumnMapping(chosen, {}, None),
        notes,
        confidence,
        {h: v[:3] for h, v in samples.items()},
    )


__all__ = ["IGNORE", "SYNONYMS", "Evidence", "Suggestion", "by_header", "suggest"]
