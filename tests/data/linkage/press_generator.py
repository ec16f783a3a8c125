"""A second generator of Korean person reports, written apart from ``sillok.synthetic.persons``.

It shares no code or tables with Sillok: its own surname frequencies (more DPRK families), its
own syllable table with the spellings of each syllable written out by hand (Revised
Romanization, McCune-Reischauer, DPRK and press spellings such as "Kim Jong Un", "Lee",
"Rhee", "Roh", "Park", "Pak"), its own given-name spacing and hyphens, Hangul-only and
Latin-only reports, heavier missingness (birth missing half the time, sex 40%), and two kinds
of hard negative: a relative whose name differs in one syllable (same surname, birth a few
years apart), and an exact namesake born years apart. No real person: names are drawn from
syllables, and the few famous names drawn are replaced.

    frame = press_reports(persons=1000, seed=12)   # columns id, name, birth, sex, person_id
"""

from __future__ import annotations

import random

import pandas as pd

# ROK Hangul, DPRK Hangul, Latin spellings (the first the most frequent), weight.
SURNAMES: tuple[tuple[str, str, tuple[str, ...], float], ...] = (
    ("김", "김", ("Kim", "Kim", "Kim", "Gim"), 24.0),
    ("이", "리", ("Lee", "Ri", "Yi", "Rhee", "Lee", "Ri", "I"), 15.0),
    ("박", "박", ("Park", "Pak", "Pak", "Bak"), 8.0),
    ("최", "최", ("Choi", "Choe", "Ch'oe", "Choe"), 5.0),
    ("정", "정", ("Jung", "Jeong", "Chong", "Jong", "Chung", "Chŏng"), 5.0),
    ("강", "강", ("Kang", "Kang", "Gang"), 3.0),
    ("조", "조", ("Cho", "Jo", "Cho"), 3.0),
    ("장", "장", ("Jang", "Chang", "Jang"), 3.0),
    ("노", "로", ("Roh", "No", "Noh", "Ro"), 2.5),
    ("유", "류", ("Yu", "Ryu", "Yoo", "Ryu"), 2.5),
    ("임", "림", ("Lim", "Rim", "Im", "Rim"), 2.5),
    ("양", "량", ("Yang", "Ryang", "Yang"), 1.5),
    ("나", "라", ("Na", "Ra", "Ra"), 0.8),
    ("한", "한", ("Han",), 2.0),
    ("오", "오", ("Oh", "O", "O"), 2.0),
    ("신", "신", ("Shin", "Sin", "Sin"), 2.0),
    ("황", "황", ("Hwang",), 2.0),
    ("홍", "홍", ("Hong",), 1.2),
    ("전", "전", ("Jeon", "Chon", "Jon", "Chŏn"), 1.2),
    ("현", "현", ("Hyun", "Hyon", "Hyŏn", "Hyeon"), 1.0),
    ("방", "방", ("Bang", "Pang"), 0.8),
    ("안", "안", ("Ahn", "An", "An"), 1.5),
    ("송", "송", ("Song",), 1.3),
    ("문", "문", ("Moon", "Mun", "Mun"), 1.0),
    ("계", "계", ("Kye", "Gye", "Kye"), 0.3),
)

# A syllable's Hangul and its spellings: RR, McCune-Reischauer (word-initial), DPRK, press.
SYLLABLES: dict[str, tuple[str, str, str, str]] = {
    "영": ("yeong", "yŏng", "yong", "young"),
    "철": ("cheol", "ch'ŏl", "chol", "chul"),
    "수": ("su", "su", "su", "soo"),
    "진": ("jin", "chin", "jin", "jin"),
    "호": ("ho", "ho", "ho", "ho"),
    "민": ("min", "min", "min", "min"),
    "성": ("seong", "sŏng", "song", "sung"),
    "남": ("nam", "nam", "nam", "nam"),
    "일": ("il", "il", "il", "il"),
    "혁": ("hyeok", "hyŏk", "hyok", "hyuk"),
    "광": ("gwang", "kwang", "kwang", "kwang"),
    "명": ("myeong", "myŏng", "myong", "myung"),
    "순": ("sun", "sun", "sun", "soon"),
    "희": ("hui", "hŭi", "hui", "hee"),
    "옥": ("ok", "ok", "ok", "ok"),
    "미": ("mi", "mi", "mi", "mi"),
    "금": ("geum", "kŭm", "kum", "keum"),
    "화": ("hwa", "hwa", "hwa", "hwa"),
    "향": ("hyang", "hyang", "hyang", "hyang"),
    "선": ("seon", "sŏn", "son", "sun"),
    "정": ("jeong", "chŏng", "jong", "jung"),
    "은": ("eun", "ŭn", "un", "eun"),
    "경": ("gyeong", "kyŏng", "kyong", "kyung"),
    "숙": ("suk", "suk", "suk", "sook"),
    "춘": ("chun", "ch'un", "chun", "chun"),
    "복": ("bok", "pok", "pok", "bok"),
    "국": ("guk", "kuk", "kuk", "kook"),
    "용": ("yong", "yong", "yong", "yong"),
    "학": ("hak", "hak", "hak", "hak"),
    "기": ("gi", "ki", "ki", "ki"),
    "범": ("beom", "pŏm", "pom", "bum"),
    "석": ("seok", "sŏk", "sok", "suk"),
    "태": ("tae", "t'ae", "thae", "tae"),
    "동": ("dong", "tong", "dong", "dong"),
    "현": ("hyeon", "hyŏn", "hyon", "hyun"),
    "주": ("ju", "chu", "ju", "joo"),
    "란": ("ran", "ran", "ran", "ran"),
    "실": ("sil", "sil", "sil", "sil"),
    "애": ("ae", "ae", "ae", "ae"),
    "혜": ("hye", "hye", "hye", "hye"),
}
_FIRST = {
    "male": "영철성광명정경춘국용학기범석태동현주진호민남일혁수",
    "female": "영명순옥미금화향선정은경춘혜주진민수애희",
}
_SECOND = {
    "male": "철수진호민성남일혁국용학기범석태동현주복",
    "female": "희옥미금화향선정은숙순란실애혜주진",
}
_FAMOUS = frozenset({"김정은", "김정일", "김일성", "김여정", "김정남", "리설주", "이설주",
                     "김영남", "김영철", "박정희", "김대중", "김영삼", "노무현", "문재인",
                     "김정숙", "최선희", "현영철", "리영호", "이영호", "김경희"})
