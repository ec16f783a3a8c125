"""Synthetic Korean persons, each reported several times in varied spellings.

Shared by tests, the demo archive and the linkage benchmarks. Every name is drawn from syllable
pools (never a real person's identity; famous names are refused). Reports vary the way real
records do: romanization family (RR, McCune-Reischauer with ŏ or ǒ, DPRK, popular), apostrophes,
DPRK or ROK Hangul (리/이), family name first or last, hyphen/space/joined given name, typos,
approximate or interval birth years. Hard negatives are distinct persons whose names differ from
another's in one syllable, with the same surname and a close birth year (as Kim Jong-un,
Kim Jong-il and Kim Jong-nam). Deterministic for a seed; only `random.Random(seed)` is used.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

from sillok.names import dprk_spelling, name_hangul_normal, romanize_name_parts

if TYPE_CHECKING:
    import pandas as pd

PROVINCES = ("KP-01", "KP-02", "KP-03", "KP-04", "KP-05", "KP-06", "KP-07", "KP-08", "KP-09",
             "KP-10", "KP-13", "KP-14")
# Most defectors come from the northern border provinces (North Hamgyong, Ryanggang).
_PROVINCE_WEIGHTS = (6, 5, 4, 3, 3, 3, 4, 10, 35, 20, 4, 3)

# Surname shares in percent (ROK census order, approximate); 유 stands for 유 and 류 alike.
_SURNAME_SHARES = {
    "김": 21.5, "이": 14.7, "박": 8.4, "최": 4.7, "정": 4.3, "강": 2.3, "조": 2.1, "윤": 2.1,
    "장": 2.0, "임": 1.7, "한": 1.5, "오": 1.5, "서": 1.5, "신": 1.4, "권": 1.4, "황": 1.4,
    "안": 1.4, "송": 1.3, "유": 1.7, "전": 1.1, "홍": 1.1, "고": 0.9, "문": 0.9, "양": 0.9,
    "손": 0.9, "배": 0.8, "백": 0.8, "허": 0.7, "남": 0.6, "심": 0.5, "노": 0.4, "하": 0.4,
    "곽": 0.4, "성": 0.4, "차": 0.4, "주": 0.4, "우": 0.4, "구": 0.4, "민": 0.3, "진": 0.3,
    "나": 0.3, "지": 0.3, "엄": 0.3, "채": 0.2, "원": 0.2, "천": 0.2, "방": 0.2, "공": 0.2,
    "현": 0.2, "함": 0.2, "변": 0.2, "염": 0.1, "여": 0.1, "추": 0.1, "도": 0.1, "석": 0.1,
    "선": 0.1, "설": 0.1, "마": 0.1, "길": 0.1, "연": 0.1, "위": 0.1, "표": 0.1, "명": 0.1,
    "기": 0.1, "태": 0.05, "남궁": 0.02, "황보": 0.02, "제갈": 0.01, "선우": 0.01,
}
_SURNAMES = tuple(_SURNAME_SHARES)
_SURNAME_CUM = tuple(accumulate(_SURNAME_SHARES.values()))

# Given-name syllables (ROK spelling), first and second position, by sex.
_GIVEN = {
    "male": ("영성정재준민현상동진광명철용태기승경종문석창학남원선일병형지세혁국대수길만봉춘충호건",
             "수호철민현진석훈식일남우환준혁규성영국길만범섭용룡근복삼택원수희"),
    "female": ("영미정은경순옥명혜선지현금춘향설수연해효애귀복화난소유",
               "희숙자옥순미영정경주선화향란실애아연진림심녀이월"),
}
_FAMOUS = frozenset({
    "김정은", "김정일", "김일성", "김여정", "김정남", "이설주", "김주애", "최용해", "장성택",
    "김영남", "박봉주", "김경희", "현영철", "김평일", "김정철", "조명록", "황장엽", "김덕홍",
    "고용희", "김정숙", "신동혁", "강철환", "이현서", "박연미", "지성호", "태영호", "김현희",
    "이한영", "김책", "최현", "오진우", "김영철", "이선권", "최선희", "김영주", "김성애", "김한솔",
    "박정희", "이승만", "김대중", "김영삼", "노무현", "문재인", "이명박", "박근혜", "윤석열",
    "이재명", "전두환", "노태우", "최규하", "윤보선", "김건희", "반기문", "손흥민", "김연아",
    "유관순", "안중근", "김구", "윤봉길", "이순신", "세종",
})


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    """A person's true identity: the ground truth that reports are scored against."""

    person_id: str
    name_hangul: str  # ROK spelling
    sex: str  # "male" | "female"
    birth_year: int
    origin: str  # a province key of PROVINCES


