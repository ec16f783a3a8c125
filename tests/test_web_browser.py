"""The pages in a real browser: Playwright driving Debian's Chromium against a live server.

Each step keeps a screenshot under test-output/screenshots/. The server listens on a loopback
socket opened before it starts, so the browser's first request simply waits in the backlog
(no polling, no sleeping).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, Playwright, sync_playwright

from sillok.custody.proofs import verify_bundle
from tests.conftest import need
from tests.test_web_app import Site, build_site, password

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Site]]:
    """A uvicorn server on a free loopback port, serving a fresh site."""
    import uvicorn

    built = build_site(tmp_path_factory.mktemp("browser") / "archive")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(built.app, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", built
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        built.app.state.web.close()


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with nothing reaching the network on its own (skipped, or
    failed when every part is required, if it is not installed)."""
    if not CHROMIUM.exists():
        need("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-background-networking"],
    )


@pytest.fixture(scope="module")
def browser(live: tuple[str, Site]) -> Iterator[Browser]:
    """Chromium, headless."""
    with sync_playwright() as p:
        chromium = launch_chromium(p)
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser: Browser, base: str, lang: str = "ko") -> Page:
    context = browser.new_context(
        base_url=base, locale="ko-KR" if lang == "ko" else "en-GB", accept_downloads=True
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def _login(page: Page, role: str) -> None:
    page.goto("/login")
    page.fill("#username", role)
    page.fill("#passphrase", password(role))
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard$"))


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_documenter_enters_finds_and_reviews_a_testimony(
    browser: Browser, live: tuple[str, Site]
) -> None:
    base, _site = live
    page = _page(browser, base)
    _login(page, "documenter")
    _shot(page, "dashboard")
    assert page.locator("figure.chart svg").count() >= 5

    page.goto("/testimonies/new")
    page.select_option("#source_type", "testimony")
    page.fill("#source_date", "2017년 가을")
    page.fill("#informant", "Witness Charlie")
    page.fill("#event-0-event_title", "청진 구류장 구금")
    page.fill("#act-0-0-act_type", "고문")
    page.fill("#act-0-0-act_date", "2012년 겨울")
    page.fill("#act-0-0-place", "청진")
    page.fill("#act-0-0-victim_name", "Hong Test-nam")
    page.fill("#act-0-0-victim_name_hangul", "홍시남")
    page.fill("#act-0-0-perpetrator_org", "보위부")
    page.click("button[value='act-0']")  # JavaScript adds act 2 without a round trip
    page.fill("#act-0-1-act_type", "arbitrary detention")
    page.fill("#act-0-1-act_date", "around 2012")
    page.fill("#act-0-1-facility", "kuryujang")
    page.fill("#act-0-1-victim_name_hangul", "홍시남")
    _shot(page, "testimony-entry")
    page.click("button[name=save]")
    page.wait_for_url(re.compile(r".*/records/source/\d+\?saved=1$"))
    assert page.locator("#saved[role=status]").count() == 1  # the save is confirmed
    scan: FilePayload = {
        "name": "scan.png",
        "mimeType": "image/png",
        "buffer": b"\x89PNG\r\n\x1a\n" + b"0" * 999,
    }
    page.set_input_files(
        "#evidence-file",
        files=[scan],
    )
    page.click("#attachments-section button[type=submit]")
    page.wait_for_selector("table.attachments a[download]")
    _shot(page, "record-source")
    acts = page.locator("a[href^='/records/act/']")
    assert acts.count() == 2
    assert "Witness Charlie" not in page.content()

    for query, name in (("홍시남", "search-hangul"), ("Hong Si-nam", "search-latin")):
        page.goto("/search")
        page.fill("#q", query)
        page.press("#q", "Enter")
        page.wait_for_url(re.compile(r".*/search\?q=.*"))
        _shot(page, name)
        found = page.locator("ol.hits a[href^='/records/act/']")
        assert found.count() >= 2, query

    found.first.click()
    page.wait_for_url(re.compile(r".*/records/act/\d+$"))
    _shot(page, "record-act")
    page.click("text=변경 이력")
    page.wait_for_url(re.compile(r".*/history$"))
    assert page.locator("ol.versions > li").count() >= 1
    _shot(page, "record-history")

    page.go_back()
    with page.expect_download() as download:
        page.click("text=증명 내려받기")  # "download proof"
    saved = SCREENSHOTS.parent / "proof.json"
    download.value.save_as(saved)
    check = verify_bundle(json.loads(saved.read_text(encoding="utf-8")))
    assert check.kind == "act"  # type: ignore[union-attr]


def test_wrong_value_is_kept_and_named(browser: Browser, live: tuple[str, Site]) -> None:
    base, _site = live
    page = _page(browser, base, "en")
    _login(page, "documenter")
    page.goto("/testimonies/new")
    page.fill("#act-0-0-act_type", "torture")
    page.fill("#act-0-0-act_date", "the 13th of Smarch")
    page.click("button[name=save]")
    field = page.locator("#act-0-0-act_date")
    assert field.input_value() == "the 13th of Smarch"
    assert field.get_attribute("aria-invalid") == "true"
    _shot(page, "testimony-entry-error")


def test_coordinator_publishes_and_a_visitor_reads(
    browser: Browser, live: tuple[str, Site]
) -> None:
    base, _site = live
    page = _page(browser, base, "en")
    _login(page, "coordinator")
    page.goto("/statements/new")
    page.select_option("#language", "en")
    page.fill("#title", "Joint statement on enforced disappearances")
    page.fill("#date", "2024-08-30")
    page.fill("#body", "We, the undersigned organizations...\n\nWe call on...")
    page.fill("#signatories", "Test Alliance for Rights\n시험인권모임")
    _shot(page, "statement-form")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/statements/\d+$"))
    page.click("text=Publish")
    page.wait_for_selector("text=Withdraw from the public side")
    _shot(page, "statement-staff")

    visitor = _page(browser, base, "en")
    visitor.goto("/news")
    _shot(visitor, "news-list")
    visitor.click("text=Joint statement on enforced disappearances")
    visitor.wait_for_url(re.compile(r".*/news/\d+$"))
    assert visitor.locator("nav.breadcrumb").count() == 1
    assert "2024-08-30" in visitor.content()
    assert visitor.locator("ol.signatories li").count() == 2  # in the order signed
    assert visitor.locator("article .body p").count() == 2  # paragraphs survive the form
    assert visitor.locator("a[rel=prev]").count() == 1
    _shot(visitor, "news-item")
    visitor.click("a[lang=ko]")  # the language switch
    assert visitor.locator("html").get_attribute("lang") == "ko"
    _shot(visitor, "news-item-ko")


def test_viewer_is_refused_a_protected_field(browser: Browser, live: tuple[str, Site]) -> None:
    base, site = live
    page = _page(browser, base, "en")
    _login(page, "viewer")
    page.goto(f"/records/act/{site.ids['act_confidential']}")
    assert page.locator("#refused").count() == 1
    content = page.content()
    assert "[redacted]" in content
    assert "Kim Yo-jong" not in content and "Beaten during interrogation" not in content
    _shot(page, "viewer-refused")
    page.goto("/testimonies/new")
    assert "Not allowed" in page.content()


def test_enter_in_a_testimony_field_adds_no_act(browser: Browser, live: tuple[str, Site]) -> None:
    base, site = live
    page = _page(browser, base, "en")
    _login(page, "documenter")
    page.goto("/testimonies/new")
    before = site.app.state.web.archive.store.state_mark()
    page.fill("#act-0-0-act_type", "torture")
    page.fill("#act-0-0-place", "Hoeryong")
    page.press("#act-0-0-place", "Enter")
    page.fill("#event-0-event_title", "Enter pressed")
    page.press("#event-0-event_title", "Enter")
    assert page.locator("fieldset.act").count() == 1  # no empty act
    assert page.url.endswith("/testimonies/new")
    assert page.input_value("#act-0-0-place") == "Hoeryong"
    assert site.app.state.web.archive.store.state_mark() == before  # nothing saved
    _shot(page, "testimony-enter")
    # without JavaScript, Enter presses the form's first button: it shows the form again
    plain = browser.new_context(base_url=base, locale="en-GB", java_script_enabled=False)
    bare = plain.new_page()
    _login(bare, "documenter")
    bare.goto("/testimonies/new")
    before = site.app.state.web.archive.store.state_mark()
    bare.fill("#act-0-0-place", "Hoeryong")
    bare.press("#act-0-0-place", "Enter")
    bare.wait_for_load_state()
    assert bare.locator("fieldset.act").count() == 1
    assert bare.input_value("#act-0-0-place") == "Hoeryong"
    assert site.app.state.web.archive.store.state_mark() == before
    plain.close()


def test_removing_a_user_is_confirmed_first(browser: Browser, live: tuple[str, Site]) -> None:
    base, site = live
    page = _page(browser, base, "en")
    _login(page, "admin")
    page.goto("/users")
    assert page.locator("#role").input_value() == "viewer"  # the least role first
    page.click("#user-analyst button")
    page.wait_for_selector("#confirm-remove")
    _shot(page, "users-confirm-remove")
    users = {u["name"]: u["active"] for u in site.app.state.web.archive.users.list()}
    assert users["analyst"] is True  # asked, not removed
    page.click("#confirm-remove a")  # cancel
    page.wait_for_url(re.compile(r".*/users$"))
    assert page.locator("#confirm-remove").count() == 0
