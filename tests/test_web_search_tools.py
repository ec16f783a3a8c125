"""Search as a working tool on the web (both stores): paging to the last page and past it,
sort, a date range, a bad date named on the page and in the API, and "download these
results" as CSV and XLSX: every act found, as the role may read it, audited, refused to a
role the policy refuses."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from sillok.records.workbook import xlsx_rows
from sillok.security import policy
from sillok.settings import ReadLimits
from tests.datasets import row, write_csv
from tests.test_web_app import Site, build_site, login
from tests.test_web_browser import launch_chromium, live  # noqa: F401  (fixture)
from tests.test_web_mobile import PHONE, _as, _serious, _sideways

TOOLS = 45  # acts in Musan: more than two pages of 20
#: a victim's name (identity: a viewer may not read it below public) and an informant's
#: (sealed: no download opens it)
CANARY_NAME = "Canaryname Zqvix"
CANARY_INFORMANT = "Informant Canary Xqwob"


def _rows() -> list[dict[str, str]]:
    return [
        row(
            source_ref=f"S-MU-{i}",
            source_type="testimony",
            informant=CANARY_INFORMANT if i == 7 else "",
            act_type=("torture", "arbitrary_detention", "execution")[i % 3],
            act_date=str(2001 + i % 10),
            place="Musan",
            victim_ref=f"V-MU-{i}",
            victim_name=CANARY_NAME if i == 7 else f"Tool Person {i}",
            description=f"Musan account {i}",
            sharing="internal",
        )
        for i in range(TOOLS)
    ]


@pytest.fixture(params=["sqlcipher", "postgresql"])
def tools(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The web site on the YODOK archive with :data:`TOOLS` more acts in Musan."""
    database = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    built = build_site(tmp_path / "archive", database=database)
    try:
        built.app.state.web.archive.ingest.run(write_csv(tmp_path / "musan.csv", _rows()))
        yield built
    finally:
        built.app.state.web.close()


def _hits(page: str) -> int:
    return page.count('<li><span class="kind">')


def test_paging_to_the_end_sort_and_range(tools: Site) -> None:
    client = login(tools.app, "documenter")
    client.cookies.set("sillok_lang", "en")
    asked = {"q": "Musan", "from": "2005"}
    answer = client.get("/api/search", params={**asked, "limit": 100}).json()
    expected = sum(1 for i in range(TOOLS) if 2001 + i % 10 >= 2005)
    assert answer["total"] == expected == len(answer["hits"])
    # facets count the filtered set: every year shown lies in the range
    years = {v["key"]: v["count"] for v in answer["facets"]["year"]}
    assert min(years) == "2005" and sum(years.values()) == expected
    last = math.ceil(expected / 20)
    tail = client.get("/search", params={**asked, "page": last})
    assert tail.status_code == 200
    assert _hits(tail.text) == expected - (last - 1) * 20
    assert 'rel="prev"' in tail.text and 'rel="first"' in tail.text
    assert 'rel="next"' not in tail.text and 'rel="last"' not in tail.text
    assert f"Page {last} of {last}" in tail.text
    first = client.get("/search", params=asked).text
    assert f'rel="last" href="/search?q=Musan&amp;from=2005&amp;page={last}"' in first
    # past the end: an empty page that says so, not an error
    past = client.get("/search", params={**asked, "page": last + 1})
    assert past.status_code == 200 and _hits(past.text) == 0
    assert 'id="past-the-end"' in past.text and f"fill {last} pages" in past.text
    assert f'href="/search?q=Musan&amp;from=2005&amp;page={last}"' in past.text
    # sorted by date: each page continues the order, and the links keep it
    archive = tools.app.state.web.archive
    dates = []
    for page in range(1, last + 1):
        shown = client.get("/search", params={**asked, "sort": "date_desc", "page": page}).text
        ids = [int(i) for i in re.findall(r'href="/records/act/(\d+)"', shown)]
        dates += [archive.records.show("act", i)["date_lower"] for i in ids]
        assert page == last or "sort=date_desc&amp;page=" in shown
    assert len(dates) == expected and dates == sorted(dates, reverse=True)
    oldest = client.get("/api/search", params={**asked, "sort": "date_asc", "limit": 100})
    assert [h["id"] for h in oldest.json()["hits"]][::-1] != [h["id"] for h in answer["hits"]]
    assert oldest.json()["sort"] == "date_asc"


