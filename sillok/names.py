"""Korean names across scripts: surnames, person and place tokens, search query terms.

Letters, folding and romanization live in `sillok.romanization`; the names most callers need
(`fold`, `fold_words`, `hangul_normal`, `is_hangul`, `romanize`, `hangul_candidates`) are
re-exported here.

Decisions:
- Person names are romanized the way people write names, not as running text: no assimilation
  across the surname/given boundary, none inside the given name (the RR rule "Han Boknam"),
  no linking. McCune-Reischauer voices the initial of a non-first given syllable after a voiced
  sound (Tae-jung); the DPRK style writes each given syllable as its own word (Kim Yo Jong).
- Tokens are folded keys (see `fold`); Hangul tokens are folded through `hangul_normal`, so DPRK
  and ROK spellings (리설주/이설주, 량강도/양강도) meet. A Latin given name is indexed joined
  ("Yo-jong" -> "yojong"); single given syllables are indexed too, so "Kim Yo Jong" queries match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from functools import lru_cache
from itertools import chain, product
from types import MappingProxyType
from typing import NamedTuple

from sillok.romanization import (
    SYSTEMS,
    common_syllable,
    dprk_lead_form,
    family_given_forms,
    fold,
    fold_words,
    given_forms,
    hangul_candidates,
    hangul_candidates_of_parts,
    hangul_normal,
    is_hangul,
    is_romanized_syllable,
    is_syllable,
    romanize,
    romanize_plain,
    split_words,
    syllable_forms,
    syllable_initial_spellings,
    word_romanizations,
)

__all__ = [
    "dprk_spelling", "fold", "fold_words", "hangul_candidates", "hangul_normal", "is_hangul",
    "is_surname", "name_hangul_normal", "person_name_keys", "person_name_tokens",
    "person_romanizations", "place_name_tokens", "query_terms", "romanize", "romanize_name_parts",
    "split_name", "surname_variants"
]

_ALL_SYLLABLES_RE = re.compile("[\uac00-\ud7a3]+")
# ---------------------------------------------------------------- surnames

# By frequency (ROK census order, roughly). "ROK/DPRK" where the DPRK writes the surname with ㄹ;
# after it, common Latin spellings. RR, MR and DPRK spellings are added by `_surname_table`.
_SURNAME_DATA = """
김 kim gim ghim|이/리 lee yi rhee ri rie ree i rhie|박 park pak bak bahk|최 choi choe chey
정 jung jeong chung chong jong cheong|강 kang gang khang|조 cho jo joe|윤 yoon yun
장 jang chang|임/림 lim im rim yim|한 han|오 oh o|서 seo suh so|신 shin sin|권 kwon gwon kwun
황 hwang whang|안 ahn an|송 song|유/류 yu ryu yoo you rew lyu|전 jeon jun chun chon jon|홍 hong
고 ko koh go|문 moon mun|양/량 yang ryang|손 son sohn|배 bae pae bai|백 baek paek paik baik
허 heo hur huh ho|남 nam|심 shim sim|노/로 noh roh no ro|하 ha|곽 kwak gwak|성 sung seong song
차 cha|주 joo ju chu|우 woo wu u|구 koo ku gu|민 min|진 jin chin|나/라 na ra rha|지 ji chi
엄 eom um uhm|채 chae|원 won|천 cheon chun chon|방 bang pang|공 kong gong|현 hyun hyeon hyon
함 ham hahm|변 byun byeon pyon pyun|염/렴 yeom yum yom ryom|여/려 yeo yo ryo yuh|추 choo chu
도 do doh to|소 so soh|석 seok suk sok|선 sun seon son|설 seol sul sol|마 ma|길 gil kil
연/련 yeon yun yon ryon|위 wi wee|표 pyo|명 myung myeong myong|기 ki gi|반 ban pan|왕 wang
금 keum geum kum|옥 ok ock|육/륙 yuk yook ryuk|인 in|맹 maeng|제 je che|모 mo|탁 tak tahk
국 kook kuk guk|어 eo uh|은 eun un|편 pyun pyeon pyon|용/룡 yong ryong|태 tae thae|피 pi phi
봉 bong pong|경 kyung kyong gyeong|남궁 namgung namkoong namkung|황보 hwangbo whangbo
제갈 jegal chegal|선우 sunwoo seonu sonu|독고 dokgo tokko|사공 sagong sakong
서문 seomun somun|동방 dongbang tongbang|계 kye gye
"""
_STRONG_COMPOUNDS = frozenset({"남궁", "황보", "제갈", "선우", "독고", "사공"})
_WEAK_COMPOUNDS = frozenset({"서문", "동방"})  # also a surname + given start: need 4 syllables
_COMPOUND_SECONDS = frozenset(c[1] for c in _STRONG_COMPOUNDS | _WEAK_COMPOUNDS)


_SurnameTable = tuple[
    dict[str, tuple[str, ...]], dict[str, tuple[str, ...]], dict[str, int], dict[str, str]
]


def _surname_table() -> _SurnameTable:
    """(ROK Hangul -> folded spellings, folded spelling -> Hangul surnames, Hangul -> rank,
    ROK Hangul -> DPRK Hangul where they differ)."""
    dprk_forms: dict[str, str] = {}
    spellings: dict[str, tuple[str, ...]] = {}
    by_latin: dict[str, list[str]] = {}
    rank: dict[str, int] = {}
    for entry in _SURNAME_DATA.replace("\n", "|").split("|"):
        if not entry.strip():
            continue
        hangul_forms, *common = entry.split()
        rok, _, dprk = hangul_forms.partition("/")
        if dprk:
            dprk_forms[rok] = dprk
        forms = list(dict.fromkeys(common))
        for hangul in filter(None, (rok, dprk)):
            for system in SYSTEMS:
                forms.append(fold(romanize_plain(hangul, system)))
        spellings[rok] = tuple(dict.fromkeys(forms))
        rank[rok] = len(rank)
        for form in spellings[rok]:
            by_latin.setdefault(form, []).append(rok)
    return spellings, {k: tuple(v) for k, v in by_latin.items()}, rank, dprk_forms


_SURNAMES, _SURNAMES_BY_LATIN, _SURNAME_RANK, _SURNAME_DPRK = _surname_table()


@lru_cache(maxsize=65536)
def _surname_hangul(word: str) -> tuple[str, ...]:
    """ROK Hangul surnames a word (any script, any spelling) may stand for; () if none."""
    if not word.isascii() and is_hangul(word):
        norm = hangul_normal(unicodedata.normalize("NFC", word).strip())
        return (norm,) if norm in _SURNAMES else ()
    return _SURNAMES_BY_LATIN.get(fold(word), ())


@lru_cache(maxsize=4096)
def _surname_variants(surname: str) -> frozenset[str]:
    return frozenset(
        form for hangul in _surname_hangul(surname) for form in (hangul, *_SURNAMES[hangul])
    )


def is_surname(word: str) -> bool:
    """True when a word (any script, any spelling) may be a Korean surname ("Kim", "김", "Ri")."""
    return bool(_surname_hangul(word))


def surname_variants(surname: str) -> set[str]:
    """Folded spellings and Hangul of a surname given in any script; empty set if unknown.

    "Lee" -> {"lee", "yi", "i", "rhee", "ri", "rie", ..., "이"}.
    """
    return set(_surname_variants(surname))


def split_name(hangul: str) -> tuple[str, str]:
    """Split a Hangul person name into (surname, given), two-syllable surnames included.

    A space between the parts is honoured ("남궁 민"). Returns (name, "") for one syllable.

    Raises:
        ValueError: when the name holds no Hangul syllable.
    """
    if _ALL_SYLLABLES_RE.fullmatch(hangul):
        name = hangul  # the common case, already NFC and in one piece
    else:
        text = unicodedata.normalize("NFC", hangul)
        parts = ["".join(c for c in p if is_syllable(c)) for p in text.split()]
        parts = [p for p in parts if p]
        if not parts:
            raise ValueError(f"not a Hangul name: {hangul!r}")
        if len(parts) == 2:
            return parts[0], parts[1]
        name = "".join(parts)
    # hangul_normal leaves the second syllable alone: most names need no look at the first.
    if len(name) >= 3 and name[1] in _COMPOUND_SECONDS:
        head = hangul_normal(name[:2])
        if head in _STRONG_COMPOUNDS or (head in _WEAK_COMPOUNDS and len(name) >= 4):
            return name[:2], name[2:]
    return name[:1], name[1:]


def dprk_spelling(hangul: str) -> str:
    """A ROK-spelled Hangul person name with the surname as the DPRK writes it (이 -> 리,
    임 -> 림, 유 -> 류, 노 -> 로 ...); the given name is left alone (용 may or may not be 룡)."""
    surname, given = split_name(hangul)
    return _SURNAME_DPRK.get(hangul_normal(surname), surname) + given


def name_hangul_normal(hangul: str) -> str:
    """`hangul_normal` for a person name: the rule applies to the surname and the given name."""
    surname, given = split_name(hangul)
    return hangul_normal(surname) + hangul_normal(given)


# ---------------------------------------------------------------- person names

# Keys are put together from parts cached per surname, per given name and per Latin word: an
# import sees most full names once, but their parts again and again.


@lru_cache(maxsize=65536)
def person_name_keys(name: str) -> Mapping[str, frozenset[str]]:
    """Folded index keys of a person name in any script, by kind.

    Kinds: "whole" (whole name, both orders, Hangul and romanized), "surname" (its spellings and
    Hangul), "given" (given name joined, all spellings, Hangul), "syllable" (single given
    syllables: they let "Kim Yo Jong" written syllable by syllable match). Two different persons
    such as Kim Jong-un and Kim Jong-il share no "whole" or "given" key.
    """
    if is_hangul(name):
        whole, surname, given = _hangul_person(name)
        keys = {"whole": whole, "surname": surname.keys, "given": given.keys,
                "syllable": given.syllables}
    else:
        keys = _latin_person_keys(name)
    return MappingProxyType({kind: frozenset(values) for kind, values in keys.items()})


def person_name_tokens(name: str) -> set[str]:
    """Folded tokens to index a person name given in any script (the union of its keys)."""
    # Not through person_name_keys' cache: an import sees each name about once.
    if not name.isascii() and (_ALL_SYLLABLES_RE.search(name) or is_hangul(name)):
        tokens, surname, given = _hangul_person(name)
        tokens.update(surname.keys, given.tokens)
        return tokens
    words, at = _latin_words(name)
    if at is None:
        return set().union(*_latin_person_keys(name).values())
    sur, giv = _latin_surname(words[at]), _latin_given(_given_parts(words, at))
    tokens = {sur.folded + giv.folded, giv.folded + sur.folded}
    tokens.update(sur.tokens, giv.tokens)
    return tokens


class _NamePart(NamedTuple):
    """A surname or given name: folded or ROK Hangul text, spellings, keys and tokens."""

    folded: str  # the Latin part folded, or the Hangul part in ROK spelling
    spellings: tuple[str, ...]  # Hangul: the main folded spellings, used in "whole" keys
    keys: frozenset[str]  # its "surname" or "given" keys
    syllables: frozenset[str]  # its "syllable" keys (Latin: all parts between hyphens)
    tokens: frozenset[str]  # keys and syllables together


def _hangul_person(name: str) -> tuple[set[str], _NamePart, _NamePart]:
    """("whole" keys, surname, given name) of a Hangul person name."""
    surname, given = split_name(name)
    sur, giv = _hangul_surname(surname), _hangul_given(given)
    whole = {s + g for s in sur.spellings for g in giv.spellings}
    whole.update([g + s for s in sur.spellings for g in giv.spellings])
    whole.add(sur.folded + giv.folded)
    return whole, sur, giv


@lru_cache(maxsize=4096)
def _hangul_surname(surname: str) -> _NamePart:
    """A Hangul surname; spellings: the main ones (popular, RR, MR, DPRK)."""
    surname = hangul_normal(surname)
    systems = {"".join(syllable_initial_spellings(c)[k] for c in surname) for k in range(3)}
    spelled = _SURNAMES.get(surname) or tuple(sorted(systems))
    keys = frozenset((*spelled, surname))
    return _NamePart(surname, tuple(systems | set(spelled[:1])), keys, frozenset(), keys)


@lru_cache(maxsize=65536)
def _hangul_given(given: str) -> _NamePart:
    """A Hangul given name; spellings: one per family (RR, MR, DPRK, popular)."""
    given = hangul_normal(given)
    if not given:
        return _NamePart("", (), frozenset(), frozenset(), frozenset())
    syllables: set[str] = set()
    if len(given) > 1:
        for i, c in enumerate(given):
            syllables |= syllable_forms(c, i == 0)
            syllables |= syllable_forms(c, False)
    keys = given_forms(given) | {given}
    return _NamePart(given, tuple(family_given_forms(given)), keys, frozenset(syllables),
                     keys | syllables)


def _latin_surname_index(words: list[str]) -> int | None:
    """Which of a Latin name's words is the surname: first or last, else None."""
    if len(words) < 2:
        return 0 if words and _surname_hangul(words[0]) else None
    if True in map(str.isupper, words):  # rare: spare the others the list
        caps = [i for i, w in enumerate(words) if w.isupper() and len(w) > 1]
        if len(caps) == 1 and caps[0] in (0, len(words) - 1):
            return caps[0]
    first, last = _surname_hangul(words[0]), _surname_hangul(words[-1])
    if "-" in words[0] and last:
        return len(words) - 1
    if first and last:  # family name first is the norm, unless only the last is Kim/Lee/Park
        top_last = _SURNAME_RANK[last[0]] <= 2 < _SURNAME_RANK[first[0]]
        return len(words) - 1 if top_last else 0
    if first or last:
        return 0 if first else len(words) - 1
    return None


