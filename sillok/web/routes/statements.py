"""Writing statements and news (staff side): write, edit, translate, sign, relate, publish.

The public side (the list and each published item) is in :mod:`sillok.web.routes.public`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from sillok.errors import InvalidInput
from sillok.messages import Message, no_such
from sillok.records.signatories import SignatoryName, signatory_lines
from sillok.records.statements import (
    LANGUAGES,
    STATEMENT_KINDS,
    PublishRightNeeded,
    Statement,
)
from sillok.web.context import Refused, Req, requester
from sillok.web.i18n import local_error, said
from sillok.web.views import history_view

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["statements"])

ReqDep = Annotated[Req, Depends(requester)]
StatementId = Annotated[int, Path(ge=1, le=2**40 - 1)]
_FIELD = re.compile(r"^(\w+): ")


def _event_ids(text: str) -> list[int]:
    ids = []
    for part in re.split(r"[\s,;]+", text.strip()):
        if not part:
            continue
        if not part.lstrip("#").isdigit():
            raise InvalidInput(f"events: {part!r} is not an event number")
        ids.append(int(part.lstrip("#")))
    return ids


def _names(text: str) -> list[SignatoryName]:
    """The form's signatories, one a line: an organization's name, or ``person: NAME``."""
    return signatory_lines(text)


def _form_error(exc: InvalidInput) -> dict[str, str]:
    message = said(exc)
    if isinstance(message, Message):
        field, problem = message.split_field()
        if field is not None:
            return {field: problem}
    m = _FIELD.match(message)
    return {m[1] if m else "form": message}


def _render_form(
    req: Req, values: dict[str, str], errors: dict[str, str], item: Statement | None, mode: str
) -> Response:
    return req.render(
        "statement_form.html",
        status=422 if errors else 200,
        values=values,
        errors={k: local_error(v, req.lang) for k, v in errors.items()},
        item=item,
        mode=mode,
        kinds=STATEMENT_KINDS,
        languages_allowed=LANGUAGES,
    )


def _values_of(item: Statement) -> dict[str, str]:
    return {
        "kind": item.kind,
        "language": item.language,
        "title": item.title,
        "body": item.body,
        "date": item.date or "",
        "signed": item.signed or "",
        "member": item.member.name if item.member else "",
        # a person protected since signing is left out: saving the form takes them off
        "signatories": "\n".join(s.line for s in item.public_signatories),
        "events": " ".join(str(e.id) for e in item.events),
    }


@pages.get("/statements")
def staff_list(req: ReqDep, page: int = 1) -> Response:
    """Every statement, drafts included, newest first."""
    req.require("statement.write")
    size = req.web.settings.page_size
    page = max(1, min(page, 10_000))
    listing = req.statements.page(published_only=False, offset=(page - 1) * size, limit=size)
    return req.render("statements.html", listing=listing, page=page)


@pages.get("/statements/new")
def new_form(req: ReqDep) -> Response:
    """A blank statement."""
    req.require("statement.write")
    return _render_form(req, {"kind": "statement", "language": req.lang}, {}, None, "new")


@pages.post("/statements/new")
def create(
    req: ReqDep,
    title: Annotated[str, Form(max_length=400)] = "",
    body: Annotated[str, Form(max_length=200_000)] = "",
    language: Annotated[str, Form(max_length=5)] = "ko",
    kind: Annotated[str, Form(max_length=20)] = "statement",
    date: Annotated[str, Form(max_length=64)] = "",
    signed: Annotated[str, Form(max_length=64)] = "",
    member: Annotated[str, Form(max_length=300)] = "",
    signatories: Annotated[str, Form(max_length=20_000)] = "",
    events: Annotated[str, Form(max_length=5_000)] = "",
) -> Response:
    """Write a statement with its signatories and events (unpublished)."""
    req.require("statement.write")
    values = dict(
        title=title,
        body=body,
        language=language,
        kind=kind,
        date=date,
        signed=signed,
        member=member,
        signatories=signatories,
        events=events,
    )
    service, actor = req.statements, req.principal.actor
    try:
        # everything is checked before anything is written: a refused form writes nothing
        event_ids = _event_ids(events)
        names = _names(signatories)
        service.check(
            title,
            body,
            language,
            kind,
            date or None,
            event_ids,
            signed or None,
            member or None,
            signatories=names,
        )
    except InvalidInput as exc:
        return _render_form(req, values, _form_error(exc), None, "new")
    item = service.write(
        title, body, language, kind, date or None, actor, member=member or None, signed=signed
    )
    service.set_signatories(item.id, names, actor)
    service.set_events(item.id, event_ids, actor)
    return req.redirect(f"/statements/{item.id}")


@pages.get("/statements/{statement_id}")
def staff_item(req: ReqDep, statement_id: StatementId) -> Response:
    """A statement as staff see it: status, text, signatories, events, translations."""
    req.require("statement.write")
    item = req.statements.get(statement_id)
    translations = req.statements.translations(statement_id)
    return req.render("statement_staff.html", item=item, translations=translations)


@pages.get("/statements/{statement_id}/edit")
def edit_form(req: ReqDep, statement_id: StatementId) -> Response:
    """The statement's form, filled in."""
    req.require("statement.write")
    item = req.statements.get(statement_id)
    return _render_form(req, _values_of(item), {}, item, "edit")


