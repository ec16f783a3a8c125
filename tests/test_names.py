"""Korean names across scripts: folding, romanization, index tokens and query terms."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sillok.names import (
    fold,
    fold_words,
    hangul_normal,
    is_hangul,
    name_hangul_normal,
    person_name_keys,
    person_name_tokens,
    person_romanizations,
    place_name_tokens,
    query_terms,
    romanize,
    split_name,
    surname_variants,
)
from sillok.romanization import split_words


def matches(query: str, tokens: set[str]) -> bool:
    """Every AND-term of the query has an alternative among the tokens."""
    terms = query_terms(query)
    return bool(terms) and all(term & tokens for term in terms)


# ---------------------------------------------------------------- fold and hangul_normal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kim Yŏ-jŏng", "kimyojong"),  # ŏ U+014F
        ("Kim Yǒ-jǒng", "kimyojong"),  # ǒ U+01D2
        ("Hamgyŏng-pukto", "hamgyongpukto"),
        ("Ŭnsan, Ŭiju; Ǔnsan", "unsanuijuunsan"),
        ("Café", "cafe"),
        ("P'yŏngyang", "pyongyang"),
        ("P’yŏngyang", "pyongyang"),
        ("P‘yŏngyang", "pyongyang"),
        ("Pʼyŏngyang", "pyongyang"),
        ("P`yŏngyang", "pyongyang"),
        ("P´yŏngyang", "pyongyang"),
        ("  KIM  Jong-UN!? ", "kimjongun"),
        ("제14호 관리소", "제14호관리소"),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_fold_nfd_input_equals_nfc() -> None:
    for text in ("리설주", "Kim Yŏ-jŏng", "요덕 관리소", "Ŭiju"):
        nfd = unicodedata.normalize("NFD", text)
        assert nfd != text
        assert fold(nfd) == fold(text)
    assert is_hangul(unicodedata.normalize("NFD", "김"))


@pytest.mark.parametrize(
    ("dprk", "rok"),
    [("량강도", "양강도"), ("라선", "나선"), ("리설주", "이설주"), ("로동신문", "노동신문"),
     ("류경", "유경"), ("녀성", "여성"), ("림", "임"), ("료리", "요리"), ("례절", "예절"),
     ("력사", "역사"), ("련합", "연합"), ("렬사", "열사"), ("령도", "영도")],
)
def test_hangul_normal_initial_sound_rule(dprk: str, rok: str) -> None:
    assert hangul_normal(dprk) == rok
    assert hangul_normal(rok) == rok
    assert fold(dprk) == fold(rok)


def test_hangul_normal_only_at_word_start() -> None:
    assert hangul_normal("조선로동당 로동") == "조선로동당 노동"
    assert hangul_normal("관리소") == "관리소"
    assert hangul_normal("(리설주)") == "(이설주)"


def test_name_hangul_normal_applies_to_given_name_too() -> None:
    assert name_hangul_normal("최룡해") == "최용해"
    assert name_hangul_normal("리룡남") == "이용남"
    assert hangul_normal("최룡해") == "최룡해"  # plain text: the word start only


def test_fold_words_keeps_hyphenated_parts_joined() -> None:
    assert fold_words("Kim Yo-jong") == ["kim", "yojong"]
    assert fold_words("RI SOL JU, 1989") == ["ri", "sol", "ju", "1989"]
    assert fold_words("Ch'ŏngjin-si (청진시)") == ["chongjinsi", "청진시"]
    assert fold_words(" - ' ") == []


# ---------------------------------------------------------------- romanization


@pytest.mark.parametrize(
    ("hangul", "rr", "mr", "dprk"),
    [
        ("요덕", "Yodeok", "Yodŏk", "Yodok"),
        ("관리소", "Gwalliso", "Kwalliso", "Kwalliso"),
        ("청진", "Cheongjin", "Ch'ŏngjin", "Chongjin"),
        ("함경북도", "Hamgyeongbukdo", "Hamgyŏngbukto", "Hamgyongbukto"),
        ("개천", "Gaecheon", "Kaech'ŏn", "Kaechon"),
        ("북창", "Bukchang", "Pukch'ang", "Pukchang"),
        ("회령", "Hoeryeong", "Hoeryŏng", "Hoeryong"),
        ("평양", "Pyeongyang", "P'yŏngyang", "Phyongyang"),
        ("신라", "Silla", "Silla", "Silla"),
        ("종로", "Jongno", "Chongno", "Jongno"),
        ("한국어", "Hangugeo", "Hangugŏ", "Hangugo"),
    ],
)
def test_romanize_words(hangul: str, rr: str, mr: str, dprk: str) -> None:
    assert romanize(hangul, "rr") == rr
    assert romanize(hangul, "mr") == mr
    assert romanize(hangul, "dprk") == dprk


def test_romanize_keeps_other_text_and_rejects_unknown_system() -> None:
    assert romanize("요덕 제15호", "rr") == "Yodeok Je15ho"
    with pytest.raises(ValueError, match="'yale'"):
        romanize("요덕", "yale")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("김여정", ("김", "여정")), ("남궁민", ("남궁", "민")), ("선우진영", ("선우", "진영")),
     ("제갈량", ("제갈", "량")), ("황보경", ("황보", "경")), ("독고영재", ("독고", "영재")),
     ("사공일", ("사공", "일")), ("서문수진", ("서문", "수진")), ("서문수", ("서", "문수")),
     ("남궁 민", ("남궁", "민")), ("김 여정", ("김", "여정")), ("김", ("김", ""))],
)
def test_split_name(name: str, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected


def test_split_name_rejects_non_hangul() -> None:
    with pytest.raises(ValueError, match="'Kim'"):
        split_name("Kim")


def test_person_romanizations_cover_the_families() -> None:
    forms = person_romanizations("김여정")
    for expected in ("Kim Yeo-jeong", "Kim Yeojeong", "Kim Yŏ-jŏng", "Kim Yo Jong", "Kim Yo-jong",
                     "Kim Yo-Jung", "Gim Yeojeong"):
        assert expected in forms
    assert {"Ri Sol Ju", "Yi Sŏl-ju", "Lee Seol-ju"} <= person_romanizations("이설주")
    # MR voices the second given syllable; the DPRK style writes syllables apart, unvoiced
    assert {"Pak Pong-ju", "Pak Pong Ju", "Park Bong-ju", "Bak Bongju"} <= person_romanizations(
        "박봉주"
    )


# ---------------------------------------------------------------- surnames


def test_surname_variants() -> None:
    assert {"lee", "yi", "i", "rhee", "ri", "rie", "이"} <= surname_variants("Lee")
    assert surname_variants("Lee") == surname_variants("리") == surname_variants("RHEE")
    assert {"park", "pak", "bak", "박"} <= surname_variants("Pak")
    assert {"choi", "choe", "최"} <= surname_variants("Choe")
    assert {"kang", "khang", "강"} <= surname_variants("Khang")
    assert {"shin", "sin", "신"} <= surname_variants("Sin")
    assert {"jung", "jeong", "chong", "chung", "정"} <= surname_variants("Chung")
    assert {"rim", "lim", "im", "임"} <= surname_variants("Rim")
    assert {"ryu", "yu", "yoo", "유"} <= surname_variants("Ryu")
    assert {"ro", "roh", "no", "노"} <= surname_variants("Roh")
    assert surname_variants("Smith") == set()
    assert surname_variants("") == set()


# ---------------------------------------------------------------- person tokens and queries


def test_person_name_tokens_hangul() -> None:
    tokens = person_name_tokens("김여정")
    assert {"김여정", "김", "여정", "kim", "gim", "yojong", "yeojeong", "kimyojong",
            "yojongkim", "gimyeojeong"} <= tokens


def test_person_name_tokens_latin_any_order_and_case() -> None:
    for name in ("Lee Sol-ju", "Sol-ju Lee", "RI SOL JU", "Lee, Sol-ju", "Sol-ju LEE"):
        keys = person_name_keys(name)
        assert "이" in keys["surname"], name
        assert {"lee", "ri", "yi", "rhee"} <= keys["surname"], name
        assert "solju" in keys["given"] and "설주" in keys["given"], name
        assert {k for k in keys["given"] if k.isascii()} == {"solju"}, name
        whole = keys["whole"]
        assert whole & {"leesolju", "risolju"} and whole & {"soljulee", "soljuri"}, name
    assert person_name_keys("Kim Yo-jong")["syllable"] == {"yo", "jong"}


def test_person_name_tokens_unknown_surname_still_indexes_words() -> None:
    tokens = person_name_tokens("Xavier Dupont")
    assert {"xavier", "dupont", "xavierdupont", "dupontxavier"} <= tokens


def test_query_examples_from_the_contract() -> None:
    assert matches("김여정", person_name_tokens("Kim Yo-jong"))
    assert matches("Kim Yo-jong", person_name_tokens("김여정"))
    assert query_terms("Yodok")[0] & place_name_tokens("요덕")
    assert matches("리설주", person_name_tokens("이설주"))
    assert matches("이설주", person_name_tokens("리설주"))
    assert query_terms("Kim Yŏ-jŏng") == query_terms("Kim Yǒ-jǒng") == query_terms("kim yojong")
    assert query_terms("여정")[0] & person_name_tokens("김여정")
    assert query_terms("여정")[0] & person_name_tokens("Kim Yo-jong")


@pytest.mark.parametrize(
    ("query", "name"),
    [("Kim Yo Jong", "김여정"), ("KIM YO JONG", "Kim Yo-jong"), ("Yo-jong Kim", "김여정"),
     ("Ri Sol Ju", "이설주"), ("Lee Seol-ju", "RI SOL JU"), ("Yi Sŏl-ju", "리설주"),
     ("Jong Un Kim", "김정은"), ("Kim Yeo-jeong", "김여정"), ("Kim Yo-Jung", "김여정"),
     ("Choe Ryong Hae", "최룡해"), ("Choi Yong-hae", "최룡해"), ("Ryong-hae", "최용해"),
     ("kimyojong", "김여정"), ("김 여정", "Kim Yo-jong"), ("Park Bong-joo", "박봉주"),
     ("P'ak Pong-ju", "박봉주"), ("Rhee", "이설주"), ("이", "Lee Sol-ju")],
)
def test_query_matches_person(query: str, name: str) -> None:
    assert matches(query, person_name_tokens(name)), (query_terms(query), name)


@pytest.mark.parametrize(
    ("query", "name"),
    [("Kim Jong-il", "김정은"), ("김정일", "Kim Jong-un"), ("Kim Yo Jong", "김정은"),
     ("Ri Sol Ju", "이설희"), ("Park Bong-joo", "박봉수")],
)
def test_query_does_not_match_other_person(query: str, name: str) -> None:
    assert not matches(query, person_name_tokens(name))


def test_kim_jong_un_il_nam_share_no_whole_or_given_key() -> None:
    names = ["김정은", "김정일", "김정남", "Kim Jong-un", "Kim Jong Il", "KIM Jong-nam"]
    keys = [person_name_keys(n) for n in names]
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            if i % 3 == j % 3:
                continue  # the same person in the other script
            for kind in ("whole", "given"):
                assert not (a[kind] & b[kind]), (names[i], names[j], a[kind] & b[kind])
    # the same person in both scripts does share them
    for i in range(3):
        assert keys[i]["given"] & keys[i + 3]["given"]
        assert keys[i]["whole"] & keys[i + 3]["whole"]


def test_query_terms_shapes() -> None:
    assert query_terms("") == []
    assert query_terms(" ,; ") == []
    kim = query_terms("Kim")[0]
    assert {"kim", "gim", "김"} <= kim
    assert query_terms("camp") == [{"camp"}]
    assert len(query_terms("요덕 관리소")) == 2


# ---------------------------------------------------------------- places


@pytest.mark.parametrize(
    ("query", "place"),
    [("Yodok", "요덕"), ("요덕", "Yodŏk"), ("Yodeok", "요덕 관리소"), ("kwanliso", "요덕 관리소"),
     ("gwalliso", "관리소"), ("Yanggang", "량강도"), ("Ryanggang", "양강도"),
     ("양강도", "Ryanggang-do"), ("량강도", "양강도"), ("Rason", "나선"), ("라선", "Naseon"),
     ("나선", "라선특별시"), ("함경북도", "Hamgyŏng-pukto"), ("함경남도", "South Hamgyong"),
     ("Hamgyong-namdo", "함경남도"), ("P’yŏngyang", "평양직할시"), ("Pyongyang", "평양"),
     ("Chongjin", "청진시"), ("청진", "Chongjin-si"), ("Kaechon camp", "개천 제14호 관리소"),
     ("14", "개천 제14호 관리소"), ("Kangwon", "강원도")],
)
def test_query_matches_place(query: str, place: str) -> None:
    assert matches(query, place_name_tokens(place)), (query_terms(query), place)


@pytest.mark.parametrize(
    ("query", "place"),
    [("함경남도", "함경북도"), ("Hamgyong-namdo", "함경북도"), ("요덕", "개천"), ("Yodok", "북창")],
)
def test_query_does_not_match_other_place(query: str, place: str) -> None:
    assert not matches(query, place_name_tokens(place))


# ---------------------------------------------------------------- properties

_SURNAMES = "김이박최정강조윤장임한오서신권황안송유전홍고문양손배백허남심노하곽성차주우구"
_SYLLABLES = [chr(c) for c in range(0xAC00, 0xD7A4) if (c - 0xAC00) % 28 in (0, 1, 4, 8, 16, 21)]
hangul_names = st.builds(
    lambda s, g: s + "".join(g),
    st.sampled_from(_SURNAMES + "리림류량로"),
    st.lists(st.sampled_from(_SYLLABLES), min_size=1, max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(hangul_names)
def test_every_romanization_finds_the_hangul_name(name: str) -> None:
    tokens = person_name_tokens(name)
    for variant in person_romanizations(name):
        assert matches(variant, tokens), (variant, query_terms(variant))
        # and the Hangul query finds the romanized record
        assert matches(name, person_name_tokens(variant)), variant
    assert matches(name, tokens)
    assert matches(name_hangul_normal(name), tokens)


@settings(max_examples=200, deadline=None)
@given(hangul_names)
def test_nfd_and_dprk_spelling_index_alike(name: str) -> None:
    assert person_name_tokens(unicodedata.normalize("NFD", name)) == person_name_tokens(name)
    assert person_name_tokens(name_hangul_normal(name)) == person_name_tokens(name)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_fold_is_idempotent_and_clean(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert not any(c.isspace() or c in "-'’‘ʼ`´" for c in folded)
    assert all(term for term in query_terms(text))


# ---------------------------------------------------------------- frozen outputs

# person_name_keys and query_terms of ~2,000 synthetic names (Hangul, NFD Hangul, Latin in every
# family and order, "Surname, Given"), frozen from the code before the names speed-up: any
# change of an index key or query term shows here, name by name.
_GOLDEN = Path(__file__).parent / "data" / "names_golden.json"


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_GOLDEN.read_text(encoding="utf-8"))
    assert len(data["person_name_keys"]) > 2000
    return data


def test_person_name_keys_and_tokens_match_the_frozen_outputs(golden: dict[str, Any]) -> None:
    wrong = []
    for name, expected in golden["person_name_keys"].items():
        keys = {kind: sorted(values) for kind, values in person_name_keys(name).items()}
        tokens = set().union(*map(set, expected.values()))
        if keys != expected or person_name_tokens(name) != tokens:
            wrong.append(name)
    assert not wrong, f"{len(wrong)} names index differently, e.g. {wrong[:5]}"


def test_query_terms_match_the_frozen_outputs(golden: dict[str, Any]) -> None:
    wrong = [
        name
        for name, expected in golden["query_terms"].items()
        if [sorted(term) for term in query_terms(name)] != expected
    ]
    assert not wrong, f"{len(wrong)} names give other query terms, e.g. {wrong[:5]}"


# ---------------------------------------------------------------- tokens and keys agree

_LATIN_SURNAMES = ["Kim", "KIM", "Lee", "Yi", "Ri", "Park", "Pak", "Choe", "Nam-gung", "Hwangbo",
                   "O", "Jegal", "Xu", "Kimm"]
_GIVEN_SYLLABLES = ["yo", "jong", "sol", "ju", "ch'ŏl", "su", "Young", "hee", "un", "il",
                    "nam", "gyong", "ok", "a", "ri", "ryong"]


def _latin_name(surname: str, given: list[str], joiner: str, order: int, upper: bool) -> str:
    given_name = joiner.join(given).capitalize()
    if upper:
        given_name = given_name.upper()
    return [f"{surname} {given_name}", f"{given_name} {surname}", f"{surname}, {given_name}",
            given_name][order]


latin_names = st.builds(
    _latin_name,
    st.sampled_from(_LATIN_SURNAMES),
    st.lists(st.sampled_from(_GIVEN_SYLLABLES), min_size=1, max_size=3),
    st.sampled_from(["", "-", " ", " - ", "ʼ"]),
    st.integers(0, 3),
    st.booleans(),
)
any_names = st.one_of(
    latin_names,
    hangul_names,
    hangul_names.map(lambda n: f"{n[0]} {n[1:]}"),
    hangul_names.map(lambda n: unicodedata.normalize("NFD", n)),
)


@settings(max_examples=300, deadline=None)
@given(any_names)
def test_person_name_tokens_are_the_union_of_its_keys(name: str) -> None:
    # Tokens take a shorter road than the keys (no cache, no per-kind sets): same result.
    keys = person_name_keys(name)
    assert person_name_tokens(name) == set().union(*keys.values())
    assert set(keys) == {"whole", "surname", "given", "syllable"}


def _reference_words(text: str) -> list[str]:
    """Words as split before the speed-up: split at anything but word characters, hyphens and
    apostrophes, drop what holds no letter or digit."""
    text = unicodedata.normalize("NFKC", text)
    apostrophes = "'’‘ʼ`´ʻ′"
    parts = re.split(r"[^\w\-" + apostrophes + r"]+", text)
    return [w for w in parts if w.strip("-" + apostrophes + "_")]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aB1_-'’ʼʻ` ,.é가\u0301\tＡ"), max_size=20))
def test_words_split_as_before(text: str) -> None:
    assert split_words(text) == _reference_words(text)