@dataclass(frozen=True, slots=True)
class PersonReport:
    """One report of a person as a source wrote it: spelling, order, typos and gaps included."""

    report_id: str
    person_id: str  # ground truth, hidden from linkage
    name: str
    name_hangul: str | None
    birth: str | None
    sex: str | None
    origin: str | None


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Keep the cyclic collector off while building millions of acyclic records: its full
    passes over a growing heap would otherwise dominate the run time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _given_name(rng: random.Random, sex: str) -> str:
    first, second = _GIVEN[sex]
    head = first[int(rng.random() * len(first))]
    if rng.random() < 0.08:
        return head
    return head + second[int(rng.random() * len(second))]


def generate_persons(n: int, seed: int) -> list[SyntheticPerson]:
    """n synthetic persons with realistic Korean names, sexes, birth years and provinces.

    Raises:
        ValueError: when n is negative.
    """
    if n < 0:
        raise ValueError(f"the number of persons must be 0 or more, not {n}")
    rng = random.Random(seed)
    width = max(6, len(str(n)))
    surnames = rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM, k=n)
    provinces = rng.choices(PROVINCES, weights=_PROVINCE_WEIGHTS, k=n)
    persons = []
    with _no_gc_pauses():
        for i in range(n):
            sex = "female" if rng.random() < 0.55 else "male"  # most defectors are women
            name = surnames[i] + _given_name(rng, sex)
            while name in _FAMOUS:
                name = surnames[i] + _given_name(rng, sex)
            year = min(2008, max(1925, int(rng.gauss(1972, 14))))
            persons.append(SyntheticPerson(f"P{i:0{width}d}", name, sex, year, provinces[i]))
    return persons


