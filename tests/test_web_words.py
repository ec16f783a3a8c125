"""Pages speak the reader's language and never show internal forms (issue 14, defects 4 and 5):
dates as people write them, record titles and values in the page's language, form errors by
the field's label, no command-line commands and no English inside Korean pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.datasets import YODOK, row
from tests.test_web_app import Site, csrf_of, login, site  # noqa: F401  (fixture)
from tests.test_web_forms import SOURCE_LINK

EN = {"sillok_lang": "en"}
KO = {"sillok_lang": "ko"}
H1 = re.compile(r"<h1>(.*?)</h1>", re.S)


def _testimony(client: TestClient, **acts: str) -> int:
    """Save a testimony (one event, the acts given as form fields); the source's id."""
    answer = client.post(
        "/testimonies/new",
        data={
            "csrf_token": csrf_of(client, "/testimonies/new"),
            "source_type": "interview",
            "source_date": "2016년 여름",
            "informant": "Witness Words",
            "sharing": "internal",
            "event-0-event_title": "회령 구금",
            **acts,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    found = SOURCE_LINK.match(answer.headers["location"])
    assert found
    return int(found[1])


def _acts(client: TestClient, source_id: int) -> list[int]:
    return [a["id"] for a in client.get(f"/api/records/source/{source_id}").json()["lists"]["acts"]]


def test_dates_read_as_words_in_titles_headings_and_lists(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    source = _testimony(
        client,
        **{
            "act-0-0-act_type": "고문",
            "act-0-0-act_date": "2009년 봄",
            "act-0-0-place": "Hoeryong",
            "act-0-0-victim_name_hangul": "봄날희",
            "act-0-1-act_type": "torture",
            "act-0-1-act_date": "20세기",
            "act-0-1-victim_name_hangul": "봄날희",
        },
    )
    spring, century = _acts(client, source)
    korean = client.get(f"/records/act/{spring}", cookies=KO).text
    english = client.get(f"/records/act/{spring}", cookies=EN).text
    assert "2009년 봄" in H1.findall(korean)[0] and "2009-21" not in H1.findall(korean)[0]
    assert "spring 2009" in H1.findall(english)[0]
    # the source's list of acts, and search results, use the same words
    listing = client.get(f"/records/source/{source}", cookies=KO).text
    assert "2009년 봄" in listing and "· 2009-21" not in listing
    found = client.get("/search", params={"q": "봄날희"}, cookies=EN).text
    assert "spring 2009" in found and "· 2009-21" not in found
    # a century is a century, not a decade
    assert "20세기" in client.get(f"/records/act/{century}", cookies=KO).text
    page = client.get(f"/records/act/{century}", cookies=EN).text
    assert "the 20th century" in page and "the 1900s" not in page


def test_korean_pages_show_korean_titles_places_and_values(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    source = _testimony(
        client,
        **{
            "act-0-0-act_type": "torture",
            "act-0-0-act_date": "2010",
            "act-0-0-place": "Hoeryong",
            "act-0-0-victim_name_hangul": "한글만희",
            "act-0-0-victim_sex": "female",
            "act-0-0-perpetrator_org": "Bowibu",
        },
    )
    (act,) = _acts(client, source)
    record = client.get(f"/records/act/{act}", cookies=KO).text
    assert "Hoeryong" not in record and "회령" in record  # the place, and what it is within
    assert "Ministry of State Security" not in record and "국가보위성" in record
    found = client.get("/search", params={"q": "한글만희"}, cookies=KO).text
    title = re.search(rf'href="/records/act/{act}"[^>]*>(.*?)</a>', found)
    assert title, found
    assert "고문" in title[1] and "Torture" not in title[1]
    assert "회령" in title[1] and "Hoeryong" not in title[1]
    victim = client.get(f"/api/records/act/{act}").json()["data"]["victim_id"]
    person = client.get(f"/records/person/{victim}", cookies=KO).text
    assert "여성" in person and ">female<" not in person
    # a sealed value's marker, in Korean
    informant = client.get(f"/records/source/{source}", cookies=KO).text
    assert "[protected]" not in informant and "[보호됨]" in informant


def test_korean_error_texts_and_no_ciphertext_for_passphrase(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    missing = client.get("/records/act/999999", cookies=KO)
    assert missing.status_code == 404
    assert "there is no" not in missing.text and "없습니다" in missing.text
    visitor = login(site.app, None)
    news = visitor.get("/news/999999", cookies=KO)
    assert news.status_code == 404 and "there is no" not in news.text
    assert "암호문" not in visitor.get("/login", cookies=KO).text
    assert "암호 문구" in visitor.get("/login", cookies=KO).text
    assert "암호문" not in client.get("/account", cookies=KO).text


def test_form_errors_name_fields_by_label_without_commands(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    answer = client.post(
        "/testimonies/new",
        data={
            "csrf_token": csrf_of(client, "/testimonies/new"),
            "event-0-event_title": "잘못된 입력",
            "act-0-0-act_type": "고문",
            "act-0-1-act_type": "arbitary detention",
        },
        cookies=KO,
    )
    assert answer.status_code == 422
    summary = answer.text.split('id="form-errors"', 1)[1].split("</div>", 1)[0]
    assert '<a href="#act-0-1-act_type">사건 1 › 행위 2 › 행위 유형</a>' in summary
    assert ">act-0-1-act_type<" not in summary
    assert "sillok vocab" not in answer.text and "unknown act type" not in answer.text
    english = client.post(
        "/testimonies/new",
        data={
            "csrf_token": csrf_of(client, "/testimonies/new"),
            "event-0-event_title": "bad",
            "act-0-0-act_type": "arbitary detention",
        },
        cookies=EN,
    ).text
    assert "Event 1 › Act 1 › Act type" in english and "sillok vocab" not in english


def test_import_problems_are_in_korean(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    header = ",".join(YODOK[0])
    bad = row(source_ref="IMP-W", act_type="torture", act_date="2001", victim_sex="shemale")
    body = "\n".join([header, ",".join(bad.values())]) + "\n"
    report = client.post(
        "/import",
        data={"csrf_token": csrf_of(client)},
        files={"file": ("acts.csv", body.encode(), "text/csv")},
        cookies=KO,
    ).text
    assert "shemale" in report  # the value typed is quoted as it was
    assert "not one of" not in report and "다음 중 하나가 아닙니다" in report


def test_history_is_numbered_by_version_and_reads_as_names(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    source = _testimony(
        client,
        **{
            "act-0-0-act_type": "torture",
            "act-0-0-act_date": "2009년 봄",
            "act-0-0-victim_name_hangul": "역사희",
        },
    )
    (act,) = _acts(client, source)
    page = client.get(f"/records/act/{act}/history", cookies=KO).text
    numbers = re.findall(r'<li id="v(\d+)" value="(\d+)"', page)
    assert numbers and all(a == b for a, b in numbers)
    assert "<dd>torture</dd>" not in page and "고문" in page
    victim = client.get(f"/api/records/act/{act}").json()["data"]["victim_id"]
    assert re.search(rf'<a href="/records/person/{victim}">[^<]*역사희', page), page
    assert "2009년 봄" in page


def test_a_person_page_is_headed_by_their_name_not_a_ref(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    source = _testimony(
        client,
        **{"act-0-0-act_type": "torture", "act-0-0-victim_name_hangul": "머리말희"},
    )
    (act,) = _acts(client, source)
    victim = client.get(f"/api/records/act/{act}").json()["data"]["victim_id"]
    heading = H1.findall(client.get(f"/records/person/{victim}", cookies=KO).text)[0]
    assert "머리말희" in heading and "@" not in heading


def test_an_unknown_grouping_value_is_a_word_in_either_language() -> None:
    from sillok.web.views import label

    assert label("facility", None, None, "ko") == "모름"  # type: ignore[arg-type]
    assert label("facility", "unknown", None, "en") == "Unknown"  # type: ignore[arg-type]


def test_no_page_points_to_a_command_line_command(site: Site) -> None:  # noqa: F811
    client = login(site.app, "admin")
    for path in ("/links", "/links?status=accepted", "/import", "/dashboard"):
        for cookies in (KO, EN):
            page = client.get(path, cookies=cookies).text
            assert "sillok link" not in page and "`sillok" not in page, path
