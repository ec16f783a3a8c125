"""The user's own account: change the passphrase, turn the second factor on or off."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from sillok.errors import InvalidInput, WrongPassphrase
from sillok.web.context import Refused, Req, current

pages = APIRouter(include_in_schema=False)

ReqDep = Annotated[Req, Depends(current)]
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
        return _render(req, 422, error=str(exc))
    req.web.sessions.revoke_user(name)
    req.session = None
    return req.redirect("/login?changed=1")


@pages.post("/account/totp/start")
def totp_start(req: ReqDep) -> Response:
    """Make a secret for the user's authenticator app (not active until confirmed)."""
    _me(req)
    assert req.session is not None
    req.session.pending[PENDING_TOTP] = req.web.totp.new_secret()
    return _render(req)


@pages.post("/account/totp/confirm")
def totp_confirm(req: ReqDep, code: Annotated[str, Form(max_length=10)]) -> Response:
    """Turn the second factor on with a code from the app."""
    _me(req)
    assert req.session is not None
    secret = req.session.pending.get(PENDING_TOTP)
    if not isinstance(secret, str):
        return _render(req, 422, error=req._("Start again: no secret is waiting."))
    if not req.web.totp.enroll(req.archive, secret, code):
        return _render(req, 422, error=req._("That code is not right; try the next one."))
    req.session.pending.pop(PENDING_TOTP, None)
    return _render(req, message=req._("The second factor is on."))


@pages.post("/account/totp/remove")
def totp_remove(req: ReqDep) -> Response:
    """Turn the second factor off."""
    name = _me(req)
    req.web.totp.remove(name)
    return _render(req, message=req._("The second factor is off."))
