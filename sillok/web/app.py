"""The web application: ``create_app(archive_folder, settings)`` builds it.

Pages are rendered on the server (Jinja2, autoescaped) and work without JavaScript; the HTTP
API under ``/api/`` serves the same data as JSON from the same service calls, with token
authentication and errors shaped ``{"error": {"code": ..., "message": ...}}``. Every response
carries a strict Content-Security-Policy (no inline script or style, nothing from elsewhere).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sillok import __version__
from sillok.archive import Archive
from sillok.errors import ArchiveError, InvalidInput, NotFound, SillokError
from sillok.folder import wiped_at
from sillok.messages import Message as Said
from sillok.records.statements import PublishRightNeeded
from sillok.security.keys import ArchiveKeys
from sillok.security.sessions import SessionTable
from sillok.web import i18n
from sillok.web.access import NOBODY
from sillok.web.bodies import BodyGate, TooLarge
from sillok.web.caches import ArchiveCache
from sillok.web.context import Refused, Web, csrf_guard, current, is_api
from sillok.web.evidence import FileTooLarge
from sillok.web.logins import KeyCopies, OpenArchives, resume
from sillok.web.routes import ROUTERS, downloads
from sillok.web.sessions import LoginGuard, Session, SessionStore
from sillok.web.settings import WebSettings
from sillok.web.totp import TotpStore

log = logging.getLogger("sillok.web")

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
#: sent over https, and with --secure-cookies (a TLS proxy in front): browsers then refuse
#: plain http to the site for a year (RFC 6797)
HSTS = "max-age=31536000"
#: the API operations anyone may call: published statements, and logging in
PUBLIC_OPERATIONS = frozenset(
    {
        ("GET", "/api/statements"),
        ("GET", "/api/statements/{statement_id}"),
        ("POST", "/api/tokens"),
    }
)
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "wiped",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "locked",
    503: "busy",
}


def _templates() -> Environment:
    folder = Path(str(resources.files("sillok.web").joinpath("templates")))
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html", "svg", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates are read once per process: no stat of each template file at each page
        # (Jinja's default checks whether the file changed every time it is asked for).
        auto_reload=False,
    )
    return env


def create_app(archive_folder: Path, settings: WebSettings | None = None) -> FastAPI:
    """The application serving the archive in ``archive_folder``.

    The archive is unlocked once, with ``settings.passphrase``; users log in with their own.

    Raises:
        ArchiveError: when the archive cannot be opened (a wrong passphrase included).
    """
    settings = settings or WebSettings()
    folder = Path(archive_folder)
    archive = Archive.open(folder, settings.passphrase, settings.archive)
    logins = OpenArchives(settings.max_open_archives)
    # Sessions and failed logins are rows in the archive's database, shared by every worker
    # (the store is asked for at each use: the server's archive is reopened after a rotation).
    table = SessionTable(lambda: web.archive.vault.store)

    def reopen(session: Session, keys: ArchiveKeys) -> Archive | None:
        return resume(web, session.username or "", session.role or "", session.copy or "", keys)

    web = Web(
        folder=folder,
        own_archive=archive,
        settings=settings,
        sessions=SessionStore(
            settings.clock,
            settings.session_idle_seconds,
            settings.session_max_seconds,
            settings.token_idle_seconds,
            table,
            reopen,
            release=logins.release,
        ),
        guard=LoginGuard(
            settings.clock, settings.max_failed_logins, settings.lockout_seconds, table
        ),
        templates=_templates(),
        cache=ArchiveCache(),
        totp=TotpStore(folder, table.claim_totp_step),
        logins=logins,
        copies=KeyCopies(folder),
    )
    app = FastAPI(
        title="Sillok",
        version=__version__,
        description="Document who did what to whom, when, where, according to whom.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    app.state.web = web
    app.router.on_shutdown.append(web.close)
    _add_handlers(app)
    app.add_middleware(BodyGate, web=web)
    app.add_middleware(WipedGate, web=web)
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    static = Path(str(resources.files("sillok.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.include_router(downloads.pages)  # before the pages, whose /{id} would take "7.pdf"
    for router in ROUTERS:
        app.include_router(router)
    _add_security_scheme(app)
    return app


@dataclass(frozen=True)
class AppFactory:
    """What a worker process of ``sillok serve --workers N`` builds its application with.

    uvicorn hands it to each worker pickled, through the pipe ``multiprocessing`` opens to
    the child (the "spawn" start method): the settings, the operator's passphrase among them,
    never appear on a command line, in the environment or in a file. Each worker then opens
    the archive itself (:func:`create_app`).
    """

    folder: Path
    settings: WebSettings

    def __call__(self) -> FastAPI:
        """The application of one worker."""
        return create_app(self.folder, self.settings)


class SecurityHeaders:
    """Pure ASGI middleware: the security headers on every response, ``no-store`` on all
    but static files (pages hold what a role may see: no shared or browser cache may keep
    them), and ``Strict-Transport-Security`` over https or, with ``hsts`` (``--secure-cookies``:
    a TLS proxy in front), always. Plain ASGI rather than ``BaseHTTPMiddleware``, which costs
    a task per request."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")
        hsts = self.hsts or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _v in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                if not static and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                if hsts:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WipedGate:
    """Pure ASGI middleware: once the archive's folder says it was wiped (``sillok wipe``, the
    ``WIPED`` marker: one ``stat`` per request until then), the server lets go of it
    (:meth:`Web.forget_wiped`: sessions ended, archives and database closed, keys dropped)
    and answers every request but a static file 410 Gone, a page or the API's JSON error,
    before any session is looked up or any body read."""

    def __init__(self, app: ASGIApp, web: Web) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        web = self.web
        when = web.wiped or (wiped_at(web.folder) if scope["type"] == "http" else None)
        if when is None or scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        if web.wiped is None:
            await run_in_threadpool(web.forget_wiped, when)
        await _gone(web, scope, when)(scope, receive, send)


