"""Per-record linkage features, computed in Python before Splink sees the data.

Splink compares columns with SQL; Korean name knowledge does not fit in SQL, so each record
gets canonical keys here and the SQL only compares keys (see ``comparisons``):

* surname key: the ROK Hangul surname a spelling stands for (Lee, Yi, Rhee, Ri, 이, 리 -> 이);
  an unknown surname keeps a sound key of its own spelling;
* given-name sound key: each syllable reduced to a coarse sound so that the romanization
  families meet (yeo/yo/yŏ, jeong/jong/chong/jung, 룡/용, Ryong/Yong), while a different
  syllable (Jong-un / Jong-il) stays different;
* whether the given name is made of well-formed Korean syllables: when both records' names
  are, a different key is a different name, not a typo;
* dates as ordinal day bounds of their uncertain range; places as (province, county) keys.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sillok.dates import parse_date
from sillok.names import _SURNAMES as _KNOWN_SURNAMES  # ROK Hangul surname -> spellings
from sillok.names import (
    fold,
    hangul_normal,
    is_hangul,
    place_name_tokens,
    romanize,
    split_name,
    surname_variants,
)

# ---------------------------------------------------------------- sound keys

# Order matters: longer spellings first, consonant clusters before single letters.
_SOUND_RULES: tuple[tuple[str, str], ...] = (
    ("tch", "c"), ("chh", "c"), ("ch", "c"), ("jj", "c"), ("j", "c"),
    ("sh", "s"), ("ss", "s"),
    ("kk", "k"), ("gg", "k"), ("kh", "k"), ("ck", "k"), ("g", "k"), ("q", "k"),
    ("tt", "t"), ("dd", "t"), ("th", "t"), ("d", "t"),
    ("pp", "p"), ("bb", "p"), ("ph", "p"), ("b", "p"), ("f", "p"), ("v", "p"),
    ("rr", "l"), ("r", "l"), ("ll", "l"),
    # "Hyeeun" (혜은 joined) is hye + eun, not hy + ee (the press spelling of ㅣ) + un: it
    # must meet "Hye-ŭn" and "Hye-un", which read as hy + eu + n.
    ("yeeu", "yo"),
    ("yeo", "yo"), ("you", "yo"), ("yoo", "yo"), ("yu", "yo"), ("yae", "ye"),
    ("woo", "o"), ("wu", "o"), ("weo", "wo"), ("wae", "we"), ("oe", "we"), ("oi", "we"),
    ("eui", "i"), ("ui", "i"), ("ee", "i"),
    ("eo", "o"), ("eu", "o"), ("oo", "o"), ("ou", "o"), ("u", "o"),
    ("ae", "e"), ("ai", "e"), ("ay", "e"),
    ("x", "ks"), ("z", "c"),
)
_SOUND_RE = re.compile("|".join(re.escape(a) for a, _ in _SOUND_RULES))
_SOUND_MAP = dict(_SOUND_RULES)
_VOWELS = frozenset("aeiouwy")


@lru_cache(maxsize=65536)
def sound_key(part: str, word_initial: bool = True) -> str:
    """A coarse sound key of one folded Latin name part (no spaces or hyphens).

    Romanization families collapse: voiced/voiceless and aspirated consonants, r/l, the
    vowel spellings of ㅓ/ㅗ/ㅜ/ㅡ (eo, ŏ, o, u, eu, ŭ, oo). ``word_initial`` applies the
    initial-sound rule at the start (Ri/Yi/I, Ryong/Yong, Ro/No, Nyo/Yo).
    """
    text = "".join(c for c in part.lower() if "a" <= c <= "z")
    if not text:
        return ""
    # A silent h after a vowel (Oh, Ahn, Hahm, Kahng) carries no sound.
    text = re.sub(r"(?<=[aeiou])h(?![aeiouwy])", "", text)
    # A y between consonants is a vowel, the ㅡ of "Syngman" (Seung-man); doubled or not.
    text = re.sub(r"(?<![aeiouwy])y+(?![aeiouw])", "eu", text)
    # "ng" ends a syllable only before a consonant or at the end; before a vowel it may as
    # well be n + g (Jin-gil / Jing-il, both "Jingil" when joined), so it stays two letters.
    text = re.sub(r"ng(?![aeiouwy])", "N", text)
    key = _SOUND_RE.sub(lambda m: _SOUND_MAP[m.group(0)], text)
    if word_initial:
        if key[:1] in ("l", "n") and key[1:2] in ("i", "y"):
            key = key[1:]
        elif key[:1] == "l":
            key = "n" + key[1:]
    out: list[str] = []
    for ch in key:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


# One romanized Korean syllable in any family or popular spelling, folded.
_ONSET = r"(?:tch|ch|kk|gg|kh|k|g|n|tt|dd|th|t|d|rh|r|l|m|pp|bb|ph|p|b|ss|sh|s|jj|j|h|f|c|w|y)?"
_NUCLEUS = (
    r"(?:yeo|yae|yoo|you|yu|yo|ya|ye|wae|weo|wo|wa|we|wi|wee|oe|oi|eui|ui|eo|eu|ae|ai|ee|oo|ou"
    r"|a|e|i|o|u)"
)
_CODA = r"(?:ng|ck|k|g|n|t|d|l|r|m|p|b|s|h)?"
_SYLLABLES_RE = re.compile(f"(?:{_ONSET}{_NUCLEUS}{_CODA})+")


def is_korean_syllables(part: str) -> bool:
    """Whether a folded Latin part can be read as one or more romanized Korean syllables."""
    return bool(part) and len(part) <= 24 and _SYLLABLES_RE.fullmatch(part) is not None


# ---------------------------------------------------------------- names


@dataclass(frozen=True)
class NameFeatures:
    """Canonical keys of a person name; see the module docstring.

    Attributes:
        surname_key: canonical surname (ROK Hangul when known, else ``~`` + sound key).
        surname_keys: every surname key the spelling may stand for, ``|``-delimited.
        surname_sound: sound key of the surname as written (to spot swapped name orders).
        given_fold: folded given name, parts joined.
        given_key: sound key of the given name.
        full_fold: folded surname + given name, surname first.
        given_hangul: the given name in Hangul (initial-sound rule applied) when known: two
            Hangul given names that differ are different names, however they romanize
            (최춘선 and 최춘순 are both "Choi Chun-sun").
        strict: the surname is Korean and the given name is made of Korean syllables, so a
            different given-name key means a different name rather than a misspelling.
    """

    surname_key: str | None
    surname_keys: str | None
    surname_sound: str | None
    given_fold: str | None
    given_key: str | None
    full_fold: str | None
    given_hangul: str | None
    strict: bool


_EMPTY_NAME = NameFeatures(None, None, None, None, None, None, None, False)
_WORD_RE = re.compile(r"[^\W_]+(?:[-'’‘ʼ`][^\W_]+)*", re.UNICODE)


@lru_cache(maxsize=1)
def _surnames_by_sound() -> dict[str, tuple[str, ...]]:
    """Sound key of every known Latin spelling of a surname -> the Hangul surnames it stands
    for (to read spellings the surname table lacks: "Chhoe" sounds as Choe, 최)."""
    found: dict[str, set[str]] = {}
    for hangul in _KNOWN_SURNAMES:
        for spelling in surname_variants(hangul):
            if not is_hangul(spelling) and (key := sound_key(spelling)):
                found.setdefault(key, set()).add(hangul)
    return {key: tuple(sorted(values)) for key, values in found.items()}


@lru_cache(maxsize=65536)
def _surname_candidates(surname: str) -> tuple[str, ...]:
    """ROK Hangul surnames a surname (any script) may stand for, the likeliest first.

    A Latin spelling the surname table does not know is read by its sound key when that
    stands for exactly one known surname.
    """
    known = sorted(v for v in surname_variants(surname) if is_hangul(v))
    if not known and not is_hangul(surname) and len(fold(surname)) >= 2:
        by_sound = _surnames_by_sound().get(sound_key(fold(surname)), ())
        return by_sound if len(by_sound) == 1 else ()
    if len(known) <= 1 or is_hangul(surname):
        return tuple(known)
    folded = fold(surname)

    def rank(hangul: str) -> tuple[int, str]:
        if fold(romanize(hangul, "rr")) == folded:
            return (0, hangul)
        others = {fold(romanize(hangul, s)) for s in ("mr", "dprk")}
        return (1 if folded in others else 2, hangul)

    return tuple(sorted(known, key=rank))


@lru_cache(maxsize=1 << 16)
def _hangul_given_parts(given: str) -> tuple[str, ...]:
    """Romanized (RR, no sound changes) syllables of a Hangul given name, rule applied."""
    norm = hangul_normal(unicodedata.normalize("NFC", given))
    return tuple(fold(romanize(ch, "rr")) for ch in norm if is_hangul(ch))


def _given_key(parts: Sequence[str]) -> str:
    # Keyed joined, not part by part: "Hak-ho", "Hak Ho" and "Hakho" must meet, and the
    # letters across a syllable boundary are the same letters whichever way they are split.
    return sound_key("".join(parts))


@lru_cache(maxsize=65536)
def _surname_fields(surname_text: str) -> tuple[str, str, str]:
    """(surname key, all keys, sound key) of a surname written in any script."""
    candidates = _surname_candidates(surname_text)
    if is_hangul(surname_text):
        romanized = fold(romanize(hangul_normal(surname_text), "rr"))
    else:
        romanized = fold(surname_text)
    sound = sound_key(romanized)
    if candidates:
        return candidates[0], "|" + "|".join(candidates) + "|", sound
    key = "~" + sound
    return key, f"|{key}|", sound


def name_features(name: str | None, name_hangul: str | None = None) -> NameFeatures:
    """Canonical keys of a person name in any script (Hangul preferred when both are given).

    Latin names may be "Surname, Given", family name first or last (see
    ``_surname_position``), the given name hyphenated, spaced or joined.
    """
    text = (name_hangul or "").strip() or (name or "").strip()
    return _text_name_features(text) if text else _EMPTY_NAME


@lru_cache(maxsize=1 << 20)
def _text_name_features(text: str) -> NameFeatures:
    # Cached on the text actually read: a million reports hold far fewer distinct names.
    if is_hangul(text):
        return _hangul_name_features(text)
    return _latin_name_features(text)


def _hangul_name_features(text: str) -> NameFeatures:
    try:
        surname, given = split_name(text)
    except ValueError:
        return _EMPTY_NAME
    sn_key, sn_all, sn_sound = _surname_fields(surname)
    parts = _hangul_given_parts(given)
    given_fold = "".join(parts) or None
    return NameFeatures(
        surname_key=sn_key,
        surname_keys=sn_all,
        surname_sound=sn_sound,
        given_fold=given_fold,
        given_key=_given_key(parts) or None,
        full_fold=fold(hangul_normal(surname) + hangul_normal(given)) or None,
        given_hangul=hangul_normal(unicodedata.normalize("NFC", given)) or None,
        strict=bool(parts) and not sn_key.startswith("~"),
    )


def _latin_name_features(text: str) -> NameFeatures:
    if "," in text:
        head, _, tail = text.partition(",")
        words = _WORD_RE.findall(head) + _WORD_RE.findall(tail)
        at: int | None = 0 if words else None
    else:
        words = _WORD_RE.findall(text)
        at = _surname_position(words) if words else None
    if not words or at is None:
        return _EMPTY_NAME
    surname = words[at]
    given_words = words[:at] + words[at + 1 :]
    parts = [fold(p) for w in given_words for p in re.split(r"[-'’‘ʼ`]", w)]
    parts = [p for p in parts if p]
    sn_key, sn_all, sn_sound = _surname_fields(surname)
    given_fold = "".join(parts) or None
    korean = not sn_key.startswith("~")
    return NameFeatures(
        surname_key=sn_key,
        surname_keys=sn_all,
        surname_sound=sn_sound,
        given_fold=given_fold,
        given_key=_given_key(parts) or None,
        full_fold=(fold(surname) + (given_fold or "")) or None,
        given_hangul=None,
        strict=korean and bool(parts) and all(is_korean_syllables(p) for p in parts),
    )


def _surname_position(words: list[str]) -> int:
    """Which word of a Latin name is the surname.

    A lone upper-case word at either end (KIM Yo Jong) is; else a known Korean surname at
    the start, then at the end (Korean order first, as most lists write it); else, of two
    words, the one that is not hyphenated; else the first.
    """
    if len(words) == 1:
        return 0
    ends = (0, len(words) - 1)
    caps = [i for i, w in enumerate(words) if w.isupper() and len(w) > 1]
    if len(caps) == 1 and caps[0] in ends and len(caps) < len(words):
        return caps[0]
    known = [i for i in ends if surname_variants(words[i])]
    hyphenated = [i for i, w in enumerate(words) if "-" in w]
    if len(known) == 2 and len(words) == 2 and len(hyphenated) == 1:
        return 1 - hyphenated[0]
    if known:
        return known[0]
    if len(words) == 2 and len(hyphenated) == 1:
        return 1 - hyphenated[0]
    return 0


def name_parts_features(given: str | None, surname: str | None) -> NameFeatures:
    """Canonical keys of a name held in two columns (given name, family name)."""
    given = (given or "").strip()
    surname = (surname or "").strip()
    if not given and not surname:
        return _EMPTY_NAME
    if not surname:
        return name_features(given)
    if is_hangul(surname) or is_hangul(given):
        return name_features(surname + given)
    return name_features(f"{surname}, {given}" if given else surname)


# ---------------------------------------------------------------- dates


@dataclass(frozen=True)
class DateFeatures:
    """An uncertain date as its EDTF text and inclusive ordinal-day bounds."""

    edtf: str | None
    lower: int | None
    upper: int | None


_NO_DATE = DateFeatures(None, None, None)
# "1978년생" (born in 1978) is how Korean writes a birth year; the date itself is the year.
_BORN_IN = re.compile(r"^\s*(\d{4})\s*년\s*생\s*$")


@lru_cache(maxsize=1 << 16)
def date_features(text: str | None) -> DateFeatures:
    """Bounds of a date in any form ``sillok.dates.parse_date`` reads; blank gives nulls.

    Also reads the birth-year idiom "1978년생".

    Raises:
        sillok.dates.DateError: for text that is not a date.
    """
    if text is None or not str(text).strip():
        return _NO_DATE
    text = unicodedata.normalize("NFC", str(text))
    parsed = parse_date(_BORN_IN.sub(r"\1", text))
    return DateFeatures(parsed.edtf, parsed.lower.toordinal(), parsed.upper.toordinal())


# ---------------------------------------------------------------- places


@dataclass(frozen=True)
class PlaceFeatures:
    """A place reduced to its first-level division (ISO code) and a local key below it."""

    province: str | None
    local: str | None


_NO_PLACE = PlaceFeatures(None, None)
_PLACES_FILE = Path(__file__).resolve().parent.parent / "vocab" / "data" / "places.json"
_FIRST_LEVEL = ("province", "city")
# Words that say what kind of place it is rather than which one.
_PLACE_NOISE = frozenset(
    {
        "county", "city", "province", "district", "town", "village", "gun", "si", "do", "kun",
        "shi", "ri", "dong", "gu", "ku", "myon", "myeon", "eup", "up", "north", "south",
        "namdo", "bukdo", "pukto", "nam", "buk", "puk",
    }
)
_HANGUL_PLACE_SUFFIXES = ("로동자구", "노동자구", "구역", "시", "군", "구", "리", "동", "읍", "면")


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(token -> province code, token -> (province code, local key)) from the places file.

    A term's own key (``KP-09``, ``KP-09-hoeryong``) is one of its tokens, so records that
    hold place keys rather than names resolve too.
    """
    try:
        terms = json.loads(_PLACES_FILE.read_text(encoding="utf-8"))["terms"]
    except (OSError, ValueError, KeyError):
        return {}, {}
    by_key = {t["key"]: t for t in terms}

    def province_of(term: dict[str, Any]) -> str | None:
        current: dict[str, Any] | None = term
        while current is not None:
            if current.get("parent") == "KP":
                return str(current["key"])
            current = by_key.get(current.get("parent"))
        return None

    provinces: dict[str, str] = {}
    locals_: dict[str, tuple[str, str]] = {}
    for term in terms:
        kind = term.get("extra", {}).get("kind")
        names = [*term.get("labels", {}).values(), *term.get("aliases", [])]
        tokens = {t for n in names for t in place_name_tokens(n)} - _PLACE_NOISE
        tokens = {t for t in tokens if len(t) >= 3 and not t.isdigit()}
        tokens.add(_key_token(str(term["key"])))
        province = province_of(term)
        if province is None:
            continue
        if term.get("parent") == "KP" and kind in _FIRST_LEVEL:
            for token in tokens:
                provinces.setdefault(token, province)
        elif kind in ("city", "county"):
            local = str(term["key"])
            for token in tokens:
                locals_.setdefault(token, (province, local))
    return provinces, locals_


