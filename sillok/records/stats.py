"""Counting acts by act type, year, province, facility type or agency."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from sillok import vocab
from sillok.errors import InvalidInput
from sillok.store import queries
from sillok.store.queries import ActFilter

if TYPE_CHECKING:
    from sillok.vault import Vault

GROUPINGS = ("act_type", "year", "province", "facility", "agency")
UNKNOWN = "unknown"


class Stats:
    """Counts of an archive's acts."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def archive_counts(self) -> dict[str, int]:
        """How many sources, events, acts, persons and organizations the archive holds."""
        with self.vault.store.reading() as conn:
            return queries.count_records(conn)

    def count(self, by: str, act_filter: ActFilter | None = None) -> list[dict[str, Any]]:
        """Rows of the grouping key(s) and ``count``, largest count first.

        ``year`` counts an act in a year only when its date lies within that year; an act
        whose date spans several years is counted as ``uncertain``, one without a date as
        ``unknown``, so no act is counted twice and none is placed in a year it may not be in.
        """
        if by not in GROUPINGS:
            raise InvalidInput(f"--by: {by!r} is not one of {', '.join(GROUPINGS)}")
        act_filter = act_filter or ActFilter()
        column = {
            "act_type": "act_type",
            "year": "year",
            "province": "place_id",
            "facility": "facility_type",
            "agency": "organization_id",
        }[by]
        with self.vault.store.reading() as conn:
            raw = queries.count_acts_by(conn, column, act_filter)
        counts: Counter[str] = Counter()
        labels: dict[str, str] = {}
        for key, n in raw:
            name, label = self._group(by, key)
            counts[name] += n
            labels[name] = label
        key_name = by if by != "facility" else "facility_type"
        return [
            {key_name: name, "label": labels[name], "count": n}
            for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]

    def _group(self, by: str, key: Any) -> tuple[str, str]:
        if key is None:
            return UNKNOWN, UNKNOWN
        if by == "act_type":
            term = vocab.load("act_types").lookup(key)
            return key, term.label("en") if term else key
        if by == "year":
            lower, upper = key
            if lower is None:
                return UNKNOWN, UNKNOWN
            return (lower, lower) if lower == upper else ("uncertain", "spans several years")
        if by == "province":
            province = self.vault.places.province_of(key)
            return (
                (province.vocab_key or str(province.id), province.label)
                if province
                else (UNKNOWN, UNKNOWN)
            )
        if by == "facility":
            term = vocab.load("facility_types").lookup(key)
            return key, term.label("en") if term else key
        org = self.vault.organizations.get(key)
        return (org.vocab_key or str(org.id), org.label) if org else (UNKNOWN, UNKNOWN)