def _latin_words(name: str) -> tuple[list[str], int | None]:
    """The words of a Latin person name and which one is the surname (None: no word is)."""
    if "," in name:
        text = name.split(",")
        if len(text) == 2 and text[0].strip() and text[1].strip():  # "Lee, Sol-ju"
            return split_words(text[0]) + split_words(text[1]), 0
    words = split_words(name)
    return words, (_latin_surname_index(words) if words else None)


def _latin_person_keys(name: str) -> dict[str, AbstractSet[str]]:
    words, at = _latin_words(name)
    syllables = set().union(*map(_latin_parts, words))
    if at is None:
        folded = [fold(w) for w in words]
        joined = "".join(folded)
        return {"whole": {joined, "".join(reversed(folded))} - {""},
                "surname": frozenset(), "given": frozenset(), "syllable": syllables}
    sur, giv = _latin_surname(words[at]), _latin_given(_given_parts(words, at))
    syllables.discard(sur.folded)
    return {
        "whole": {sur.folded + giv.folded, giv.folded + sur.folded},
        "surname": sur.keys,
        "given": giv.keys,
        "syllable": syllables,
    }


@lru_cache(maxsize=65536)
def _latin_parts(word: str) -> tuple[str, ...]:
    """The folded parts of a Latin word between hyphens ("Yo-jong" -> yo, jong)."""
    return tuple(p for p in map(fold, word.split("-")) if p)


