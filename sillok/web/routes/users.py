"""The archive's users, for an administrator: who may open the archive, in which role; add a
user with their own passphrase, remove one (their key copy is deleted and their sessions end).

Everything goes through :class:`sillok.custody.users.Users` on the administrator's own archive,
which
checks the policy's ``users`` action again and audits each change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query
from fastapi.responses import Response

from sillok.errors import InvalidInput
from sillok.security.policy import ROLES
from sillok.web.context import Req, requester
from sillok.web.i18n import said

pages = APIRouter(include_in_schema=False)

ReqDep = Annotated[Req, Depends(requester)]
UserName = Annotated[str, Path(min_length=1, max_length=100)]


#: the role the "add a user" form offers first: the one that may do least
LEAST_ROLE = "viewer"


def _render(req: Req, status: int = 200, message: str | None = None,
            error: str | None = None, typed: dict[str, str] | None = None,
            confirm: str | None = None) -> Response:
    return req.render(
        "users.html",
        status=status,
        users=req.archive.users.list(),
        roles=list(ROLES),
        message=message,
        error=error,
        typed={"role": LEAST_ROLE, **(typed or {})},
        confirm=confirm,
    )


@pages.get("/users")
def users_page(req: ReqDep, restore: Annotated[str, Query(max_length=100)] = "") -> Response:
    """The users and a form to add one (``?restore=NAME``: filled in to bring back a
    removed user, who needs a new passphrase, their old copy of the keys being gone)."""
    req.require("users")
    typed = None
    if restore:
        removed = {u["name"]: u["role"] for u in req.archive.users.list() if not u["active"]}
        if restore in removed:
            typed = {"name": restore, "role": removed[restore]}
    return _render(req, typed=typed)


@pages.post("/users/{name}/role")
def change_role(
    req: ReqDep,
    name: UserName,
    role: Annotated[str, Form(max_length=40)],
    passphrase: Annotated[str, Form(max_length=1000)],
    repeat: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Give a user another role: the library makes their key copy anew for it, with the
    passphrase typed for them, and audits it; their sessions end."""
    req.require("users")
    if name == req.principal.username:
        return _render(req, 422, error=req._("You cannot change your own role."))
    if passphrase != repeat:
        return _render(req, 422, error=req._("The two passphrases differ."))
    try:
        change = req.archive.users.set_role(name, role, passphrase)
    except InvalidInput as exc:
        return _render(req, 422, error=str(exc))
    req.web.sessions.revoke_user(name)
    message = req._("{name} now has the role {role}.", name=name, role=req._(role))
    if change.rotate:
        message += " " + req._(
            "Their old role held keys the new one does not: rotate the keys (sillok keys"
            " rotate) if they may have kept a copy of their old one."
        )
    return _render(req, message=message)


@pages.post("/users")
def add_user(
    req: ReqDep,
    name: Annotated[str, Form(max_length=100)],
    role: Annotated[str, Form(max_length=40)],
    passphrase: Annotated[str, Form(max_length=1000)],
    repeat: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Add a user (or bring back a removed one) with the passphrase typed for them."""
    req.require("users")
    typed = {"name": name, "role": role}
    if passphrase != repeat:
        return _render(req, 422, error=req._("The two passphrases differ."), typed=typed)
    try:
        req.archive.users.add(name.strip(), role, passphrase)
    except InvalidInput as exc:
        return _render(req, 422, error=said(exc), typed=typed)
    return _render(req, message=req._("User {name} added.", name=name.strip()))


@pages.post("/users/{name}/remove")
def remove_user(
    req: ReqDep, name: UserName, confirmed: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    """Remove a user: their key copy goes, their row stays (inactive), their sessions end.

    Asked first: without ``confirmed``, the page asks whether to remove them (and changes
    nothing); the question's own button sends ``confirmed``.
    """
    req.require("users")
    if name == req.principal.username:
        return _render(req, 422, error=req._("You cannot remove yourself."))
    if confirmed != "yes":
        if name not in {u["name"] for u in req.archive.users.list() if u["active"]}:
            return _render(req, 404, error=req._("There is no user {name}.", name=name))
        return _render(req, confirm=name)
    try:
        req.archive.users.remove(name)
    except InvalidInput as exc:
        return _render(req, 422, error=said(exc))
    req.web.sessions.revoke_user(name)
    return _render(req, message=req._("User {name} removed.", name=name))