@pages.post("/statements/{statement_id}/edit")
def edit(
    req: ReqDep,
    statement_id: StatementId,
    title: Annotated[str, Form(max_length=400)] = "",
    body: Annotated[str, Form(max_length=200_000)] = "",
    kind: Annotated[str, Form(max_length=20)] = "statement",
    date: Annotated[str, Form(max_length=64)] = "",
    signed: Annotated[str, Form(max_length=64)] = "",
    member: Annotated[str, Form(max_length=300)] = "",
    signatories: Annotated[str, Form(max_length=20_000)] = "",
    events: Annotated[str, Form(max_length=5_000)] = "",
) -> Response:
    """Save a new version of the statement."""
    req.require("statement.write")
    service, actor = req.statements, req.principal.actor
    item = service.get(statement_id)
    values = {
        **_values_of(item),
        "title": title,
        "body": body,
        "kind": kind,
        "date": date,
        "signed": signed,
        "member": member,
        "signatories": signatories,
        "events": events,
    }
    try:
        # everything is checked before anything is written: a refused form writes nothing
        event_ids = _event_ids(events)
        names = _names(signatories)
        service.check(
            title=title,
            body=body,
            kind=kind,
            date=date,
            event_ids=event_ids,
            signed=signed,
            member=member,
            signatories=names,
        )
        service.edit(
            statement_id,
            title=title,
            body=body,
            date=date,
            kind=kind,
            actor=actor,
            signed=signed,
            member=member,
        )
        service.set_signatories(statement_id, names, actor)
        service.set_events(statement_id, event_ids, actor)
    except PublishRightNeeded:
        raise  # a refusal (403), not a field to correct
    except InvalidInput as exc:
        return _render_form(req, values, _form_error(exc), item, "edit")
    return req.redirect(f"/statements/{statement_id}")


@pages.get("/statements/{statement_id}/translate")
def translate_form(req: ReqDep, statement_id: StatementId) -> Response:
    """A form for a translation of the statement."""
    req.require("statement.write")
    item = req.statements.get(statement_id)
    other = "en" if item.language == "ko" else "ko"
    values = {"language": other, "kind": item.kind, "date": item.date or ""}
    return _render_form(req, values, {}, item, "translate")


@pages.post("/statements/{statement_id}/translate")
def translate(
    req: ReqDep,
    statement_id: StatementId,
    language: Annotated[str, Form(max_length=5)],
    title: Annotated[str, Form(max_length=400)] = "",
    body: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """Save a translation (unpublished, with the original's signatories and events)."""
    req.require("statement.write")
    item = req.statements.get(statement_id)
    try:
        created = req.statements.translate(statement_id, language, title, body, req.principal.actor)
    except InvalidInput as exc:
        values = {"language": language, "title": title, "body": body, "kind": item.kind}
        return _render_form(req, values, _form_error(exc), item, "translate")
    return req.redirect(f"/statements/{created.id}")


@pages.post("/statements/{statement_id}/publish")
def publish(req: ReqDep, statement_id: StatementId) -> Response:
    """Publish: from now on anyone can read it."""
    req.require("statement.publish")
    req.statements.publish(statement_id, req.principal.actor)
    return req.redirect(f"/statements/{statement_id}")


@pages.post("/statements/{statement_id}/withdraw")
def withdraw(req: ReqDep, statement_id: StatementId) -> Response:
    """Take a statement off the public side."""
    req.require("statement.publish")
    req.statements.withdraw(statement_id, req.principal.actor)
    return req.redirect(f"/statements/{statement_id}")


@pages.get("/statements/{statement_id}/history")
def history(req: ReqDep, statement_id: StatementId) -> Response:
    """Every version of a statement."""
    req.require("statement.write")
    versions = history_view(req.archive, req.principal, "statement", statement_id)
    return req.render("history.html", versions=versions, kind="statement", record_id=statement_id)


# --- API ------------------------------------------------------------------------------------


Signatory = str | dict[str, str]
"""A signatory in a JSON body: a name (an organization, or ``person: NAME``), or
``{"person": NAME}``, ``{"organization": NAME}``, ``{"kind": ..., "name": ...}``."""
_SIGNATORIES = (
    'In order: an organization\'s name, "person: NAME", {"person": NAME}, {"organization": NAME} '
    'or {"kind": "person", "name": NAME} (a person by ref or name; never a protected one)'
)


class StatementIn(BaseModel):
    """A new statement."""

    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=200_000)
    language: str = Field(default="ko", max_length=5)
    kind: str = Field(default="statement", max_length=20)
    date: str | None = Field(default=None, max_length=64, description="posted")
    signed: str | None = Field(default=None, max_length=64)
    member: str | None = Field(default=None, max_length=300)
    signatories: list[Signatory] = Field(
        default_factory=list,
        max_length=500,
        description=_SIGNATORIES,
    )
    events: list[int] = Field(default_factory=list, max_length=1000)


