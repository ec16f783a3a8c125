"""The public pages' data and links, the same for the live site and its static copy.

The live site (:mod:`sillok.web.routes.public`) and the static site
(:mod:`sillok.web.static_site`) render the same templates (``home.html``, ``news_list.html``,
``news_item.html`` over ``public_base.html``) from the same library calls; they differ only in
their :class:`Links`: the live site links ``/news/5``, the static site ``../news/5.html``
relative to the page, so that its files work from any file server and opened from disk.

What a page shows is what its principal may see: published statements only (the library's
``published_only``), and of their related events only those whose sharing level the principal
may see (:func:`public_copy`); the anonymous visitor sees the public ones.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, replace
from html import unescape
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from sillok.dates import DateError, parse_date
from sillok.dates.words import human_date
from sillok.records.site import SiteSettings
from sillok.records.statements import Statement, StatementPage, Statements
from sillok.web.access import Principal, may_see, readable
from sillok.web.i18n import translator

#: how many items the home page and the feed list
HOME_ITEMS = 5
FEED_ITEMS = 50
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


class Links(Protocol):
    """Where the public pages link to: the live site's paths or the static site's files."""

    @property
    def static(self) -> bool:
        """Whether the pages are files (no server: no login, forms or scripts)."""

    def home(self) -> str:
        """The home page."""

    def news(self, page: int = 1, kind: str | None = None, member: int | None = None) -> str:
        """A page of the news list (of one kind, or of one member)."""

    def item(self, statement_id: int) -> str:
        """One item's page."""

    def feed(self) -> str:
        """The Atom feed."""

    def css(self) -> str:
        """The style sheet."""

    def logo(self, settings: SiteSettings) -> str:
        """The organisation's logo."""

    def language(self, code: str) -> str:
        """This page in another language."""


@dataclass(frozen=True)
class LiveLinks:
    """The live site's paths (``here`` is the page's own path and query, quoted)."""

    here: str = "/"
    static: bool = False

    def home(self) -> str:
        """The home page."""
        return "/"

    def news(self, page: int = 1, kind: str | None = None, member: int | None = None) -> str:
        """A page of the news list."""
        query = {"kind": kind, "member": member, "page": page if page > 1 else None}
        shown = urlencode({k: v for k, v in query.items() if v})
        return f"/news?{shown}" if shown else "/news"

    def item(self, statement_id: int) -> str:
        """One item's page."""
        return f"/news/{statement_id}"

    def feed(self) -> str:
        """The Atom feed."""
        return "/news/feed.xml"

    def css(self) -> str:
        """The style sheet."""
        return "/static/site.css"

    def logo(self, settings: SiteSettings) -> str:
        """The logo (its digest in the address: a new logo is a new address)."""
        return f"/site/logo?v={settings.logo_digest or ''}"

    def language(self, code: str) -> str:
        """The language switch, back to this page."""
        return f"/lang/{code}?next={self.here}"


@dataclass(frozen=True)
class StaticLinks:
    """The static site's files, relative to the page being written (``page``, a path in the
    output folder such as ``en/news/5.html``); the pages of language ``lang`` are under
    ``lang/``, the feed, style sheet and logo at the top."""

    lang: str
    page: str
    static: bool = True

    def _to(self, path: str) -> str:
        return posixpath.relpath(path, posixpath.dirname(self.page) or ".")

    def home(self) -> str:
        """The home page."""
        return self._to(f"{self.lang}/index.html")

    def news(self, page: int = 1, kind: str | None = None, member: int | None = None) -> str:
        """A page of the news list."""
        return self._to(f"{self.lang}/news/{list_file(page, kind, member)}")

    def item(self, statement_id: int) -> str:
        """One item's page."""
        return self._to(f"{self.lang}/news/{statement_id}.html")

    def feed(self) -> str:
        """The Atom feed."""
        return self._to("news/feed.xml")

    def css(self) -> str:
        """The style sheet."""
        return self._to("static/site.css")

    def logo(self, settings: SiteSettings) -> str:
        """The logo."""
        extension = "png" if settings.logo_type == "image/png" else "jpg"
        return self._to(f"static/logo.{extension}")

    def language(self, code: str) -> str:
        """The same page in language ``code``."""
        inside = self.page.removeprefix(f"{self.lang}/")
        return self._to(f"{code}/{inside if inside != self.page else 'index.html'}")


