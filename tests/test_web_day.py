"""A documentation team's day in a real browser (issue 14), in Korean and in English, on a wide
screen (1280 px) and a phone (375 px): a documenter logs in through the form, enters a testimony
whose victim is named in Hangul and in romanization, finds it by either name, edits an act (a new
version, in the history), accepts a pending link, writes a statement; a coordinator publishes it;
a visitor reads it on the public side; each logs out.

Every step checks what the user sees there, in the page's language, and keeps a screenshot under
test-output/screenshots/day-{lang}-{width}-NN-{step}.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page

from sillok.web.i18n import translator
from tests.test_web_app import Site
from tests.test_web_browser import SCREENSHOTS, live  # noqa: F401  (fixture)
from tests.test_web_mobile import (  # noqa: F401  (fixtures)
    DESKTOP,
    PHONE,
    _as,
    chromium,
    linked_live,
)

#: per run: the victim's Hangul name, its romanization, and the act entered
DAYS = {
    ("ko", 1280): ("류한별", "Ryu Han-byeol"),
    ("ko", 375): ("석보름", "Seok Bo-reum"),
    ("en", 1280): ("탁가람", "Tak Ga-ram"),
    ("en", 375): ("변새롬", "Byeon Sae-rom"),
}
#: what each language's user types (the same facts)
TYPED = {
    "ko": {"act_type": "고문", "act_date": "2012년 겨울", "place": "청진",
           "event": "청진 집결소 구금", "new_date": "2009년 봄"},
    "en": {"act_type": "torture", "act_date": "winter 2012", "place": "Chongjin",
           "event": "Detention at the Chongjin holding centre", "new_date": "spring 2009"},
}
#: English words of the interface that a Korean page must not show (data may be Latin)
ENGLISH_UI = ("Save", "Search", "Version", "History", "Accept", "Reject", "Publish",
              "Log out", "Testimony", "changed", "Edit", "Review links", "accepted")


class Day:
    """One run of the day: its screenshots numbered in order, its language's words."""

    def __init__(self, lang: str, width: int) -> None:
        self.lang, self.width, self.step = lang, width, 0
        self._ = translator(lang)

    def shot(self, page: Page, name: str) -> None:
        self.step += 1
        path = SCREENSHOTS / f"day-{self.lang}-{self.width}-{self.step:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)

    def korean_only(self, page: Page) -> None:
        """On a Korean page, none of the interface's English words (whole words) shows."""
        if self.lang != "ko":
            return
        text = page.locator("body").inner_text()
        for word in ENGLISH_UI:
            assert not re.search(rf"\b{word}\b", text), (word, page.url)


def _menu(page: Page) -> None:
    """Open the header's menu if it is folded (a phone)."""
    if not page.locator("header.site form[action='/logout'] button").is_visible():
        page.locator("header.site summary").click()


