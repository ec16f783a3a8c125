"""Search across scripts, short Korean queries, filters; stats."""

from __future__ import annotations

from pathlib import Path

import pytest

from sillok.archive import Archive
from sillok.errors import InvalidInput
from tests.datasets import YODOK, row, write_csv

MORE = [
    row(
        source_ref="S-003",
        act_type="forced_repatriation",
        act_date="2012-05",
        place="Sinuiju",
        victim_ref="V-003",
        victim_name="리설화",
        victim_sex="female",
        perpetrator_org="MSoS",
        description="중국에서 강제송환됨",
    ),
    row(
        source_ref="S-004",
        act_type="arbitrary_detention",
        act_date="1998",
        place="회령",
        facility="교화소",
        victim_ref="V-004",
        victim_name="Pak Kyong-hui",
        description="Held in a kyohwaso for three years",
    ),
]


@pytest.fixture
def filled(archive: Archive, tmp_path: Path) -> Archive:
    archive.ingest.run(write_csv(tmp_path / "a.csv", [*YODOK, *MORE]))
    return archive


def kinds_ids(archive: Archive, query: str, **filters: str) -> set[tuple[str, int]]:
    act_filter = archive.searcher.act_filter(**filters) if filters else None
    return {(h.kind, h.id) for h in archive.searcher.search(query, act_filter)}


def victim_acts(archive: Archive, hits: set[tuple[str, int]]) -> set[str]:
    """The victim names of the acts among hits."""
    names = set()
    for kind, rid in hits:
        if kind == "act":
            names.add(archive.records.show("act", rid).get("victim", ""))
    return names


@pytest.mark.parametrize(
    ("query", "expected_victim"),
    [
        ("Yodok", "Kim Yo-jong (김여정)"),
        ("요덕", "Kim Yo-jong (김여정)"),
        ("김여정", "Kim Yo-jong (김여정)"),
        ("Kim Yo-jong", "Kim Yo-jong (김여정)"),
        ("Kim Yŏ-jŏng", "Kim Yo-jong (김여정)"),
        ("Kim Yǒ-jǒng", "Kim Yo-jong (김여정)"),
        ("여정", "Kim Yo-jong (김여정)"),
        ("이설화", "리설화"),  # ROK spelling finds DPRK spelling
        ("Ri Sol-hwa", "리설화"),
        ("Lee Seol-hwa", "리설화"),
        ("박경희", "Pak Kyong-hui"),  # Hangul finds a name recorded only in Latin letters
        ("강제송환", "리설화"),
        ("송환", "리설화"),  # two syllables inside a longer word
        ("Hyesan", "Ri Chol-su"),
        ("kyohwaso", "Pak Kyong-hui"),
    ],
)
def test_cross_script_queries(filled: Archive, query: str, expected_victim: str) -> None:
    hits = kinds_ids(filled, query)
    assert expected_victim in victim_acts(filled, hits), (query, hits)


def test_persons_sources_and_events_are_found(filled: Archive) -> None:
    hits = kinds_ids(filled, "Kim Yo-jong")
    assert any(k == "person" for k, _ in hits)
    assert any(k == "source" for k, _ in kinds_ids(filled, "S-001"))
    assert any(k == "event" for k, _ in kinds_ids(filled, "Public execution"))


def test_unrelated_query_finds_nothing(filled: Archive) -> None:
    assert kinds_ids(filled, "Kim Jong-nam") == set()
    assert kinds_ids(filled, "zzyzx") == set()


def test_protected_informant_is_not_searchable(filled: Archive) -> None:
    assert kinds_ids(filled, "Witness Alpha") == set()


def test_filters(filled: Archive) -> None:
    torture = kinds_ids(filled, "", act_type="고문")
    assert victim_acts(filled, torture) == {"Kim Yo-jong (김여정)"}
    in_hamgyong = kinds_ids(filled, "", place="함경남도")  # Yodok lies inside it
    assert victim_acts(filled, in_hamgyong) == {"Kim Yo-jong (김여정)"}
    early = kinds_ids(filled, "", date_to="1999")
    assert victim_acts(filled, early) == {"Pak Kyong-hui"}
    camp = kinds_ids(filled, "", facility="kwanliso")
    assert victim_acts(filled, camp) == {"Kim Yo-jong (김여정)"}
    mss = kinds_ids(filled, "", agency="Bowibu")
    assert victim_acts(filled, mss) == {"Kim Yo-jong (김여정)"}
    both = kinds_ids(filled, "요덕", act_type="torture")
    assert len(both) == 1
    category_e = kinds_ids(filled, "", act_type="coi_e")
    assert len(category_e) >= 3


