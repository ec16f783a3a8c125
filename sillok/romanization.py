"""Hangul letters and their Latin spellings: syllable arithmetic, folded keys, romanization.

Romanization uses the module's own tables (syllable arithmetic on U+AC00), not `ko-pron` or
`hangul-romanize`: they are slower and apply sound-change rules meant for running text.
`sillok.names` builds person and place tokens on top of this module.

Decisions:
- Plain words and places (`romanize`) apply the usual sound changes: linking, nasalization,
  ㄴ/ㄹ -> ll, and in MR/DPRK voicing between voiced sounds (요덕 -> Yodŏk, 관리소 -> gwalliso).
- Name syllables are spelled without sound changes (`romanize_plain`, `syllable_forms`): names
  are written that way ("Han Boknam"), except that MR voices a non-first syllable after a
  voiced sound (Tae-jung).
- DPRK romanization is written without breves, as the DPRK itself writes it in practice
  (Pyongyang, Kim Jong Un); aspirates are kh/th/ph/ch, ㅈ is j.
- `fold` is the key under which spellings meet: ǒ, ŏ and o alike, no apostrophes or hyphens;
  `fold_words` folds each word of a text, a hyphenated word as one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import product
from math import prod

_BASE, _LAST = 0xAC00, 0xD7A3
SYSTEMS = ("rr", "mr", "dprk")

# Jamo indices: initial (L) 19, vowel (V) 21, final (T) 28, in Unicode order.
_L_RR = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k",
         "t", "p", "h"]
_L_MR = ["k", "kk", "n", "t", "tt", "r", "m", "p", "pp", "s", "ss", "", "ch", "tch", "ch'", "k'",
         "t'", "p'", "h"]
_L_DPRK = ["k", "kk", "n", "t", "tt", "r", "m", "p", "pp", "s", "ss", "", "j", "jj", "ch", "kh",
           "th", "ph", "h"]
_V_RR = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo",
         "we", "wi", "yu", "eu", "ui", "i"]
_V_MR = ["a", "ae", "ya", "yae", "ŏ", "e", "yŏ", "ye", "o", "wa", "wae", "oe", "yo", "u", "wŏ",
         "we", "wi", "yu", "ŭ", "ŭi", "i"]
_V_DPRK = ["a", "ae", "ya", "yae", "o", "e", "yo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo",
           "we", "wi", "yu", "u", "ui", "i"]
_L_ROMAN = {"rr": _L_RR, "mr": _L_MR, "dprk": _L_DPRK}
_V_ROMAN = {"rr": _V_RR, "mr": _V_MR, "dprk": _V_DPRK}
# Final consonants reduced to the seven sounds a syllable can end in.
_T_SOUND = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l",
            "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t"]
# A final carried over to a following vowel: the initial (L index) it becomes; -1 = silent ㅎ.
_T_TO_L = [11, 0, 1, 9, 2, 12, 2, 3, 5, 0, 6, 7, 9, 16, 17, 5, 6, 7, 9, 9, 10, 11, 12, 14,
           15, 16, 17, -1]
_VOICED = {0: "g", 3: "d", 7: "b", 12: "j"}  # ㄱ ㄷ ㅂ ㅈ between voiced sounds (MR, DPRK)
_NASAL = {"k": "ng", "t": "n", "p": "m"}
_ASPIRATED = {0: 15, 3: 16, 12: 14}  # ㅎ + ㄱ/ㄷ/ㅈ -> ㅋ/ㅌ/ㅊ
_FORCED_L = -5  # an initial ㄹ pronounced l (after ㄹ, or ㄴ+ㄹ)
# Finals after which an initial ㄹ is written l: after ㄹ always; "plain-l" after any consonant.
_L_AFTER = {"word": ("l",), "plain": ("l",), "plain-l": ("l", "k", "n", "t", "m", "p", "ng")}
_Y_VOWELS = frozenset({2, 3, 6, 7, 12, 17, 20})  # ㅑ ㅒ ㅕ ㅖ ㅛ ㅠ ㅣ
_L_RIEUL, _L_NIEUN, _L_MIEUM, _L_IEUNG = 5, 2, 6, 11

APOSTROPHES = "'’‘ʼ`´ʻ′"
_SYLLABLE_RE = re.compile("[\uac00-\ud7a3]")
_JAMO_RE = re.compile("[\u1100-\u11ff]")
_ALL_SYLLABLES_RE = re.compile("[\uac00-\ud7a3]+")


def is_syllable(ch: str) -> bool:
    """True for one precomposed Hangul syllable (가..힣)."""
    return "\uac00" <= ch <= "\ud7a3" and len(ch) == 1


def _syl(ch: str) -> tuple[int, int, int] | None:
    """(L, V, T) jamo indices of a Hangul syllable, or None."""
    code = ord(ch) - _BASE
    if 0 <= code <= _LAST - _BASE:
        return code // 588, (code % 588) // 28, code % 28
    return None


def _compose(lvt: tuple[int, int, int]) -> str:
    return chr(_BASE + lvt[0] * 588 + lvt[1] * 28 + lvt[2])


def is_hangul(text: str) -> bool:
    """True when the text contains a Hangul syllable (NFC or NFD input alike)."""
    if _SYLLABLE_RE.search(text):
        return True
    return bool(_JAMO_RE.search(text)) and bool(
        _SYLLABLE_RE.search(unicodedata.normalize("NFC", text))
    )


@lru_cache(maxsize=4096)
def _initial_rule(ch: str) -> str:
    """The ROK initial-sound rule (두음법칙) on one syllable: 리 -> 이, 로 -> 노, 녀 -> 여."""
    lvt = _syl(ch)
    if lvt is None:
        return ch
    lead, vowel, tail = lvt
    if lead == _L_RIEUL:
        lead = _L_IEUNG if vowel in _Y_VOWELS else _L_NIEUN
    elif lead == _L_NIEUN and vowel in _Y_VOWELS:
        lead = _L_IEUNG
    return _compose((lead, vowel, tail))


@lru_cache(maxsize=65536)
def hangul_normal(text: str) -> str:
    """NFC, then the DPRK->ROK initial-sound rule on the first syllable of every word.

    So 량강도 and 양강도, 라선 and 나선, 리설주 and 이설주 become the same text. Person names
    also need the rule at the start of the given name: see `name_hangul_normal`.
    """
    text = unicodedata.normalize("NFC", text)
    out = []
    prev_word = False
    for ch in text:
        if not prev_word and _syl(ch) is not None:
            ch = _initial_rule(ch)
        out.append(ch)
        prev_word = ch.isalnum()
    return "".join(out)


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    if _syl(ch) is not None:
        return ch
    if ch in APOSTROPHES or unicodedata.category(ch) == "Lm":
        return ""
    base = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in base if c.isalnum() and not unicodedata.combining(c)).casefold()


# ASCII other than letters and digits: all `_fold_char` drops from ASCII text.
_ASCII_NOT_ALNUM = bytes(i for i in range(128) if not chr(i).isalnum())


@lru_cache(maxsize=262144)
def fold(text: str) -> str:
    """The folded key: lower case, no diacritics, apostrophes, hyphens, spaces or punctuation.

    ǒ (U+01D2) and ŏ (U+014F) both fold to o, ŭ/ǔ to u; Hangul goes through `hangul_normal`.
    NFC and NFD input fold alike.
    """
    if text.isascii():  # most romanized names: the same result, at C speed
        return text.lower().encode().translate(None, _ASCII_NOT_ALNUM).decode()
    text = unicodedata.normalize("NFKC", text)
    if is_hangul(text):
        text = hangul_normal(text)
    return "".join(_fold_char(c) for c in text)


# A run of word characters, hyphens and apostrophes with a letter or digit in it.
_WORD = re.compile(f"[\\w\\-{APOSTROPHES}]*[^\\W_{APOSTROPHES}][\\w\\-{APOSTROPHES}]*")


def split_words(text: str) -> list[str]:
    """Words of a text, keeping hyphenated and apostrophized words whole."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _WORD.findall(text)


