"""Exporting an archive's events, acts and involvements in HURIDOCS' Events Standard Formats.

ESF (HURIDOCS 1993, revised 2001) describes a violation as an *event* made of *acts* (each
with one victim, a type of act from micro-thesaurus 04, initial and final dates each with a
date type from MT 48, an exact location and a type of location from MT 17) and
*involvements* (a perpetrator's part in an act: degree of involvement, MT 18; type of
perpetrator, MT 24). This export writes those three formats as one JSON document, every
controlled value with Sillok's key, its labels and its ESF code where one exists
(:mod:`sillok.vocab.esf`).

The records are the flat acts export's rows (:meth:`sillok.records.export.Exports.rows`), so
the export shows exactly what the archive's user may see, redacted as that export redacts;
it is audited as an export. The acts of one source row each are merged back into one act (the
rows of an act are consecutive and differ only in their source).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sillok import vocab
from sillok.dates import OPEN_LOWER, OPEN_UPPER, DateError, UncertainDate, parse_date
from sillok.errors import InvalidInput
from sillok.records.withheld import WITHHELD, parts
from sillok.vocab import esf

if TYPE_CHECKING:
    from sillok.records.export import Exports

FORMAT = "HURIDOCS Events Standard Formats: events, acts and involvements (Sillok export 1)"
_SOURCE_COLUMNS = ("source_ref", "source_type", "source_date", "informant")


def export_json(exports: Exports, output: Path) -> int:
    """Write the events, acts and involvements the archive's user may see as ESF JSON;
    returns the number of acts. Audited as an export."""
    document = build(exports.rows())
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    try:
        partial.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        partial.replace(output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{output}: cannot write ({exc.strerror})") from None
    count = len(document["acts"])
    exports.vault.audit.record(
        "export", detail={"rows": count, "format": "esf", "include_protected": False}
    )
    return count


def _acts(rows: Iterable[Mapping[str, str]]) -> Iterator[tuple[Mapping[str, str], list[dict]]]:
    """Flat rows grouped back into acts: (the act's first row, its sources)."""
    current: Mapping[str, str] | None = None
    sources: list[dict[str, Any]] = []
    for row in rows:
        kind = row.get("source_type", "")
        source = {
            "ref": row.get("source_ref", ""),
            "type": _coded(kind, esf.value_code("source_type", kind)),
            "date": row.get("source_date", ""),
        }
        if current is not None and _same_act(current, row):
            sources.append(source)
            continue
        if current is not None:
            yield current, sources
        current, sources = row, [source]
    if current is not None:
        yield current, sources


def _same_act(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    return all(a.get(c) == b.get(c) for c in set(a) | set(b) if c not in _SOURCE_COLUMNS)


def _coded(key: str, code: esf.EsfCode | None, labels: Mapping[str, str] | None = None
           ) -> dict[str, Any] | None:
    if not key:
        return None
    value: dict[str, Any] = {"sillok": key, "esf": code.to_json() if code else None}
    if labels:
        value["labels"] = dict(labels)
    return value


def _term(vocabulary: str, key: str) -> dict[str, Any] | None:
    """A vocabulary value with its labels and nearest ESF code; a name not in the vocabulary
    (an archive's own place or organization) as itself, without a code."""
    if not key:
        return None
    terms = vocab.load(vocabulary)
    if key in WITHHELD or key not in terms:
        return {"sillok": key, "esf": None}
    return _coded(key, esf.nearest_code(vocabulary, key), terms.get(key).labels)


def _date(value: str) -> tuple[UncertainDate | None, dict[str, Any]]:
    """An ESF initial/final date pair with its date types, from an EDTF value."""
    if not value or value in WITHHELD:
        return None, {"edtf": value or None}
    try:
        date = parse_date(value)
    except DateError:
        return None, {"edtf": value}
    kind = esf.date_type(date)
    coded = kind.to_json() if kind else None
    return date, {
        "edtf": date.edtf,
        "initial_date": None if date.lower == OPEN_LOWER else date.lower.isoformat(),
        "final_date": None if date.upper == OPEN_UPPER else date.upper.isoformat(),
        "initial_date_type": coded,
        "final_date_type": coded,
    }


def _location(row: Mapping[str, str]) -> dict[str, Any]:
    """The act's exact location and type of location (MT 17: the facility's, else the
    place's)."""
    facility, place = row.get("facility", ""), row.get("place", "")
    places, types = vocab.load("places"), vocab.load("facility_types")
    code = None
    if facility in types:
        code = esf.nearest_code("facility_types", facility)
    elif facility in places:
        ftype = places.get(facility).extra.get("facility_type")
        code = esf.nearest_code("facility_types", ftype) if ftype else None
    if code is None and place in places:
        code = esf.nearest_code("places", place)
    return {
        "place": _term("places", place),
        "facility": _term("places", facility) if facility not in types else _term(
            "facility_types", facility),
        "type_of_location": code.to_json() if code else None,
    }


def build(rows: Iterable[Mapping[str, str]]) -> dict[str, Any]:
    """The ESF document for flat acts rows (as the export wrote them)."""
    events: dict[str, dict[str, Any]] = {}
    acts: list[dict[str, Any]] = []
    involvements: list[dict[str, Any]] = []
    for number, (row, sources) in enumerate(_acts(rows), start=1):
        record = f"act-{number}"
        date, dates = _date(row.get("act_date", ""))
        act = {
            "record": record,
            "event": row.get("event_ref") or None,
            "victim": _victim(row),
            "type_of_act": _term("act_types", row.get("act_type", "")),
            **dates,
            **_location(row),
            "description": row.get("description") or None,
            "sharing": row.get("sharing") or None,
            "sources": sources,
        }
        acts.append(act)
        if row.get("event_ref"):
            event = events.setdefault(
                row["event_ref"],
                {"record": row["event_ref"], "title": row.get("event_title") or None,
                 "initial_date": None, "final_date": None, "acts": []},
            )
            event["acts"].append(record)
            if date is not None:
                _widen(event, date)
        involvements += _involvements(record, row)
    return {
        "format": FORMAT,
        "micro_thesauri": {f"{mt:02d}": title for mt, title in esf.MICRO_THESAURI.items()},
        "events": list(events.values()),
        "acts": acts,
        "involvements": involvements,
    }


def _widen(event: dict[str, Any], date: UncertainDate) -> None:
    """An event's dates span its acts' (the earliest start, the latest end)."""
    if date.lower != OPEN_LOWER:
        start = date.lower.isoformat()
        event["initial_date"] = min(filter(None, (event["initial_date"], start)))
    if date.upper != OPEN_UPPER:
        end = date.upper.isoformat()
        event["final_date"] = max(filter(None, (event["final_date"], end)))


def _victim(row: Mapping[str, str]) -> dict[str, Any] | None:
    names = [n for n in (row.get("victim_name"), row.get("victim_name_hangul")) if n]
    if not names and not row.get("victim_ref"):
        return None
    sex = row.get("victim_sex", "")
    return {
        "ref": row.get("victim_ref") or None,
        "names": names + parts(row.get("victim_aliases", "")),
        "sex": _coded(sex, esf.value_code("sex", sex)),
        "birth": _date(row.get("victim_birth", ""))[1],
    }


def _involvements(record: str, row: Mapping[str, str]) -> list[dict[str, Any]]:
    role = row.get("perpetrator_role") or "perpetrator"
    degree = _coded(role, esf.value_code("perpetrator_role", role))
    found = []
    for org in parts(row.get("perpetrator_org", "")):
        term = _term("agencies", org)
        found.append({
            "act": record,
            "perpetrator": {"kind": "organization", **(term or {})},
            "degree_of_involvement": degree,
            "type_of_perpetrator": term["esf"] if term else None,
        })
    for name in parts(row.get("perpetrator_name", "")):
        found.append({
            "act": record,
            "perpetrator": {"kind": "person", "name": name},
            "degree_of_involvement": degree,
            "type_of_perpetrator": None,
        })
    return found


__all__ = ["FORMAT", "build", "export_json"]