def _given_parts(words: list[str], at: int) -> tuple[str, ...]:
    """The folded parts of a Latin name's words but the surname (words[at])."""
    if len(words) == 2:
        return _latin_parts(words[1 - at])
    return tuple(chain.from_iterable(map(_latin_parts, (*words[:at], *words[at + 1 :]))))


@lru_cache(maxsize=4096)
def _latin_surname(word: str) -> _NamePart:
    """A Latin surname word; keys: its spellings and Hangul."""
    folded, pieces = fold(word), frozenset(_latin_parts(word))
    keys = _surname_variants(word) | {folded}
    return _NamePart(folded, (), keys, pieces, keys | pieces)


@lru_cache(maxsize=65536)
def _latin_given(parts: tuple[str, ...]) -> _NamePart:
    """A Latin given name from its folded parts (words, or syllables between hyphens); keys:
    the parts joined, and the Hangul they may stand for."""
    # Joined parts are the folded words joined: fold drops the hyphens between them.
    folded = "".join(parts)
    keys = hangul_candidates_of_parts(parts, 3) | ({folded} if folded else set())
    return _NamePart(folded, (), keys, frozenset(parts), keys.union(parts))


_FAMILIES = ("rr", "mr", "dprk", "common")


@lru_cache(maxsize=65536)
def romanize_name_parts(hangul: str, family: str) -> tuple[str, tuple[str, ...]]:
    """(surname, given syllables) of a Hangul person name in one family, lower case:
    "rr" (Gim, yeo jeong), "mr" (Kim, yŏ jŏng, voiced inside), "dprk" (Kim, yo jong, each
    syllable on its own; 이 -> Ri), "common" (Kim/Lee/Park..., yeo jung: popular ROK style).

    Raises:
        ValueError: for an unknown family or a name without Hangul.
    """
    if family not in _FAMILIES:
        raise ValueError(f"unknown romanization family {family!r}; use one of {_FAMILIES}")
    surname, given = split_name(hangul)
    surname, given = hangul_normal(surname), hangul_normal(given)
    if family == "common":
        spelled = _SURNAMES.get(surname) or (fold(romanize_plain(surname, "rr")),)
        return spelled[0], tuple(common_syllable(c) for c in given)
    if family == "dprk":
        sur = romanize_plain(_SURNAME_DPRK.get(surname, surname), "dprk")
        return sur, tuple(romanize_plain(c, "dprk") for c in given)
    sur = "yi" if (family, surname) == ("mr", "이") else romanize_plain(surname, family)
    sylls = [romanize_plain(c, family) for c in given]
    if family == "mr" and len(given) > 1:  # re-cut the voiced whole at the syllable lengths
        whole, cut = romanize_plain(given, "mr"), 0
        for i, syl in enumerate(sylls):
            sylls[i] = whole[cut : cut + len(syl)]
            cut += len(syl)
    return sur, tuple(sylls)