def fold_words(text: str) -> list[str]:
    """Fold each word; hyphenated parts stay joined ("Kim Yo-jong" -> ["kim", "yojong"])."""
    return [f for f in (fold(w) for w in split_words(text)) if f]


# The letter tables folded ("ŏ" -> "o", "ch'" -> "ch"): a syllable's folded spelling is then the
# folded initial + vowel + final, with no fold() of new text.
_L_FOLDED = {system: [fold(x) for x in table] for system, table in _L_ROMAN.items()}
_V_FOLDED = {system: [fold(x) for x in table] for system, table in _V_ROMAN.items()}


# ---------------------------------------------------------------- romanization of words


def _romanize_syllables(
    lvts: list[tuple[int, int, int]], system: str, mode: str, folded: bool = False
) -> str:
    """Romanize a run of syllables. mode: "word" (sound changes), "plain" (none), "plain-l"
    (none, but ㄹ after a consonant written l, as in the common spelling "kwanliso"); folded:
    spelled with the folded letters, as `fold` would leave it."""
    leads = [lvt[0] for lvt in lvts]
    finals = [_T_SOUND[lvt[2]] for lvt in lvts]
    if mode == "word":
        for i in range(len(lvts) - 1):
            tail, nxt = lvts[i][2], leads[i + 1]
            sound = finals[i]
            if not tail:
                continue
            if nxt == _L_IEUNG:  # linking: the final becomes the next initial
                moved = _T_TO_L[tail]
                if moved == -1:
                    finals[i] = ""
                elif moved != _L_IEUNG:
                    finals[i], leads[i + 1] = "", moved
            elif nxt == _L_RIEUL:
                if sound in ("l", "n"):
                    finals[i], leads[i + 1] = "l", _FORCED_L
                else:
                    finals[i], leads[i + 1] = _NASAL.get(sound, sound), _L_NIEUN
            elif nxt in (_L_NIEUN, _L_MIEUM):
                if sound == "l" and nxt == _L_NIEUN:
                    leads[i + 1] = _FORCED_L
                else:
                    finals[i] = _NASAL.get(sound, sound)
            elif tail == 27 and nxt in _ASPIRATED:
                finals[i], leads[i + 1] = "", _ASPIRATED[nxt]
    lead_tab = (_L_FOLDED if folded else _L_ROMAN)[system]
    vowel_tab = (_V_FOLDED if folded else _V_ROMAN)[system]
    out = []
    for i, (lead, lvt) in enumerate(zip(leads, lvts, strict=True)):
        prev = finals[i - 1] if i else None
        if lead == _L_IEUNG:
            onset = ""
        elif lead == _FORCED_L or (lead == _L_RIEUL and prev in _L_AFTER[mode]):
            onset = "l"
        elif system != "rr" and lead in _VOICED and prev in ("", "n", "l", "m", "ng"):
            onset = _VOICED[lead]
        elif system == "mr" and lead == 9 and lvt[1] == 16:
            onset = "sh"
        else:
            onset = lead_tab[lead]
        out.append(onset + vowel_tab[lvt[1]] + finals[i])
    return "".join(out)