def _key_token(text: str) -> str:
    """A gazetteer key as a token: "KP-09" -> "#kp09", apart from any folded place name."""
    return "#" + fold(text)


def _best(tokens: set[str], table: dict) -> object | None:
    """The table value of the longest token found, or None when absent or ambiguous."""
    hits = sorted((t for t in tokens if t in table), key=len, reverse=True)
    if not hits:
        return None
    best = [table[t] for t in hits if len(t) == len(hits[0])]
    return best[0] if len(set(best)) == 1 else None


@lru_cache(maxsize=1 << 16)
def place_features(text: str | None) -> PlaceFeatures:
    """(province, local) keys of a place written in any script and order.

    The province comes from the gazetteer (sillok/vocab/data/places.json) or from a known
    county or city in it; the local key is the known county/city, else the sound key of the
    words that are not the province ("Kyongsong County, North Hamgyong" -> "~kyonson").
    """
    if text is None or not str(text).strip():
        return _NO_PLACE
    provinces, locals_ = _gazetteer()
    segments = [s for s in re.split(r"[,;/]", str(text)) if s.strip()]
    province: str | None = None
    local: str | None = None
    rest: list[str] = []
    for segment in segments:
        tokens = place_name_tokens(segment) | {_key_token(segment.strip())}
        found_local = _best(tokens, locals_)
        found_province = _best(tokens, provinces)
        if isinstance(found_local, tuple):
            province = province or found_local[0]
            local = local or found_local[1]
        elif isinstance(found_province, str):
            province = province or found_province
            rest.extend(_unmatched_words(segment, tokens, provinces))
        else:
            rest.append(segment)
    if local is None and rest:
        local = _local_sound_key(" ".join(rest))
    return PlaceFeatures(province, local)


