"""Event linkage: the same event (one public execution, one round-up) reported by several
testimonies, each as its own event record.

An event is compared on its date (the overlap of uncertain ranges), its place (the
hierarchy), the act types of its acts, its title, and the victims of its acts (a victim
counts as shared when it is the same person record or two records joined by accepted person
links). Date, place and title are fields of the ``schema`` kinds (``date``, ``place``,
``text``) whose feature columns they reuse, compared by event versions of their comparisons
(vague reports agree; see each); act types and victims are sets, compared by whether they
share a member (``set_comparison``).

``events_frame`` turns the rows the store reads into the input frame of ``EVENTS``; which
rows are read (nothing confidential, no protected person) is decided by the caller.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from sillok.dates import DateError
from sillok.linkage.comparisons import (
    ComparisonCreator,
    cl,
    cll,
    date_comparison,
    level,
    place_comparison,
)
from sillok.linkage.features import date_features, place_features
from sillok.linkage.schema import FieldSpec, Schema

# How many members of each set are spelt out in their own column. Two sets are found to
# share a member when it is among the first SET_SLOTS (sorted) of either: an event with more
# act types or victims than this is compared on its first ones only.
SET_SLOTS = 6
# How often one report of an event gives a vaguer date (a year) or place (a province) than
# another of the same event: a guess for testimonies, kept fixed (see date_comparison).
VAGUE_DATE_M = 0.2
VAGUE_PLACE_M = 0.2


@dataclass(frozen=True)
class SetSpec:
    """A field holding a set of keys (act types, victim identities).

    Attributes:
        name: the field's name; its input columns are ``name`` (the whole set, written
            ``|a|b|``) and ``name_1`` .. ``name_<SET_SLOTS>`` (its first members).
        what: the members in words, for the level labels ("act type", "victim").
        m_same: prior m of "the same set" (all m values are re-estimated by training).
        m_shared: prior m of "a member in common".
    """

    name: str
    what: str
    m_same: float
    m_shared: float

    def columns(self) -> tuple[str, ...]:
        """The input columns of the field."""
        return (self.name, *(f"{self.name}_{i}" for i in range(1, SET_SLOTS + 1)))


def event_title_comparison(field: str) -> ComparisonCreator:
    """An event title, folded: same > close > different.

    The ``text`` kind's comparison has a third, "similar" level; on event titles few pairs
    reach it and expectation maximisation drives its m value to zero (below what Splink
    accepts, which stops training), so events keep two agreeing levels.
    """
    return cl.CustomComparison(
        output_column_name=field,
        comparison_description="event title",
        comparison_levels=[
            cll.NullLevel(field).configure(label_for_charts="title missing"),
            cll.ExactMatchLevel(field, term_frequency_adjustments=True).configure(
                label_for_charts="same title"
            ),
            cll.JaroWinklerLevel(field, 0.88).configure(label_for_charts="title close"),
            cll.ElseLevel().configure(label_for_charts="different title"),
        ],
    )


def set_comparison(spec: SetSpec) -> ComparisonCreator:
    """Two sets: the same set > members in common > nothing in common; empty is missing."""
    p = spec.name
    shared = " OR ".join(
        f"instr({p}_{b}, concat('|', {p}_{i}_{a}, '|')) > 0"
        for i in range(1, SET_SLOTS + 1)
        for a, b in (("l", "r"), ("r", "l"))
    )
    m_else = max(1.0 - spec.m_same - spec.m_shared, 0.01)
    return cl.CustomComparison(
        output_column_name=p,
        comparison_description=f"{spec.what}s (sets)",
        comparison_levels=[
            level(f"{p}_l IS NULL OR {p}_r IS NULL", f"{spec.what} unknown")
            .configure(is_null_level=True),
            level(f"{p}_l = {p}_r", f"same {spec.what}s")
            .configure(m_probability=spec.m_same),
            level(f"({shared})", f"{spec.what}s in common")
            .configure(m_probability=spec.m_shared),
            cll.ElseLevel().configure(
                label_for_charts=f"no {spec.what} in common", m_probability=m_else
            ),
        ],
    )


@dataclass(frozen=True)
class EventSchema(Schema):
    """A schema with set fields besides the kinds of ``schema.FIELD_KINDS``.

    Attributes:
        sets: the set fields; their columns are read as they are (``events_frame``
            writes them), so they are listed in ``extra_columns`` too.
    """

    sets: tuple[SetSpec, ...] = ()

    def comparisons(self) -> list[ComparisonCreator]:
        """The comparisons of the plain fields (event versions for date, place and title),
        then of the set fields."""
        own: dict[str, Callable[[str], ComparisonCreator]] = {
            "date": lambda name: date_comparison(name, vague_m=VAGUE_DATE_M),
            "place": lambda name: place_comparison(name, vague_m=VAGUE_PLACE_M),
            "text": event_title_comparison,
        }
        plain = [
            own[spec.kind](spec.name) if spec.kind in own else comparison
            for spec, comparison in zip(self.fields, super().comparisons(), strict=True)
        ]
        return plain + [set_comparison(s) for s in self.sets]

    def input_columns(self) -> list[str]:
        """Every raw input column, id first, set columns last."""
        return super().input_columns() + [c for s in self.sets for c in s.columns()]


ACT_TYPES = SetSpec("acts", "act type", m_same=0.6, m_shared=0.3)
VICTIMS = SetSpec("victims", "victim", m_same=0.2, m_shared=0.3)

EVENTS = EventSchema(
    name="events",
    fields=(
        FieldSpec("date", "date", ("date",)),
        FieldSpec("place", "place", ("place",)),
        FieldSpec("title", "text", ("title",)),
    ),
    sets=(ACT_TYPES, VICTIMS),
    extra_columns=ACT_TYPES.columns() + VICTIMS.columns(),
    # Same year (the middle of the date range), same county or city and first act type (a
    # date misread by years), the same title. Each is an equality, so blocks stay small.
    blocking_rules=(
        "l.date_year = r.date_year",
        "l.place_local = r.place_local AND l.acts_1 = r.acts_1",
        "l.title = r.title",
    ),
    large_blocking_rules=(
        "l.date_year = r.date_year AND l.place_prov = r.place_prov",
        "l.place_local = r.place_local AND l.acts_1 = r.acts_1 AND l.date_year = r.date_year",
        "l.title = r.title AND l.place_prov = r.place_prov",
    ),
    # The year trains place, act types, title and victims; the county or city trains date.
    training_rules=("l.date_year = r.date_year", "l.place_local = r.place_local"),
    deterministic_rules=(
        "l.date_edtf = r.date_edtf AND l.date_lo = l.date_hi AND l.place_local = r.place_local",
    ),
)

EventRow = tuple[int, str | None, str | None, int | None]
ActRow = tuple[int, str, str | None, int | None, int | None, int | None]


def set_columns(spec: SetSpec, members: Iterable[str]) -> dict[str, str | None]:
    """The input columns of one set: ``|a|b|`` (None when empty) and its first members."""
    ordered = sorted({m for m in members if m})
    out: dict[str, str | None] = {spec.name: f"|{'|'.join(ordered)}|" if ordered else None}
    for i in range(1, SET_SLOTS + 1):
        out[f"{spec.name}_{i}"] = ordered[i - 1] if i <= len(ordered) else None
    return out


def events_frame(
    events: Sequence[EventRow],
    acts: Sequence[ActRow],
    place_key: Callable[[int], str | None],
    victim_key: Callable[[int], str],
) -> pd.DataFrame:
    """The input frame of ``EVENTS``, one row per event.

    An event's own date and place are used when it has them; otherwise its acts': their one
    date, or the span from the earliest to the latest; the place most of them name (a facility
    stands for its place), the more precise on a tie.

    Args:
        events: (id, title, date EDTF, place id) of each event to compare.
        acts: (event id, act type, date EDTF, place id, facility id, victim id) of their acts.
        place_key: a place id as text ``features.place_features`` reads (a gazetteer key or
            a name), None when unknown.
        victim_key: a victim id as its identity (the same for linked persons).
    """
    by_event: dict[int, list[ActRow]] = {}
    for act in acts:
        by_event.setdefault(act[0], []).append(act)
    rows = []
    for event_id, title, edtf, place_id in events:
        own = by_event.get(event_id, [])
        place = place_key(place_id) if place_id is not None else None
        rows.append({
            "id": str(event_id),
            "title": title or None,
            "date": edtf or _acts_date([a[2] for a in own]),
            "place": place or _acts_place(
                [place_key(pid) for a in own if (pid := a[4] or a[3]) is not None]
            ),
            **set_columns(ACT_TYPES, (a[1] for a in own)),
            **set_columns(VICTIMS, (victim_key(a[5]) for a in own if a[5] is not None)),
        })
    return pd.DataFrame(rows, columns=EVENTS.input_columns())


def _acts_date(dates: list[str | None]) -> str | None:
    known = sorted({d for d in dates if d})
    if len(known) <= 1:
        return known[0] if known else None
    bounds = []
    for text in known:
        try:
            feats = date_features(text)
        except DateError:
            continue
        if feats.lower is not None and feats.upper is not None:
            bounds.append((feats.lower, feats.upper))
    if not bounds:
        return None
    lower = date.fromordinal(min(b[0] for b in bounds)).isoformat()
    upper = date.fromordinal(max(b[1] for b in bounds)).isoformat()
    return f"{lower}/{upper}"


def _acts_place(keys: list[str | None]) -> str | None:
    counts = Counter(k for k in keys if k)
    if not counts:
        return None
    return max(counts, key=lambda k: (counts[k], place_features(k).local is not None, k))