def list_file(page: int = 1, kind: str | None = None, member: int | None = None) -> str:
    """The static site's file of a page of the news list: ``index.html``, ``page-2.html``,
    ``kind-news.html``, ``member-12-page-3.html``."""
    stem = f"kind-{kind}" if kind else f"member-{member}" if member else ""
    if page > 1:
        stem = f"{stem}-page-{page}" if stem else f"page-{page}"
    return f"{stem or 'index'}.html"


def public_copy(statement: Statement, principal: Principal) -> Statement:
    """The statement with only the related events the principal may see (their titles only
    where the principal may read them), and without a signatory protected since signing."""
    events = tuple(
        e if readable(principal, e.sharing, "events", "title") else replace(e, title=f"#{e.id}")
        for e in statement.events
        if may_see(principal, e.sharing)
    )
    return replace(statement, events=events, signatories=statement.public_signatories)


def plain_summary(html: str, limit: int = 200) -> str:
    """The first ``limit`` characters of a rendered body as plain text (for a description)."""
    text = _SPACE.sub(" ", unescape(_TAG.sub(" ", html))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def day_of(edtf: str | None) -> str | None:
    """The first day an EDTF date can mean, ``YYYY-MM-DD`` (None when there is none)."""
    if not edtf:
        return None
    try:
        return parse_date(edtf).lower.isoformat()
    except DateError:
        return None


def machine_date(edtf: str | None) -> str | None:
    """The value of a ``<time datetime>`` for a plain EDTF date (``2020``, ``2020-08``,
    ``2020-08-26``); None for an uncertain or unusual one."""
    if edtf and re.fullmatch(r"\d{4}(?:-(?:0[1-9]|1[0-2])(?:-\d{2})?)?", edtf):
        return edtf
    return None


def page_context(
    lang: str, links: Links, settings: SiteSettings, base_url: str | None
) -> dict[str, Any]:
    """What every public page is rendered with besides the request's own context: the links,
    the site's settings in ``lang``, and the date as people write it."""
    _ = translator(lang)
    section = settings.section(lang) or _("Statements and news")
    crumbs = settings.breadcrumb(lang) or (_("Home"), section)

    def written(edtf: str | None) -> str:
        return human_date(edtf, lang) or edtf or ""

    return {
        "link": links,
        "site": settings,
        "site_name": settings.name(lang) or _("Sillok"),
        "section_name": section,
        "crumbs": crumbs,
        "written": written,
        "machine_date": machine_date,
        "day_of": day_of,
        "static": links.static,
        "base_url": base_url.rstrip("/") if base_url else None,
    }


def home_context(statements: Statements, principal: Principal, lang: str) -> dict[str, Any]:
    """The home page's data: the latest published items in ``lang``."""
    latest = statements.page(published_only=True, language=lang, limit=HOME_ITEMS)
    return {"latest": [public_copy(s, principal) for s in latest.items]}


def news_list_context(
    statements: Statements,
    principal: Principal,
    language: str,
    page: int,
    size: int,
    kind: str | None = None,
    member: int | None = None,
) -> dict[str, Any]:
    """A page of the news list's data: published items in ``language``, of one kind or one
    member if asked, and the members to filter by."""
    listing: StatementPage = statements.page(
        published_only=True,
        language=language,
        kind=kind or None,
        offset=(page - 1) * size,
        limit=size,
        member=member,
    )
    listing = replace(listing, items=[public_copy(s, principal) for s in listing.items])
    members = statements.members()
    return {
        "listing": listing,
        "kind": kind or "",
        "member": next((m for m in members if m.id == member), None),
        "members": members,
        "page": page,
        "list_language": language,
    }


def news_item_context(
    statements: Statements, principal: Principal, statement_id: int
) -> dict[str, Any]:
    """One published item's data: itself (as the principal may see it), the items before and
    after it with their titles, and its translations.

    Raises:
        NotFound: when there is no published statement with that id.
    """
    item = public_copy(statements.get(statement_id, published_only=True), principal)
    around = statements.neighbours(statement_id)
    return {"item": item, "around": around, "summary": plain_summary(item.body_html)}


def quoted_here(path: str, query: str) -> str:
    """A page's path and query, quoted for the language switch's ``next``."""
    return quote(path + (f"?{query}" if query else ""), safe="/")
