"""Counting acts by act type, year, province, facility type or agency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sillok import vocab
from sillok.errors import InvalidInput
from sillok.messages import not_one_of
from sillok.security.policy import may_see
from sillok.store import queries
from sillok.store import rows as store_rows
from sillok.store.queries import ActFilter

if TYPE_CHECKING:
    from sillok.vault import Vault

GROUPINGS = ("act_type", "year", "province", "facility", "agency")
#: what the acts a search found are tallied by, to narrow it further
FACETS = (*GROUPINGS, "sharing")
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
            raise InvalidInput(not_one_of(by, GROUPINGS, "--by"))
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

    def facets(self, act_ids: Sequence[int]) -> dict[str, Counter[str]]:
        """How many of the given acts (those the role may see) fall under each key of each of
        :data:`FACETS`: act type, year (an act whose date lies within one year), province
        (one of the gazetteer's), facility type, agency and sharing level."""
        counters: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
        with self.vault.store.reading() as conn:
            rows = store_rows.get_many(conn, "act", act_ids)
            perps = queries.perpetrators_of_acts(conn, list(rows))
        places, orgs = self.vault.places, self.vault.organizations
        for act in (rows[i] for i in act_ids if i in rows):
            if not may_see(self.vault.role, act.sharing):
                continue
            counters["act_type"][act.act_type] += 1
            lower, upper = act.date_lower, act.date_upper
            if lower is not None and upper is not None and lower.year == upper.year:
                counters["year"][str(lower.year)] += 1
            province = places.province_of(act.facility_id or act.place_id)
            if province is not None and province.vocab_key:
                counters["province"][province.vocab_key] += 1
            if act.facility_type:
                counters["facility"][act.facility_type] += 1
            for org_id in {o for o, _p, _r in perps.get(act.id, []) if o}:
                org = orgs.get(org_id)
                if org is not None:
                    counters["agency"][org.vocab_key or org.label] += 1
            counters["sharing"][act.sharing] += 1
        return counters

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
