"""The pages on a 375 px phone and under axe-core (issue 14, defect 7): a compact header with a
menu, no page scrolling sideways, charts drawn whole, search results before the facets, and no
serious or critical accessibility violation (axe-core) on any page, as each role that sees
different pages, at either width, in either language."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.test_web_app import Site, password
from tests.test_web_browser import SCREENSHOTS, launch_chromium, live  # noqa: F401  (fixture)

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
#: the pages an administrator moves between (each checked at both widths, in both languages)
PAGES = (
    "/dashboard", "/users", "/statements", "/links", "/search?q=torture", "/import", "/audit",
    "/estimate?by=year",
    "/testimonies/new", "/account", "/news",
)


@pytest.fixture(scope="module")
def chromium(live: tuple[str, Site]) -> Iterator[Browser]:  # noqa: F811
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser
        finally:
            browser.close()


def _as(browser: Browser, base: str, role: str, viewport: dict[str, int], lang: str) -> Page:
    """A page logged in as ``role`` at ``viewport`` in ``lang`` (through the login form)."""
    context = browser.new_context(base_url=base, viewport=viewport)  # type: ignore[arg-type]
    context.add_cookies([{"name": "sillok_lang", "value": lang, "url": base}])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", role)
    page.fill("#passphrase", password(role))
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/dashboard")
    return page


def _sideways(page: Page) -> int:
    """How far the page scrolls sideways (0: it fits)."""
    return int(page.evaluate(
        "document.scrollingElement.scrollWidth - window.innerWidth"
    ))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_on_a_phone_the_header_is_compact_and_nothing_scrolls_sideways(
    chromium: Browser, live: tuple[str, Site], lang: str  # noqa: F811
) -> None:
    base, _site = live
    page = _as(chromium, base, "admin", PHONE, lang)
    header = page.locator("header.site").bounding_box()
    assert header and header["height"] <= 120, header
    # the menu opens, and every destination is in it
    page.locator("header.site summary").click()
    assert page.locator("header.site nav a[href='/users']").is_visible()
    for path in PAGES + (f"/records/source/{_site.ids['source']}",):
        page.goto(path)
        page.screenshot(path=str(SCREENSHOTS / f"phone-{lang}{path.replace('/', '-')}.png"),
                        full_page=True)
        assert _sideways(page) <= 0, path
    page.goto("/dashboard")
    width = page.evaluate("window.innerWidth")
    for box in page.locator("figure.chart svg").all():
        shape = box.bounding_box()
        assert shape and shape["x"] >= 0 and shape["x"] + shape["width"] <= width + 1, shape
    page.goto("/search?q=torture")
    results = page.locator("section.results").bounding_box()
    facets = page.locator("aside.facets").bounding_box()
    assert results and facets and results["y"] < facets["y"]
    page.context.close()


def _serious(page: Page) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]


@pytest.fixture(scope="module")
def linked_live(live: tuple[str, Site]) -> tuple[str, Site]:  # noqa: F811
    """The live site with victims reported twice under other spellings, linked: the review
    queue has pending pairs of persons (its pages then show pairs and their evidence)."""
    from tests.datasets import write_csv
    from tests.test_links import duplicated_victims

    base, site = live
    archive = site.app.state.web.archive
    archive.ingest.run(write_csv(site.folder.parent / "linked-duplicates.csv",
                                 duplicated_victims(12)))
    assert archive.links.find("persons").new >= 4
    site.app.state.web.cache.clear()
    return base, site


def _records(site: Site) -> dict[str, str]:
    """A record page of each kind (the organization: the first one recorded)."""
    act = site.app.state.web.archive.records.show("act", site.ids["act_internal"])
    return {
        "source": f"/records/source/{site.ids['source']}",
        "event": f"/records/event/{site.ids['event_internal']}",
        "act": f"/records/act/{site.ids['act_internal']}",
        "person": f"/records/person/{site.ids['victim']}",
        "place": f"/records/place/{act['place_id']}",
        "organization": "/records/organization/1",
    }


def _pages_of(role: str, site: Site) -> tuple[str, ...]:
    """The pages ``role`` can reach (an administrator: every page, each record's edit page and
    history, sealed fields opened; other staff: the pages they share; a visitor: the public
    side)."""
    records = _records(site)
    if role == "anonymous":
        return ("/", "/news", f"/news/{site.ids['joint']}", "/login")
    shared = ("/dashboard", "/search", "/search?q=torture", *records.values(),
              "/links", "/links?kind=persons&status=accepted", "/news")
    if role != "admin":
        return shared
    joint, draft = site.ids["joint"], site.ids["draft"]
    return tuple(dict.fromkeys((  # each page once
        *shared, *PAGES, "/", "/estimate", "/links?kind=events",
        *(f"{r}/edit" for r in records.values()), *(f"{r}/history" for r in records.values()),
        f"{records['source']}?reveal=1", f"{records['act']}/edit?reveal=1",
        "/statements/new", f"/statements/{joint}", f"/statements/{joint}/edit",
        f"/statements/{joint}/history", f"/statements/{draft}/translate",
        f"/news/{joint}",
    )))


#: (role, width, language): every role at both widths, each width in one language per role,
#: the languages crossed so that each role and each width is checked in Korean and in English
#: (axe-core's run is most of the test's time; a page's markup is the same in both languages
#: but for its words, which the Korean-page test reads, tests/test_web_korean.py)
AXE_CASES = [
    (role, viewport, lang)
    for role, first in (("admin", "ko"), ("documenter", "en"), ("viewer", "ko"),
                        ("anonymous", "en"))
    for viewport, lang in ((PHONE, first), (DESKTOP, "en" if first == "ko" else "ko"))
]


@pytest.mark.parametrize(("role", "viewport", "lang"), AXE_CASES,
                         ids=[f"{r}-{v['width']}-{g}" for r, v, g in AXE_CASES])
def test_no_serious_axe_violation_on_any_page(
    chromium: Browser, linked_live: tuple[str, Site], role: str, viewport: dict[str, int],
    lang: str,
) -> None:
    """axe-core on every page the role can reach (one browser context per role, width and
    language), failing on any serious or critical violation."""
    base, site = linked_live
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    if role == "anonymous":
        context = chromium.new_context(base_url=base, viewport=viewport)  # type: ignore[arg-type]
        context.add_cookies([{"name": "sillok_lang", "value": lang, "url": base}])
        page = context.new_page()
    else:
        page = _as(chromium, base, role, viewport, lang)
    for path in _pages_of(role, site):
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, (path, role, lang)
        assert page.locator("html").get_attribute("lang") == lang, path
        serious = _serious(page)
        if serious:
            found[(lang, path)] = serious
    page.context.close()
    width = viewport["width"]
    (SCREENSHOTS.parent / f"axe-{role}-{width}-{lang}.json").write_text(json.dumps(
        [{"lang": lang, "path": path, "violations": v} for (lang, path), v in found.items()],
        ensure_ascii=False, indent=1), encoding="utf-8")  # the counts per page, for the record
    assert found == {}, found


def test_without_javascript_the_menu_opens_at_any_width(
    chromium: Browser, live: tuple[str, Site]  # noqa: F811
) -> None:
    base, _site = live
    for viewport in (PHONE, DESKTOP):
        context = chromium.new_context(
            base_url=base, viewport=viewport, java_script_enabled=False  # type: ignore[arg-type]
        )
        page = context.new_page()
        page.goto("/news")
        assert not page.locator("header.site nav a[href='/news']").is_visible()
        page.locator("header.site summary").click()
        assert page.locator("header.site nav a[href='/news']").is_visible(), viewport
        context.close()