def hard_negatives(
    persons: list[SyntheticPerson], share: float, seed: int
) -> list[SyntheticPerson]:
    """Distinct persons whose names differ from another's in one given-name syllable, with the
    same surname and sex and a birth year at most two years off ("<id>-N" ids).

    Raises:
        ValueError: when share is not between 0 and 1.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"hard_negative_share must be between 0 and 1, not {share}")
    rng = random.Random(f"hard-negatives-{seed}")
    out = []
    for person in persons:
        if rng.random() >= share:
            continue
        surname, given = _split(person.name_hangul)
        pos = rng.randrange(len(given))
        pool = _GIVEN[person.sex][min(pos, 1)]
        name = person.name_hangul
        while name == person.name_hangul or name_hangul_normal(name) in _FAMOUS:
            name = surname + given[:pos] + rng.choice(pool) + given[pos + 1 :]
        year = person.birth_year + rng.randint(-2, 2)
        out.append(SyntheticPerson(f"{person.person_id}-N", name, person.sex, year, person.origin))
    return out


def _split(name: str) -> tuple[str, str]:
    cut = 2 if name[:2] in ("남궁", "황보", "제갈", "선우") and len(name) > 2 else 1
    return name[:cut], name[cut:]


def _mr_marks() -> tuple[dict[int, str | None], ...]:
    """Ways lists write MR's marks: breve or caron or none, times ' ’ ‘ or no apostrophe;
    the breve twice as often as the others."""
    marks: tuple[dict[int, str | None], ...] = (
        {}, {ord("ŏ"): "ǒ", ord("ŭ"): "ǔ"}, {ord("ŏ"): "o", ord("ŭ"): "u"}, {}
    )
    return tuple({**mark, ord("'"): apostrophe or None} for mark in marks for apostrophe in
                 ("'", "’", "‘", ""))


_MR_MARKS = _mr_marks()
_FAMILY_BY_ROLL = ("dprk",) * 6 + ("mr",) * 4 + ("rr",) * 5 + ("common",) * 5


class _Speller:
    """Renders a Hangul name as one report writes it.

    Names are romanized without sound changes across the surname boundary (see sillok.names),
    so surname and given-name spellings are cached apart: a million persons share a few
    thousand given names.
    """

    _PROBE = "김"  # any one-syllable surname, to romanize a given name on its own

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.surnames: dict[tuple[str, str], str] = {}
        self.givens: dict[tuple[str, str], tuple[str, str, str, str]] = {}
        self.dprk: dict[str, str] = {}

    def _surname(self, surname: str, family: str) -> str:
        key = (surname, family)
        if key not in self.surnames:
            spelled = romanize_name_parts(surname + "가", family)[0]
            self.surnames[key] = spelled.capitalize()
        return self.surnames[key]

    def _given(self, given: str, family: str) -> tuple[str, str, str, str]:
        """The given name hyphenated ("Yo-jong", "Yo-Jong"), joined, and spaced ("Yo Jong")."""
        key = (given, family)
        if key not in self.givens:
            sylls = romanize_name_parts(self._PROBE + given, family)[1]
            caps = [s.capitalize() for s in sylls]
            self.givens[key] = ("-".join(sylls).capitalize(), "-".join(caps),
                                "".join(sylls).capitalize(), " ".join(caps))
        return self.givens[key]

    def hangul(self, surname: str, given: str) -> str:
        rng = self.rng
        if rng.random() < 0.4:
            if surname not in self.dprk:
                self.dprk[surname] = dprk_spelling(surname + "가")[: len(surname)]
            surname = self.dprk[surname]
        return f"{surname} {given}" if rng.random() < 0.1 else surname + given

    def latin(self, surname_hangul: str, given_hangul: str) -> str:
        r = self.rng.random
        family = _FAMILY_BY_ROLL[int(r() * 20)]
        hyphen, hyphen_caps, joined, spaced = self._given(given_hangul, family)
        if family == "rr" and r() < 0.8:
            family = "common"  # Kim, Lee, Park rather than Gim, I, Bak
        surname = self._surname(surname_hangul, family)
        style = r()
        if (family == "dprk" and style < 0.7) or style >= 0.75:
            given = spaced
        else:
            given = hyphen if style < 0.45 else hyphen_caps if style < 0.55 else joined
        if r() < 0.12:
            surname = surname.upper()
        family_last = r() < 0.2 and given is not spaced  # "Yo-jong Kim", never "Yo Jong Kim"
        text = f"{given} {surname}" if family_last else f"{surname} {given}"
        if family == "mr":
            text = text.translate(_MR_MARKS[int(r() * 16)])
        slip = r()
        if slip < 0.04:
            text = _typo(self.rng, text)
        elif slip > 0.96:
            text = text.upper()
        return text


def _typo(rng: random.Random, text: str) -> str:
    """One slip of the pen inside a word: a letter swapped, dropped or doubled."""
    spots = [i for i in range(1, len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    if not spots:
        return text
    i = rng.choice(spots)
    kind = rng.random()
    if kind < 0.4:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind < 0.7:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


def _birth(rng: random.Random, year: int) -> str | None:
    roll = rng.random()
    if roll < 0.15:
        return None
    if roll < 0.5:
        return str(year)
    if roll < 0.55:
        return str(year + rng.choice((-1, 1)))  # a witness's error
    if roll < 0.65:
        guess = year + rng.randint(-1, 1)
        return f"{rng.choice(('around', 'about', 'c.', 'ca.'))} {guess}"
    if roll < 0.75:
        return f"{year + rng.randint(-1, 1)}{rng.choice(('년경', '년생', '년 무렵'))}"
    if roll < 0.85:
        low = year - rng.randint(0, 3)
        return f"{low}-{max(year, low + rng.randint(2, 5))}"
    if roll < 0.95:
        return f"{year}-{rng.randint(1, 12):02d}"
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def generate_reports(
    persons: list[SyntheticPerson],
    reports_per_person: tuple[int, int] = (1, 4),
    seed: int = 0,
    hard_negative_share: float = 0.1,
) -> list[PersonReport]:
    """Reports of the persons and of their hard negatives (see `hard_negatives`, same seed),
    each person reported between reports_per_person[0] and [1] times, in shuffled order.

    Raises:
        ValueError: for a bad reports_per_person range or hard_negative_share.
    """
    low, high = reports_per_person
    if not 1 <= low <= high:
        raise ValueError(f"reports_per_person must be (low, high) with 1 <= low <= high, "
                         f"not {reports_per_person}")
    with _no_gc_pauses():
        return _reports(persons, low, high, seed, hard_negative_share)


def _reports(
    persons: list[SyntheticPerson], low: int, high: int, seed: int, hard_negative_share: float
) -> list[PersonReport]:
    everyone = list(persons) + hard_negatives(persons, hard_negative_share, seed)
    rng = random.Random(seed)
    speller = _Speller(rng)
    rows = []
    for person in everyone:
        surname, given = _split(person.name_hangul)
        for _ in range(low + int(rng.random() * (high - low + 1))):
            if rng.random() < 0.3:
                name, name_hangul = speller.hangul(surname, given), None
            else:
                name = speller.latin(surname, given)
                name_hangul = speller.hangul(surname, given) if rng.random() < 0.4 else None
            sex = person.sex if rng.random() < 0.9 else None
            origin = None
            if rng.random() < 0.7:
                origin = person.origin if rng.random() < 0.95 else rng.choice(PROVINCES)
            rows.append((person.person_id, name, name_hangul, _birth(rng, person.birth_year),
                         sex, origin))
    rng.shuffle(rows)
    width = max(7, len(str(len(rows))))
    return [PersonReport(f"R{i:0{width}d}", *row) for i, row in enumerate(rows)]


def reports_frame(persons: int, seed: int) -> pd.DataFrame:
    """Reports of ``persons`` synthetic persons (and their hard negatives) as the plain-file
    columns of ``sillok dedupe persons``, plus the true ``person_id`` to score against."""
    import pandas as pd

    reports = generate_reports(generate_persons(persons, seed), seed=seed)
    return pd.DataFrame(
        {
            "id": [r.report_id for r in reports],
            "name": [r.name for r in reports],
            "name_hangul": [r.name_hangul for r in reports],
            "birth": [r.birth for r in reports],
            "sex": [r.sex for r in reports],
            "origin": [r.origin for r in reports],
            "person_id": [r.person_id for r in reports],
        }
    )

