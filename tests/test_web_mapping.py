"""The web import page with a spreadsheet of the group's own: the proposed column mapping shown
as a form (no JavaScript), corrected, validated, imported; the mapping saved for the layout."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import Workbook
from playwright.sync_api import sync_playwright

from tests.test_mapping import ENGLISH, KOREAN
from tests.test_web_app import Site, csrf_of, login, password, site  # noqa: F401  (fixture)
from tests.test_web_browser import SCREENSHOTS, launch_chromium, live  # noqa: F401  (fixture)

SELECT = re.compile(r'<select id="[^"]+" name="([^"]+)">(.*?)</select>', re.S)
SELECTED = re.compile(r'<option value="([^"]*)" selected>')
IMPORT_ID = re.compile(r'name="import_id" value="([^"]+)"')


def csv_bytes(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode("utf-8") + b"\n"


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def chosen(page: str) -> dict[str, str]:
    """What each select of the mapping form has selected, as the form would send it."""
    found = {}
    for name, options in SELECT.findall(page):
        picked = SELECTED.search(options)
        found[name] = picked[1] if picked else ""
    return found


def upload(client: TestClient, token: str, name: str, body: bytes) -> tuple[int, str]:
    answer = client.post(
        "/import", data={"csrf_token": token}, files={"file": (name, body, "text/csv")}
    )
    return answer.status_code, answer.text


def state(site: Site) -> tuple[object, ...]:  # noqa: F811
    archive = site.app.state.web.archive
    return archive.store.state_mark(), archive.stats.archive_counts()


def test_a_korean_spreadsheet_is_mapped_corrected_checked_and_imported(
    site: Site,  # noqa: F811
) -> None:
    client = login(site.app, "documenter")
    client.cookies.set("sillok_lang", "en")
    token = csrf_of(client, "/import")
    rows = [[c.replace("KR-T-", "WEB-KR-") for c in r] for r in KOREAN]
    rows[2][4] = "Marhc 2009"  # row 3 of the file: a bad date in 발생 일자
    before = state(site)
    status, page = upload(client, token, "기록.csv", csv_bytes(rows))
    assert status == 200
    # the proposed mapping: their column, first values, a select of fields
    assert '<table class="mapping">' in page
    assert "피해자 이름" in page and "한가람 · 서다온 · 한가람" in page
    form = chosen(page)
    assert form["column-1"] == "victim_name" and form["column-5"] == "act_type"
    assert form["column-10"] == ""  # 비고: not mapped
    assert state(site) == before
    import_id = IMPORT_ID.search(page)
    assert import_id
    send = {**form, "csrf_token": token, "import_id": import_id[1]}
    # no choice for the unmapped column: the form again, the column named, nothing written
    refused = client.post("/import/mapping", data=send)
    assert refused.status_code == 422 and "Columns not mapped: 비고." in refused.text
    assert 'class="mapping"' in refused.text and state(site) == before
    # corrected: the remarks kept in the description; 기록일 left out on purpose
    send.update(
        {
            "unmapped": "keep",
            "column-9": "ignore",
            "fixed-0-field": "sharing",
            "fixed-0-value": "public",
        }
    )
    report = client.post("/import/mapping", data=send)
    assert report.status_code == 200
    assert "Valid rows: 2 of 3." in report.text
    assert "<td>3</td><td>발생 일자</td><td>Marhc 2009</td>" in report.text  # THEIR column
    assert "/import/mapping?id=" in report.text and state(site) == before
    # back to the mapping: as last chosen
    again = client.get(f"/import/mapping?id={import_id[1]}")
    assert again.status_code == 200 and chosen(again.text)["column-9"] == "ignore"
    assert 'value="keep" checked' in again.text
    committed_id = re.search(r'name="import_id" value="([^"]+)"', report.text)
    assert committed_id
    # a wrong mapping sent after the report: refused, and never what the commit saves
    wrong = client.post("/import/mapping", data={**send, "column-4": "act_type", "unmapped": ""})
    assert wrong.status_code == 422 and chosen(wrong.text)["column-4"] == "act_type"
    done = client.post("/import/commit", data={"csrf_token": token, "import_id": committed_id[1]})
    assert done.status_code == 200 and "Imported 2 of 3 rows" in done.text
    archive = site.app.state.web.archive
    hits = archive.searcher.search("한가람", archive.searcher.act_filter())
    found = [archive.records.show("act", h.id) for h in hits if h.kind == "act"]
    assert sorted(a["description"] for a in found) == [
        "공개처형 목격\n비고: 목격 증언",
        "조사 중 구타당함\n비고: 재확인 필요",
    ]
    assert {a["sharing"] for a in found} == {"public"}
    # the next file of this layout: the saved mapping is proposed, and said to be
    status, page = upload(client, token, "다음.csv", csv_bytes(rows[:2]))
    assert status == 200 and "saved for files like this one" in page
    assert chosen(page)["column-9"] == "ignore" and 'value="keep" checked' in page


def test_an_english_xlsx_through_the_proposed_mapping_in_korean(site: Site) -> None:  # noqa: F811
    client = login(site.app, "admin")
    client.cookies.set("sillok_lang", "ko")
    token = csrf_of(client, "/import")
    rows = [[c.replace("EN-C-", "WEB-EN-") for c in r] for r in ENGLISH]
    status, page = upload(client, token, "cases.xlsx", xlsx_bytes(rows))
    assert status == 200 and "cases.xlsx의 열" in html.unescape(page)
    form = chosen(page)
    assert form["column-6"] == "perpetrator_org" and form["column-8"] == "sharing"
    import_id = IMPORT_ID.search(page)
    assert import_id
    send = {**form, "csrf_token": token, "import_id": import_id[1], "column-9": "ignore"}
    report = client.post("/import/mapping", data=send)
    assert report.status_code == 200
    commit_id = IMPORT_ID.search(report.text)
    assert commit_id
    done = client.post("/import/commit", data={"csrf_token": token, "import_id": commit_id[1]})
    assert done.status_code == 200
    archive = site.app.state.web.archive
    hits = archive.searcher.search("Test Person Two", archive.searcher.act_filter())
    act = next(archive.records.show("act", h.id) for h in hits if h.kind == "act")
    assert act["act_type"] == "forced_repatriation" and act["sharing"] == "public"


def test_a_bad_mapping_on_the_form_names_the_field(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    client.cookies.set("sillok_lang", "en")
    token = csrf_of(client, "/import")
    status, page = upload(client, token, "기록.csv", csv_bytes(KOREAN))
    import_id = IMPORT_ID.search(page)
    assert status == 200 and import_id
    before = state(site)
    form = {**chosen(page), "csrf_token": token, "import_id": import_id[1], "unmapped": "keep"}
    for wrong, message in (
        ({"column-4": "act_type"}, "both map to act_type"),
        ({"column-5": "spaceship"}, "is not a flat acts field"),
        ({"fixed-0-field": "sharing", "fixed-0-value": "restricted"}, "not one of"),
        ({"fixed-0-field": "informant", "fixed-0-value": "누군가"}, "may not name a person"),
    ):
        answer = client.post("/import/mapping", data={**form, **wrong})
        assert answer.status_code == 422, wrong
        assert message in html.unescape(answer.text), wrong
        assert state(site) == before
    # the refused form is shown as it was sent, for correcting
    assert chosen(answer.text)["fixed-0-field"] == "informant"
    assert 'value="누군가"' in answer.text
    stale = client.post("/import/mapping", data={**form, "import_id": "not-waiting"})
    assert stale.status_code == 404
    # in Korean, the choice for unmapped columns is asked for in Korean
    client.cookies.set("sillok_lang", "ko")
    unchosen = client.post("/import/mapping", data={**form, "unmapped": ""})
    assert unchosen.status_code == 422 and "대응하지 않은 열: 비고." in unchosen.text
    # and the library's refusals of a mapping are said in Korean too
    twice = client.post("/import/mapping", data={**form, "column-4": "act_type"})
    said = html.unescape(twice.text)
    assert twice.status_code == 422 and "열 대응: 열 " in said and "함께 대응됩니다" in said
    assert "both map to" not in said
    person = client.post(
        "/import/mapping", data={**form, "fixed-0-field": "informant", "fixed-0-value": "누군가"}
    )
    assert "고정값에는 사람 이름을 넣을 수 없습니다" in html.unescape(person.text)


def test_a_viewer_and_a_visitor_are_refused(site: Site) -> None:  # noqa: F811
    documenter = login(site.app, "documenter")
    token = csrf_of(documenter, "/import")
    _status, page = upload(documenter, token, "기록.csv", csv_bytes(KOREAN))
    import_id = IMPORT_ID.search(page)
    assert import_id
    viewer = login(site.app, "viewer")
    viewer_token = csrf_of(viewer)
    before = state(site)
    assert viewer.get("/import").status_code == 403
    assert viewer.get(f"/import/mapping?id={import_id[1]}").status_code == 403
    refused = viewer.post(
        "/import/mapping", data={"csrf_token": viewer_token, "import_id": import_id[1]}
    )
    assert refused.status_code == 403
    upload_status, _page = upload(viewer, viewer_token, "기록.csv", csv_bytes(KOREAN))
    assert upload_status == 403
    visitor = login(site.app, None)
    answer = visitor.get(f"/import/mapping?id={import_id[1]}", follow_redirects=False)
    assert answer.status_code in (401, 303) and "한가람" not in answer.text
    assert state(site) == before


def test_on_a_phone_the_mapping_table_does_not_scroll_sideways(
    live: tuple[str, Site],  # noqa: F811
    tmp_path: Path,
) -> None:
    base, _site = live
    long_header = [*KOREAN[0][:-1], "비고 (면담 후 추가로 확인해야 할 사항과 출처에 관한 메모)"]
    rows = [long_header, *([*r[:-1], "아주 긴 메모 " * 12] for r in KOREAN[1:])]
    file = tmp_path / "기록.csv"
    file.write_bytes(csv_bytes(rows))
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(base_url=base, viewport={"width": 375, "height": 812})
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.goto("/login")
            page.fill("#username", "documenter")
            page.fill("#passphrase", password("documenter"))
            page.click("form.stack button[type=submit]")
            page.wait_for_url("**/dashboard")
            page.goto("/import")
            page.set_input_files("#file", str(file))
            page.click("form[action='/import'] button[type=submit]")
            page.wait_for_selector("table.mapping")
            page.screenshot(path=str(SCREENSHOTS / "phone-import-mapping.png"), full_page=True)
            assert page.locator("table.mapping select").count() == len(long_header)
            sideways = page.evaluate(
                "document.scrollingElement.scrollWidth - window.innerWidth"
            )
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => "
                "e.getBoundingClientRect().right > window.innerWidth + 0.5)"
                ".map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)"
            )
            assert sideways <= 0, wide
        finally:
            browser.close()