@lru_cache(maxsize=65536)
def _romanize_run(run: str, system: str, mode: str, folded: bool = False) -> str:
    lvts = [lvt for lvt in (_syl(c) for c in run) if lvt is not None]
    return _romanize_syllables(lvts, system, mode, folded)


def _romanize_text(text: str, system: str, mode: str) -> str:
    out: list[str] = []
    run: list[str] = []
    for ch in unicodedata.normalize("NFC", text) + "\0":
        if _syl(ch) is not None:
            run.append(ch)
            continue
        if run:
            word = _romanize_run("".join(run), system, mode)
            starts_word = not out or not out[-1][-1:].isalnum()
            out.append(word[:1].upper() + word[1:] if starts_word else word)
            run = []
        if ch != "\0":
            out.append(ch)
    return "".join(out)


def romanize(hangul: str, system: str) -> str:
    """Romanize a word or place name: system "rr", "mr" or "dprk" ("요덕" -> "Yodeok",
    "Yodŏk", "Yodok"). Non-Hangul characters pass through; each word is capitalized.

    Raises:
        ValueError: for an unknown system.
    """
    if system not in SYSTEMS:
        raise ValueError(f"unknown romanization system {system!r}; use one of {SYSTEMS}")
    return _romanize_text(hangul, system, "word")


