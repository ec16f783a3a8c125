"""HURIDOCS Events Standard Formats (ESF) micro-thesaurus codes for Sillok's terms.

A term of a shipped vocabulary carries its ESF code in ``extra.esf`` (the 12-digit
``huri_code`` of the micro-thesaurus term, as HURIDOCS' own OpenEvSys ships them in
``schema/mysql-dbpopulate-mt.sql``); which micro-thesaurus (MT) it belongs to follows from the
vocabulary (:data:`VOCABULARY_MT`). The flat acts format's own values (perpetrator roles,
sexes, source types) and the persons' statuses have their codes here. Only codes that exist in
the micro-thesauri are given; a term without a fitting code has none (docs/vocabularies.md
lists them). Only the codes are shipped, never the micro-thesauri's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sillok.dates import UncertainDate
from sillok.vocab import Term, load

#: the micro-thesauri Sillok uses, by number (their titles, for exports and docs)
MICRO_THESAURI: dict[int, str] = {
    4: "Types of acts",
    16: "Type of source material",
    17: "Type of location",
    18: "Degree of involvement",
    24: "Type of perpetrator",
    25: "Status in terms of life/integrity of the person",
    39: "Sex",
    48: "Date type",
}

#: vocabulary -> the micro-thesaurus its terms' ``extra.esf`` codes are from
VOCABULARY_MT: dict[str, int] = {
    "act_types": 4,
    "facility_types": 17,
    "places": 17,
    "agencies": 24,
}

_CODE = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class EsfCode:
    """One micro-thesaurus term: its MT number and its 12-digit code."""

    mt: int
    code: str

    def __str__(self) -> str:
        return f"MT{self.mt:02d}:{self.code}"

    def to_json(self) -> dict[str, object]:
        """The code as JSON-ready data."""
        return {"mt": self.mt, "code": self.code, "thesaurus": MICRO_THESAURI[self.mt]}


#: perpetrator role (flat acts ``perpetrator_role``) -> MT 18, degree of involvement.
#: ``accomplice`` (aided or abetted) has no code: MT 18's "passive accomplice" is narrower.
PERPETRATOR_ROLE: dict[str, str] = {
    "perpetrator": "010000000000",  # involvement in violent or coercive acts
    "direct": "010100000000",  # directly carried out the act
    "ordered": "010200000000",  # gave orders that led to the act
    "superior": "050100000000",  # failure to exercise authority over subordinates
}
#: sex -> MT 39
SEX: dict[str, str] = {"male": "010000000000", "female": "020000000000", "unknown": "990000000000"}
#: person status -> MT 25 (``alive`` has no code)
PERSON_STATUS: dict[str, str] = {
    "dead": "010100000000",
    "disappeared": "010300000000",  # still missing
    "detained": "020200000000",  # arrested and currently held
    "unknown": "990000000000",
}
#: source type -> MT 16 (testimony, document and NGO report have no single code)
SOURCE_TYPE: dict[str, str] = {
    "interview": "091420051801",
    "media_report": "140523191601",
}
#: date types of MT 48
ESTIMATE, UNKNOWN_DAY, UNKNOWN_MONTH_AND_DAY = "010000000000", "020000000000", "030000000000"

_ENUMS: dict[str, tuple[int, dict[str, str]]] = {
    "perpetrator_role": (18, PERPETRATOR_ROLE),
    "sex": (39, SEX),
    "person_status": (25, PERSON_STATUS),
    "source_type": (16, SOURCE_TYPE),
}


def is_code(value: object) -> bool:
    """Whether ``value`` is written as a micro-thesaurus code (12 digits)."""
    return isinstance(value, str) and _CODE.match(value) is not None


def term_code(term: Term) -> EsfCode | None:
    """The ESF code of a vocabulary term itself, or None."""
    code = term.extra.get("esf")
    mt = VOCABULARY_MT.get(term.vocabulary)
    return EsfCode(mt, code) if mt is not None and isinstance(code, str) and is_code(code) else None


def nearest_code(vocabulary: str, key: str) -> EsfCode | None:
    """The code of a term or, failing that, of its nearest ancestor that has one (a public
    execution is coded as an execution); None for an unknown key or no coded ancestor."""
    terms = load(vocabulary)
    if key not in terms:
        return None
    for term in (terms.get(key), *terms.ancestors(key)):
        if (found := term_code(term)) is not None:
            return found
    return None


def value_code(kind: str, value: str) -> EsfCode | None:
    """The code of one of the flat format's values (``kind``: perpetrator_role, sex,
    person_status or source_type), or None."""
    mt, table = _ENUMS[kind]
    code = table.get(value)
    return EsfCode(mt, code) if code else None


def date_type(date: UncertainDate) -> EsfCode | None:
    """MT 48 for a date: none for a known day, "unknown day" for a month, "unknown month and
    day" for a year, and "estimate" for anything less certain (approximate, a range)."""
    edtf = date.edtf
    if re.fullmatch(r"-?\d{4}-\d{2}-\d{2}", edtf):
        return None
    if re.fullmatch(r"-?\d{4}-\d{2}", edtf):
        return EsfCode(48, UNKNOWN_DAY)
    if re.fullmatch(r"-?\d{4}", edtf):
        return EsfCode(48, UNKNOWN_MONTH_AND_DAY)
    return EsfCode(48, ESTIMATE)


__all__ = [
    "MICRO_THESAURI",
    "PERPETRATOR_ROLE",
    "VOCABULARY_MT",
    "EsfCode",
    "date_type",
    "is_code",
    "nearest_code",
    "term_code",
    "value_code",
]