def test_a_bad_date_is_named_on_the_page_and_in_the_api(tools: Site) -> None:
    client = login(tools.app, "documenter")
    client.cookies.set("sillok_lang", "en")
    page = client.get("/search", params={"q": "Musan", "from": "Marhc 2009"})
    assert page.status_code == 422
    assert 'role="alert"' in page.text and "From (date): unreadable date" in page.text
    assert "Marhc 2009" in page.text and "Traceback" not in page.text
    client.cookies.set("sillok_lang", "ko")
    korean = client.get("/search", params={"q": "Musan", "to": "2009-99"})
    assert korean.status_code == 422 and "기간 끝" in korean.text and "2009-99" in korean.text
    backwards = client.get("/search", params={"from": "2010", "to": "2009"})
    assert backwards.status_code == 422
    assert "기간: &#39;2010&#39;부터 &#39;2009&#39;까지" in backwards.text
    api = client.get("/api/search", params={"from": "2010", "to": "2009"})
    assert api.status_code == 422 and "from/to" in api.text
    assert client.get("/api/search", params={"sort": "newest"}).status_code == 422
    assert client.get("/search.csv", params={"from": "Marhc"}).status_code == 422


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_downloads_hold_every_act_found_as_the_role_may_read_them(
    tools: Site, tmp_path: Path
) -> None:
    asked = {"from": "2001", "to": "2010", "sort": "date_asc"}
    files = {}
    for role in ("admin", "viewer"):
        client = login(tools.app, role)
        client.cookies.set("sillok_lang", "en")
        found = client.get("/api/search", params={**asked, "limit": 100}).json()
        assert found["total"] > 20  # more than a page: the download is not a window
        page = client.get("/search", params=asked).text
        assert 'href="/search.csv?from=2001&amp;to=2010&amp;sort=date_asc"' in page
        answer = client.get("/search.csv", params=asked)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        rows = _csv(answer.content)
        # every act found, one row per act and source (each act here has one source)
        assert len(rows) == found["total"]
        dates = [r["act_date"][:4] for r in rows]
        assert dates == sorted(dates)
        book = client.get("/search.xlsx", params=asked)
        assert book.status_code == 200
        path = tmp_path / f"{role}.xlsx"
        path.write_bytes(book.content)
        sheet = list(xlsx_rows(path.name, path, ReadLimits()))
        header = list(sheet[0])
        # a workbook row ends at its last value: the cells after it are empty
        as_text = [
            {h: (r[n] if n < len(r) and r[n] is not None else "") for n, h in enumerate(header)}
            for r in sheet[1:]
        ]
        assert as_text == [{h: r.get(h, "") for h in header} for r in rows]
        cells = " ".join(str(v) for r in sheet for v in r if v is not None)
        files[role] = answer.content.decode("utf-8-sig") + cells
    assert CANARY_NAME in files["admin"]
    assert CANARY_NAME not in files["viewer"] and "[redacted]" in files["viewer"]
    assert CANARY_INFORMANT not in files["admin"] + files["viewer"]
    # each download is audited as an export, by whom, with the search that chose it
    exports = tools.app.state.web.archive.audit.events(action="export")
    by = [(e["actor"], e["detail"]["format"]) for e in exports]
    assert {("admin", "csv"), ("admin", "xlsx"), ("viewer", "csv"), ("viewer", "xlsx")} <= set(by)
    assert all(e["detail"]["search_from"] == "2001" for e in exports[:4])


def test_downloads_are_refused_to_whom_the_policy_refuses(
    tools: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = {"q": "Musan"}
    visitor = login(tools.app, None).get("/search.csv", params=asked, follow_redirects=False)
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")
    # the route asks the policy: a role it does not let export gets 403 and no links
    monkeypatch.setitem(policy.ACTIONS, "export", frozenset(policy.ROLES) - {"viewer"})
    viewer = login(tools.app, "viewer")
    for fmt in ("csv", "xlsx"):
        answer = viewer.get(f"/search.{fmt}", params=asked)
        assert answer.status_code == 403 and CANARY_NAME not in answer.text
    assert "/search.csv" not in viewer.get("/search", params=asked).text
    assert login(tools.app, "analyst").get("/search.csv", params=asked).status_code == 200
    assert viewer.get("/search.pdf", params=asked).status_code in (403, 422)
    exports = tools.app.state.web.archive.audit.events(action="export")
    assert [e["actor"] for e in exports] == ["analyst"]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_search_tools_fit_a_phone_with_results_first(
    live: tuple[str, Site], lang: str  # noqa: F811
) -> None:
    base, _site = live
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = _as(browser, base, "admin", PHONE, lang)
            page.goto("/search?q=Yodok&from=2009&to=2009-12&sort=date_desc")
            assert _sideways(page) <= 0
            results = page.locator("section.results").bounding_box()
            facets = page.locator("aside.facets").bounding_box()
            assert results and facets and results["y"] < facets["y"]
            assert page.locator("p.downloads a[href^='/search.xlsx?']").is_visible()
            assert page.locator("#sort").input_value() == "date_desc"
            assert page.locator("#from").input_value() == "2009"
            assert _serious(page) == []
            page.goto("/search?q=Yodok&from=2009&page=9")
            assert page.locator("#past-the-end").is_visible() and _sideways(page) <= 0
            page.goto("/search?q=Yodok&from=Marhc")
            assert page.locator("p.error[role=alert]").is_visible() and _sideways(page) <= 0
            page.context.close()
        finally:
            browser.close()
