"""The user's own account: change the passphrase, turn the second factor on or off.

Turning the second factor off needs the passphrase and a current code (a session left open
on a shared computer must not be enough to strip it), counts failures like a login, and is
audited, as turning it on is (``user_passwd``, with ``second_factor`` in the detail).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from sillok.errors import InvalidInput, WrongPassphrase
from sillok.web.context import Refused, Req, requester
from sillok.web.i18n import said
from sillok.web.logins import passphrase_ok

pages = APIRouter(include_in_schema=False)

ReqDep = Annotated[Req, Depends(requester)]
PENDING_TOTP = "totp"


def _me(req: Req) -> str:
    if not req.principal.authenticated or req.principal.username is None:
        raise Refused(401, "unauthenticated", req._("Please log in first."))
    return req.principal.username


def _render(req: Req, status: int = 200, message: str | None = None, error: str | None = None):
    name = _me(req)
    secret = req.session.pending.get(PENDING_TOTP) if req.session else None
    return req.render(
        "account.html",
        status=status,
        enrolled=req.web.totp.enrolled(name),
        secret=secret,
        uri=req.web.totp.provisioning_uri(name, secret) if secret else None,
        message=message,
        error=error,
    )


@pages.get("/account")
def account(req: ReqDep) -> Response:
    """The account page."""
    _me(req)
    return _render(req)


@pages.post("/account/passphrase")
def change_passphrase(
    req: ReqDep,
    current_passphrase: Annotated[str, Form(max_length=1000)],
    new_passphrase: Annotated[str, Form(max_length=1000)],
    repeat: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Change one's passphrase; every session of the user ends, this one included."""
    name = _me(req)
    if new_passphrase != repeat:
        return _render(req, 422, error=req._("The two new passphrases differ."))
    try:
        req.archive.users.passwd(name, new_passphrase, current_passphrase)
    except WrongPassphrase:
        return _render(req, 422, error=req._("The current passphrase is not right."))
    except InvalidInput as exc:
        return _render(req, 422, error=said(exc))
    req.web.sessions.revoke_user(name)
    req.session = None
    return req.redirect("/login?changed=1")


@pages.post("/account/totp/start")
def totp_start(req: ReqDep) -> Response:
    """Make a secret for the user's authenticator app (not active until confirmed)."""
    name = _me(req)
    assert req.session is not None
    if req.web.totp.enrolled(name):
        # A new secret replaces the old one only after the old one is turned off (which
        # needs the passphrase and a code): no reset with the session alone.
        return _render(req, 422, error=req._("Turn the second factor off first."))
    req.session.pending[PENDING_TOTP] = req.web.totp.new_secret()
    return _render(req)


@pages.post("/account/totp/confirm")
def totp_confirm(req: ReqDep, code: Annotated[str, Form(max_length=10)]) -> Response:
    """Turn the second factor on with a code from the app."""
    name = _me(req)
    assert req.session is not None
    secret = req.session.pending.get(PENDING_TOTP)
    if not isinstance(secret, str) or req.web.totp.enrolled(name):
        return _render(req, 422, error=req._("Start again: no secret is waiting."))
    if not req.web.totp.enroll(name, req.archive.keys, secret, code):
        return _render(req, 422, error=req._("That code is not right; try the next one."))
    req.session.pending.pop(PENDING_TOTP, None)
    req.archive.audit.record("user_passwd", detail={"user": name, "second_factor": "on"})
    return _render(req, message=req._("The second factor is on."))


@pages.post("/account/totp/remove")
def totp_remove(
    req: ReqDep,
    passphrase: Annotated[str, Form(max_length=1000)] = "",
    code: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Turn the second factor off: with the passphrase and a current code."""
    name = _me(req)
    if not req.web.totp.enrolled(name):
        return _render(req)
    if req.web.guard.locked(name):
        return _render(req, 429, error=req._("Too many failed attempts: try again later."))
    if not (
        passphrase_ok(req.web, name, passphrase)
        and req.web.totp.verify(name, req.archive.keys, code)
    ):
        req.web.guard.failed(name)
        req.archive.audit.record(
            "login_failed", detail={"user": name, "second_factor_removal": True}
        )
        message = req._("The passphrase or the code is not right: the second factor stays on.")
        return _render(req, 422, error=message)
    req.web.guard.succeeded(name)
    req.web.totp.remove(name)
    req.archive.audit.record("user_passwd", detail={"user": name, "second_factor": "off"})
    return _render(req, message=req._("The second factor is off."))