def romanize_plain(hangul: str, system: str) -> str:
    """Romanize Hangul syllables as names are written: lower case, no assimilation or linking
    (only MR/DPRK voicing after a voiced sound); non-syllables are dropped ("복남" -> "boknam").

    Raises:
        ValueError: for an unknown system.
    """
    if system not in SYSTEMS:
        raise ValueError(f"unknown romanization system {system!r}; use one of {SYSTEMS}")
    return _romanize_run(hangul, system, "plain")


@lru_cache(maxsize=65536)
def word_romanizations(word: str) -> frozenset[str]:
    """Folded RR/MR/DPRK romanizations of a Hangul word, with and without sound changes."""
    forms = set()
    for src in {word, hangul_normal(word)}:
        whole = _ALL_SYLLABLES_RE.fullmatch(src) is not None  # no text around to keep
        for system in SYSTEMS:
            for mode in ("word", "plain", "plain-l"):
                if whole:
                    forms.add(_romanize_run(src, system, mode, True))
                else:
                    forms.add(fold(_romanize_text(src, system, mode)))
    forms.discard("")
    return frozenset(forms)


# ---------------------------------------------------------------- name syllables

# Popular (non-system) spellings of given-name syllables: options per initial and per vowel.
_COMMON_LEAD = {0: ("k", "g"), 7: ("b", "p"), 16: ("t", "th")}
_COMMON_VOWEL = {4: ("eo", "u"), 6: ("yeo", "yu"), 13: ("u", "oo"), 17: ("yu", "yoo"),
                 19: ("ui", "ee"), 11: ("oe", "oi"), 16: ("wi", "wee")}


def dprk_lead_form(syl: str) -> str | None:
    """The DPRK spelling of a ROK word-initial syllable that lost its ㄹ (용 -> 룡, 노 -> 로)."""
    lvt = _syl(syl)
    if lvt is None:
        return None
    lead, vowel, tail = lvt
    if (lead == _L_IEUNG and vowel in _Y_VOWELS) or (lead == _L_NIEUN and vowel not in _Y_VOWELS):
        return _compose((_L_RIEUL, vowel, tail))
    return None


@lru_cache(maxsize=16384)
def syllable_forms(syl: str, first: bool) -> frozenset[str]:
    """Folded spellings of one given-name syllable: RR, MR, DPRK (voiced too when not first),
    popular spellings (Jung, Soo, Young, Hee, Woo), and the DPRK ㄹ form when first."""
    lvt = _syl(syl)
    if lvt is None:
        return frozenset({fold(syl)} - {""})
    return frozenset(_syllable_forms(syl, *lvt, first=first, later=not first))


def _syllable_forms(syl: str, lead: int, vowel: int, tail: int, first: bool, later: bool
                    ) -> set[str]:
    """`syllable_forms` of a syllable and its jamo, with the forms only a first syllable has,
    or only a later one, or (for the syllable index) both."""
    final = _T_SOUND[tail]
    forms = {
        _L_FOLDED["rr"][lead] + _V_FOLDED["rr"][vowel] + final,
        _L_FOLDED["mr"][lead] + _V_FOLDED["mr"][vowel] + final,
        _L_FOLDED["dprk"][lead] + _V_FOLDED["dprk"][vowel] + final,
        _common_syllable(lead, vowel, final, False),
        _common_syllable(lead, vowel, final, True),
    }
    if later and lead in _VOICED:
        forms.add(_VOICED[lead] + _V_FOLDED["mr"][vowel] + final)
    if later and lead == _L_RIEUL:  # after a final ㄹ: Twŏl-la
        forms.add("l" + _V_RR[vowel] + final)
        forms.add("l" + _V_FOLDED["mr"][vowel] + final)
    leads = _COMMON_LEAD.get(lead, (_L_RR[lead],))
    if lead == 9 and vowel in (16, 20):
        leads = ("s", "sh")
    vowels = _COMMON_VOWEL.get(vowel, (_V_RR[vowel],))
    if vowel == 20 and not tail:
        vowels = ("i", "ee")
    forms.update([a + b + final for a in leads for b in vowels])
    if first:
        dprk = dprk_lead_form(syl)
        if dprk is not None:
            forms.update(fold(_romanize_run(dprk, s, "plain")) for s in ("mr", "dprk"))
    return forms


