"""The synthetic-person generator: determinism, realism, variation and hard negatives."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from sillok.names import fold, is_hangul, name_hangul_normal, person_name_keys, query_terms
from sillok.synthetic.persons import (
    PROVINCES,
    PersonReport,
    SyntheticPerson,
    generate_persons,
    generate_reports,
    hard_negatives,
)

FAMOUS = {"김정은", "김정일", "김일성", "김여정", "김정남", "이설주", "최용해", "장성택"}


@pytest.fixture(scope="module")
def persons() -> list[SyntheticPerson]:
    return generate_persons(3000, seed=11)


@pytest.fixture(scope="module")
def reports(persons: list[SyntheticPerson]) -> list[PersonReport]:
    return generate_reports(persons, seed=11)


def test_deterministic_for_a_seed(persons: list[SyntheticPerson]) -> None:
    assert generate_persons(3000, seed=11) == persons
    assert generate_persons(3000, seed=12) != persons
    first = generate_reports(persons[:500], seed=3)
    assert generate_reports(persons[:500], seed=3) == first
    assert generate_reports(persons[:500], seed=4) != first


def test_persons_are_plausible(persons: list[SyntheticPerson]) -> None:
    assert len({p.person_id for p in persons}) == len(persons)
    assert all(re.fullmatch(r"P\d{6}", p.person_id) for p in persons)
    assert all(p.sex in ("male", "female") for p in persons)
    assert all(p.origin in PROVINCES for p in persons)
    assert all(1925 <= p.birth_year <= 2008 for p in persons)
    assert all(2 <= len(p.name_hangul) <= 4 and is_hangul(p.name_hangul) for p in persons)
    # ROK spelling: the true name is already in the folded (ROK) form
    assert all(name_hangul_normal(p.name_hangul) == p.name_hangul for p in persons)
    assert not FAMOUS & {p.name_hangul for p in persons}


def test_surname_distribution_looks_korean(persons: list[SyntheticPerson]) -> None:
    counts = Counter(p.name_hangul[0] for p in persons)
    share = {s: counts[s] / len(persons) for s in "김이박최"}
    assert 0.18 < share["김"] < 0.28
    assert 0.12 < share["이"] < 0.20
    assert 0.06 < share["박"] < 0.12
    assert counts.most_common(3)[0][0] == "김"
    assert len(counts) > 40
    sexes = Counter(p.sex for p in persons)
    assert 0.45 < sexes["female"] / len(persons) < 0.65


def test_reports_per_person_and_ids(persons: list[SyntheticPerson],
                                    reports: list[PersonReport]) -> None:
    assert len({r.report_id for r in reports}) == len(reports)
    per_person = Counter(r.person_id for r in reports)
    truth = {p.person_id for p in persons}
    assert truth <= set(per_person)
    assert all(1 <= n <= 4 for n in per_person.values())
    assert 2.0 < sum(per_person[p] for p in truth) / len(truth) < 3.0
    exact = generate_reports(persons[:50], reports_per_person=(2, 2), seed=1, hard_negative_share=0)
    assert Counter(r.person_id for r in exact) == {p.person_id: 2 for p in persons[:50]}


def test_reports_vary_like_real_records(reports: list[PersonReport]) -> None:
    names = [r.name for r in reports]
    latin = [n for n in names if not is_hangul(n)]
    hangul = [n for n in names if is_hangul(n)]
    assert 0.15 < len(hangul) / len(names) < 0.45
    assert any("ŏ" in n for n in latin) and any("ǒ" in n for n in latin)
    assert any("’" in n for n in latin) and any("'" in n for n in latin)
    assert any(n.startswith(("리", "림", "류", "량", "로")) for n in hangul)  # DPRK spelling
    assert any(re.fullmatch(r"[A-Z][a-z]+( [A-Z][a-z]+){2}", n) for n in latin)  # Kim Yo Jong
    assert any(re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+-[a-z]+", n) for n in latin)  # Kim Yo-jong
    assert any(re.fullmatch(r"[A-Z][a-z]+-[a-z]+ [A-Z][a-z]+", n) for n in latin)  # Yo-jong Kim
    assert any(n.split()[0].isupper() and not n.isupper() for n in latin)  # KIM Yo-jong
    births = [r.birth for r in reports]
    assert any(b is None for b in births)
    assert any(b and re.fullmatch(r"\d{4}", b) for b in births)
    assert any(b and b.startswith("around ") for b in births)
    assert any(b and "년" in b for b in births)
    assert any(b and re.fullmatch(r"\d{4}-\d{4}", b) for b in births)
    assert any(b and re.fullmatch(r"\d{4}-\d{2}", b) for b in births)
    assert any(r.name_hangul for r in reports) and any(r.name_hangul is None for r in reports)
    assert any(r.sex is None for r in reports) and any(r.origin is None for r in reports)


def test_interval_births_contain_the_true_year(persons: list[SyntheticPerson],
                                               reports: list[PersonReport]) -> None:
    year = {p.person_id: p.birth_year for p in persons}
    for r in reports:
        m = re.fullmatch(r"(\d{4})-(\d{4})", r.birth or "")
        if m and r.person_id in year:
            assert int(m[1]) <= year[r.person_id] <= int(m[2]), r


def test_most_reports_are_found_by_their_true_hangul_name(persons: list[SyntheticPerson],
                                                          reports: list[PersonReport]) -> None:
    """The names module and the generator agree: a search for the true Hangul name finds the
    person's reports in any spelling, typos aside."""
    true_name = {p.person_id: p.name_hangul for p in persons}
    checked = found = 0
    for r in reports[:1500]:
        if r.person_id not in true_name:
            continue
        tokens = set().union(*person_name_keys(r.name).values())
        checked += 1
        found += all(t & tokens for t in query_terms(true_name[r.person_id]))
    assert found / checked > 0.93