def person_romanizations(hangul: str) -> set[str]:
    """Readable romanizations of a Hangul person name in RR, MR, DPRK and popular styles.

    김여정 -> {"Kim Yeo-jeong", "Kim Yeojeong", "Kim Yŏ-jŏng", "Kim Yo Jong", "Kim Yo-jong",
    "Kim Yo-Jung", "Gim Yeojeong", ...}; family name first, and a few family name last.
    """
    custom = romanize_name_parts(hangul, "common")[0].capitalize()
    out: set[str] = set()
    for family in _FAMILIES:
        sur, sylls = romanize_name_parts(hangul, family)
        sur = sur.capitalize()
        hyphen, joined = "-".join(sylls).capitalize(), "".join(sylls).capitalize()
        out.update((f"{sur} {hyphen}", f"{sur} {joined}", f"{hyphen} {sur}"))
        out.update((f"{custom} {hyphen}", f"{custom} {joined}"))
        if family in ("dprk", "common"):
            out.add(f"{sur} " + " ".join(s.capitalize() for s in sylls))
            out.add(f"{sur} " + "-".join(s.capitalize() for s in sylls))
    given = hangul_normal(split_name(hangul)[1])  # popular with DPRK vowels: Kim Yo-Jung
    out.add(f"{custom} " + "-".join(common_syllable(c, True).capitalize() for c in given))
    return out


