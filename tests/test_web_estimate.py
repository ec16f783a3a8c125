"""The estimate page and the dashboard's linkage and estimate cards: the same numbers as
`sillok estimate`, counts under the threshold never shown, Korean in Korean, bad choices named."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sillok.archive import Archive
from sillok.estimate import EstimateSettings, estimate, publish
from sillok.estimate.archive import overlap_tables
from sillok.estimate.table import OverlapTable
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import write_csv
from tests.test_estimate_archive import PATTERNS, overlapping_rows
from tests.test_web_app import FakeClock, add_users, login


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    folder = tmp_path_factory.mktemp("estimate") / "archive"
    archive = Archive.create(folder, PASSPHRASE, settings=FAST)
    try:
        archive.ingest.run(write_csv(folder.parent / "lists.csv", overlapping_rows()))
        add_users(archive)
        table = overlap_tables(archive, "collection")
        assert isinstance(table, OverlapTable)
        expected = publish(estimate(table, EstimateSettings()))
    finally:
        archive.close()
    web = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST, clock=FakeClock()))
    web.state.expected = expected
    try:
        yield web
    finally:
        web.state.web.close()


def _client(app: object, role: str, lang: str) -> TestClient:
    client = login(app, role)  # type: ignore[arg-type]
    client.cookies.set("sillok_lang", lang)
    return client


def test_the_page_shows_the_libraries_estimate(app: object) -> None:
    expected = app.state.expected  # type: ignore[attr-defined]
    viewer = _client(app, "viewer", "en")
    api = viewer.get("/api/estimate", params={"lists": "collection"})
    assert api.status_code == 200
    body = api.json()
    assert body["observed"] == sum(PATTERNS.values()) == expected["observed"]
    assert (body["estimate"], body["lower"], body["upper"]) == (
        expected["estimate"], expected["lower"], expected["upper"]
    )
    page = viewer.get("/estimate", params={"lists": "collection"})
    assert page.status_code == 200
    total = re.search(r'<tr class="total">(.*?)</tr>', page.text, re.S)
    assert total, page.text
    cells = re.findall(r"<td>([^<]*)</td>", total[1])
    assert cells[0] == f"{expected['observed']:,}" and cells[1] == f"{expected['estimate']:,}"
    assert f"{expected['lower']:,} – " in cells[2]
    assert "no links between victim records" in page.text  # a warning that matters


def test_strata_hide_small_counts(app: object) -> None:
    viewer = _client(app, "viewer", "en")
    body = viewer.get("/api/estimate", params={"lists": "collection", "by": "year"}).json()
    assert {s["stratum"] for s in body["strata"]} == {"2009", "2010"}
    page = viewer.get("/estimate", params={"lists": "collection", "by": "year"})
    assert page.status_code == 200 and "<th scope=\"row\">2009</th>" in page.text
    small = viewer.get(
        "/api/estimate", params={"lists": "source_type", "from": "2009", "to": "2009"}
    )
    assert small.status_code == 200
    for count in re.findall(r'"observed":\s*(\d+)', small.text):
        assert int(count) >= 5


def test_korean_page(app: object) -> None:
    page = _client(app, "viewer", "ko").get("/estimate", params={"lists": "collection"})
    assert page.status_code == 200
    for word in ("기록되지 않은 피해자 추정", "확인된 수", "추정치", "구간", "전체"):
        assert word in page.text
    for word in ("Observed", "Estimated", "Interval", "Total only"):
        assert word not in page.text
    # the library's warnings and interval, in Korean too
    assert "피해자 기록 사이의 연결이 아직 하나도 수락되지 않았습니다" in page.text
    assert "프로파일 가능도 구간" in page.text
    assert "no links between victim records" not in page.text


@pytest.mark.parametrize(
    "params, named", [({"lists": "shoe_size"}, "lists"), ({"by": "colour"}, "by"),
                      ({"from": "not a date"}, "from")],
)
def test_bad_choices_are_named(app: object, params: dict[str, str], named: str) -> None:
    viewer = _client(app, "viewer", "en")
    answer = viewer.get("/api/estimate", params=params)
    assert answer.status_code == 422 and named in answer.text
    page = viewer.get("/estimate", params=params)
    assert page.status_code in (400, 422) and "Traceback" not in page.text


def test_only_users_see_it(app: object) -> None:
    visitor = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    assert visitor.get("/api/estimate").status_code == 401
    assert visitor.get("/estimate", follow_redirects=False).status_code in (303, 401)


def test_dashboard_cards(app: object) -> None:
    for lang, words in (("en", ("Linkage", "Waiting for review", "How many were not recorded")),
                        ("ko", ("기록 연결", "검토 대기", "기록되지 않은 피해자 추정"))):
        page = _client(app, "viewer", lang).get("/dashboard")
        assert page.status_code == 200
        for word in words:
            assert word in page.text
        assert 'href="/links?kind=persons&amp;status=pending">0</a>' in page.text
        assert 'href="/estimate"' in page.text

