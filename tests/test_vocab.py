"""The shipped vocabularies: their data, the loader, look-up, hierarchy and archive extensions."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sillok.errors import NotFound
from sillok.vocab import (
    VOCABULARY_NAMES,
    InvalidVocabulary,
    Term,
    UnknownTerm,
    Vocabulary,
    load,
    validate,
)

CATEGORIES = ("coi_a", "coi_b", "coi_c", "coi_d", "coi_e", "coi_f")
INSTRUMENTS = (
    "ICCPR|ICESCR|UDHR|CAT|ICPPED|CEDAW|CRPD|CRC|Refugee Convention|Rome Statute"
)
LEGAL_REF = re.compile(rf"^({INSTRUMENTS})( \d+(\(\d+\))?(\([a-z]\))?)?$")


def raw(name: str) -> dict:
    """The shipped JSON document, read the way the loader reads it."""
    text = resources.files("sillok.vocab").joinpath("data").joinpath(f"{name}.json").read_text(
        "utf-8"
    )
    return json.loads(text)


def key_of(vocab: Vocabulary, text: str) -> str | None:
    """The key of the term ``text`` finds, or None."""
    found = vocab.lookup(text)
    return found.key if found else None


def small_doc() -> dict:
    """A tiny valid vocabulary document to break in the validate tests."""
    def t(key: str, parent: str | None = None, aliases: tuple[str, ...] = ()) -> dict:
        return {
            "key": key,
            "labels": {"ko": f"{key}-ko", "en": f"{key} en"},
            "aliases": list(aliases),
            "parent": parent,
            "legal_refs": [],
            "deprecated": False,
            "extra": {},
        }

    return {
        "name": "demo",
        "version": "1.0.0",
        "description": {"ko": "예시", "en": "demo"},
        "terms": [t("root"), t("child", "root", ("kid",)), t("grandchild", "child")],
    }


# ---------------------------------------------------------------- shipped files


@pytest.mark.parametrize("name", VOCABULARY_NAMES)
def test_every_shipped_file_is_valid(name: str) -> None:
    doc = raw(name)
    assert validate(doc) == []
    assert doc["name"] == name
    assert re.match(r"^\d+\.\d+\.\d+$", doc["version"])
    assert doc["description"]["ko"] and doc["description"]["en"]


@pytest.mark.parametrize("name", VOCABULARY_NAMES)
def test_every_term_has_both_labels_and_the_full_format(name: str) -> None:
    for term in raw(name)["terms"]:
        assert set(term) == {
            "key", "labels", "aliases", "parent", "legal_refs", "deprecated", "extra"
        }, term["key"]
        assert term["labels"]["ko"].strip() and term["labels"]["en"].strip(), term["key"]
        assert term["deprecated"] is False


@pytest.mark.parametrize("name", VOCABULARY_NAMES)
def test_every_label_and_alias_finds_its_own_term(name: str) -> None:
    vocab = load(name)
    for term in vocab:
        assert vocab.lookup(term.key) is term
        for text in (*term.labels.values(), *term.aliases):
            found = vocab.lookup(text)
            assert found is term, f"{text!r} finds {found and found.key!r}, not {term.key!r}"


def test_no_coordinates_are_shipped() -> None:
    text = json.dumps(raw("places")).lower()
    for word in ("lat", "lon", "latitude", "longitude", "coordinates", "geometry", "wkt"):
        assert f'"{word}"' not in text
    # Nothing that looks like a decimal degree for the peninsula (37-43 N, 124-131 E).
    assert not re.search(r"\b(3[7-9]|4[0-3]|12[4-9]|13[01])\.\d{3,}", text)


def test_no_huridocs_micro_thesaurus_wording() -> None:
    # Their terms are copyrighted; our act types use COI and treaty wording instead.
    text = json.dumps(raw("act_types")).lower()
    assert "huridocs" not in text
    assert "micro-thesaur" not in text


# ---------------------------------------------------------------- act types


def test_act_types_have_six_coi_categories_at_the_top() -> None:
    acts = load("act_types")
    tops = [t.key for t in acts if t.parent is None]
    assert tops == list(CATEGORIES)
    assert [acts.get(k).extra["coi_category"] for k in CATEGORIES] == list("ABCDEF")


def test_every_act_type_has_labels_and_well_formed_legal_refs() -> None:
    for term in load("act_types"):
        assert term.labels["ko"] and term.labels["en"]
        assert term.legal_refs, f"{term.key} has no legal reference"
        for ref in term.legal_refs:
            assert LEGAL_REF.match(ref), f"{term.key}: malformed legal reference {ref!r}"
        assert re.match(r"^[a-z][a-z0-9_]*$", term.key)


def test_every_act_sits_under_a_coi_category() -> None:
    acts = load("act_types")
    for term in acts:
        if term.key in CATEGORIES:
            continue
        assert acts.ancestors(term.key)[-1].key in CATEGORIES, term.key


@pytest.mark.parametrize(
    ("key", "category", "refs"),
    [
        ("torture", "coi_e", {"ICCPR 7", "CAT 1", "CAT 2", "CAT 16", "Rome Statute 7(1)(f)"}),
        ("arbitrary_detention", "coi_e", {"ICCPR 9", "Rome Statute 7(1)(e)"}),
        ("public_execution", "coi_e", {"ICCPR 6", "Rome Statute 7(1)(a)"}),
        ("secret_execution", "coi_e", {"ICCPR 6"}),
        ("enforced_disappearance", "coi_e", {"Rome Statute 7(1)(i)"}),
        ("forced_labour", "coi_e", {"ICCPR 8", "Rome Statute 7(1)(c)"}),
        ("rape", "coi_e", {"Rome Statute 7(1)(g)"}),
        ("forced_abortion", "coi_e", {"Rome Statute 7(1)(g)", "Rome Statute 7(1)(k)"}),
        ("infanticide", "coi_e", {"ICCPR 6"}),
        ("guilt_by_association", "coi_e", {"ICCPR 9"}),
        ("abduction", "coi_f", {"Rome Statute 7(1)(i)", "ICPPED 2"}),
        ("forced_repatriation", "coi_c", {"CAT 3", "Refugee Convention 33", "ICPPED 16"}),
        ("punishment_for_leaving_country", "coi_c", {"ICCPR 12(2)"}),
        ("trafficking", "coi_c", {"Rome Statute 7(1)(c)"}),
        ("songbun_discrimination", "coi_b", {"ICCPR 26", "Rome Statute 7(1)(h)"}),
        ("denial_of_food", "coi_d", {"ICESCR 11(1)", "Rome Statute 7(1)(b)"}),
        ("denial_of_medical_care", "coi_d", {"ICESCR 12"}),
        ("religious_persecution", "coi_a", {"ICCPR 18", "Rome Statute 7(1)(h)"}),
        ("punishment_for_expression", "coi_a", {"ICCPR 19"}),
        ("punishment_for_foreign_media", "coi_a", {"ICCPR 19(2)"}),
    ],
)
def test_acts_carry_their_specific_legal_references(key: str, category: str, refs: set) -> None:
    acts = load("act_types")
    term = acts.get(key)
    assert refs <= set(term.legal_refs)
    assert category in [a.key for a in acts.ancestors(key)]


def test_category_references_follow_the_reference_table() -> None:
    acts = load("act_types")
    assert {"CAT 3", "ICPPED 16", "Refugee Convention 33", "ICCPR 12(2)"} <= set(
        acts.get("coi_c").legal_refs
    )
    assert {"CEDAW", "CRPD", "Rome Statute 7(3)"} <= set(acts.get("coi_b").legal_refs)
    assert {"ICPPED 5", "ICPPED 17", "Rome Statute 7(2)(i)"} <= set(acts.get("coi_f").legal_refs)
    assert "Rome Statute 7(1)(d)" not in acts.get("coi_e").legal_refs


# ---------------------------------------------------------------- look-up


@pytest.mark.parametrize(
    ("vocabulary", "text", "key"),
    [
        ("places", "Yodok", "kwanliso-15"),
        ("places", "요덕", "kwanliso-15"),
        ("places", "Yodok camp", "kwanliso-15"),
        ("places", "yodok  CAMP", "kwanliso-15"),
        ("places", "요덕수용소", "kwanliso-15"),
        ("places", "요덕 수용소", "kwanliso-15"),
        ("places", "제15호 관리소", "kwanliso-15"),
        ("places", "Yodŏk", "kwanliso-15"),
        ("places", "Yodok County", "KP-08-yodok"),
        ("places", "요덕군", "KP-08-yodok"),
        ("places", "South Hamgyong", "KP-08"),
        ("places", "Hamgyŏng-namdo", "KP-08"),
        ("places", "Hamgyǒng-namdo", "KP-08"),
        ("places", "hamgyong namdo", "KP-08"),
        ("places", "함경남도", "KP-08"),
        ("places", "KP-08", "KP-08"),
        ("places", "kp-08", "KP-08"),
        ("places", "량강도", "KP-10"),
        ("places", "양강도", "KP-10"),
        ("places", "Ryanggang", "KP-10"),
        ("places", "라선", "KP-13"),
        ("places", "나선", "KP-13"),
        ("places", "P’yŏngyang", "KP-01"),
        ("places", "P'yongyang", "KP-01"),
        ("places", "북한", "KP"),
        ("places", "North Korea", "KP"),
        ("places", "Camp 14", "kwanliso-14"),
        ("places", "Hwasong camp", "kwanliso-16"),
        ("places", "Hwasong", "KP-09-myonggan"),
        ("places", "Chongjin", "KP-09-chongjin"),
        ("places", "Ch'ŏngjin-si", "KP-09-chongjin"),
        ("places", "Yodeokgun", "KP-08-yodok"),  # a generated RR romanization of 요덕군
        ("agencies", "Bowibu", "mss"),
        ("agencies", "보위부", "mss"),
        ("agencies", "국가안전보위부", "mss"),
        ("agencies", "State Security Department", "mss"),
        ("agencies", "MSS", "mss"),
        ("agencies", "MSoS", "msos"),
        ("agencies", "인민보안성", "msos"),
        ("agencies", "Anjeonbu", "msos"),
        ("agencies", "KPA", "kpa"),
        ("agencies", "조선노동당", "wpk"),
        ("agencies", "Workers Party of Korea", "wpk"),
        ("facility_types", "kwanliso", "kwanliso"),
        ("facility_types", "kwalliso", "kwanliso"),
        ("facility_types", "Kwan-li-so", "kwanliso"),
        ("facility_types", "관리소", "kwanliso"),
        ("facility_types", "정치범수용소", "kwanliso"),
        ("facility_types", "로동단련대", "rodong_danryundae"),
        ("facility_types", "노동단련대", "rodong_danryundae"),
        ("facility_types", "Kyo-hwa-so", "kyohwaso"),
        ("facility_types", "chipkyŏlso", "jipkyulso"),
        ("act_types", "torture", "torture"),
        ("act_types", "Torture", "torture"),
        ("act_types", "고문", "torture"),
        ("act_types", "public execution", "public_execution"),
        ("act_types", "공개처형", "public_execution"),
        ("act_types", "연좌제", "guilt_by_association"),
        ("act_types", "refoulement", "forced_repatriation"),
        ("act_types", "강제북송", "forced_repatriation"),
        ("act_types", "forced labor", "forced_labour"),
        ("act_types", "COI-E", "coi_e"),
    ],
)
def test_lookup_finds_how_people_write(vocabulary: str, text: str, key: str) -> None:
    found = load(vocabulary).lookup(text)
    assert found is not None, f"{text!r} found nothing in {vocabulary}"
    assert found.key == key


@pytest.mark.parametrize("text", ["", "   ", "-", "nowhere", "Camp 99", "KP-99"])
def test_lookup_misses_return_none(text: str) -> None:
    assert load("places").lookup(text) is None


def test_ocha_pcodes_are_not_iso_codes() -> None:
    # OCHA's KP08 is a different province from ISO's KP-08: never match one for the other.
    places = load("places")
    assert places.lookup("KP08") is None
    assert places.lookup("KP-08") is places.get("KP-08")


# ---------------------------------------------------------------- places and hierarchy


@pytest.mark.parametrize(
    ("number", "province", "status"),
    [
        (14, "KP-02", "operating"),
        (15, "KP-08", "reported dismantled"),
        (16, "KP-09", "operating"),
        (18, "KP-02", "operating"),
        (22, "KP-09", "closed"),
        (25, "KP-09", "operating"),
        (12, "KP-09", "historic"),
        (17, "KP-08", "historic"),
    ],
)
def test_camps_sit_in_the_right_province(number: int, province: str, status: str) -> None:
    places = load("places")
    camp = places.get(f"kwanliso-{number}")
    assert camp.extra["kind"] == "facility"
    assert camp.extra["facility_type"] == "kwanliso"
    assert camp.extra["number"] == number
    assert camp.extra["status"] == status
    assert camp.extra["verification"] == "unverified"  # marked [check] in the reference
    chain = [t.key for t in places.ancestors(camp.key)]
    assert chain[-2:] == [province, "KP"]
    assert places.lookup(f"제{number}호 관리소") is camp


@pytest.mark.parametrize(
    ("key", "province"),
    [
        ("KP-02-kaechon", "KP-02"), ("KP-02-pukchang", "KP-02"), ("KP-08-yodok", "KP-08"),
        ("KP-08-toksong", "KP-08"), ("KP-08-hamhung", "KP-08"), ("KP-09-myonggan", "KP-09"),
        ("KP-09-hoeryong", "KP-09"), ("KP-09-chongjin", "KP-09"), ("KP-09-onsong", "KP-09"),
        ("KP-09-musan", "KP-09"), ("KP-09-kimchaek", "KP-09"), ("KP-10-hyesan", "KP-10"),
        ("KP-03-sinuiju", "KP-03"), ("KP-09-chongjin-susong", "KP-09"),
    ],
)
def test_counties_and_cities_sit_in_the_right_province(key: str, province: str) -> None:
    places = load("places")
    assert [t.key for t in places.ancestors(key)][-2:] == [province, "KP"]


def test_first_level_divisions() -> None:
    places = load("places")
    divisions = places.children("KP")
    isos = [t.key for t in divisions]
    assert isos == [f"KP-{n:02d}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15)]
    for term in divisions:
        assert term.extra["iso"] == term.key
        assert term.extra["kind"] in ("province", "city")
        assert term.extra["rr"] and term.extra["mr"]
    assert places.get("KP-15").extra["status"] == "unverified"


def test_place_kinds_and_facility_types_are_known() -> None:
    places, facility_types = load("places"), load("facility_types")
    kinds = {"country", "province", "city", "county", "district", "facility"}
    for term in places:
        assert term.extra["kind"] in kinds, term.key
        if term.extra["kind"] == "facility":
            assert term.extra["facility_type"] in facility_types


def test_facility_types_are_run_by_known_agencies() -> None:
    agencies = load("agencies")
    facility_types = load("facility_types")
    assert len(facility_types) == 7
    for term in facility_types:
        assert term.extra["run_by"], term.key
        assert all(a in agencies for a in term.extra["run_by"]), term.key
        assert term.extra["description"]["ko"] and term.extra["description"]["en"]
        assert term.extra["rr"] and term.extra["mr"]
    assert facility_types.get("kwanliso").extra["run_by"] == ["mss"]


def test_hierarchy_queries() -> None:
    acts = load("act_types")
    assert [t.key for t in acts.children("execution")] == ["public_execution", "secret_execution"]
    assert [t.key for t in acts.ancestors("public_execution")] == ["execution", "coi_e"]
    assert acts.ancestors("coi_e") == []
    below = [t.key for t in acts.descendants("coi_e")]
    assert below.index("execution") < below.index("public_execution")
    assert below.index("public_execution") < below.index("death_in_custody")
    assert "abduction" not in below
    assert acts.descendants("torture") == []
    places = load("places")
    below_kp09 = {t.key for t in places.descendants("KP-09")}
    assert {"kwanliso-25", "KP-09-chongjin-susong", "kwanliso-22"} <= below_kp09
    assert "kwanliso-15" not in below_kp09
    assert places.children("KP-09-chongjin-susong") == [places.get("kwanliso-25")]


def test_unknown_keys_raise_clear_errors() -> None:
    acts = load("act_types")
    for query in (acts.get, acts.children, acts.ancestors, acts.descendants):
        with pytest.raises(KeyError) as info:
            query("tortures")
        assert "'tortures'" in str(info.value) and "act_types" in str(info.value)
        assert isinstance(info.value, NotFound) and isinstance(info.value, UnknownTerm)


def test_load_is_cached_and_names_unknown_vocabularies() -> None:
    assert load("places") is load("places")
    with pytest.raises(ValueError, match="'crimes'.*act_types"):
        load("crimes")


# ---------------------------------------------------------------- validate


def test_small_doc_is_valid() -> None:
    assert validate(small_doc()) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda d: d["terms"].append(copy.deepcopy(d["terms"][0])), "duplicate key 'root'"),
        (lambda d: d["terms"][1].update(key="ROOT"), "duplicate key 'ROOT'"),
        (lambda d: d["terms"][1].update(parent="nobody"), "unknown parent 'nobody'"),
        (lambda d: d["terms"][0]["labels"].pop("ko"), "has no 'ko' text"),
        (lambda d: d["terms"][0]["labels"].update(en=" "), "has no 'en' text"),
        (lambda d: d["terms"][0].update(parent="grandchild"), "parent cycle"),
        (lambda d: d["terms"][0].update(parent="root"), "parent cycle: root -> root"),
        (lambda d: d["terms"][2]["aliases"].append("K-I-D"), "ambiguous alias 'kid'"),
        (lambda d: d["terms"][2]["labels"].update(en="Child EN"), "ambiguous label 'childen'"),
        (lambda d: d.update(version="one"), "'version'"),
        (lambda d: d["description"].pop("en"), "description has no 'en'"),
        (lambda d: d["terms"][0].update(alias=["x"]), "unknown field 'alias'"),
        (lambda d: d["terms"][0].update(legal_refs="ICCPR 7"), "'legal_refs' must be a list"),
        (lambda d: d["terms"][0].update(key="two words"), "no usable 'key'"),
        (lambda d: d["terms"][0]["aliases"].append("--"), "folds to nothing"),
        (lambda d: d.update(terms={}), "'terms' must be a list"),
    ],
)
def test_validate_reports_each_problem(breakage: Callable[[dict], object], expected: str) -> None:
    doc = small_doc()
    breakage(doc)
    problems = validate(doc)
    assert any(expected in p for p in problems), problems
    with pytest.raises(InvalidVocabulary):
        Vocabulary.from_dict(doc)


def test_validate_allows_a_deprecated_term_to_share_a_label() -> None:
    doc = small_doc()
    doc["terms"][2]["labels"]["en"] = "Child en"
    doc["terms"][2]["deprecated"] = True
    assert validate(doc) == []


def test_validate_rejects_non_documents() -> None:
    assert validate([]) != []  # type: ignore[arg-type]


# ---------------------------------------------------------------- archive extensions


def test_an_archive_adds_a_term() -> None:
    places = load("places")
    camp = {
        "key": "archive-jongori",
        "labels": {"ko": "전거리 교화소", "en": "Chongori prison"},
        "aliases": ["Jongori", "전거리"],
        "parent": "KP-09-hoeryong",
        "extra": {"kind": "facility", "facility_type": "kyohwaso"},
    }
    mine = places.extended([camp], version="1.0.0+archive.1")
    assert mine.version == "1.0.0+archive.1"
    assert key_of(mine, "jongori") == "archive-jongori"
    assert mine.get("archive-jongori").vocabulary == "places"
    assert [t.key for t in mine.ancestors("archive-jongori")] == ["KP-09-hoeryong", "KP-09", "KP"]
    assert "archive-jongori" not in places  # the shipped vocabulary is untouched
    assert len(mine) == len(places) + 1


def test_an_archive_deprecates_and_replaces_a_term() -> None:
    acts = load("act_types")
    old = dataclasses.replace(acts.get("torture"), deprecated=True)
    new = Term(
        vocabulary="ignored, set by extended",
        key="torture_v2",
        labels={"ko": "고문", "en": "Torture"},
        parent="coi_e",
        legal_refs=("CAT 1",),
    )
    mine = acts.extended([old, new])
    assert mine.get("torture").deprecated is True
    assert key_of(mine, "고문") == "torture_v2"  # live beats deprecated at the same level
    assert key_of(mine, "torture") == "torture"  # a key still names its own term
    assert key_of(mine, "torture during interrogation") == "torture"
    assert [t.key for t in mine].index("torture") == [t.key for t in acts].index("torture")


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ({"key": "x", "labels": {"ko": "엑스", "en": "X"}, "aliases": ["Bowibu"]}, "ambiguous"),
        ({"key": "x", "labels": {"ko": "엑스"}}, "has no 'en' text"),
        ({"key": "x", "labels": {"ko": "엑스", "en": "X"}, "parent": "nobody"}, "unknown parent"),
        ({"labels": {"ko": "엑스", "en": "X"}}, "without a key"),
    ],
)
def test_extensions_are_validated(term: dict, expected: str) -> None:
    with pytest.raises(InvalidVocabulary, match=expected):
        load("agencies").extended([term])


# ---------------------------------------------------------------- round trips and spellings


@pytest.mark.parametrize("name", VOCABULARY_NAMES)
def test_round_trip_through_json(name: str) -> None:
    vocab = load(name)
    again = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict(), ensure_ascii=False)))
    assert again == vocab
    assert vocab.to_dict() == raw(name)


def _every_name() -> list[tuple[str, str, str]]:
    return [
        (name, term.key, text)
        for name in VOCABULARY_NAMES
        for term in load(name)
        for text in (term.labels["en"], *term.aliases)
        if text.isascii()
    ]


@given(
    st.sampled_from(_every_name()),
    st.lists(st.sampled_from(["upper", "lower", "title", "hyphen", "space", "quote", "breve"]),
             max_size=4),
)
def test_spelling_variants_find_the_same_term(case: tuple[str, str, str], edits: list[str]) -> None:
    name, key, text = case
    for edit in edits:
        if edit == "upper":
            text = text.upper()
        elif edit == "lower":
            text = text.lower()
        elif edit == "title":
            text = text.title()
        elif edit == "hyphen":
            text = text.replace(" ", "-")
        elif edit == "space":
            text = f"  {text} "
        elif edit == "quote":
            text = text.replace("'", "’")
        elif edit == "breve":
            text = text.replace("o", "ŏ").replace("u", "ǔ")
    found = load(name).lookup(text)
    assert found is not None and found.key == key, text