# ---------------------------------------------------------------- places

_HANGUL_SUFFIXES = ("특별시", "직할시", "특급시", "노동자구", "관리소", "수용소", "교화소",
                    "집결소", "단련대", "교양소", "구류장", "구역", "지구", "남도", "북도", "도",
                    "시", "군", "구", "리", "동", "면", "읍")
_LATIN_SUFFIXES = {"do": "", "namdo": "nam", "bukdo": "buk", "pukto": "puk", "si": "", "shi": "",
                   "gun": "", "kun": "", "gu": "", "ku": "", "ri": "", "dong": "", "tong": "",
                   "myeon": "", "myon": "", "eup": "", "up": "", "guyeok": "", "kuyok": ""}
_GENERIC_WORDS = frozenset({
    "camp", "county", "province", "city", "prison", "political", "prisoners", "prisoner", "no",
    "number", "the", "of", "district", "town", "village", "facility", "center", "centre",
    "detention", "labor", "labour", "re", "education", "reeducation", "kwanliso", "kwalliso",
    "gwalliso", "kyohwaso", "gyohwaso", "jipgyeolso", "chipkyolso", "special",
})
# English words for generic Hangul parts, so "Yodok camp" finds 요덕 관리소.
_GENERIC_ENGLISH = {"관리소": ("camp", "prisoncamp"), "수용소": ("camp",), "교화소": ("prison",),
                    "집결소": ("center", "centre"), "단련대": ("camp",), "도": ("province",),
                    "남도": ("province", "south"), "북도": ("province", "north"),
                    "시": ("city",), "군": ("county",), "특별시": ("city",), "직할시": ("city",)}
