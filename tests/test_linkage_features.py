"""Per-record linkage features: Korean name keys, dates, places, sex."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sillok.dates import DateError
from sillok.linkage.features import (
    date_features,
    is_korean_syllables,
    name_features,
    name_parts_features,
    place_features,
    sex_feature,
    sound_key,
)
from sillok.linkage.schema import PERSONS, prepare


def key(name: str, hangul: str | None = None) -> tuple[str | None, str | None]:
    f = name_features(name, hangul)
    return f.surname_key, f.given_key


@pytest.mark.parametrize(
    "spellings",
    [
        ["Kim Yo-jong", "Kim Yo Jong", "KIM Yo Jong", "Kim Yŏ-jŏng", "Kim Yǒ-jǒng",
         "Kim Yeo-jeong", "Kim Yo-Jung", "Gim Yeojeong", "김여정", "Yo-jong Kim"],
        ["Ri Sol-ju", "Lee Sol Ju", "Yi Sŏl-chu", "Rhee Seol-ju", "리설주", "이설주"],
        ["Kim Jong-un", "Kim Jong Un", "Kim Chŏng-ŭn", "Jong-un Kim", "김정은", "Kim Jongun"],
        ["Ri Ryong-ho", "Lee Yong-ho", "Yi Yong-ho", "리룡호", "이용호"],
        ["Park Hak-ho", "Pak Hak Ho", "Bak Hakho", "박학호"],
        ["Ri Jin Kil", "Lee Jin-gil", "리진길", "Yi Chin-gil"],
        ["Choi Yong-hae", "Choe Ryong-hae", "최룡해", "Ch'oe Yong-hae", "Choe Ryong Hae"],
        # A vowel meeting a vowel across the syllables: hye + eun, not hy + ee + un.
        ["Kim Hye-un", "Kim Hye-ŭn", "Kim Hyeeun", "김혜은", "Kim Hye Eun"],
        ["Kim Hee-un", "Kim Heeun", "Kim Hŭi-un", "김희운", "Kim Hee-woon"],
        # A y between consonants is the vowel ㅡ.
        ["Syngman Rhee", "Rhee Syng-man", "이승만", "Yi Sŭng-man", "Lee Seung-man"],
        # 계, a DPRK family (Kye, Gye); "Kye Suk Sung" is not surname 성.
        ["Kye Suk-sung", "Kye Suk Sung", "계석성", "Gye Seok-seong"],
    ],
)
def test_spellings_of_one_name_share_the_keys(spellings: list[str]) -> None:
    keys = {key(s) for s in spellings}
    assert len(keys) == 1, keys


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Kim Jong-un", "Kim Jong-il"),
        ("Kim Jong-un", "Kim Jong-nam"),
        ("김정은", "김정일"),
        ("Kim Yo-jong", "Kim Yo-jin"),
        ("Kim Jong-un", "Pak Jong-un"),
    ],
)
def test_names_one_syllable_apart_do_not_share_keys(one: str, other: str) -> None:
    assert key(one) != key(other)


def test_two_well_formed_korean_names_are_strict_and_a_typo_is_not() -> None:
    assert name_features("Kim Jong-un").strict
    assert name_features("김정은").strict
    assert not name_features("Kim Jnog-un").strict  # "jnog" is no Korean syllable
    assert not name_features("Mitchell Green").strict  # not a Korean surname


def test_hangul_given_name_is_kept_so_homographs_stay_apart() -> None:
    # 최춘선 and 최춘순 romanize alike ("Choi Chun-sun") but are different names.
    a, b = name_features("최춘선"), name_features("최춘순")
    assert a.given_key == b.given_key
    assert a.given_hangul != b.given_hangul
    assert name_features("리설주").given_hangul == name_features("이설주").given_hangul == "설주"


def test_name_held_in_two_columns() -> None:
    assert key("Yo-jong", None) != (None, None)
    parts = name_parts_features("Yo-jong", "Kim")
    whole = name_features("Kim Yo-jong")
    assert (parts.surname_key, parts.given_key) == (whole.surname_key, whole.given_key)
    assert name_parts_features(None, None).surname_key is None


def test_empty_name_has_no_keys() -> None:
    assert name_features(None) == name_features("  ")
    assert name_features("").given_key is None


def test_unknown_surname_keeps_its_own_sound_key() -> None:
    f = name_features("Mitchell Green")
    assert f.surname_key is not None and f.surname_key.startswith("~")


def test_an_unknown_surname_spelling_is_read_by_its_sound_when_that_is_one_surname() -> None:
    assert name_features("Hwwang Kun-ho").surname_key == "황"
    # "Chhoe" sounds as Choe (최) and as Joe (조): not guessed.
    assert name_features("Chhoe, Nan-ju").surname_key == "~cwe"


def test_sound_key_collapses_romanization_families() -> None:
    assert sound_key("yeo") == sound_key("yo") == sound_key("yŏ".replace("ŏ", "o"))
    assert sound_key("jeong") == sound_key("jong") == sound_key("chong") == sound_key("jung")
    assert sound_key("ryong") == sound_key("yong")  # initial-sound rule at the start
    assert sound_key("ryong", word_initial=False) != sound_key("yong", word_initial=False)
    assert sound_key("il") != sound_key("un")
    assert sound_key("") == ""
    # y as a vowel, doubled by a slip or not
    assert sound_key("laklynn") == sound_key("laklyynn")
    assert sound_key("syngman") == sound_key("seungman")


@pytest.mark.parametrize("part", ["jongun", "yeojeong", "solju", "hyeonjin", "sun", "ae"])
def test_korean_syllables_are_recognised(part: str) -> None:
    assert is_korean_syllables(part)


@pytest.mark.parametrize("part", ["jnogun", "xyz", "", "mcc"])
def test_non_korean_spellings_are_not(part: str) -> None:
    assert not is_korean_syllables(part)


given_syllables = st.lists(
    st.sampled_from(["jong", "un", "il", "yo", "sol", "ju", "hyon", "chol", "min", "su"]),
    min_size=1,
    max_size=3,
)


@given(given_syllables, st.sampled_from(["Kim", "Lee", "Park", "Choi"]))
def test_hyphen_space_joined_and_order_do_not_change_the_keys(
    syllables: list[str], surname: str
) -> None:
    hyphenated = f"{surname} {'-'.join(syllables).capitalize()}"
    spaced = f"{surname} {' '.join(s.capitalize() for s in syllables)}"
    joined = f"{surname} {''.join(syllables).capitalize()}"
    upper = hyphenated.upper()
    forms = [hyphenated, spaced, joined, upper]
    if len(syllables) > 1:
        # Family name last is told by the hyphen; "Jong Kim" alone is ambiguous (both are
        # surnames) and read family name first, as Korean writes it.
        forms.append(f"{'-'.join(syllables).capitalize()} {surname}")
    keys = {key(n) for n in forms}
    assert len(keys) == 1, keys


def test_dates_become_ordinal_bounds() -> None:
    exact = date_features("1960-03-02")
    assert exact.lower == exact.upper
    approx = date_features("about 1960")
    assert approx.lower is not None and approx.upper is not None and exact.lower is not None
    assert approx.lower < exact.lower < approx.upper
    assert date_features("1978년생") == date_features("1978")
    assert date_features("") == date_features(None)
    with pytest.raises(DateError, match="'sometime'"):
        date_features("sometime")


@pytest.mark.parametrize(
    ("text", "province", "local"),
    [
        ("KP-09", "KP-09", None),
        ("North Hamgyong, Hoeryong", "KP-09", "KP-09-hoeryong"),
        ("함경북도 회령시", "KP-09", "KP-09-hoeryong"),
        ("Hoeryong City", "KP-09", "KP-09-hoeryong"),
        ("양강도 혜산시", "KP-10", "KP-10-hyesan"),
        ("Ryanggang", "KP-10", None),
        ("평안남도", "KP-02", None),
    ],
)
def test_places_resolve_to_province_and_county(text: str, province: str, local: str) -> None:
    assert place_features(text) == (province, local) or (
        place_features(text).province == province and place_features(text).local == local
    )


def test_unknown_county_keeps_a_sound_key_under_its_province() -> None:
    a = place_features("Kyongsong County, North Hamgyong")
    b = place_features("Kyŏngsŏng, North Hamgyong")
    assert a.province == b.province == "KP-09"
    assert a.local == b.local and a.local is not None and a.local.startswith("~")


def test_sex_words() -> None:
    assert sex_feature("F") == sex_feature("여") == sex_feature("female") == "female"
    assert sex_feature("남자") == "male"
    assert sex_feature("unknown") is None and sex_feature(None) is None
    with pytest.raises(ValueError, match="'x'"):
        sex_feature("x")


def test_prepare_writes_every_feature_column() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "id": [1, 2],
            "name": ["Kim Jong-un", None],
            "name_hangul": [None, "김정은"],
            "birth": ["1984", None],
            "sex": ["male", None],
            "origin": ["KP-01", None],
        }
    )
    out = prepare(PERSONS, frame)
    assert out["unique_id"].tolist() == ["1", "2"]
    assert out.loc[0, "name_key"] == out.loc[1, "name_key"]
    assert out.loc[0, "birth_year"] == 1984 and pd.isna(out.loc[1, "birth_year"])
    assert out.loc[0, "origin_prov"] == "KP-01"
    assert str(out["name_strict"].dtype) == "boolean"
