"""What every request works with: the application's shared state and the request's principal.

Routes take one dependency, :func:`requester` (:func:`current`, in the event loop or a
thread), which gives a :class:`Req`: the principal (from a session cookie or an API token),
the page's language and its ``_``, and helpers to refuse, render and redirect.
:func:`csrf_guard` runs before every route and refuses a state-changing request that carries
neither an API token nor its session's CSRF token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from sillok.archive import Archive
from sillok.errors import ArchiveError, SillokError
from sillok.web import i18n
from sillok.web.access import NOBODY, Principal, may
from sillok.web.logins import ServerBusy
from sillok.web.sessions import SESSION_COOKIE, Session, csrf_ok

if TYPE_CHECKING:
    from sillok.records.statements import Statements
    from sillok.web.caches import ArchiveCache
    from sillok.web.logins import KeyCopies, OpenArchives
    from sillok.web.sessions import LoginGuard, SessionStore
    from sillok.web.settings import WebSettings
    from sillok.web.totp import TotpStore

log = logging.getLogger("sillok.web")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: what a request from nobody logged in may send a body to: the login forms (and logging out)
LOGIN_ROUTES = frozenset({("POST", "/login"), ("POST", "/api/tokens"), ("POST", "/logout")})
#: in the scope of a request whose body the gate withheld: (status, code, the body's bound)
#: (see sillok.web.bodies.BodyGate)
WITHHELD = "sillok.withheld"
#: in the scope of a request whose session the body gate looked up: (credential, session)
LOOKED_UP = "sillok.session"
#: in the scope of an upload page's request: its CSRF token is checked in the multipart body
UPLOAD_FORM = "sillok.upload_form"


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
    #: the server's own archive (opened with the operator's passphrase): the public side;
    #: None once the archive was wiped (see :attr:`archive`)
    own_archive: Archive | None
    settings: WebSettings
    sessions: SessionStore
    guard: LoginGuard
    templates: Environment
    #: what pages compute from the records, until the next write (see sillok.web.caches)
    cache: ArchiveCache
    totp: TotpStore
    #: the archives of logged-in users, one per user (see sillok.web.logins)
    logins: OpenArchives
    #: the key copies in keys.json, watched for changes (see sillok.web.logins)
    copies: KeyCopies
    #: when the archive was wiped under the running server (see :meth:`forget_wiped`)
    wiped: str | None = None
    _own_copy: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._own_copy = self.copies.read().get(self.archive.user.name)

    @property
    def archive(self) -> Archive:
        """The server's own archive.

        Raises:
            ArchiveError: the archive was wiped while the server ran (answered 503).
        """
        if self.own_archive is None:
            raise ArchiveError(f"{self.folder}: the archive was wiped; it is no longer served")
        return self.own_archive

    @archive.setter
    def archive(self, archive: Archive) -> None:
        self.own_archive = archive

    def forget_wiped(self, when: str) -> bool:
        """The archive was wiped (``sillok wipe``, from any process): end every session and
        token, close every archive (the database files' descriptors with them) and let go of
        the keys, so that nothing more is served from memory. True the first time.
        """
        with self._lock:
            if self.wiped is not None:
                return False
            self.wiped = when
            own, self.own_archive = self.own_archive, None
        # The database is gone with the archive: the rows cannot (and need not) be deleted.
        ended = self.sessions.forget_local()
        self.logins.close_all()
        if own is not None:
            own.close()
        log.warning("the archive was wiped at %s: %d sessions ended, no longer served", when,
                    ended)
        return True

    @property
    def statements(self) -> Statements:
        """Published statements for the public side, read through the server's own archive."""
        return self.archive.statements

    def notice_changes(self) -> None:
        """Act on a change of ``keys.json`` since the last request (by this server or another
        process): end every session whose user's key copy is gone or different, or whose user
        the users table no longer lists with that role; reopen the server's own archive when
        its copy changed (a key rotation re-keys the database under it).

        Cheap when nothing changed: one ``stat`` (done by the caller, see
        :meth:`sillok.web.logins.KeyCopies.stale`), then nothing.
        """
        with self._lock:
            if self.own_archive is None or not self.copies.stale():
                return  # wiped, or another request dealt with it while this one waited
            copies = self.copies.read()
            reopened = False
            if copies.get(self.archive.user.name) != self._own_copy:
                reopened = self._reopen(copies.get(self.archive.user.name))
            try:
                roles = {u["name"]: u["role"] for u in self.archive.users.list() if u["active"]}
            except Exception:  # noqa: BLE001  (whatever the store says: nobody can be checked)
                log.exception("the users table cannot be read: every session ends")
                roles = {}
            # The users' archives share the server's pool of connections: a server archive
            # opened anew (its old pool closed) lets go of them all in this worker (a session
            # whose copy still holds is opened again from its row at its next request).
            if reopened:
                self.sessions.forget_local()
            # Ended in every worker: their rows go (whichever worker notices first).
            ended = self.sessions.end_where(
                lambda s: s.authenticated
                and (
                    copies.get(s.username or "") != s.copy
                    or roles.get(s.username) != s.role
                )
            )
        if ended:
            log.warning("keys.json changed: %d sessions and tokens ended", ended)

    def _reopen(self, copy: str | None) -> bool:
        """Open the server's archive again, as the same user; keep the open one when the
        operator's passphrase no longer opens it (a passphrase change leaves it valid).
        Whether it was opened anew."""
        try:
            fresh = Archive.open(
                self.folder, self.settings.passphrase, self.settings.archive, self.archive.user.name
            )
        except SillokError as exc:
            log.error("the server's own key copy changed and does not open: %s", exc)
            self._own_copy = copy  # tried once per change of the copy, not at every request
            return False
        stale, self.archive = self.archive, fresh
        stale.close()
        self._own_copy = copy
        return True

    def close(self) -> None:
        """Let go of the sessions this worker holds (their rows stay, for the other workers)
        and close the archives."""
        self.sessions.close_all()
        self.logins.close_all()
        if self.own_archive is not None:
            self.own_archive.close()


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
    credential = token if token is not None else request.cookies.get(SESSION_COOKIE)
    looked = request.scope.get(LOOKED_UP)
    try:
        if looked is not None and looked[0] == credential:
            session = looked[1]  # the body gate's lookup of this request
            if token is not None and (session is None or session.kind != "token"):
                raise Refused(401, "unauthenticated", "the API token is unknown or has expired")
        elif token is not None:
            session = web.sessions.get(token)
            if session is None or session.kind != "token":
                raise Refused(401, "unauthenticated", "the API token is unknown or has expired")
        else:
            session = web.sessions.get(request.cookies.get(SESSION_COOKIE))
    except ServerBusy:
        busy = i18n.translator(lang)("Too many people are logged in right now; try again later.")
        raise Refused(503, "busy", busy) from None
    principal = (
        Principal(session.username, session.role)
        if session is not None and session.authenticated and session.archive is not None
        else NOBODY
    )
    req = Req(request, web, session, principal, lang, i18n.translator(lang), token is not None)
    request.state.req = req
    return req


async def requester(request: Request) -> Req:
    """The dependency every route takes: :func:`current`, called in the event loop when the
    body gate (:class:`sillok.web.bodies.BodyGate`) has looked the request's session up
    already, as it has for every request but a login form's: then nothing is read from the
    store, and a thread of the pool (a hand-over each way) would cost more than the work.
    Otherwise in a thread, as FastAPI runs a plain function."""
    cached: Req | None = getattr(request.state, "req", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    credential = token if token is not None else request.cookies.get(SESSION_COOKIE)
    looked = request.scope.get(LOOKED_UP)
    if looked is not None and looked[0] == credential:
        return current(request)
    return await run_in_threadpool(current, request)


async def csrf_guard(request: Request) -> None:
    """Refuse a state-changing request whose body the gate withheld (401, 413, 415; see
    :mod:`sillok.web.bodies`), or that carries neither an API token nor its session's CSRF
    token (403).

    A request with an API token carries no cookie a browser could send on its own, so it needs
    no CSRF token; everything else must show the token from the session's pages, in the header
    ``X-CSRF-Token`` or the form field ``csrf_token`` (an upload form's is checked as its body
    is read, before the file, by :func:`sillok.web.bodies.read_upload_form`).
    """
    if request.method not in UNSAFE_METHODS:
        return
    req = current(request)
    withheld = request.scope.get(WITHHELD)
    if withheld is not None:
        raise _withheld_refusal(req, *withheld)
    if req.via_token:
        return
    if is_api(request) and SESSION_COOKIE not in request.cookies:
        return  # no ambient credential to abuse: the route's own authentication decides
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.scope.get(UPLOAD_FORM):
        return  # checked in the body, before any file is written
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        # Bounded by the gate (a few KB for a login form, max_body_bytes for a user), and a
        # multipart form here is a login form's: every other one was refused or is an upload.
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not csrf_ok(req.session, token):
        raise csrf_refusal(req)


def csrf_refusal(req: Req) -> Refused:
    """The answer to a form without its session's CSRF token (403)."""
    return Refused(
        403,
        "csrf",
        req._("This form has expired or did not come from this site. Reload and try again."),
    )


def _withheld_refusal(req: Req, status: int, code: str, limit: int) -> Refused:
    if status == 401:
        return Refused(401, code, req._("Please log in first."))
    if status == 413:
        return Refused(413, code, req._("The request is larger than {n} bytes.", n=limit))
    return Refused(status, code, req._("A file is accepted only by an upload form."))
