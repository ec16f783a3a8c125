"""The Atom 1.0 feed of published statements and news (RFC 4287), for ``/news/feed.xml`` and
the static site.

The XML is built with :mod:`xml.etree.ElementTree`, which escapes every text and attribute; the
body goes in as ``content type="html"``: the safely rendered HTML (:func:`render_body`) as
escaped text, as Atom wants it. Each entry's id is a tag URI (RFC 4151) made of the archive's
id and creation date and the statement's id, so it never changes when the site moves or an item
is edited: ``tag:0f3a….sillok.invalid,2026-12-03:statement/5``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from sillok.records.statements import Statement
from sillok.web.public_pages import day_of, plain_summary

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


@dataclass(frozen=True)
class FeedInfo:
    """What the feed says about itself."""

    title: str
    #: the archive's id and the day it was created (for the tag URIs)
    archive_id: str
    created: str
    #: the feed's own address, and the site's home page (absolute, or relative to the feed)
    self_url: str
    home_url: str
    #: the item page's address of a statement id
    item_url: Callable[[int], str]
    author: str


def rfc3339(value: str | dt.datetime | dt.date) -> str:
    """A date or time as RFC 3339 in UTC (``2020-08-26T00:00:00Z``); a time without a zone is
    taken as UTC, a day as its midnight."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tag_uri(info: FeedInfo, what: str) -> str:
    """A stable tag URI of the archive (RFC 4151)."""
    return f"tag:{info.archive_id}.sillok.invalid,{info.created[:10]}:{what}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _updated(item: Statement) -> str:
    return rfc3339(item.updated_at) if item.updated_at else rfc3339(dt.date(1970, 1, 1))


def atom_feed(info: FeedInfo, items: Sequence[Statement]) -> bytes:
    """The feed of ``items`` (newest first), as UTF-8 XML."""
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", tag_uri(info, "news"))
    _sub(feed, "title", info.title)
    updated = max((_updated(i) for i in items), default=rfc3339(info.created))
    _sub(feed, "updated", updated)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=info.self_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=info.home_url)
    author = _sub(feed, "author")
    _sub(author, "name", info.author)
    _sub(feed, "generator", "Sillok")
    for item in items:
        entry = _sub(feed, "entry")
        entry.set("{http://www.w3.org/XML/1998/namespace}lang", item.language)
        _sub(entry, "id", tag_uri(info, f"statement/{item.id}"))
        _sub(entry, "title", item.title)
        _sub(entry, "updated", _updated(item))
        posted = day_of(item.posted)
        if posted:
            _sub(entry, "published", rfc3339(dt.date.fromisoformat(posted)))
        if item.member is not None:
            member = _sub(entry, "author")
            _sub(member, "name", item.member.name)
        _sub(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            hreflang=item.language,
            href=info.item_url(item.id),
        )
        _sub(entry, "category", term=item.kind)
        html = item.body_html
        _sub(entry, "summary", plain_summary(html, 300), type="text")
        _sub(entry, "content", html, type="html")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