def common_syllable(syl: str, dprk_vowels: bool = False) -> str:
    """The popular ROK spelling of a name syllable (Jung, Sung, Hyun, Young, Soo, Hee, Woo)."""
    lvt = _syl(syl)
    if lvt is None:
        return fold(syl)
    return _common_syllable(lvt[0], lvt[1], _T_SOUND[lvt[2]], dprk_vowels)


def _common_syllable(lead: int, vowel: int, final: str, dprk_vowels: bool) -> str:
    if lead == 0:
        onset = "k"
    elif lead == 9:
        onset = "sh" if vowel in (16, 20) else "s"
    else:
        onset = _L_RR[lead]
    nucleus = _V_DPRK[vowel] if dprk_vowels else _V_RR[vowel]
    if vowel == 4 and final:
        nucleus = "u"
    elif vowel == 6 and final and not dprk_vowels:
        nucleus = "yu"
    elif vowel in (13, 17):
        nucleus = "oo" if vowel == 13 else "yoo"
    elif vowel == 19 and lead == 18:
        nucleus = "ee"
    if lead == _L_IEUNG and vowel == 6 and final == "ng":
        return "young"
    if lead == _L_IEUNG and vowel == 13:
        return "woo" + final
    return onset + nucleus + final


@lru_cache(maxsize=16384)
def _syllable_spellings(syl: str) -> tuple[int, str, tuple[str, ...], tuple[str, ...]]:
    """(lead, final sound, folded (RR, MR, DPRK, popular) spellings word-initially, the same
    after a voiced sound, where MR and DPRK voice ㄱ ㄷ ㅂ ㅈ)."""
    lead, vowel, tail = _syl(syl) or (_L_IEUNG, 20, 0)
    final = _T_SOUND[tail]
    initial = tuple(
        _L_FOLDED[s][lead] + _V_FOLDED[s][vowel] + final for s in SYSTEMS
    ) + (common_syllable(syl),)
    if lead not in _VOICED:
        return lead, final, initial, initial
    voiced_part = _VOICED[lead] + _V_FOLDED["mr"][vowel] + final
    return lead, final, initial, (initial[0], voiced_part, voiced_part, initial[3])


def syllable_initial_spellings(syl: str) -> tuple[str, ...]:
    """Folded (RR, MR, DPRK, popular) spellings of one syllable at the start of a word."""
    return _syllable_spellings(syl)[2]


_VOICED_FINALS = frozenset({"", "n", "l", "m", "ng"})


@lru_cache(maxsize=65536)
def family_given_forms(given: str) -> frozenset[str]:
    """Folded given name spelled whole in each family: RR, MR and DPRK (voiced inside, as
    names are written), popular."""
    infos = [_syllable_spellings(c) for c in given]
    out = set()
    for k in range(4):
        parts, prev = [], None
        for lead, final, initial, voiced in infos:
            part = voiced[k] if prev in _VOICED_FINALS else initial[k]
            if lead == _L_RIEUL and prev == "l":
                part = "l" + part[1:]
            parts.append(part)
            prev = final
        out.add("".join(parts))
    return frozenset(out)


@lru_cache(maxsize=65536)
def given_forms(given: str) -> frozenset[str]:
    """All joined spellings of a given name: the product of its syllables' spellings."""
    norm = hangul_normal(given)
    per_syllable = [syllable_forms(c, i == 0) for i, c in enumerate(norm)]
    if len(per_syllable) > 3:  # a long name: family spellings only, not the product
        return family_given_forms(norm)
    return frozenset("".join(p) for p in product(*per_syllable))


# ---------------------------------------------------------------- Latin to Hangul

_INDEX_FINALS = (0, 1, 4, 8, 16, 17, 19, 21)  # none ㄱ ㄴ ㄹ ㅁ ㅂ ㅅ ㅇ: the finals of names
_MAX_CANDIDATES = 48


@lru_cache(maxsize=1)
def _syllable_index() -> dict[str, tuple[str, ...]]:
    """Folded spelling of one syllable -> the Hangul syllables it may stand for."""
    index: dict[str, list[str]] = {}
    for lead in range(19):
        for vowel in range(21):
            for tail in _INDEX_FINALS:
                syl = _compose((lead, vowel, tail))
                for form in _syllable_forms(syl, lead, vowel, tail, first=True, later=True):
                    index.setdefault(form, []).append(syl)
    return {k: tuple(v) for k, v in index.items()}


