"""The public side: the home page, published statements and news, the language switch.

Nothing here needs a login, and nothing here shows what is not published: the list and each
item come from :class:`~sillok.records.statements.Statements` with ``published_only``, and a related
event is named only when its sharing level is public.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response

from sillok.records.statements import LANGUAGES, STATEMENT_KINDS, Statement
from sillok.web import i18n
from sillok.web.access import Principal, may, may_see, readable
from sillok.web.context import Refused, Req, current

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["statements"])

ReqDep = Annotated[Req, Depends(current)]


def _public_copy(statement: Statement, principal: Principal) -> Statement:
    """The statement with only the related events the principal may see."""
    from dataclasses import replace

    events = tuple(
        e if readable(principal, e.sharing, "events", "title") else replace(e, title=f"#{e.id}")
        for e in statement.events
        if may_see(principal, e.sharing)
    )
    return replace(statement, events=events)


def _staff(req: Req) -> bool:
    return may(req.principal, "statement.write")


@pages.get("/")
def home(req: ReqDep) -> Response:
    """The home page: the latest published items, and for staff the way in."""
    latest = req.web.statements.page(published_only=True, language=req.lang, limit=5)
    return req.render("home.html", latest=latest.items)


@pages.get("/news")
def news_list(
    req: ReqDep,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    language: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    """Published statements and news, newest first, in the page's language by default."""
    size = req.web.settings.page_size
    if kind not in (None, "", *STATEMENT_KINDS):
        raise Refused(404, "not_found", req._("There is no such list."))
    lang = language if language in LANGUAGES else req.lang
    listing = req.web.statements.page(
        published_only=True, language=lang, kind=kind or None, offset=(page - 1) * size, limit=size
    )
    return req.render(
        "news_list.html", listing=listing, kind=kind or "", page=page, list_language=lang
    )


@pages.get("/news/{statement_id}")
def news_item(req: ReqDep, statement_id: int) -> Response:
    """One published item: breadcrumb, date, title, body, signatories, previous and next."""
    item = _public_copy(req.web.statements.get(statement_id, published_only=True), req.principal)
    around = req.web.statements.neighbours(statement_id)
    return req.render("news_item.html", item=item, around=around)


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
        "items": [_public_copy(s, req.principal).to_json() for s in listing.items],
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
    body = _public_copy(item, req.principal).to_json()
    if item.published:
        around = req.web.statements.neighbours(statement_id)
        body["older"] = around.older.id if around.older else None
        body["newer"] = around.newer.id if around.newer else None
        body["translations"] = [{"id": t.id, "language": t.language} for t in around.translations]
    return body
