"""What every request works with: the application's shared state and the request's principal.

Routes take one dependency, :func:`current`, which gives a :class:`Req`: the principal (from a
session cookie or an API token), the page's language and its ``_``, and helpers to refuse,
render and redirect. :func:`csrf_guard` runs before every route and refuses a state-changing
request that carries neither an API token nor its session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from markupsafe import Markup

from sillok.web import i18n
from sillok.web.access import NOBODY, Principal, may
from sillok.web.sessions import SESSION_COOKIE, Session, csrf_ok

if TYPE_CHECKING:
    from sillok.archive import Archive
    from sillok.records.statements import Statements
    from sillok.web.caches import ArchiveCache
    from sillok.web.sessions import LoginGuard, SessionStore
    from sillok.web.settings import WebSettings
    from sillok.web.totp import TotpStore

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class Refused(Exception):
    """A request the application will not serve, with the HTTP status and a stable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Web:
    """The application's shared state."""

    folder: Path
    archive: Archive
    settings: WebSettings
    sessions: SessionStore
    guard: LoginGuard
    templates: Environment
    #: what pages compute from the records, until the next write (see sillok.web.caches)
    cache: ArchiveCache
    totp: TotpStore
    #: published statements for the public side (read through the server's own archive)
    statements: Statements

    def close(self) -> None:
        """End every session and close the server's archive."""
        self.sessions.close_all()
        self.archive.close()


def is_api(request: Request) -> bool:
    """Whether a request is for the HTTP API (JSON answers) rather than a page."""
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def bearer_token(request: Request) -> str | None:
    """The API token of a request, if it carries one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass
class Req:
    """One request as the routes see it."""

    request: Request
    web: Web
    session: Session | None
    principal: Principal
    lang: str
    gettext: Callable[..., str]
    via_token: bool = False
    new_session: bool = False

    @property
    def archive(self) -> Archive:
        """The archive as the principal opened it (their role and keys); the server's own
        only for a visitor, who is shown nothing but published statements."""
        if self.principal.authenticated and self.session and self.session.archive is not None:
            archive: Archive = self.session.archive
            return archive
        return self.web.archive

    @property
    def statements(self) -> Statements:
        """Statements, written in the principal's name."""

        return self.archive.statements

    def _(self, message: str, **values: object) -> str:
        """Translate a message into the request's language."""
        return self.gettext(message, **values)

    def require(self, action: str, kind: str | None = None) -> None:
        """Refuse unless the principal may do ``action``: 401 for nobody, 403 for a role."""
        if not self.principal.authenticated:
            raise Refused(401, "unauthenticated", self._("Please log in first."))
        if not may(self.principal, action, kind):
            raise Refused(
                403, "forbidden", self._("Your role may not do this ({action}).", action=action)
            )

    def ensure_session(self) -> Session:
        """The request's session, made (anonymous) when it has none, for a form's CSRF token."""
        if self.session is None:
            self.session = self.web.sessions.create()
            self.new_session = True
        return self.session

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page from a template, with what every page needs in its context."""
        page = self.web.templates.get_template(template)
        html = page.render(
            _=self.gettext,
            lang=self.lang,
            languages=i18n.LANGUAGE_NAMES,
            principal=self.principal,
            may=lambda action, kind=None: may(self.principal, action, kind),
            csrf=self.session.csrf_token if self.session else "",
            path=self.request.url.path,
            here=quote(
                self.request.url.path
                + (f"?{self.request.url.query}" if self.request.url.query else ""),
                safe="/",
            ),
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        self.finish(response)
        return response

    def fragment(self, template: str, **context: Any) -> Markup:
        """A part of a page, for a cache: it is given the page's language and nothing about
        the person asking (no name, role or CSRF token), so it can be kept and shown again."""
        page = self.web.templates.get_template(template)
        return Markup(page.render(_=self.gettext, lang=self.lang, **context))

    def redirect(self, url: str, status: int = 303) -> RedirectResponse:
        """A redirect after a form (303, so the browser follows it with GET)."""
        response = RedirectResponse(url, status_code=status)
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        """Set the session cookie on a response when the session is new."""
        if self.new_session and self.session is not None:
            set_session_cookie(self.web, self.request, response, self.session.id)
            self.new_session = False


def set_session_cookie(web: Web, request: Request, response: Response, session_id: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure over TLS."""
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=web.settings.secure_cookies or request.url.scheme == "https",
        path="/",
    )


def current(request: Request) -> Req:
    """The dependency every route takes: who is asking, in which language."""
    cached: Req | None = getattr(request.state, "req", None)
    if cached is not None:
        return cached
    web: Web = request.app.state.web
    lang = i18n.choose(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )
    token = bearer_token(request)
    session: Session | None
    if token is not None:
        session = web.sessions.get(token)
        if session is None or session.kind != "token":
            raise Refused(401, "unauthenticated", "the API token is unknown or has expired")
    else:
        session = web.sessions.get(request.cookies.get(SESSION_COOKIE))
    principal = (
        Principal(session.username, session.role)
        if session is not None and session.authenticated and session.archive is not None
        else NOBODY
    )
    req = Req(request, web, session, principal, lang, i18n.translator(lang), token is not None)
    request.state.req = req
    return req


async def csrf_guard(request: Request) -> None:
    """Refuse (403) a state-changing request without its session's CSRF token.

    A request with an API token carries no cookie a browser could send on its own, so it needs
    no CSRF token; everything else must show the token from the session's pages, in the form
    field ``csrf_token`` or the ``X-CSRF-Token`` header.
    """
    if request.method not in UNSAFE_METHODS:
        return
    req = current(request)
    if req.via_token:
        return
    if is_api(request) and SESSION_COOKIE not in request.cookies:
        return  # no ambient credential to abuse: the route's own authentication decides
    token = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if token is None and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form(max_part_size=req.web.settings.max_upload_bytes)
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not csrf_ok(req.session, token):
        raise Refused(
            403,
            "csrf",
            req._("This form has expired or did not come from this site. Reload and try again."),
        )