# MR voices a plain consonant inside a word (Yŏng-gil, not Yŏng-kil); so do the others here.
_VOICED = (("ch'", "ch'"), ("ch", "j"), ("k'", "k'"), ("k", "g"), ("t'", "t'"), ("t", "d"),
           ("p'", "p'"), ("p", "b"))


def _medial(spelling: str) -> str:
    for plain, voiced in _VOICED:
        if spelling.startswith(plain):
            return voiced + spelling[len(plain):]
    return spelling


class _Person:
    __slots__ = ("birth", "given", "person_id", "sex", "surname")

    def __init__(self, person_id: str, surname: int, given: str, sex: str, birth: int) -> None:
        self.person_id, self.surname, self.given = person_id, surname, given
        self.sex, self.birth = sex, birth


def _given(rng: random.Random, sex: str) -> str:
    if rng.random() < 0.05:
        return rng.choice(_FIRST[sex])
    return rng.choice(_FIRST[sex]) + rng.choice(_SECOND[sex])


def _persons(n: int, rng: random.Random) -> list[_Person]:
    weights = [w for *_, w in SURNAMES]
    out: list[_Person] = []
    for i in range(n):
        sex = "female" if rng.random() < 0.5 else "male"
        surname = rng.choices(range(len(SURNAMES)), weights)[0]
        given = _given(rng, sex)
        while SURNAMES[surname][0] + given in _FAMOUS or SURNAMES[surname][1] + given in _FAMOUS:
            given = _given(rng, sex)
        person = _Person(f"Q{i:06d}", surname, given, sex, rng.randint(1935, 2005))
        out.append(person)
        roll = rng.random()
        if roll < 0.12:  # a relative: one syllable differs, born a few years apart
            pos = rng.randrange(len(given))
            pool = (_FIRST if pos == 0 else _SECOND)[sex]
            other = given
            while other == given:
                other = given[:pos] + rng.choice(pool) + given[pos + 1:]
            out.append(_Person(f"{person.person_id}-R", surname, other, sex,
                               person.birth + rng.randint(-6, 6)))
        elif roll < 0.17:  # an exact namesake, born years apart
            out.append(_Person(f"{person.person_id}-N", surname, given, sex,
                               person.birth + rng.choice((-1, 1)) * rng.randint(3, 25)))
    return out


def _latin_given(rng: random.Random, given: str, system: int) -> str:
    parts = [SYLLABLES[s][system] for s in given]
    if system == 1 and len(parts) > 1:
        parts[1] = _medial(parts[1])
    if rng.random() < 0.15 and system == 1:
        parts = [p.replace("ŏ", "o").replace("ŭ", "u") for p in parts]  # marks dropped
    style = rng.random()
    if len(parts) == 1:
        return parts[0].capitalize()
    if system == 2 or (system == 3 and style < 0.5):
        return " ".join(p.capitalize() for p in parts)  # "Jong Un", the DPRK and press habit
    if style < 0.65:
        return "-".join(parts).capitalize()  # "Jong-un"
    if style < 0.8:
        return "-".join(p.capitalize() for p in parts)  # "Jong-Un"
    return "".join(parts).capitalize()  # "Jongun"


def _name(rng: random.Random, person: _Person) -> str:
    rok, dprk, latin, _ = SURNAMES[person.surname]
    if rng.random() < 0.35:  # Hangul only
        surname = dprk if rng.random() < 0.5 else rok
        return surname + person.given
    system = rng.choices((0, 1, 2, 3), (2, 2, 3, 4))[0]
    given = _latin_given(rng, person.given, system)
    surname = rng.choice(latin)
    if rng.random() < 0.15:
        surname = surname.upper()
    if rng.random() < 0.15 and " " not in given:
        return f"{given} {surname}"  # family name last
    return f"{surname} {given}"


def _birth(rng: random.Random, year: int) -> str | None:
    roll = rng.random()
    if roll < 0.5:
        return None
    if roll < 0.75:
        return str(year)
    if roll < 0.85:
        return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if roll < 0.92:
        return f"c. {year + rng.randint(-1, 1)}"
    return f"{year}년생"


def press_reports(persons: int, seed: int) -> pd.DataFrame:
    """Reports of ``persons`` invented persons (and their relatives and namesakes), one to six
    each (most one to three), shuffled: columns ``id, name, birth, sex, person_id``."""
    rng = random.Random(f"press-{seed}")
    rows = []
    for person in _persons(persons, rng):
        for _ in range(min(6, 1 + int(rng.expovariate(0.7)))):
            sex = person.sex if rng.random() < 0.6 else None
            rows.append((_name(rng, person), _birth(rng, person.birth), sex, person.person_id))
    rng.shuffle(rows)
    return pd.DataFrame(
        [(f"B{i:07d}", *row) for i, row in enumerate(rows)],
        columns=["id", "name", "birth", "sex", "person_id"],
    )
