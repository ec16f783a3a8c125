"""Request bodies: none is read before its request is authenticated, each is bounded while it
streams, and an uploaded file goes only to the archive's private folder.

FastAPI reads a route's body (a form, JSON) *before* the route's dependencies run, so the
check that a request comes from someone logged in cannot live in a dependency alone: it is
:class:`BodyGate`, a pure ASGI middleware in front of the whole application. For every request
it

1. lets the server notice a change of ``keys.json`` first (:meth:`Web.notice_changes`), so a
   removed user's session is gone before anything else happens;
2. looks up the request's session or token (a cookie or a header: no body involved);
3. withholds the body of a request it refuses: from nobody logged in (except the login forms,
   :data:`LOGIN_ROUTES`), with a declared ``Content-Length`` over the bound, or a multipart
   form anywhere but the two upload pages. The application then sees an empty body without
   a content type, and :func:`sillok.web.context.csrf_guard`, the first dependency of every
   route, answers with the refusal (:data:`WITHHELD`: 401, 413 or 415); not a byte of the
   body was received;
4. bounds every other body while it streams (413 past the bound): the login forms to
   :data:`LOGIN_BODY_BYTES`, imports to ``max_upload_bytes``, evidence files to
   ``max_evidence_bytes``, everything else to ``max_body_bytes``.

Multipart forms are refused elsewhere because Starlette spools a file part over 1 MiB to the
system's temporary folder; the two upload pages read theirs with :func:`read_upload_form`,
straight into the archive's private folder, after checking the form's CSRF token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from fastapi import HTTPException, Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sillok.errors import InvalidInput
from sillok.web.context import (
    LOGIN_ROUTES,
    LOOKED_UP,
    UNSAFE_METHODS,
    UPLOAD_FORM,
    WITHHELD,
    Req,
    Web,
    csrf_refusal,
)
from sillok.web.evidence import Limited, discard, private_path
from sillok.web.logins import ServerBusy
from sillok.web.sessions import SESSION_COOKIE, csrf_ok

#: the largest body of a login form: a name, a passphrase, a code, a CSRF token and an address
LOGIN_BODY_BYTES = 8 * 1024
#: room for a multipart form's boundaries, headers and small fields around its file
FORM_OVERHEAD_BYTES = 64 * 1024
_IMPORTS = re.compile(r"^(/api/imports|/import)$")
_EVIDENCE = re.compile(r"^(/api)?/records/[a-z]+/[0-9]+/attachments$")
#: the pages whose form holds a file, read by :func:`read_upload_form`
UPLOAD_PAGES = re.compile(r"^(/import|/records/[a-z]+/[0-9]+/attachments)$")
_BODY_HEADERS = frozenset({b"content-type", b"content-length", b"transfer-encoding"})
_FIELD_BYTES = 4 * 1024
_FIELDS = 16


def body_limit(web: Web, method: str, path: str) -> int:
    """The most bytes a request's body may hold."""
    settings = web.settings
    if (method, path) in LOGIN_ROUTES:
        return LOGIN_BODY_BYTES
    if _IMPORTS.match(path):
        return settings.max_upload_bytes + FORM_OVERHEAD_BYTES
    if _EVIDENCE.match(path):
        return settings.max_evidence_bytes + FORM_OVERHEAD_BYTES
    return settings.max_body_bytes


def _withheld(scope: Scope, refusal: tuple[int, str, int]) -> tuple[Scope, Receive]:
    """The scope and ``receive`` of a request whose body is not read: an empty body without a
    content type, then nothing (a response's disconnect listener waits until it is done)."""
    headers: Iterable[tuple[bytes, bytes]] = scope["headers"]
    scope = {
        **scope,
        "headers": [(k, v) for k, v in headers if k.lower() not in _BODY_HEADERS],
        WITHHELD: refusal,
    }
    given = False

    async def receive() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.Event().wait()  # never set: cancelled with the response
        raise AssertionError("unreachable")

    return scope, receive