def test_hard_negatives_differ_in_one_syllable(persons: list[SyntheticPerson]) -> None:
    negatives = hard_negatives(persons, 0.1, seed=11)
    assert 0.06 < len(negatives) / len(persons) < 0.14
    by_id = {p.person_id: p for p in persons}
    apart = 0
    for neg in negatives:
        base = by_id[neg.person_id.removesuffix("-N")]
        assert neg.name_hangul != base.name_hangul
        assert len(neg.name_hangul) == len(base.name_hangul)
        assert sum(a != b for a, b in zip(neg.name_hangul, base.name_hangul, strict=True)) == 1
        assert neg.name_hangul[0] == base.name_hangul[0]
        assert abs(neg.birth_year - base.birth_year) <= 2
        assert neg.sex == base.sex
        # the name index keeps them apart, except where a romanization without apostrophes
        # cannot (MR Tae-su is 대수 or 태수)
        a, b = person_name_keys(neg.name_hangul), person_name_keys(base.name_hangul)
        assert a["given"] != b["given"] and neg.name_hangul not in b["whole"]
        apart += not (a["given"] & b["given"] or a["whole"] & b["whole"])
    assert apart / len(negatives) > 0.8
    assert hard_negatives(persons, 0.0, seed=1) == []


def test_reports_include_the_hard_negatives(persons: list[SyntheticPerson],
                                            reports: list[PersonReport]) -> None:
    negative_ids = {p.person_id for p in hard_negatives(persons, 0.1, seed=11)}
    assert negative_ids and negative_ids <= {r.person_id for r in reports}


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="-1"):
        generate_persons(-1, seed=0)
    with pytest.raises(ValueError, match=r"\(3, 1\)"):
        generate_reports([], reports_per_person=(3, 1))
    with pytest.raises(ValueError, match="1.5"):
        generate_reports([], hard_negative_share=1.5)
    assert generate_persons(0, seed=0) == []


def test_latin_reports_fold_to_plain_ascii(reports: list[PersonReport]) -> None:
    for r in reports[:2000]:
        if not is_hangul(r.name):
            assert fold(r.name).isascii() and fold(r.name).isalpha(), r.name
