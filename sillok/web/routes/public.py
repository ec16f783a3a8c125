"""The public side: the home page, published statements and news (with a member filter), the
Atom feed, the organisation's logo, the language switch; and for publishers the site's settings.

Nothing here needs a login, and nothing here shows what is not published: the list and each
item come from :class:`~sillok.records.statements.Statements` with ``published_only``, and a
related event is named only when the principal may see its sharing level (the visitor: public).
The pages' data and links are :mod:`sillok.web.public_pages`'s, shared with the static site
(:mod:`sillok.web.static_site`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import RedirectResponse, Response

from sillok.errors import InvalidInput
from sillok.records.site import SITE_LANGUAGES, Site, SiteChange, SiteSettings
from sillok.records.statements import LANGUAGES, STATEMENT_KINDS
from sillok.web import i18n
from sillok.web.access import may
from sillok.web.context import Refused, Req, requester
from sillok.web.feed import FeedInfo, atom_feed
from sillok.web.i18n import said
from sillok.web.public_pages import (
    FEED_ITEMS,
    LiveLinks,
    home_context,
    news_item_context,
    news_list_context,
    page_context,
    public_copy,
    quoted_here,
)

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["statements"])

ReqDep = Annotated[Req, Depends(requester)]


def _staff(req: Req) -> bool:
    return may(req.principal, "statement.write")


def _base_url(req: Req, settings: SiteSettings) -> str:
    """The site's address: the one set in the settings, else the one this request came to."""
    return settings.url or str(req.request.base_url).rstrip("/")


def _render(req: Req, template: str, settings: SiteSettings, **context: Any) -> Response:
    """A public page, with the live site's links and the site's settings."""
    url = req.request.url
    links = LiveLinks(quoted_here(url.path, url.query))
    common = page_context(req.lang, links, settings, _base_url(req, settings))
    return req.render(template, **common, **context)


def _settings(req: Req) -> SiteSettings:
    return Site(req.web.archive.vault).settings()


@pages.get("/")
def home(req: ReqDep) -> Response:
    """The home page: the latest published items, and for staff the way in."""
    context = home_context(req.web.statements, req.principal, req.lang)
    return _render(req, "home.html", _settings(req), **context)


@pages.get("/news")
def news_list(
    req: ReqDep,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    language: Annotated[str | None, Query(max_length=5)] = None,
    member: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Published statements and news, newest first, in the page's language by default; of one
    kind, or of one coalition member (``?member=ID``), if asked."""
    if kind not in (None, "", *STATEMENT_KINDS):
        raise Refused(404, "not_found", req._("There is no such list."))
    settings = _settings(req)
    if member is not None and member not in {m.id for m in req.web.statements.members()}:
        raise Refused(404, "not_found", req._("There is no such list."))
    lang = language if language in LANGUAGES else req.lang
    context = news_list_context(
        req.web.statements, req.principal, lang, page, req.web.settings.page_size, kind, member
    )
    return _render(req, "news_list.html", settings, **context)


@pages.get("/news/feed.xml")
def news_feed(req: ReqDep) -> Response:
    """The Atom 1.0 feed of the latest published items, in every language."""
    settings = _settings(req)
    base = _base_url(req, settings)
    meta = req.web.archive.meta()
    items = req.web.statements.page(published_only=True, limit=FEED_ITEMS).items
    info = FeedInfo(
        title=f"{settings.name(req.lang) or req._('Sillok')}: "
        f"{settings.section(req.lang) or req._('Statements and news')}",
        archive_id=meta.get("archive_id", "archive"),
        created=meta.get("created_at", "1970-01-01T00:00:00+00:00"),
        self_url=f"{base}/news/feed.xml",
        home_url=f"{base}/news",
        item_url=lambda sid: f"{base}/news/{sid}",
        author=settings.name(req.lang) or req._("Sillok"),
    )
    body = atom_feed(info, [public_copy(i, req.principal) for i in items])
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@pages.get("/news/{statement_id}")
def news_item(req: ReqDep, statement_id: int) -> Response:
    """One published item: breadcrumb, dates, member, title, body, signatories, related
    public events, translations, and the previous and next items with their titles."""
    settings = _settings(req)
    context = news_item_context(req.web.statements, req.principal, statement_id)
    context["canonical"] = f"{_base_url(req, settings)}/news/{statement_id}"
    return _render(req, "news_item.html", settings, **context)


@pages.get("/site/logo")
def site_logo(req: ReqDep) -> Response:
    """The organisation's logo (a PNG or JPEG checked when it was set)."""
    logo = Site(req.web.archive.vault).logo()
    if logo is None:
        raise Refused(404, "not_found", req._("There is no logo."))
    return Response(
        logo.data, media_type=logo.media_type, headers={"cache-control": "public, max-age=3600"}
    )


@pages.get("/lang/{code}")
def switch_language(req: ReqDep, code: str, next: str = "/") -> Response:
    """Set the page language and go back where the visitor was."""
    if code not in i18n.LANGUAGES:
        raise Refused(404, "not_found", f"unknown language {code!r}")
    # Only a path on this site: never an open redirect to somewhere else.
    target = next if next.startswith("/") and not next.startswith(("//", "/\\")) else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        i18n.LANG_COOKIE, code, httponly=True, samesite="lax", max_age=365 * 24 * 3600
    )
    return response