def test_bad_filter_values_are_named(filled: Archive) -> None:
    with pytest.raises(InvalidInput, match="--act-type: unknown act type 'flying'"):
        filled.searcher.act_filter(act_type="flying")
    with pytest.raises(InvalidInput, match="--place: unknown place 'Atlantis'"):
        filled.searcher.act_filter(place="Atlantis")
    with pytest.raises(InvalidInput, match="Marhc"):
        filled.searcher.act_filter(date_from="Marhc 2009")


def test_stats(filled: Archive) -> None:
    by_type = {r["act_type"]: r["count"] for r in filled.stats.count("act_type")}
    assert by_type["arbitrary_detention"] == 2 and by_type["torture"] == 1
    by_year = {r["year"]: r["count"] for r in filled.stats.count("year")}
    assert by_year == {"2009": 2, "2010": 1, "2012": 1, "1998": 1}
    by_province = {r["province"]: r["count"] for r in filled.stats.count("province")}
    assert by_province["KP-08"] == 2 and by_province["KP-09"] == 1  # Yodok, Hoeryong
    by_agency = {r["agency"]: r["count"] for r in filled.stats.count("agency")}
    assert by_agency["mss"] == 2 and by_agency["msos"] == 2 and by_agency["unknown"] == 1
    by_facility = {r["facility_type"]: r["count"] for r in filled.stats.count("facility")}
    assert by_facility["kwanliso"] == 2 and by_facility["kyohwaso"] == 1
    with pytest.raises(InvalidInput, match="--by"):
        filled.stats.count("colour")


def test_a_name_added_to_a_known_person_later_is_searchable(
    archive: Archive, tmp_path: Path
) -> None:
    first = row(source_ref="T-1", act_type="arbitrary_detention", victim_ref="V-77",
                victim_name="Pyon Chol-su", victim_birth="1961")
    archive.ingest.run(write_csv(tmp_path / "one.csv", [first]))
    # a later testimony knows the same victim (same ref) by another name, and a later birth
    later = row(source_ref="T-2", act_type="torture", victim_ref="V-77",
                victim_name="Tak Myong-hui", victim_birth="1962")
    archive.ingest.run(write_csv(tmp_path / "two.csv", [later]))
    for query in ("Tak Myong-hui", "Pyon Chol-su"):
        persons = [h.id for h in archive.searcher.search(query, limit=10) if h.kind == "person"]
        assert len(persons) == 1, query
    assert {n["name"] for n in archive.records.show("person", persons[0])["names"]} == {
        "Pyon Chol-su", "Tak Myong-hui"}


def _victims(archive: Archive, query: str) -> set[str]:
    return victim_acts(archive, kinds_ids(archive, query))


