"""Hangul letters and their Latin spellings (sillok.romanization)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sillok import names, romanization
from sillok.romanization import (
    dprk_lead_form,
    family_given_forms,
    given_forms,
    hangul_candidates,
    is_romanized_syllable,
    is_syllable,
    romanize,
    romanize_plain,
    syllable_forms,
    syllable_initial_spellings,
    word_romanizations,
)

syllables = st.integers(0xAC00, 0xD7A3).map(chr)


def test_names_reexports_the_same_functions() -> None:
    for name in ("fold", "hangul_normal", "is_hangul", "romanize", "hangul_candidates"):
        assert getattr(names, name) is getattr(romanization, name)


def test_is_syllable() -> None:
    assert is_syllable("가") and is_syllable("힣")
    assert not is_syllable("ᄀ")  # a conjoining jamo, not a syllable
    assert not is_syllable("a") and not is_syllable("가나") and not is_syllable("")


@pytest.mark.parametrize(
    ("hangul", "system", "expected"),
    [
        ("복남", "rr", "boknam"),  # no nasalization in names (romanize gives Bongnam)
        ("대중", "mr", "taejung"),  # MR still voices after a vowel
        ("태중", "mr", "t'aejung"),
        ("태중", "dprk", "thaejung"),
        ("김 a", "rr", "gim"),  # non-syllables are dropped
    ],
)
def test_romanize_plain(hangul: str, system: str, expected: str) -> None:
    assert romanize_plain(hangul, system) == expected


def test_romanize_applies_sound_changes_that_plain_does_not() -> None:
    assert romanize("복남", "rr") == "Bongnam"
    assert romanize("관리소", "rr") == "Gwalliso"
    assert romanize_plain("관리소", "rr") == "gwanriso"


def test_romanize_plain_rejects_unknown_system() -> None:
    with pytest.raises(ValueError, match="'yale'"):
        romanize_plain("김", "yale")


def test_syllable_spellings() -> None:
    assert syllable_initial_spellings("정") == ("jeong", "chong", "jong", "jung")
    assert syllable_initial_spellings("수") == ("su", "su", "su", "soo")
    assert {"jong", "jeong", "jung", "chong"} <= syllable_forms("정", True)
    assert "jong" in syllable_forms("종", False)
    assert "ryong" in syllable_forms("용", True)  # the DPRK ㄹ form, first syllable only
    assert "ryong" not in syllable_forms("용", False)


def test_dprk_lead_form() -> None:
    assert dprk_lead_form("용") == "룡"
    assert dprk_lead_form("노") == "로"
    assert dprk_lead_form("니") is None  # ㄴ before ㅣ is not the trace of a lost ㄹ
    assert dprk_lead_form("김") is None
    assert dprk_lead_form("a") is None


def test_given_name_forms() -> None:
    assert family_given_forms("여정") == {"yeojeong", "yojong", "yeojung"}
    forms = given_forms("여정")  # the product: each syllable in every spelling
    assert {"yeojeong", "yojong", "yeojung", "yujung", "yochong", "ryojong"} <= forms
    assert len(forms) == 16
    assert "sollju" not in given_forms("설주")
    assert len(given_forms("가나다라")) == len(family_given_forms("가나다라"))  # no product


def test_word_romanizations_with_and_without_sound_changes() -> None:
    forms = word_romanizations("관리소")
    assert {"gwalliso", "kwalliso", "gwanriso", "kwanliso"} <= forms


def test_hangul_candidates_and_syllable_index() -> None:
    assert hangul_candidates("Yo-jong") >= {"여정", "요정", "여종", "요종"}
    assert hangul_candidates("xyz") == frozenset()
    assert is_romanized_syllable("jong") and is_romanized_syllable("sol")
    assert not is_romanized_syllable("xyz")


@given(syllables)
def test_every_syllable_has_a_first_spelling_among_its_forms(syl: str) -> None:
    """Each system's word-initial spelling of any syllable is among its forms, in plain ASCII."""
    spellings = syllable_initial_spellings(syl)
    assert set(spellings) <= syllable_forms(syl, True)
    assert all(s.isascii() and s.isalpha() for s in spellings)