_DIRECTIONS = {"south": ("namdo", "nam"), "north": ("bukdo", "pukto", "buk", "puk")}


def _hangul_stems(word: str, broad: bool) -> set[str]:
    """A Hangul place word without its generic suffix (요덕관리소 -> 요덕, 평안남도 -> 평안남).
    broad also strips 남도/북도 to the bare name (평안)."""
    stems = set()
    for suffix in _HANGUL_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            if not broad and suffix in ("남도", "북도"):
                continue
            stems.add(word[: -len(suffix)])
    return stems


@lru_cache(maxsize=65536)
def _hangul_word_alternatives(word: str, dprk_lead: bool = True) -> frozenset[str]:
    """Folded Hangul and romanizations of a Hangul word, also in its DPRK ㄹ spelling."""
    norm = hangul_normal(word)
    out = {fold(norm)} | word_romanizations(norm)
    dprk = dprk_lead_form(norm[:1]) if norm and dprk_lead else None
    if dprk is not None:
        out |= word_romanizations(dprk + norm[1:])
    return frozenset(out)


def _latin_stems(word: str) -> set[str]:
    parts = [fold(p) for p in word.split("-")]
    stems = set()
    if len(parts) > 1 and parts[-1] in _LATIN_SUFFIXES:
        stems.add("".join(parts[:-1]) + _LATIN_SUFFIXES[parts[-1]])
    joined = "".join(parts)
    for suffix in ("namdo", "bukdo", "pukto", "do"):
        if joined.endswith(suffix) and len(joined) - len(suffix) >= 4:
            stems.add(joined[: -len(suffix)] + _LATIN_SUFFIXES[suffix])
    return stems - {"", joined}


def place_name_tokens(name: str) -> set[str]:
    """Folded tokens to index a place, facility or organization name given in any script.

    Each word folded, romanized (RR, MR, DPRK, with and without sound changes) when Hangul,
    and again without a generic suffix (도 시 군 구 리 동 면, 관리소 수용소, -do, -si, camp,
    county, province); the whole name folded and romanized, also without generic words.
    """
    return set(_place_tokens(name))


