"""The audit trail, for an administrator: who logged in, opened a sealed field, exported,
changed users or keys, and when; filtered by action, person and record, newest first.

Reading the trail is itself the policy's ``audit.read`` right, checked here for the page and
again by :meth:`sillok.security.audit.AuditTrail.events` in the library.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from sillok.errors import InvalidInput
from sillok.messages import not_one_of
from sillok.security.audit import ACTIONS
from sillok.web.context import Req, requester

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["audit"])

ReqDep = Annotated[Req, Depends(requester)]

#: events shown on one page
PAGE_SIZE = 50
#: record kinds whose events link to a record page
LINKED_KINDS = ("source", "event", "act", "person", "organization", "place")

Action = Annotated[str | None, Query(max_length=40)]
Actor = Annotated[str | None, Query(max_length=100)]
Record = Annotated[str | None, Query(max_length=60)]
Before = Annotated[int | None, Query(ge=1, le=2**62)]


def _record(text: str | None) -> tuple[str | None, int | None]:
    """``KIND:ID`` (or ``KIND``) from the record filter, refused by name when unreadable."""
    if not text:
        return None, None
    kind, _, rid = text.partition(":")
    if not kind.isidentifier() or (rid and not rid.isdigit()):
        raise InvalidInput(f"record: {text!r} is not KIND:ID (such as act:12)")
    return kind, int(rid) if rid else None


def _events(
    req: Req, action: str | None, actor: str | None, record: str | None, before: int | None
) -> list[dict[str, Any]]:
    req.require("audit.read")
    if action and action not in ACTIONS:
        raise InvalidInput(not_one_of(action, ACTIONS, "action"))
    kind, rid = _record(record)
    return req.archive.audit.events(
        action=action or None,
        record_kind=kind,
        record_id=rid,
        actor=actor or None,
        limit=PAGE_SIZE,
        before=before,
    )


@pages.get("/audit")
def audit_page(
    req: ReqDep,
    action: Action = None,
    actor: Actor = None,
    record: Record = None,
    before: Before = None,
) -> Response:
    """A page of the trail with its filters; "older" pages back from the last event shown."""
    events = _events(req, action, actor, record, before)
    older = events[-1]["id"] if len(events) == PAGE_SIZE else None
    return req.render(
        "audit.html",
        events=events,
        actions=ACTIONS,
        linked=LINKED_KINDS,
        chosen={"action": action or "", "actor": actor or "", "record": record or ""},
        older=older,
        first=before is None,
    )


@api.get("/audit", summary="The audit trail, newest first (administrators)")
def api_audit(
    req: ReqDep,
    action: Action = None,
    actor: Actor = None,
    record: Record = None,
    before: Before = None,
) -> dict[str, Any]:
    """The same events as the page, as JSON; ``older`` is the ``before`` of the next page."""
    events = _events(req, action, actor, record, before)
    return {"events": events, "older": events[-1]["id"] if len(events) == PAGE_SIZE else None}
