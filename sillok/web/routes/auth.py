"""Logging in and out, in a browser (a session) and for programs (an API token)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from sillok.web.context import Refused, Req, requester, set_session_cookie
from sillok.web.logins import Login, ServerBusy, log_in
from sillok.web.sessions import SESSION_COOKIE, Session

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["authentication"])

ReqDep = Annotated[Req, Depends(requester)]


def _safe_next(target: str | None) -> str:
    # A path on this site only: "//host" and "/\\host" are other sites to a browser.
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/dashboard"


def _login(req: Req, username: str, passphrase: str, code: str | None) -> Login:
    """Let the user in, counting failures; :class:`Refused` (401, 429, or 503 when the server
    holds as many users' archives as it may)."""
    left = req.web.guard.locked(username)
    if left:
        minutes = math.ceil(left / 60)
        raise Refused(
            429,
            "locked",
            req._("Too many failed logins: try again in {minutes} minutes.", minutes=minutes),
        )
    req.web.sessions.sweep()  # expired sessions give their archives back first
    try:
        done = log_in(req.web, username, passphrase, code)
    except ServerBusy:
        raise Refused(
            503, "busy", req._("Too many people are logged in right now; try again later.")
        ) from None
    if done is None:
        req.web.guard.failed(username)
        raise Refused(401, "unauthenticated", req._("The user name or passphrase is wrong."))
    req.web.guard.succeeded(username)
    return done


def _session(req: Req, done: Login, kind: str = "browser") -> Session:
    return req.web.sessions.create(
        done.archive.user.name, done.archive.role, kind=kind, archive=done.archive, copy=done.copy
    )


@pages.get("/login")
def login_form(req: ReqDep, next: str | None = None, changed: bool = False) -> Response:
    """The login page."""
    req.ensure_session()
    return req.render("login.html", next=_safe_next(next), error=None, username="", changed=changed)


@pages.post("/login")
def login(
    req: ReqDep,
    username: Annotated[str, Form(max_length=100)],
    passphrase: Annotated[str, Form(max_length=1000)],
    code: Annotated[str | None, Form(max_length=10)] = None,
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """Check the passphrase; on success a new session replaces the old one."""
    try:
        done = _login(req, username, passphrase, code)
    except Refused as refused:
        return req.render(
            "login.html",
            status=refused.status,
            next=_safe_next(next),
            error=refused.message,
            username=username,
        )
    if req.session is not None:
        req.web.sessions.revoke(req.session.id)  # a new id at login: no session fixation
    req.session = _session(req, done)
    req.new_session = True
    return req.redirect(_safe_next(next))


@pages.post("/logout")
def logout(req: ReqDep) -> Response:
    """End the session."""
    if req.session is not None:
        req.web.sessions.revoke(req.session.id)
    response = req.redirect("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- API ------------------------------------------------------------------------------------


class TokenRequest(BaseModel):
    """A program's login."""

    username: str = Field(min_length=1, max_length=100)
    passphrase: str = Field(min_length=1, max_length=1000)
    code: str | None = Field(default=None, max_length=10, description="TOTP code, if required")


class TokenAnswer(BaseModel):
    """A new API token."""

    token: str
    role: str
    expires_after_idle_seconds: int


@api.post("/tokens", status_code=201, summary="Log in as a program: get an API token")
def create_token(req: ReqDep, body: TokenRequest) -> TokenAnswer:
    """Exchange a user name and passphrase for a bearer token (same checks and lockout)."""
    done = _login(req, body.username, body.passphrase, body.code)
    session = _session(req, done, kind="token")
    return TokenAnswer(
        token=session.id,
        role=done.archive.role,
        expires_after_idle_seconds=req.web.settings.token_idle_seconds,
    )


@api.delete("/tokens/current", status_code=204, summary="Revoke the token of this request")
def revoke_token(req: ReqDep, request: Request) -> Response:
    """End the token the request carries."""
    req.require("read")
    if req.session is not None:
        req.web.sessions.revoke(req.session.id)
    return Response(status_code=204)


@api.get("/me", summary="Who the request acts for")
def me(req: ReqDep) -> dict[str, Any]:
    """The user name and role of the caller."""
    if not req.principal.authenticated:
        raise Refused(401, "unauthenticated", "log in first (POST /api/tokens)")
    return {"username": req.principal.username, "role": req.principal.role}


__all__ = ["api", "pages", "set_session_cookie"]
