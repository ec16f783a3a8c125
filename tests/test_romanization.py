"""Hangul letters and their Latin spellings (sillok.romanization)."""

from __future__ import annotations

import hashlib
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sillok import names, romanization
from sillok.romanization import (
    common_syllable,
    dprk_lead_form,
    family_given_forms,
    fold,
    given_forms,
    hangul_candidates,
    hangul_candidates_of_parts,
    hangul_normal,
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


# ---------------------------------------------------------------- fast paths against references


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=20))
def test_fold_of_ascii_takes_the_same_path_as_other_text(text: str) -> None:
    # "é" sends the text down the general path (NFKC, per character), ASCII alone takes the
    # translate shortcut: both must fold the ASCII part alike.
    assert fold(text + "é") == fold(text) + "e"


def test_every_syllable_spells_as_frozen() -> None:
    """The per-syllable spellings of all 11,172 syllables, digested: frozen from the code before
    it was tuned for speed, so a faster table cannot quietly spell a syllable differently."""
    digest = hashlib.sha256()
    for code in range(0xAC00, 0xD7A4):
        syl = chr(code)
        row = [syl, *sorted(syllable_forms(syl, True)), "|", *sorted(syllable_forms(syl, False)),
               "|", common_syllable(syl), common_syllable(syl, True),
               *syllable_initial_spellings(syl)]
        digest.update(" ".join(row).encode() + b"\n")
    assert digest.hexdigest() == "2832552079a2b7459debd188fa009491f9ffc22f07674784a6710470dc76a8f2"


def _reference_index() -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for lead in range(19):
        for vowel in range(21):
            for tail in (0, 1, 4, 8, 16, 17, 19, 21):  # the finals names have
                syl = chr(0xAC00 + lead * 588 + vowel * 28 + tail)
                for form in syllable_forms(syl, True) | syllable_forms(syl, False):
                    index.setdefault(form, []).append(syl)
    return index


_INDEX = _reference_index()


def _reference_cuts(part: str, most: int) -> list[list[str]]:
    if not part:
        return [[]]
    return [
        [part[:cut], *rest]
        for cut in range(1, min(len(part), 7) + 1)
        if part[:cut] in _INDEX and most > 0
        for rest in _reference_cuts(part[cut:], most - 1)
    ]


def _reference_candidates(latin: str, max_syllables: int) -> frozenset[str]:
    """hangul_candidates the slow, obvious way: every cut, every syllable, then the bound."""
    parts = [p for p in (fold(p) for p in re.split(r"[\s\-]+", latin)) if p]
    if not parts or not all(p.isascii() and p.isalpha() for p in parts):
        return frozenset()
    options = []
    for part in parts:
        cuts = _reference_cuts(part, max_syllables)
        fewest = min((len(c) for c in cuts), default=0)
        options.append([c for c in cuts if len(c) == fewest])
    out: set[str] = set()
    for choice in itertools.product(*options):
        sylls = [syl for cut in choice for syl in cut]
        if not sylls or len(sylls) > max_syllables:
            continue
        for hangul in itertools.product(*(_INDEX[syl] for syl in sylls)):
            out.add(hangul_normal("".join(hangul)))
    return frozenset(out) if len(out) <= 48 else frozenset()


def _romanized(sylls: list[str], seps: list[str], upper: bool) -> str:
    word = sylls[0] + "".join(sep + s for sep, s in zip(seps, sylls[1:], strict=False))
    return word.upper() if upper else word.capitalize()


romanized_words = st.builds(  # "Yo-jong", "YOJONG", "Sol ju", and "x" for a typo
    _romanized,
    st.lists(st.sampled_from(sorted(_INDEX)), min_size=1, max_size=4),
    st.lists(st.sampled_from(["", "-", " ", "x"]), min_size=3, max_size=3),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(romanized_words, st.text(alphabet="abcdeghijkmnoprstuwy- 'ŏ", max_size=14)),
    st.integers(1, 4),
)
def test_hangul_candidates_match_the_obvious_way(latin: str, max_syllables: int) -> None:
    assert hangul_candidates(latin, max_syllables) == _reference_candidates(latin, max_syllables)


def test_hangul_candidates_bound_and_shapes() -> None:
    assert hangul_candidates("Yo-jong", 1) == frozenset()  # two syllables, one allowed
    assert hangul_candidates("Ri Sol-ju") >= {"이설주"}  # the initial-sound rule at the start
    assert hangul_candidates("a") and not hangul_candidates("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    assert hangul_candidates_of_parts(("yo", "jong"), 3) == hangul_candidates("Yo-jong", 3)
    assert hangul_candidates_of_parts(("yo", ""), 3) == frozenset()
