"""Record pages and their JSON: sources, events, acts, persons, places, organizations,
with their revision history. One URL, two formats: ``/records/act/7`` is the page,
``/api/records/act/7`` the same data as JSON, both from :func:`~sillok.web.views.record_view`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from sillok.web.context import Req, current
from sillok.web.views import history_view, record_view

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["records"])

ReqDep = Annotated[Req, Depends(current)]
RecordId = Annotated[int, Path(ge=1, le=2**40 - 1)]


class Kind(StrEnum):
    """The kinds of record with a page."""

    source = "source"
    event = "event"
    act = "act"
    person = "person"
    place = "place"
    organization = "organization"


@pages.get("/records/{kind}/{record_id}")
def record_page(req: ReqDep, kind: Kind, record_id: RecordId) -> Response:
    """A record, with links to the records it refers to."""
    req.require("read", kind.value)
    view = record_view(req.archive, req.principal, kind.value, record_id)
    return req.render("record.html", view=view, kind=kind.value)


@pages.get("/records/{kind}/{record_id}/history")
def history_page(req: ReqDep, kind: Kind, record_id: RecordId) -> Response:
    """Every version of a record, with who changed what and when."""
    req.require("read", kind.value)
    versions = history_view(req.archive, req.principal, kind.value, record_id)
    return req.render("history.html", versions=versions, kind=kind.value, record_id=record_id)


@api.get("/records/{kind}/{record_id}", summary="One record, redacted for the caller's role")
def api_record(req: ReqDep, kind: Kind, record_id: RecordId) -> dict[str, Any]:
    """The record as its page shows it."""
    req.require("read", kind.value)
    return record_view(req.archive, req.principal, kind.value, record_id).to_json()


@api.get("/records/{kind}/{record_id}/history", summary="Every version of a record")
def api_history(req: ReqDep, kind: Kind, record_id: RecordId) -> dict[str, Any]:
    """The versions, oldest first, each redacted for the caller's role."""
    req.require("read", kind.value)
    versions = history_view(req.archive, req.principal, kind.value, record_id)
    return {"kind": kind.value, "id": record_id, "versions": [v.to_json() for v in versions]}