class TooLarge(HTTPException):
    """A body that passed its bound while it streamed (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"larger than {limit} bytes")
        self.limit = limit


def _bounded(receive: Receive, limit: int) -> Receive:
    """``receive``, refusing (:class:`TooLarge`) once the body passes ``limit`` bytes."""
    seen = 0

    async def bounded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge(limit)
        return message

    return bounded


class BodyGate:
    """Pure ASGI middleware: authentication before bodies, and bounds on them (see above)."""

    def __init__(self, app: ASGIApp, web: Web) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        web = self.web
        if web.copies.stale():
            await run_in_threadpool(web.notice_changes)
        route = (scope["method"], scope["path"])
        limit = body_limit(web, *route)
        if route[0] in ("GET", "HEAD") and route[1].startswith("/static/"):
            # A stylesheet or script is everyone's: no session to look up for it (a page
            # fetches two, each a read of the sessions table before).
            await self.app(scope, _bounded(receive, limit), send)
            return
        connection = HTTPConnection(scope)
        content_type = connection.headers.get("content-type", "")
        declared = connection.headers.get("content-length", "")
        refusal: tuple[int, str, int] | None = None
        if route not in LOGIN_ROUTES and not self._authenticated(connection, scope):
            refusal = (401, "unauthenticated", limit)
        elif declared.isdigit() and int(declared) > limit:
            refusal = (413, "too_large", limit)
        elif content_type.startswith("multipart/form-data") and route not in LOGIN_ROUTES:
            if UPLOAD_PAGES.match(route[1]):
                scope[UPLOAD_FORM] = True
            else:
                refusal = (415, "unsupported_media_type", limit)
        has_body = declared not in ("", "0") or "transfer-encoding" in connection.headers
        if refusal is not None and (has_body or route[0] in UNSAFE_METHODS):
            scope, receive = _withheld(scope, refusal)
        else:
            receive = _bounded(receive, limit)
        await self.app(scope, receive, send)

    def _authenticated(self, connection: HTTPConnection, scope: Scope) -> bool:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        credential = token.strip() if scheme.lower() == "bearer" and token.strip() else None
        try:
            if credential is not None:
                session = self.web.sessions.get(credential)
                if session is not None and session.kind != "token":
                    return False
            else:
                credential = connection.cookies.get(SESSION_COOKIE)
                session = self.web.sessions.get(credential)
        except ServerBusy:
            return False
        # The route's lookup (sillok.web.context.current) takes it from here: one read of the
        # session's row per request.
        scope[LOOKED_UP] = (credential, session)
        return session is not None and session.authenticated and session.archive is not None


@dataclass
class Upload:
    """A file received from an upload form, waiting in the archive's private folder."""

    path: Path
    filename: str
    fields: dict[str, str] = field(default_factory=dict)


class _UploadForm:
    """The callbacks of a streaming multipart parser: small fields kept, one file written."""

    def __init__(self, req: Req, limit: int) -> None:
        self.req, self.limit = req, limit
        self.fields: dict[str, str] = {}
        self.upload: Upload | None = None
        self.out: Limited | None = None
        self.ended = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._name, self._value = b"", b""
        self._field: tuple[str, bytearray] | None = None
        self._in_file = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._add("_name", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _add(self, which: str, data: bytes) -> None:
        value = getattr(self, which) + data
        if len(value) > _FIELD_BYTES:
            raise InvalidInput("a form header is too long")
        setattr(self, which, value)

    def _part_begin(self) -> None:
        self._headers, self._field, self._in_file = [], None, False

    def _header_end(self) -> None:
        self._headers.append((self._name.lower(), self._value))
        self._name, self._value = b"", b""

    def _headers_finished(self) -> None:
        disposition = dict(self._headers).get(b"content-disposition", b"")
        _kind, options = parse_options_header(disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            if len(self.fields) >= _FIELDS:
                raise InvalidInput("the form has too many fields")
            self._field = (name, bytearray())
            return
        if self.upload is not None:
            raise InvalidInput("one file at a time")
        # The token must come before the file (it does in every form of this site): nothing
        # is written for a form that did not come from one of its pages.
        if not csrf_ok(self.req.session, self.fields.get("csrf_token")):
            raise csrf_refusal(self.req)
        filename = options[b"filename"].decode("utf-8", "replace")
        path = private_path(self.req.archive, filename)
        self.out = Limited(path, self.limit)
        self.upload = Upload(path, filename, self.fields)
        self._in_file = True

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file and self.out is not None:
            self.out.write(data[start:end])
        elif self._field is not None:
            self._field[1].extend(data[start:end])
            if len(self._field[1]) > _FIELD_BYTES:
                raise InvalidInput(f"{self._field[0]}: the field is too long")

    def _part_end(self) -> None:
        if self._field is not None:
            name, value = self._field
            self.fields[name] = value.decode("utf-8", "replace")
        self._field, self._in_file = None, False

    def _end(self) -> None:
        self.ended = True


async def read_upload_form(req: Req, request: Request, limit: int) -> Upload:
    """The file of an upload form, written as it arrives to a new file in the archive's
    private folder (never to the system's temporary folder), at most ``limit`` bytes.

    Raises:
        Refused: the form's CSRF token is missing or wrong (403); nothing was written.
        InvalidInput: no file, an empty or malformed form, or a file over ``limit`` (the
            partial file is overwritten and removed).
    """
    _kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidInput("the form has no multipart boundary")
    form = _UploadForm(req, limit)
    parser = MultipartParser(boundary, form.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        _drop(form)
        raise InvalidInput("the form could not be read") from None
    except BaseException:
        _drop(form)
        raise
    finally:
        if form.out is not None:
            form.out.close()
    if form.upload is None or not form.ended:
        _drop(form)
        raise InvalidInput("the form holds no file")
    if form.out is not None and form.out.size == 0:
        _drop(form)
        raise InvalidInput("the file is empty")
    return form.upload


def _drop(form: _UploadForm) -> None:
    if form.upload is not None:
        discard(form.upload.path)