# --- API ------------------------------------------------------------------------------------


@api.get("/statements", summary="Published statements and news (all, for staff with drafts)")
def api_statements(
    req: ReqDep,
    language: Annotated[str | None, Query(max_length=5)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    drafts: bool = False,
) -> dict[str, Any]:
    """A page of statements, newest first; ``drafts`` (staff only) includes unpublished ones."""
    if drafts:
        req.require("statement.write")
    listing = (req.statements if drafts else req.web.statements).page(
        published_only=not drafts, language=language, kind=kind, offset=offset, limit=limit
    )
    return {
        "items": [public_copy(s, req.principal).to_json() for s in listing.items],
        "total": listing.total,
        "offset": listing.offset,
        "limit": listing.limit,
    }


@api.get("/statements/{statement_id}", summary="One statement, with its neighbours")
def api_statement(req: ReqDep, statement_id: int) -> dict[str, Any]:
    """A published statement to anyone; an unpublished one only to staff."""
    staff = _staff(req)
    item = (req.statements if staff else req.web.statements).get(
        statement_id, published_only=not staff
    )
    body = public_copy(item, req.principal).to_json()
    if item.published:
        around = req.web.statements.neighbours(statement_id)
        body["older"] = around.older.id if around.older else None
        body["newer"] = around.newer.id if around.newer else None
        body["translations"] = [{"id": t.id, "language": t.language} for t in around.translations]
    return body


# --- the site's settings (staff) --------------------------------------------------------------

_SETTING_FIELDS = ("name", "section", "breadcrumb")


def _settings_form(
    req: Req, values: dict[str, str], error: str | None = None, saved: bool = False
) -> Response:
    req.ensure_session()
    return req.render(
        "site_settings.html",
        values=values,
        error=error,
        saved=saved,
        status=422 if error else 200,
    )


@pages.get("/site/settings")
def settings_form(req: ReqDep) -> Response:
    """The public site's settings, to change (the publish right)."""
    req.require("statement.publish")
    settings = Site(req.archive.vault).settings()
    values = {"url": settings.url or ""}
    for lang in SITE_LANGUAGES:
        values[f"name_{lang}"] = settings.names.get(lang, "")
        values[f"section_{lang}"] = settings.sections.get(lang, "")
        values[f"breadcrumb_{lang}"] = " > ".join(settings.breadcrumbs.get(lang, ()))
    return _settings_form(req, values)


@pages.post("/site/settings")
def save_settings(
    req: ReqDep,
    name_ko: Annotated[str, Form(max_length=400)] = "",
    section_ko: Annotated[str, Form(max_length=400)] = "",
    breadcrumb_ko: Annotated[str, Form(max_length=1000)] = "",
    name_en: Annotated[str, Form(max_length=400)] = "",
    section_en: Annotated[str, Form(max_length=400)] = "",
    breadcrumb_en: Annotated[str, Form(max_length=1000)] = "",
    url: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Save the site's texts in both languages at once, all or nothing (the logo is set with
    ``sillok publish settings --logo``)."""
    req.require("statement.publish")
    values = dict(
        name_ko=name_ko, section_ko=section_ko, breadcrumb_ko=breadcrumb_ko,
        name_en=name_en, section_en=section_en, breadcrumb_en=breadcrumb_en, url=url,
    )
    changes = [
        SiteChange(lang="ko", name=name_ko, section=section_ko, breadcrumb=breadcrumb_ko, url=url),
        SiteChange(lang="en", name=name_en, section=section_en, breadcrumb=breadcrumb_en),
    ]
    try:
        Site(req.archive.vault).set_all(changes, req.principal.actor)
    except InvalidInput as exc:
        return _settings_form(req, values, said(exc))
    return _settings_form(req, values, saved=True)
