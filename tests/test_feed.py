"""The Atom feed (``/news/feed.xml`` and the static site's ``news/feed.xml``) checked against
RFC 4287 structurally: the feed's id, title, updated and self link; each entry's id (a stable
tag URI), title, updated, published, author (the member), link and HTML content; ids unique,
dates RFC 3339; only published items, with their bodies rendered safely."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from sillok.archive import Archive
from sillok.web import WebSettings, create_app
from sillok.web.feed import rfc3339
from sillok.web.static_site import StaticSite
from tests.conftest import FAST, PASSPHRASE
from tests.test_public_site import CANARY_DRAFT, CANARY_EVENT, TITLE, NewsArchive, build_news

A = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
TAG = re.compile(r"^tag:[a-z0-9.-]+,\d{4}-\d{2}-\d{2}:\S+$")


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> NewsArchive:
    """One archive per module."""
    return build_news(tmp_path_factory.mktemp("feed") / "archive")


@pytest.fixture(scope="module")
def client(news: NewsArchive) -> Iterator[TestClient]:
    """An anonymous visitor of the live site."""
    app = create_app(news.folder, WebSettings(passphrase=PASSPHRASE, archive=FAST))
    try:
        yield TestClient(app)
    finally:
        app.state.web.close()


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(f"{A}{tag}")
    assert found is not None and found.text, f"<{tag}> missing in <{element.tag}>"
    return found.text


def check_atom(xml: bytes) -> ET.Element:
    """Fail unless ``xml`` is an Atom 1.0 feed with what RFC 4287 requires; the root."""
    root = ET.fromstring(xml)
    assert root.tag == f"{A}feed"
    assert TAG.match(_text(root, "id"))
    assert _text(root, "title")
    assert RFC3339.match(_text(root, "updated"))
    links = root.findall(f"{A}link")
    assert [link.get("href") for link in links if link.get("rel") == "self"] != [None]
    assert any(link.get("rel") == "self" for link in links)
    feed_author = root.find(f"{A}author")
    ids = [_text(root, "id")]
    for entry in root.findall(f"{A}entry"):
        ids.append(_text(entry, "id"))
        assert TAG.match(ids[-1]), ids[-1]
        assert _text(entry, "title")
        assert RFC3339.match(_text(entry, "updated"))
        published = entry.find(f"{A}published")
        assert published is None or RFC3339.match(published.text or "")
        # an entry needs an author unless the feed has one (4.1.2)
        assert entry.find(f"{A}author/{A}name") is not None or feed_author is not None
        alternate = [link for link in entry.findall(f"{A}link") if link.get("rel") == "alternate"]
        assert len(alternate) == 1 and alternate[0].get("href")
        content = entry.find(f"{A}content")
        assert content is not None and content.get("type") == "html"
        assert entry.find(f"{A}summary") is not None
    assert len(ids) == len(set(ids)), "ids are not unique"
    return root


def test_the_live_feed_is_valid_atom_with_the_published_items(
    news: NewsArchive, client: TestClient
) -> None:
    answer = client.get("/news/feed.xml")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    assert CANARY_DRAFT not in answer.text and CANARY_EVENT not in answer.text
    root = check_atom(answer.content)
    entries = root.findall(f"{A}entry")
    assert len(entries) == 6
    (item,) = [e for e in entries if _text(e, "title") == TITLE]
    assert _text(item, "published") == "2020-08-26T00:00:00Z"
    assert item.findtext(f"{A}author/{A}name") == "NKnet"
    assert item.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    link = item.find(f"{A}link")
    assert link is not None and link.get("href") == f"http://testserver/news/{news.ids['news']}"
    html = _text(item, "content")
    assert "<ol>" in html and "<blockquote>" in html  # the body, rendered (as escaped text)
    self_link = [x for x in root.findall(f"{A}link") if x.get("rel") == "self"][0]
    assert self_link.get("href") == "http://testserver/news/feed.xml"


def test_entry_ids_are_stable_across_edits_and_addresses(
    news: NewsArchive, client: TestClient, tmp_path: Path
) -> None:
    live = check_atom(client.get("/news/feed.xml").content)
    with Archive.open(news.folder, PASSPHRASE, settings=FAST) as archive:
        StaticSite(archive).write(tmp_path / "site")
    static = check_atom((tmp_path / "site" / "news" / "feed.xml").read_bytes())
    ids = {e.findtext(f"{A}title"): e.findtext(f"{A}id") for e in live.findall(f"{A}entry")}
    assert ids == {e.findtext(f"{A}title"): e.findtext(f"{A}id")
                   for e in static.findall(f"{A}entry")}
    assert str(ids[TITLE]).endswith(f":statement/{news.ids['news']}")
    # without a base address the static feed's links are relative to it, and resolve
    feed = tmp_path / "site" / "news" / "feed.xml"
    for entry in static.findall(f"{A}entry"):
        href = entry.find(f"{A}link").get("href")  # type: ignore[union-attr]
        assert (feed.parent / str(href)).resolve().is_file(), href


def test_text_is_escaped_not_templated() -> None:
    assert rfc3339("2020-08-26T09:30:00") == "2020-08-26T09:30:00Z"
    assert rfc3339("2020-08-26T09:30:00+09:00") == "2020-08-26T00:30:00Z"
    from sillok.records.statements import Statement
    from sillok.web.feed import FeedInfo, atom_feed

    item = Statement(
        id=1, kind="news", language="en", title="A <b>bold</b> & \"quoted\" title",
        body="Text <script>alert(1)</script>", date="2020-08", published=True,
        translation_of=None, version=1, updated_by="x", updated_at="2020-09-01T00:00:00",
    )
    info = FeedInfo("T & <x>", "ab12", "2026-01-01T00:00:00+00:00", "feed.xml", "../",
                    lambda i: f"/news/{i}", "Coalition")
    xml = atom_feed(info, [item])
    root = check_atom(xml)
    entry = root.find(f"{A}entry")
    assert entry is not None and _text(entry, "title") == item.title
    assert b"<script" not in xml and b"<b>" not in xml
    assert _text(entry, "published") == "2020-08-01T00:00:00Z"  # a month: its first day
