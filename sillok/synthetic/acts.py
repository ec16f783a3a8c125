"""Synthetic testimonies as flat act rows: the demo archive, the tests and the benchmarks.

Everything here is invented: names come from syllable pools (:mod:`sillok.synthetic.persons`),
places, facilities, agencies and act types from the shipped vocabularies. Several testimonies
report the same victim, some by a shared ``victim_ref`` and some only by a spelling of the name,
as happens when different groups interview different witnesses.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from sillok import vocab
from sillok.synthetic.persons import PersonReport, generate_persons, generate_reports

#: how dates are written in the rows (formats of the importer), filled with a year and month
_DATE_FORMS = (
    "{y}",
    "{y}-{m:02d}",
    "{y}년 {m}월",
    "around {y}",
    "{y}년경",
    "spring {y}",
    "{y}~{y2}",
    "{y}-{m:02d}-{d:02d}",
    "{y}년 {m}월 {d}일",
    "{dec}s",
    "{dec}년대",
)
_SOURCE_FORMS = ("{y}-{m:02d}", "{y}년 {m}월", "{y}")
_SOURCE_TYPES = ("testimony", "testimony", "testimony", "interview", "document", "ngo report")
_SHARING = ("internal", "internal", "internal", "confidential", "public")
_DESCRIPTIONS_KO = (
    "{place}에서 {kind} 피해를 입었다고 증언함",
    "{year}년 무렵 {place}에 끌려가 조사를 받음",
    "가족과 함께 {place}(으)로 이송되었다고 진술",
    "보위원에게 심문을 받으며 구타당함",
    "중국에서 강제송환된 뒤 집결소에 수감",
    "공개처형을 목격했다고 증언",
)
_DESCRIPTIONS_EN = (
    "Witness states the victim was taken to {place} around {year}.",
    "Interrogated and beaten during questioning by security officers.",
    "Reported {kind} after being returned from China.",
    "Family members were held at {place} as well.",
)


@dataclass(frozen=True)
class _Pools:
    act_types: tuple[str, ...]
    act_labels: dict[str, str]
    places: tuple[str, ...]
    camps: tuple[str, ...]
    facility_types: tuple[str, ...]
    agency_names: tuple[str, ...]
    provinces: tuple[str, ...]


def _pools() -> _Pools:
    acts = vocab.load("act_types")
    concrete = tuple(t.key for t in acts.terms if t.parent is not None and not t.deprecated)
    places = vocab.load("places")
    towns = tuple(
        t.labels.get("ko") or t.key
        for t in places.terms
        if t.extra.get("kind") in ("county", "city", "district")
    )
    camps = tuple(
        t.labels.get("ko") or t.key for t in places.terms if t.extra.get("kind") == "facility"
    )
    provinces = tuple(t.key for t in places.terms if t.key.startswith("KP-"))
    ftypes = vocab.load("facility_types")
    facility_names = tuple(
        n
        for t in ftypes.terms
        for n in (t.labels.get("ko"), t.labels.get("en"), *t.aliases[:1])
        if n
    )
    agencies = vocab.load("agencies")
    agency_names = tuple(
        n
        for t in agencies.terms
        for n in (t.labels.get("ko"), t.labels.get("en"), *t.aliases[:3])
        if n
    )
    return _Pools(
        act_types=concrete,
        act_labels={t.key: t.labels.get("ko", t.key) for t in acts.terms},
        places=towns,
        camps=camps,
        facility_types=facility_names,
        agency_names=agency_names,
        provinces=provinces,
    )


def _date(rng: random.Random, forms: tuple[str, ...], year: int) -> str:
    form = rng.choice(forms)
    return form.format(
        y=year,
        y2=year + rng.randint(1, 3),
        m=rng.randint(1, 12),
        d=rng.randint(1, 28),
        dec=year // 10 * 10,
    )


def generate_rows(acts: int, seed: int = 1) -> Iterator[dict[str, str]]:
    """``acts`` flat act rows, the same for the same seed.

    About three acts per testimony; about 40% of victims are reported by more than one
    testimony; half of the repeated reports share a ``victim_ref``, the rest only a name.
    """
    rng = random.Random(seed)
    pools = _pools()
    victims = max(1, acts // 3)
    persons = generate_persons(victims, seed)
    reports: list[PersonReport] = generate_reports(persons, reports_per_person=(1, 3), seed=seed)
    produced = 0
    source_no = 0
    described_refs: set[str] = set()
    report_index = 0
    while produced < acts:
        source_no += 1
        source_ref = f"T{seed:02d}-{source_no:07d}"
        source_type = rng.choice(_SOURCE_TYPES)
        year = rng.randint(1990, 2019)
        source_date = _date(rng, _SOURCE_FORMS, min(year + rng.randint(1, 6), 2024))
        informant = f"Informant {rng.randint(1, 10**6):06d}"
        sharing = rng.choice(_SHARING)
        event_ref = f"E{seed:02d}-{source_no:07d}"
        place = rng.choice(pools.places)
        at_camp = rng.random() < 0.3
        event_title = f"{place} {'관리소 수감' if at_camp else '구금'} ({year})"
        for _ in range(rng.randint(1, 5)):
            if produced >= acts:
                break
            report = reports[report_index % len(reports)]
            report_index += 1
            act_type = rng.choice(pools.act_types)
            shared_ref = rng.random() < 0.5
            # a victim known by ref is described once; later testimonies just name them
            described = not shared_ref or report.person_id not in described_refs
            if shared_ref:
                described_refs.add(report.person_id)
            yield {
                "source_ref": source_ref,
                "source_type": source_type,
                "source_date": source_date,
                "informant": informant,
                "event_ref": event_ref,
                "event_title": event_title,
                "act_type": act_type if rng.random() < 0.8 else pools.act_labels[act_type],
                "act_date": _date(rng, _DATE_FORMS, year),
                "place": place,
                "facility": rng.choice(pools.camps)
                if at_camp
                else (rng.choice(pools.facility_types) if rng.random() < 0.5 else ""),
                "victim_ref": report.person_id if shared_ref else "",
                "victim_name": report.name,
                "victim_name_hangul": report.name_hangul or "",
                "victim_sex": (report.sex or "") if described else "",
                "victim_birth": (report.birth or "") if described else "",
                "victim_origin": (report.origin or "") if described else "",
                "perpetrator_org": rng.choice(pools.agency_names) if rng.random() < 0.7 else "",
                "perpetrator_name": "",
                "description": (
                    rng.choice(_DESCRIPTIONS_KO)
                    if rng.random() < 0.7
                    else rng.choice(_DESCRIPTIONS_EN)
                ).format(place=place, year=year, kind=pools.act_labels[act_type]),
                "sharing": sharing,
            }
            produced += 1