def _unmatched_words(segment: str, tokens: set[str], provinces: dict[str, str]) -> list[str]:
    """Words of a segment that are not part of its province name ("함경북도 회령시" -> 회령시)."""
    words = segment.split()
    if len(words) < 2:
        return []
    return [w for w in words if not (place_name_tokens(w) & provinces.keys())]


def _local_sound_key(text: str) -> str | None:
    words: list[str] = []
    for word in re.split(r"[\s\-]+", text):
        if is_hangul(word):
            norm = hangul_normal(word)
            for suffix in _HANGUL_PLACE_SUFFIXES:
                if norm.endswith(suffix) and len(norm) > len(suffix) + 1:
                    norm = norm[: -len(suffix)]
                    break
            words.append(fold(romanize(norm, "rr")))
        else:
            folded = fold(word)
            if folded and folded not in _PLACE_NOISE:
                words.append(folded)
    joined = "".join(sound_key(w) for w in words)
    return f"~{joined}" if joined else None


# ---------------------------------------------------------------- sex

_SEXES = {
    "male": "male", "m": "male", "man": "male", "남": "male", "남자": "male", "남성": "male",
    "female": "female", "f": "female", "woman": "female", "여": "female", "여자": "female",
    "여성": "female",
    "unknown": None, "u": None, "": None, "?": None, "미상": None,
}


def sex_feature(text: str | None) -> str | None:
    """``male``, ``female`` or None (unknown) from the common English and Korean words.

    Raises:
        ValueError: for any other value.
    """
    if text is None:
        return None
    key = unicodedata.normalize("NFC", str(text)).strip().casefold()
    if key not in _SEXES:
        raise ValueError(f"unknown sex {text!r}; expected male, female or unknown (남/여)")
    return _SEXES[key]
