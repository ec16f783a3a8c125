"""The pages on a 375 px phone and under axe-core (issue 14, defect 7): a compact header with a
menu, no page scrolling sideways, charts drawn whole, search results before the facets, and no
serious or critical accessibility violation on the dashboard at either width."""

from __future__ import annotations

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


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_no_serious_axe_violation_on_the_dashboard_and_the_pages_around_it(
    chromium: Browser, live: tuple[str, Site], viewport: dict[str, int]  # noqa: F811
) -> None:
    base, site = live
    record = f"/records/source/{site.ids['source']}"
    for lang in ("ko", "en"):
        page = _as(chromium, base, "admin", viewport, lang)
        assert _serious(page) == [], (lang, viewport)  # the dashboard, where login lands
        for path in (*PAGES, record, f"{record}/history"):
            page.goto(path)
            assert _serious(page) == [], (path, lang, viewport)
        page.context.close()


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
