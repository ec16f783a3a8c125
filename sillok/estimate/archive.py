"""Overlap tables from an archive: which lists recorded each victim.

The lists are values of a source field: ``collection`` (the part of the source ref before its
first ``-``, so ``NKDB-S-001`` belongs to ``NKDB``: the convention for pooling several groups'
files) or ``source_type`` (testimony, interview, document...). The units are persons: the
victims of acts. Until record linkage has resolved identities, each victim record is one unit,
and the estimate says so: the same person reported under two refs is then counted twice.
Once reviewers have accepted links (``sillok review``), each resolved identity is one unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sillok.errors import InvalidInput
from sillok.estimate.table import OverlapTable, strata_from_memberships, table_from_memberships
from sillok.messages import Message, not_one_of
from sillok.store import queries

if TYPE_CHECKING:
    from sillok.archive import Archive

LIST_FIELDS = ("collection", "source_type")
STRATA = ("year", "province", "act_type")
WHERE_KEYS = ("act_type", "place", "facility", "agency", "from", "to")
NOT_LINKED = Message(
    "no links between victim records have been accepted (sillok link, then sillok review): "
    "each victim record counts as one person, so a person reported under two refs is counted "
    "twice"
)


def parse_where(where: Iterable[str]) -> dict[str, str]:
    """``key=value`` filters, checked against the keys an act filter takes."""
    found: dict[str, str] = {}
    for item in where:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in WHERE_KEYS or not value.strip():
            raise InvalidInput(
                f"--where {item!r}: expected KEY=VALUE with KEY one of {', '.join(WHERE_KEYS)}"
            )
        found[key] = value.strip()
    return found


def _list_name(field: str, ref: str, source_type: str) -> str:
    return ref.split("-", 1)[0] if field == "collection" else source_type


def overlap_tables(
    archive: Archive, lists: str, where: Iterable[str] = (), by: str | None = None
) -> OverlapTable | dict[str, OverlapTable]:
    """The overlap table of an archive's victims (one per stratum when ``by`` is given)."""
    if lists not in LIST_FIELDS:
        raise InvalidInput(not_one_of(lists, LIST_FIELDS, "--lists"))
    if by is not None and by not in STRATA:
        raise InvalidInput(not_one_of(by, STRATA, "--by"))
    filters = parse_where(where)
    act_filter = archive.searcher.act_filter(
        act_type=filters.get("act_type"), date_from=filters.get("from"),
        date_to=filters.get("to"), place=filters.get("place"), facility=filters.get("facility"),
        agency=filters.get("agency"),
    )
    identity = archive.links.clusters()
    units: dict[tuple[int, str], set[str]] = {}
    with archive.store.reading() as conn:
        for victim, ref, source_type, act_type, lower, upper, place in queries.act_list_rows(
            conn, act_filter
        ):
            stratum = _stratum(archive, by, act_type, lower, upper, place) if by else ""
            unit = identity.get(victim, victim)
            units.setdefault((unit, stratum), set()).add(_list_name(lists, ref, source_type))
    if not units:
        raise InvalidInput("no victims match: nothing to count")
    notes = (NOT_LINKED,) if not identity else ()
    if by is None:
        return table_from_memberships(units.values(), notes=notes)
    return strata_from_memberships(_by_stratum(units), notes=notes)


def _by_stratum(units: dict[tuple[int, str], set[str]]) -> Iterator[tuple[str, set[str]]]:
    for (_victim, stratum), lists in units.items():
        yield stratum, lists


def _stratum(archive: Archive, by: str, act_type: str, lower: Any, upper: Any,
             place: int | None) -> str:
    if by == "act_type":
        return act_type
    if by == "year":
        if lower is None:
            return "unknown"
        return str(lower.year) if lower.year == upper.year else "uncertain"
    province = archive.places.province_of(place)
    return (province.vocab_key or str(province.id)) if province else "unknown"
