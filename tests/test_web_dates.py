"""Uncertain dates read aloud on the pages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sillok.dates import DateError, parse_date
from sillok.dates.words import human_date


@pytest.mark.parametrize(
    ("edtf", "korean", "english"),
    [
        ("2017-23", "2017년 가을", "autumn 2017"),
        ("2012~", "2012년경", "around 2012"),
        ("199X", "1990년대", "the 1990s"),
        ("2009-03", "2009년 3월", "March 2009"),
        ("19XX", "20세기", "the 20th century"),
        (
            "2009-03~/2009-05~",
            "2009년 3월경 ~ 2009년 5월경",
            "between around March 2009 and around May 2009",
        ),
        ("2008/2011", "2008년 ~ 2011년", "between 2008 and 2011"),
        ("2019-02-20", "2019년 2월 20일", "20 February 2019"),
        ("2010?", "2010년(불확실)", "2010 (uncertain)"),
    ],
)
def test_readings(edtf: str, korean: str, english: str) -> None:
    assert human_date(edtf, "ko") == korean
    assert human_date(edtf, "en") == english


@given(
    year=st.integers(1900, 2030),
    month=st.integers(1, 12),
    form=st.sampled_from(["{y}년 {m}월", "{y}", "around {y}", "{y}년 봄", "{y}/{z}"]),
)
def test_whatever_the_parser_writes_reads_with_its_year(year: int, month: int, form: str) -> None:
    text = form.format(y=year, m=month, z=year + 2)
    try:
        edtf = parse_date(text).edtf
    except DateError:
        return
    for lang in ("ko", "en"):
        reading = human_date(edtf, lang)
        assert reading is None or str(year) in reading