def _gone(web: Web, scope: Scope, when: str) -> Response:
    """The answer to every request once the archive was wiped (410)."""
    connection = HTTPConnection(scope)
    lang = i18n.choose(
        connection.cookies.get(i18n.LANG_COOKIE), connection.headers.get("accept-language")
    )
    _ = i18n.translator(lang)
    message = _("This archive was wiped at {when}. It is no longer served.", when=when)
    if scope["path"] == "/api" or scope["path"].startswith("/api/"):
        return JSONResponse({"error": {"code": "wiped", "message": message}}, status_code=410)
    html = web.templates.get_template("error.html").render(
        _=_,
        lang=lang,
        languages=i18n.LANGUAGE_NAMES,
        principal=NOBODY,
        may=lambda action, kind=None: False,
        csrf="",
        path=scope["path"],
        here="/",
        status_code=410,
        code="wiped",
        message=message,
    )
    return HTMLResponse(html, status_code=410)


def _error(request: Request, status: int, code: str, message: str) -> Response:
    if is_api(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    try:
        req = current(request)
    except Refused:
        # An unknown token on a page: answer in the default language, as nobody.
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    if status == 401 and request.method == "GET":
        return req.redirect(f"/login?next={req.request.url.path}", status=303)
    return req.render("error.html", status=status, status_code=status, code=code, message=message)


def _said(exc: Exception) -> str:
    """An error's message; a library :class:`~sillok.messages.Message` stays one, so the page
    says it in its language."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, Said) and len(exc.args) == 1 else str(exc)


def _add_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return _error(request, exc.status, exc.code, exc.message)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, "not_found", _said(exc))

    @app.exception_handler(PublishRightNeeded)
    async def not_publisher(request: Request, exc: PublishRightNeeded) -> Response:
        # The library's refusal, whichever route asked: the role lacks a right (403), the
        # input was not wrong.
        return _error(request, 403, "forbidden", _said(exc))

    @app.exception_handler(FileTooLarge)
    async def file_too_large(request: Request, exc: FileTooLarge) -> Response:
        return _error(request, 413, "too_large", _said(exc))

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> Response:
        return _error(request, 422, "invalid_input", _said(exc))

    @app.exception_handler(ArchiveError)
    async def archive_error(request: Request, exc: ArchiveError) -> Response:
        log.error("archive error: %s", exc.__class__.__name__)
        return _error(request, 503, "archive_unavailable", _said(exc))

    @app.exception_handler(SillokError)
    async def sillok_error(request: Request, exc: SillokError) -> Response:
        return _error(request, 400, "bad_request", _said(exc))

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if is_api(request):
            return _error(request, 422, "invalid_input", _describe(errors))
        # A page never shows the framework's own words (review item 17): a wrong part of
        # the address is a page that does not exist; a wrong parameter is named by its label.
        try:
            _ = current(request)._
        except Refused:
            _ = i18n.translator(i18n.DEFAULT_LANGUAGE)
        wrong_path = any(error.get("loc", ("",))[0] == "path" for error in errors)
        if wrong_path and request.method in ("GET", "HEAD"):
            return _error(request, 404, "not_found", _("There is no page at this address."))
        return _error(request, 422, "invalid_input", _in_words(errors, _))

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> Response:
        message = "The request is larger than {n} bytes."
        try:
            message = current(request)._(message, n=exc.limit)
        except Refused:
            message = message.format(n=exc.limit)
        return _error(request, 413, "too_large", message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return _error(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # Never echo the exception: its text may hold a value the caller may not see.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(request, 500, "internal", "something went wrong on the server")


#: page parameters by the words a page names them with
_PARAMETER_WORDS = {"page": "Page number", "kind": "Kind", "status": "Status"}


def _in_words(errors: list[Any], _: Any) -> str:
    """Bad parameters of a page, by their labels in the page's language, each value quoted."""
    parts = []
    for error in errors[:5]:
        name = str(error.get("loc", ("", ""))[-1])
        value = error.get("input")
        shown = "" if value is None or isinstance(value, dict) else str(value)[:80]
        parts.append(
            _(
                "{field}: '{value}' is not a value this page understands.",
                field=_(_PARAMETER_WORDS.get(name, name)),
                value=shown,
            )
        )
    return " ".join(parts) or _("Something in the address is not right.")


def _describe(errors: Any) -> str:
    parts = []
    for error in list(errors)[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid input"


def _add_security_scheme(app: FastAPI) -> None:
    """Declare the bearer token in the OpenAPI document (tools then know how to log in)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["token"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from POST /api/tokens",
        }
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                public = (method.upper(), path) in PUBLIC_OPERATIONS
                operation["security"] = [] if public else [{"token": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["AppFactory", "create_app", "WebSettings", "i18n"]