def test_a_full_name_finds_its_victim_when_the_surname_alone_names_too_many(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each word alone names more persons than are expanded; the persons named by both words
    are expanded too, so the act is found whatever the ids of the other Kims."""
    rows = [
        row(source_ref=f"T-{i}", act_type="torture", victim_ref=f"V-{i}", victim_name=name)
        for i, name in enumerate(["Kim Chol-su", "Kim Mi-ok", "Pak Yong-chol", "Kim Yong-chol"])
    ]
    archive.ingest.run(write_csv(tmp_path / "kims.csv", rows))
    monkeypatch.setattr("sillok.records.matching.PERSONS_PER_WORD", 1)
    assert _victims(archive, "Kim Yong-chol") == {"Kim Yong-chol"}
    assert _victims(archive, "김영철") == {"Kim Yong-chol"}


def test_a_surname_in_a_full_name_is_not_a_prefix_of_other_words(
    archive: Archive, tmp_path: Path
) -> None:
    """"Kim" in "Kim Yong-chol" does not find 김책시 (Kimchaek) in a description, but still
    finds the full name written as one word in free text."""
    rows = [
        row(source_ref="T-1", act_type="torture", victim_ref="V-1", victim_name="Pak Yong-chol",
            description="김책시에서 조사를 받음", sharing="public"),
        row(source_ref="T-2", act_type="torture", victim_ref="V-2", victim_name="Ri Chun-hui",
            description="김영철과 함께 끌려감", sharing="public"),
    ]
    archive.ingest.run(write_csv(tmp_path / "text.csv", rows))
    assert _victims(archive, "Kim Yong-chol") == {"Ri Chun-hui"}
    assert _victims(archive, "Kim") == set()  # alone, a surname is matched whole too
    assert _victims(archive, "Kim*") >= {"Pak Yong-chol"}  # unless written as a prefix


def test_compacting_the_index_keeps_every_hit(filled: Archive) -> None:
    queries = ["Yodok", "요덕", "Kim Yo-jong", "김여정", "리설화", "torture", "송환", "S-001"]
    before = {q: kinds_ids(filled, q) for q in queries}
    with filled.store.transaction() as conn:
        filled.store.dialect.compact_search_index(conn)
    assert {q: kinds_ids(filled, q) for q in queries} == before
    assert all(before.values())


#: the act types and sharing levels of :func:`crowd`'s rows, in turn
CROWD_TYPES = ("torture", "arbitrary_detention", "abduction")
CROWD_LEVELS = ("internal", "public", "confidential", "internal")


def crowd(n: int = 130) -> list[dict[str, str]]:
    """``n`` acts in Onsong, each with its own source and victim: more than any window."""
    return [
        row(
            source_ref=f"S-ON-{i}",
            act_type=CROWD_TYPES[i % 3],
            act_date=str(2001 + i % 7),
            place="Onsong",
            victim_ref=f"V-ON-{i}",
            victim_name=f"Crowd Person {i}",
            perpetrator_org="보위부" if i % 2 else "",
            sharing=CROWD_LEVELS[i % 4],
        )
        for i in range(n)
    ]


def test_every_match_is_found_and_counted_beyond_any_window(
    archive: Archive, tmp_path: Path
) -> None:
    camps = [  # a narrower type of arbitrary detention
        row(
            source_ref=f"S-ON-PPC-{i}",
            act_type="political_prison_camp_imprisonment",
            place="Onsong",
            victim_ref=f"V-ON-PPC-{i}",
            victim_name=f"Camp Person {i}",
        )
        for i in range(5)
    ]
    archive.ingest.run(write_csv(tmp_path / "crowd.csv", crowd(130) + camps))
    searcher = archive.searcher
    assert len(searcher.find("Onsong")) == archive.settings.search_limit  # the CLI's window
    every = searcher.visible(searcher.match("Onsong", everything=True))
    acts = [rid for kind, rid in every if kind == "act"]
    assert len(acts) == 135 and len(set(every)) == len(every)
    facets = searcher.facets(acts)
    assert facets["act_type"] == {
        "torture": 44,
        "arbitrary_detention": 43 + 5,  # with the camp imprisonments, as choosing it finds
        "abduction": 43,
        "political_prison_camp_imprisonment": 5,
    }
    assert sum(facets["year"].values()) == 130  # the camp rows have no date
    assert facets["sharing"] == {"internal": 65 + 5, "public": 33, "confidential": 32}
    assert sum(facets["agency"].values()) == 65  # the odd rows name the Bowibu
    # what a facet says is what choosing it finds
    for key, n in facets["act_type"].items():
        chosen = searcher.act_filter(act_type=key)
        narrowed = searcher.visible(searcher.match("Onsong", chosen, everything=True))
        assert len(narrowed) == n, key
    # the store's grouped count agrees with the row-by-row tally (which counts own types)
    tally = archive.stats.facets(acts)
    for name in ("year", "province", "facility", "agency", "sharing"):  # certain dates only
        assert facets[name] == tally[name], name
    assert tally["act_type"]["arbitrary_detention"] == 43