@lru_cache(maxsize=65536)
def _place_tokens(name: str) -> frozenset[str]:
    out: set[str] = set()
    core: list[str] = []
    words = split_words(name)
    folded_words = [fold(w) for w in words]
    for word, folded in zip(words, folded_words, strict=True):
        if is_hangul(word):
            norm = hangul_normal(unicodedata.normalize("NFC", word))
            out |= _hangul_word_alternatives(norm)
            for stem in _hangul_stems(norm, broad=True):
                out |= _hangul_word_alternatives(stem)
                out.update(_GENERIC_ENGLISH.get(norm[len(stem) :], ()))
            out.update(_GENERIC_ENGLISH.get(norm, ()))
            if norm not in _HANGUL_SUFFIXES:
                core.append(norm)
        else:
            out.add(folded)
            stems = _latin_stems(word)
            out |= stems | hangul_candidates(word)
            for stem in stems:
                out |= hangul_candidates(stem)
            if folded not in _GENERIC_WORDS and not folded.isdigit():
                core.append(folded)
        digits = "".join(c for c in folded if c.isdigit())
        if digits and digits != folded:
            out.add(digits)
    for i, folded in enumerate(folded_words):  # "South Hamgyong" -> hamgyongnamdo
        for suffix in _DIRECTIONS.get(folded, ()):
            for other in folded_words[i + 1 : i + 2] + folded_words[max(i - 1, 0) : i]:
                if other not in _DIRECTIONS and other not in _GENERIC_WORDS:
                    out.add(other + suffix)
    whole = "".join(folded_words)
    out.add(whole)
    if core:
        core_text = "".join(core)
        out.add(fold(core_text))
        if is_hangul(core_text):
            out |= _hangul_word_alternatives(core_text, dprk_lead=False)
    if is_hangul(name) and len(words) > 1:
        out |= _hangul_word_alternatives("".join(words), dprk_lead=False)
    out.discard("")
    return frozenset(out)


# ---------------------------------------------------------------- queries

def _hangul_query_alternatives(word: str) -> set[str]:
    norm = hangul_normal(unicodedata.normalize("NFC", word))
    alts = set(_hangul_word_alternatives(norm))
    alts |= {fold(s) for s in _hangul_stems(norm, broad=False)}
    if len(norm) <= 3:
        alts |= given_forms(norm)
    alts |= surname_variants(norm)
    surname, given = split_name(norm)
    if given and surname in _SURNAMES and 2 <= len(norm) <= 5:
        alts.add(name_hangul_normal(norm))
        sur_forms = _SURNAMES[surname]
        for s, g in product(sur_forms, given_forms(given)):
            alts.update((s + g, g + s))
    return alts - {""}


def _latin_query_alternatives(word: str) -> set[str]:
    folded = fold(word)
    alts = {folded} | surname_variants(word) | _latin_stems(word) | hangul_candidates(word)
    return alts - {""}


def _merge_name_syllables(words: list[str]) -> list[set[str]] | None:
    """Terms for three Latin words that read as a surname and a given name written syllable by
    syllable ("Kim Yo Jong", "RI SOL JU", "Jong Un Kim"), else None. When both ends could be
    the surname, each term holds both readings."""
    if len(words) < 3 or any(is_hangul(w) or "-" in w for w in words):
        return None
    folded = [fold(w) for w in words]
    readings = []
    if _surname_hangul(words[0]) and all(map(is_romanized_syllable, folded[1:])):
        readings.append((0, folded[1] + folded[2]))
    if _surname_hangul(words[2]) and all(map(is_romanized_syllable, folded[:2])):
        readings.append((2, folded[0] + folded[1]))
    if not readings:
        return None
    surname_term: set[str] = set()
    for at, _ in readings:
        surname_term |= _latin_query_alternatives(words[at])
    given_term = {given for _, given in readings}
    for _, given in readings:
        given_term |= hangul_candidates(given, 2)
    return [surname_term, given_term]


def query_terms(query: str) -> list[set[str]]:
    """A search query as terms to AND, each a set of folded alternatives to OR.

    A Hangul word's alternatives: its `hangul_normal` form, its romanizations, and for a person
    name (surname + given) the whole-name keys. A Latin word's: its fold and, for a known
    surname spelling, the other spellings and the Hangul surname. A surname followed by given
    syllables written apart ("Kim Yo Jong", "RI SOL JU") becomes surname + joined given name.
    """
    words = split_words(query)
    terms: list[set[str]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if is_hangul(word):
            terms.append(_hangul_query_alternatives(word))
            i += 1
            continue
        merged = _merge_name_syllables(words[i : i + 3])
        if merged:
            terms.extend(merged)
            i += 3
            continue
        alts = _latin_query_alternatives(word)
        if alts:
            terms.append(alts)
        i += 1
    return [t for t in terms if t]