def is_romanized_syllable(latin: str) -> bool:
    """True when a folded Latin string is a spelling of one Hangul syllable ("jong", "sol")."""
    return latin in _syllable_index()


@lru_cache(maxsize=16384)
def _fewest_cuts(part: str) -> tuple[tuple[str, ...], ...]:
    """Every cut of a folded Latin word into the fewest romanized syllables (the way a reader
    cuts "yeojeong": yeo|jeong); () when it cannot be cut."""
    index = _syllable_index()
    size = len(part)
    if size <= 7 and part in index:  # most parts are one or two syllables: spare them the search
        return ((part,),)
    two = tuple(
        (part[:j], part[j:]) for j in range(max(1, size - 7), min(size, 8))
        if part[:j] in index and part[j:] in index
    )
    if two:
        return two
    fewest: list[int | None] = [None] * size + [0]  # fewest syllables spelling part[i:]
    for i in range(size - 1, -1, -1):
        best = None
        for j in range(i + 1, min(size, i + 7) + 1):
            n = fewest[j]
            if n is not None and (best is None or n < best) and part[i:j] in index:
                best = n
        fewest[i] = None if best is None else best + 1

    def cuts(i: int) -> list[tuple[str, ...]]:
        if i == size:
            return [()]
        out: list[tuple[str, ...]] = []
        for j in range(i + 1, min(size, i + 7) + 1):
            n = fewest[j]
            if n is not None and n + 1 == fewest[i] and part[i:j] in index:
                out.extend((part[i:j], *rest) for rest in cuts(j))
        return out

    return tuple(cuts(0)) if fewest[0] is not None else ()


@lru_cache(maxsize=16384)
def _part_hangul(part: str, first: bool) -> tuple[int, frozenset[str]]:
    """(syllables, Hangul spellings) of one folded Latin part cut the fewest ways, with the
    initial-sound rule on the first syllable when the part starts the word; (0, empty) when it
    cannot be cut or has more spellings than `_MAX_CANDIDATES`."""
    index = _syllable_index()
    cuts = _fewest_cuts(part)
    out: set[str] = set()
    for cut in cuts:
        choices = [index[syl] for syl in cut]
        if first:  # as hangul_normal does at the start of a word
            choices[0] = tuple(dict.fromkeys(map(_initial_rule, choices[0])))
        # One cut's spellings are distinct (a syllable a place): count them before listing.
        if prod(map(len, choices)) > _MAX_CANDIDATES:
            return 0, frozenset()
        out.update(map("".join, product(*choices)))
        if len(out) > _MAX_CANDIDATES:
            return 0, frozenset()
    return (len(cuts[0]) if out else 0), frozenset(out)


_PART_SPLIT = re.compile(r"[\s\-]+")


@lru_cache(maxsize=65536)
def hangul_candidates(latin: str, max_syllables: int = 4) -> frozenset[str]:
    """ROK Hangul spellings a romanized word may stand for ("Yo-jong" -> 여정, 요정, 여종, 요종).

    Hyphens and spaces mark syllable or word boundaries. Spellings past a bound of
    candidates are dropped (empty for a word too ambiguous or not Korean).
    """
    parts = (fold(p) for p in _PART_SPLIT.split(latin))
    return hangul_candidates_of_parts(tuple(p for p in parts if p), max_syllables)


@lru_cache(maxsize=65536)
def hangul_candidates_of_parts(parts: tuple[str, ...], max_syllables: int = 4) -> frozenset[str]:
    """`hangul_candidates` of a word already cut at hyphens and spaces, each part folded
    (("yo", "jong") -> 여정, 요정, 여종, 요종)."""
    joined = "".join(parts)
    if not parts or "" in parts or not (joined.isascii() and joined.isalpha()):
        return frozenset()
    spellings, syllables, count = [], 0, 1
    for i, part in enumerate(parts):
        size, forms = _part_hangul(part, i == 0)
        spellings.append(forms)
        syllables += size
        count *= len(forms)
    # Each part's spellings have one length, so the joined spellings are all distinct.
    if not count or count > _MAX_CANDIDATES or syllables > max_syllables:
        return frozenset()
    return frozenset(map("".join, product(*spellings)))
