"""The static site (``sillok publish site``): the same pages as the live site with every part
in place, relative links that resolve inside the folder, nothing an anonymous visitor may not
see (canaries in a draft and a confidential event), no server-only parts, and a refusal of an
existing folder; a browser follows previous and next from ``file://``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urldefrag

import pytest
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app as cli
from sillok.web.static_site import OutputExists, StaticSite
from tests.conftest import FAST, PASSPHRASE
from tests.test_public_site import (
    BODY_EN,
    BODY_KO,
    CANARY_DRAFT,
    CANARY_EVENT,
    NEWER,
    OLDER,
    PUBLIC_EVENT,
    TITLE,
    TITLE_KO,
    NewsArchive,
    assert_in_order,
    build_news,
    item_parts,
)

ENV = {"SILLOK_PASSPHRASE": PASSPHRASE}


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> NewsArchive:
    """One archive per module."""
    return build_news(tmp_path_factory.mktemp("static") / "archive")


@pytest.fixture(scope="module")
def output(news: NewsArchive, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site written by the command, with two items a list page (so the list is paged)."""
    out = tmp_path_factory.mktemp("out") / "site"
    done = CliRunner().invoke(
        cli,
        ["publish", "site", str(news.folder), "--output", str(out), "--page-size", "2", "--json"],
        env=ENV,
    )
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["items"] == 6 and report["pages"] > 20
    return out


def _read(output: Path, path: str) -> str:
    return (output / path).read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_each_item_page_has_every_part_in_place(
    news: NewsArchive, output: Path, lang: str
) -> None:
    english = _read(output, f"{lang}/news/{news.ids['news']}.html")
    assert_in_order(english, item_parts(lang, TITLE, BODY_EN, OLDER[0], NEWER[0]))
    assert f'href="{news.ids["older"]}.html"' in english  # relative, beside it
    assert f'href="{news.ids["news_ko"]}.html" hreflang="ko"' in english  # the translation
    assert PUBLIC_EVENT in english
    korean = _read(output, f"{lang}/news/{news.ids['news_ko']}.html")
    assert_in_order(korean, item_parts(lang, TITLE_KO, BODY_KO, OLDER[1], NEWER[1]))


def test_the_list_is_paged_and_filtered_by_member(news: NewsArchive, output: Path) -> None:
    first, second = _read(output, "en/news/index.html"), _read(output, "en/news/page-2.html")
    assert NEWER[0] in first and TITLE in first and OLDER[0] not in first
    assert OLDER[0] in second and 'href="index.html"' in second  # back to the first page
    assert 'rel="next" href="page-2.html"' in first
    member = _read(output, f"en/news/member-{news.ids['member_open']}.html")
    assert OLDER[0] in member and TITLE not in member
    assert TITLE_KO in _read(output, "ko/news/index.html")
    assert "News on Members" in _read(output, "index.html") or "회원 소식" in _read(
        output, "index.html"
    )


def test_every_relative_link_resolves_inside_the_folder(output: Path) -> None:
    pages = list(output.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for target in re.findall(r'(?:href|src)="([^"]+)"', html):
            assert not target.startswith(("/", "http:", "https:")), (page, target)
            if target.startswith(("mailto:", "#")):
                continue
            path, _fragment = urldefrag(target)
            resolved = (page.parent / path).resolve()
            assert resolved.is_relative_to(output.resolve()), (page, target)
            assert resolved.is_file(), (page, target)


def test_only_what_an_anonymous_visitor_may_see(output: Path) -> None:
    for path in output.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert CANARY_DRAFT.encode() not in data, path
            assert CANARY_EVENT.encode() not in data, path
    for page in output.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "<form" not in html and "<script" not in html, page
        assert "login" not in html.lower() and "csrf" not in html.lower(), page
    assert (output / "static" / "site.css").is_file()
    assert (output / "static" / "logo.png").is_file()
    assert (output / "news" / "feed.xml").is_file()


def test_an_existing_folder_is_refused_unless_forced(news: NewsArchive, tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    with Archive.open(news.folder, PASSPHRASE, settings=FAST) as archive:
        with pytest.raises(OutputExists, match="not empty"):
            StaticSite(archive).write(out)
        assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"
        report = StaticSite(archive).write(out, force=True, base_url="https://example.org/s")
    assert not (out / "keep.txt").exists() and (out / "index.html").is_file()
    assert report.items == 6
    item = (out / "en" / "news" / f"{news.ids['news']}.html").read_text(encoding="utf-8")
    url = f"https://example.org/s/en/news/{news.ids['news']}.html"
    assert f'<meta property="og:url" content="{url}">' in item
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no temporary folder left
    refused = CliRunner().invoke(
        cli, ["publish", "site", str(news.folder), "-o", str(out)], env=ENV
    )
    assert refused.exit_code == 2 and "--force" in refused.output


def test_a_browser_follows_previous_and_next_from_disk(
    news: NewsArchive, output: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.test_web_browser import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(java_script_enabled=False)
            page.goto((output / "index.html").as_uri())
            page.click(f"text={TITLE_KO}")
            assert page.locator("h1").inner_text() == TITLE_KO
            page.click("a[rel=prev]")
            assert page.locator("h1").inner_text() == OLDER[1]
            page.click("a[rel=next]")
            page.click("a[rel=next]")
            assert page.locator("h1").inner_text() == NEWER[1]
            page.click("a[hreflang=en][lang=en]")  # the language switch: the same page
            assert page.locator("html").get_attribute("lang") == "en"
            assert page.locator("h1").inner_text() == NEWER[1]
            assert page.url.startswith("file://")
        finally:
            browser.close()