def _log_out(page: Page, day: Day) -> None:
    _menu(page)
    page.locator("header.site form[action='/logout'] button").click()
    page.wait_for_load_state()
    assert page.locator("header.site a[href='/login']").count() == 1
    assert page.locator("header.site form[action='/logout']").count() == 0
    day.shot(page, "logged-out")


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_day_of_a_documentation_team(
    chromium: Browser, linked_live: tuple[str, Site], lang: str, width: int  # noqa: F811
) -> None:
    base, _site = linked_live
    run = Day(lang, width)
    _ = run._
    typed = TYPED[lang]
    hangul, latin = DAYS[(lang, width)]
    viewport = DESKTOP if width == 1280 else PHONE

    # log in through the form: the dashboard, in the page's language
    page = _as(chromium, base, "documenter", viewport, lang)
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h1").first.inner_text().strip() == _("Dashboard")
    run.shot(page, "dashboard")
    run.korean_only(page)

    # enter a testimony: an act whose victim is named in Hangul and in romanization
    page.goto("/testimonies/new")
    page.select_option("#source_type", "testimony")
    page.fill("#event-0-event_title", typed["event"])
    page.fill("#act-0-0-act_type", typed["act_type"])
    page.fill("#act-0-0-act_date", typed["act_date"])
    page.fill("#act-0-0-place", typed["place"])
    page.fill("#act-0-0-victim_name", latin)
    page.fill("#act-0-0-victim_name_hangul", hangul)
    run.shot(page, "testimony-form")
    run.korean_only(page)
    page.click("button[name=save]")
    page.wait_for_url(re.compile(r".*/records/source/\d+\?saved=1$"))
    assert page.locator("#saved[role=status]").inner_text().strip() == _(
        "Testimony saved: this source and its {n} acts are in the archive.", n=1
    )
    acts = page.locator("a[href^='/records/act/']")
    assert acts.count() == 1
    act = acts.first.get_attribute("href")
    assert act and re.fullmatch(r"/records/act/\d+", act)
    run.shot(page, "testimony-saved")
    run.korean_only(page)

    # find it in both scripts
    for query, step in ((hangul, "search-hangul"), (latin, "search-latin")):
        page.goto("/search")
        page.fill("#q", query)
        page.press("#q", "Enter")
        page.wait_for_url(re.compile(r".*/search\?q=.*"))
        assert page.locator(f"ol.hits a[href='{act}']").count() == 1, query
        run.shot(page, step)
        run.korean_only(page)

    # edit the act: a new date, saved as version 2, the change in the history
    page.locator(f"ol.hits a[href='{act}']").click()
    page.wait_for_url(re.compile(rf".*{act}$"))
    assert hangul in page.locator("main").inner_text()
    page.click("#edit")
    page.wait_for_url(re.compile(rf".*{act}/edit$"))
    assert page.input_value("#date") == typed["act_date"]  # as people write it, not EDTF
    page.fill("#date", typed["new_date"])
    run.shot(page, "act-edit")
    run.korean_only(page)
    page.locator("form.record-edit button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*{act}\?edited=1$"))
    assert page.locator("#edited[role=status]").inner_text().strip() == _(
        "Saved as version {n}; the one before is in the history.", n=2
    )
    record = page.locator("dl.record").inner_text()
    assert typed["new_date"] in record and typed["act_date"] not in record
    assert "2009-21" not in page.locator("h1").inner_text()  # the title: no date code
    run.shot(page, "act-edited")
    run.korean_only(page)
    page.locator(f"a[href='{act}/history']").first.click()
    page.wait_for_url(re.compile(rf".*{act}/history$"))
    versions = page.locator("ol.versions > li")
    assert versions.count() == 2
    newest = versions.first
    assert newest.locator("h2").inner_text().strip() == f"{_('Version')} 2"
    assert newest.locator("dd.changed").count() >= 1
    assert typed["new_date"] in newest.locator("dd.changed").first.inner_text()
    run.shot(page, "act-history")
    run.korean_only(page)

    # review a link: accept the first pending pair of persons; it moves to the accepted ones
    page.goto("/links?kind=persons&status=pending")
    pair = page.locator("article.pair").first
    link = pair.get_attribute("id")
    assert link and link.startswith("link-")
    assert pair.locator("table.evidence tbody tr").count() >= 1
    run.shot(page, "links-pending")
    run.korean_only(page)
    pair.locator("button[value=accept]").click()
    page.wait_for_url(re.compile(r".*/links\?kind=persons&status=pending.*"))
    assert page.locator(f"#{link}").count() == 0
    page.goto("/links?kind=persons&status=accepted")
    accepted = page.locator(f"#{link}")
    assert accepted.get_attribute("data-status") == "accepted"
    assert _("accepted") in accepted.locator("p.meta").inner_text()
    run.shot(page, "links-accepted")
    run.korean_only(page)

    # write a statement (a documenter drafts; a coordinator publishes)
    title = {"ko": f"청진 고문에 관한 성명 {lang}-{width}",
             "en": f"Statement on torture in Chongjin {lang}-{width}"}[lang]
    body = {"ko": "첫째 문단.\n\n둘째 문단.", "en": "First paragraph.\n\nSecond paragraph."}[lang]
    page.goto("/statements/new")
    page.select_option("#language", lang)
    page.fill("#title", title)
    page.fill("#date", "2024-08-30")
    page.fill("#body", body)
    page.fill("#signatories", "Test Alliance for Rights\n시험인권모임")
    run.shot(page, "statement-form")
    run.korean_only(page)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/statements/\d+$"))
    statement = page.url.rsplit("/", 1)[1]
    assert page.locator("h1").inner_text().strip() == title
    assert page.locator(f"form[action='/statements/{statement}/publish']").count() == 0
    run.shot(page, "statement-draft")
    _log_out(page, run)
    page.context.close()

    # publish it
    page = _as(chromium, base, "coordinator", viewport, lang)
    page.goto(f"/statements/{statement}")
    publish = page.locator(f"form[action='/statements/{statement}/publish'] button")
    assert publish.inner_text().strip() == _("Publish")
    publish.click()
    page.wait_for_url(re.compile(rf".*/statements/{statement}$"))
    assert page.locator(f"form[action='/statements/{statement}/withdraw'] button").inner_text(
    ).strip() == _("Withdraw from the public side")
    run.shot(page, "statement-published")
    run.korean_only(page)

    # read it on the public side: a visitor with no login
    visitor = chromium.new_context(base_url=base, viewport=viewport)  # type: ignore[arg-type]
    visitor.add_cookies([{"name": "sillok_lang", "value": lang, "url": base}])
    public = visitor.new_page()
    public.goto("/news")
    item = public.locator(f"a[href='/news/{statement}']")
    assert item.inner_text().strip() == title
    run.shot(public, "news-list")
    run.korean_only(public)
    item.click()
    public.wait_for_url(re.compile(rf".*/news/{statement}$"))
    assert public.locator("h1").inner_text().strip() == title
    assert public.locator("article .body p").count() == 2
    assert public.locator("ol.signatories li").count() == 2
    assert hangul not in public.content()  # the statement, not the archive's records
    run.shot(public, "news-item")
    run.korean_only(public)
    visitor.close()

    # the day ends
    _log_out(page, run)
    page.goto("/dashboard")
    assert "/login" in page.url  # logged out: the archive's pages ask for a login again
    page.context.close()
