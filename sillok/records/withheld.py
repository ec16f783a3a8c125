"""What an import reads beyond the flat acts values: what an export withheld, who is protected.

An export writes ``[protected]``, ``[redacted]`` or ``[erased]`` in place of a value its role
may not read (or one shredded). Importing such a file must neither store the marker as data
nor clear what the archive holds: the column is read as *withheld*, and the importer leaves
that field as it is. A marker in a column that says which record a row is about makes the
row invalid: nothing could be matched. The ``protected`` column says who in a row is
protected, so that a full export imported again (or into another archive) keeps them so.
See docs/flat-acts-format.md, "Withheld values" and "Protected persons".
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sillok.records.flatacts import ParsedRow, RowError, parse_row
from sillok.security.policy import PROTECTED, REDACTED
from sillok.security.seal import ERASED

WITHHELD = frozenset({PROTECTED, REDACTED, ERASED})
"""What an export writes in place of a value the exporting role may not read (or one shredded):
an import leaves the field as it is (docs/flat-acts-format.md, "Withheld values")."""

#: columns that identify the records a row is about: withheld, the row cannot be matched
IDENTIFYING = ("source_ref", "event_ref", "victim_ref", "act_type", "act_date", "sharing",
               "source_type", "source_date", "place", "facility", "perpetrator_org",
               "perpetrator_role")

PROTECTED_COLUMN = "protected"
"""The column naming who in a row is protected: ``victim`` and ``perpetrator N`` (the Nth
name of ``perpetrator_name``), separated by ``;``."""


@dataclass
class ImportRow(ParsedRow):
    """A valid row, with the columns an export withheld and who in it is protected."""

    withheld: frozenset[str] = frozenset()
    protected_victim: bool = False
    protected_perpetrators: frozenset[str] = frozenset()


def parts(value: str) -> list[str]:
    """The items of a ``;``-separated column (as :mod:`sillok.records.flatacts` splits them)."""
    return [v.strip() for v in value.split(";") if v.strip()]


def _protected_of(value: str) -> tuple[bool, set[int], str]:
    """The ``protected`` column: (the victim, perpetrator positions, an error or "")."""
    victim, positions = False, set()
    for item in parts(value):
        word, _, number = item.lower().partition(" ")
        if word == "victim" and not number:
            victim = True
        elif word == "perpetrator" and number.strip().isdigit() and int(number) > 0:
            positions.add(int(number))
        else:
            return False, set(), "not 'victim' or 'perpetrator N', separated by ';'"
    return victim, positions, ""


def parse_import_row(number: int, raw: dict[str, str]) -> ImportRow | list[RowError]:
    """Validate one row (:func:`sillok.records.flatacts.parse_row`), with its withheld values
    and its ``protected`` column read: the row, or every error in it."""
    withheld = {
        column
        for column, value in raw.items()
        if value in WITHHELD
        or (column == "perpetrator_name" and WITHHELD & set(parts(value)))
    }
    errors = [
        RowError(number, column, raw[column],
                 "withheld by the export that wrote it: the row cannot be matched to a "
                 "record (export with a role that may read it)")
        for column in IDENTIFYING
        if column in withheld
    ]
    victim, positions, bad = _protected_of(raw.get(PROTECTED_COLUMN, ""))
    named = parts(raw.get("perpetrator_name", ""))
    if not bad and positions and max(positions) > len(named):
        bad = f"there are {len(named)} names in perpetrator_name"
    if bad:
        errors.append(RowError(number, PROTECTED_COLUMN, raw[PROTECTED_COLUMN], bad))
    cleaned = {c: ("" if c in withheld and c != "perpetrator_name" else v)
               for c, v in raw.items()}
    parsed = parse_row(number, cleaned)
    if isinstance(parsed, list) or errors:
        return errors + (parsed if isinstance(parsed, list) else [])
    parsed.perpetrator_names = [n for n in parsed.perpetrator_names if n not in WITHHELD]
    return ImportRow(
        **{f.name: getattr(parsed, f.name) for f in fields(ParsedRow)},
        withheld=frozenset(withheld),
        protected_victim=victim,
        protected_perpetrators=frozenset(named[p - 1] for p in positions) - WITHHELD,
    )


__all__ = ["IDENTIFYING", "PROTECTED_COLUMN", "WITHHELD", "ImportRow", "parse_import_row", "parts"]
