"""Testimony entry: the form (a source, its events, the acts in each) and its API twin."""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sillok import vocab
from sillok.errors import InvalidInput
from sillok.records.flatacts import PERPETRATOR_ROLES, SEXES, SHARING, SOURCE_TYPES
from sillok.web.context import Req, requester
from sillok.web.i18n import field_label, local_error, said
from sillok.web.testimony import EventEntry, Testimony, TestimonyDesk, pickers

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["testimonies"])

ReqDep = Annotated[Req, Depends(requester)]


_ACT_TYPE_FIELD = re.compile(r"^act-(\d+)-(\d+)-act_type$")


def _nearest_act_type(testimony: Testimony, name: str, lang: str) -> str | None:
    """The act type nearest to what was typed in an act's act type field (a misspelling:
    "arbitary detention"), in the page's language, or None."""
    found = _ACT_TYPE_FIELD.match(name)
    if found is None:
        return None
    event, act = int(found[1]), int(found[2])
    try:
        typed = testimony.events[event].acts[act].get("act_type", "").strip().lower()
    except IndexError:
        return None
    if not typed:
        return None
    spelled: dict[str, vocab.Term] = {}
    for term in vocab.load("act_types").terms:
        if term.deprecated or term.extra.get("level") == "category":
            continue
        for spelling in (term.label("en"), term.label("ko"), term.key.replace("_", " ")):
            spelled[spelling.lower()] = term
    near = difflib.get_close_matches(typed, list(spelled), n=1, cutoff=0.75)
    return spelled[near[0]].label(lang) if near else None


def _errors(req: Req, testimony: Testimony) -> dict[str, str]:
    """The form's errors in the page's language; an unknown act type with the nearest one."""
    said = {}
    for name, message in testimony.errors.items():
        text = local_error(message, req.lang)
        near = _nearest_act_type(testimony, name, req.lang)
        if near is not None:
            text = f"{text} " + req._("Did you mean “{term}”?", term=near)
        said[name] = text
    return said


def _render(req: Req, testimony: Testimony, status: int = 200) -> Response:
    return req.render(
        "entry.html",
        status=status,
        t=testimony,
        errors=_errors(req, testimony),
        field_label=lambda name: field_label(name, req.lang),
        pickers=pickers(req.archive, req.lang),
        source_types=list(SOURCE_TYPES),
        sharing_levels=list(SHARING),
        sexes=list(SEXES),
        perpetrator_roles=list(PERPETRATOR_ROLES),
        blank_event=EventEntry(acts=[{}]),
    )


@pages.get("/testimonies/new")
def entry_form(req: ReqDep) -> Response:
    """A blank testimony: one event with one act."""
    req.require("write", "source")
    return _render(req, Testimony.blank())


@pages.post("/testimonies/new")
async def entry_submit(request: Request, req: ReqDep) -> Response:
    """Add a blank event or act (without JavaScript), or check and save the testimony."""
    req.require("write", "source")
    form = await request.form()
    try:
        testimony = Testimony.from_form(form)
    except InvalidInput as exc:
        blank = Testimony.blank()
        blank.errors["form"] = said(exc)
        return _render(req, blank, 422)
    if form.get("stay"):  # Enter in a field (the form's first button): show it again as typed
        return _render(req, testimony)
    add = form.get("add")
    if add == "event":
        testimony.add_event()
        return _render(req, testimony)
    if isinstance(add, str) and add.startswith("act-") and add[4:].isdigit():
        testimony.add_act(int(add[4:]))
        return _render(req, testimony)
    desk = TestimonyDesk(req.archive)
    try:
        source_id, _report = await run_in_threadpool(desk.write, testimony)
    except InvalidInput:
        return _render(req, testimony, 422)
    req.web.cache.clear()
    return req.redirect(f"/records/source/{source_id}?saved=1")


_EXAMPLE = {
    "source": {"source_type": "testimony", "source_date": "2015년 3월", "sharing": "internal"},
    "events": [
        {
            "event_title": "요덕 수용소 구금",
            "acts": [
                {
                    "act_type": "자의적 구금",
                    "act_date": "2009년 3월",
                    "place": "Yodok",
                    "victim_name": "Kim Test",
                    "victim_name_hangul": "김시험",
                    "perpetrator_org": "보위부",
                }
            ],
        }
    ],
}


@api.post("/testimonies", status_code=201, summary="Enter a testimony (source, events, acts)")
def api_testimony(
    req: ReqDep, body: Annotated[dict[str, Any], Body(examples=[_EXAMPLE])]
) -> Response:
    """Validate and write a testimony; a bad value answers 422 naming each field."""
    req.require("write", "source")
    testimony = Testimony.from_json(body)
    desk = TestimonyDesk(req.archive)
    try:
        source_id, report = desk.write(testimony)
    except InvalidInput as exc:
        return JSONResponse(
            {
                "error": {
                    "code": "invalid_input",
                    "message": str(exc),
                    "fields": testimony.errors,
                }
            },
            status_code=422,
        )
    req.web.cache.clear()
    return JSONResponse(
        {"source_id": source_id, "source_ref": testimony.source["source_ref"], **report.to_json()},
        status_code=201,
    )