class StatementChange(BaseModel):
    """Changes to a statement; what is left out stays as it is."""

    title: str | None = Field(default=None, max_length=300)
    body: str | None = Field(default=None, max_length=200_000)
    kind: str | None = Field(default=None, max_length=20)
    date: str | None = Field(default=None, max_length=64, description="posted")
    signed: str | None = Field(default=None, max_length=64)
    member: str | None = Field(default=None, max_length=300, description='"" takes it off')
    signatories: list[Signatory] | None = Field(
        default=None, max_length=500, description=_SIGNATORIES
    )
    events: list[int] | None = Field(default=None, max_length=1000)


class TranslationIn(BaseModel):
    """A translation of a statement."""

    language: str = Field(max_length=5)
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=200_000)


@api.post("/statements", status_code=201, summary="Write a statement (unpublished)")
def api_create(req: ReqDep, body: StatementIn) -> dict[str, Any]:
    """Write a statement with its signatories and related events."""
    req.require("statement.write")
    service, actor = req.statements, req.principal.actor
    service.check(
        body.title,
        body.body,
        body.language,
        body.kind,
        body.date,
        body.events,
        signed=body.signed,
        member=body.member,
        signatories=body.signatories,
    )
    item = service.write(
        body.title,
        body.body,
        body.language,
        body.kind,
        body.date,
        actor,
        member=body.member,
        signed=body.signed,
    )
    service.set_signatories(item.id, body.signatories, actor)
    service.set_events(item.id, body.events, actor)
    return service.get(item.id).to_json()


@api.patch("/statements/{statement_id}", summary="Change a statement (a new version)")
def api_change(req: ReqDep, statement_id: StatementId, body: StatementChange) -> dict[str, Any]:
    """Change the text, date, kind, signatories or events of a statement."""
    req.require("statement.write")
    service, actor = req.statements, req.principal.actor
    service.get(statement_id)
    service.check(
        body.title,
        body.body,
        None,
        body.kind,
        body.date,
        body.events or (),
        signed=body.signed,
        member=body.member,
        signatories=body.signatories,
    )
    service.edit(
        statement_id,
        title=body.title,
        body=body.body,
        date=body.date,
        kind=body.kind,
        actor=actor,
        signed=body.signed,
        member=body.member,
    )
    if body.signatories is not None:
        service.set_signatories(statement_id, body.signatories, actor)
    if body.events is not None:
        service.set_events(statement_id, body.events, actor)
    return service.get(statement_id).to_json()


@api.post("/statements/{statement_id}/translations", status_code=201, summary="Translate")
def api_translate(req: ReqDep, statement_id: StatementId, body: TranslationIn) -> dict[str, Any]:
    """Add a translation of a statement."""
    req.require("statement.write")
    created = req.statements.translate(
        statement_id, body.language, body.title, body.body, req.principal.actor
    )
    return created.to_json()


@api.post("/statements/{statement_id}/publish", summary="Publish a statement")
def api_publish(req: ReqDep, statement_id: StatementId) -> dict[str, Any]:
    """Publish a statement."""
    req.require("statement.publish")
    return req.statements.publish(statement_id, req.principal.actor).to_json()


@api.post("/statements/{statement_id}/withdraw", summary="Withdraw a published statement")
def api_withdraw(req: ReqDep, statement_id: StatementId) -> dict[str, Any]:
    """Take a statement off the public side."""
    req.require("statement.publish")
    return req.statements.withdraw(statement_id, req.principal.actor).to_json()


@api.get("/statements/{statement_id}/history", summary="Every version of a statement")
def api_history(req: ReqDep, statement_id: StatementId) -> dict[str, Any]:
    """The versions of a statement, oldest first."""
    req.require("statement.write")
    versions = history_view(req.archive, req.principal, "statement", statement_id)
    if not versions:
        raise Refused(404, "not_found", no_such("statement", statement_id))
    return {"id": statement_id, "versions": [v.to_json() for v in versions]}
