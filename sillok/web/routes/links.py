"""Reviewing record linkage, page and API: the queue of candidate pairs (the most probable
first), each with the evidence that moved its score; accept, reject, skip, undo. Merging two
persons by hand (from this page or a person's page) is an accepted link too
(:meth:`sillok.linkage.archive.Links.merge`), undone by rejecting it.

Finding pairs (``sillok link``) stays on the command line; here a reviewer only decides. A
decision is :meth:`sillok.linkage.archive.Links.decide`: a new version of the link record, in
the Merkle
log like any other; the pairs ticked on the queue are accepted or rejected together, all or
none (:meth:`sillok.linkage.archive.Links.decide_many`). Titles come from the records service
of the principal's own archive (as on every page), and an evidence line about a field the
principal's role may not read is redacted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel
from pydantic import Field as PydanticField

from sillok.errors import InvalidInput, NotFound
from sillok.linkage.archive import LINK_KINDS, Candidate
from sillok.messages import no_such, too_many_links
from sillok.model import RECORD_TABLES
from sillok.web.access import REDACTED, Principal, may, readable
from sillok.web.context import Req, requester
from sillok.web.views import display_fields, record_titles, record_view, visible_ids

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["links"])

ReqDep = Annotated[Req, Depends(requester)]
LinkId = Annotated[int, Path(ge=1, le=2**40 - 1)]
#: a link id inside a list (a form's ticked boxes, an API body)
ListedId = Annotated[int, PydanticField(ge=1, le=2**40 - 1)]
STATUSES = ("pending", "accepted", "rejected")
DEFAULT_KIND = next(iter(LINK_KINDS))
#: patterns built from the library's own lists, so a kind added there is offered here
KIND_PATTERN = f"^({'|'.join(LINK_KINDS)})$"
STATUS_PATTERN = f"^({'|'.join(STATUSES)})$"
KindQuery = Annotated[str, Query(pattern=KIND_PATTERN)]
StatusQuery = Annotated[str, Query(pattern=STATUS_PATTERN)]
#: evidence field -> (table, column) whose field class decides who may read the comparison;
#: a field not listed is judged as the column of that name in the record's own table
EVIDENCE_COLUMNS = {
    "person": {
        "name": ("person_names", "name"),
        "birth": ("persons", "birth_edtf"),
        "sex": ("persons", "sex"),
        "origin": ("persons", "origin_place_id"),
    },
}
#: the record page lines shown side by side for a pair (by label key), so that a reviewer
#: sees what was compared without leaving the queue
COMPARED_LINES = {
    "person": ("names", "birth_edtf", "sex", "origin"),
    "event": ("title", "date", "place"),
}
#: the most pairs one bulk decision takes (a page holds far fewer)
MAX_BULK = 500
#: bits of evidence that fill half the bar (stronger evidence is drawn at full length)
BAR_BITS = 12.0
BAR_HALF = 60


class Verdict(StrEnum):
    """What a reviewer decides about a pair."""

    accept = "accept"
    reject = "reject"
    undo = "undo"


def _(message: str) -> str:
    """Marks a message for extraction; the page translates it when it shows it."""
    return message


#: the statuses, and the linkage model's field names and comparison levels: values shown
#: through ``_`` at run time, listed so that extraction finds them and the catalogs hold them
RUNTIME_MESSAGES = (
    _("pending"), _("accepted"), _("rejected"),
    _("name"), _("birth"),
    _("name missing"), _("same spelling, common surname"), _("same spelling"),
    _("same name, other spelling, common surname"), _("same name, other spelling"),
    _("same name, surname read another way"), _("given name misspelt"),
    _("surname misspelt"), _("family and given names swapped"),
    _("same surname, different given name"), _("same given name, different surname"),
    _("different names"), _("date missing"), _("same day"), _("same month"), _("date typo"),
    _("same year"), _("overlapping ranges"), _("within a year"), _("within five years"),
    _("dates far apart"), _("place missing"), _("same county or city"), _("same province"),
    _("different places"), _("sex unknown"), _("same sex"), _("different sex"),
    # events (sillok.linkage.events)
    _("victims"), _("same year, one date vaguer"), _("overlapping vague dates"),
    _("same province, one place vaguer"), _("same province, different places"),
    _("title missing"), _("same title"), _("title close"), _("different title"),
    _("act type unknown"), _("same act types"), _("act types in common"),
    _("no act type in common"), _("victim unknown"), _("same victims"),
    _("victims in common"), _("no victim in common"),
)


@dataclass(frozen=True)
class Weight:
    """One line of a pair's evidence as a page draws it."""

    field: str
    level: str
    weight: float | None
    side: str
    x: int
    width: int

    @property
    def signed(self) -> str:
        """The weight with its sign, in bits (log2 Bayes factor)."""
        return REDACTED if self.weight is None else f"{self.weight:+.1f}"


@dataclass(frozen=True)
class Line:
    """One compared field of a pair, the two records' values as their pages show them."""

    key: str
    left: str
    right: str
    redacted: bool


@dataclass(frozen=True)
class Pair:
    """A candidate pair with its evidence redacted for the principal."""

    candidate: Candidate
    record_kind: str
    evidence: list[Weight]
    lines: list[Line]
    left: str = ""  #: the two records' titles in the page's language
    right: str = ""

    @property
    def percent(self) -> str:
        """The match probability, rounded down (a near-certain pair never shows 100%)."""
        return f"{math.floor(self.candidate.probability * 10_000) / 100:.2f}%"

    def to_json(self) -> dict[str, Any]:
        """The candidate as the API answers it, its evidence redacted like the page's."""
        shown = [{"field": w.field, "level": w.level, "weight": w.weight} for w in self.evidence]
        values = [{"field": x.key, "left": x.left, "right": x.right} for x in self.lines]
        return {**self.candidate.to_json(), "record_kind": self.record_kind, "evidence": shown,
                "values": values}


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _lines(req: Req, record_kind: str, left: int, right: int) -> list[Line]:
    """The compared fields of two records, each through the record page's own view (the
    principal's role and the records' sharing levels decide what shows)."""
    wanted = COMPARED_LINES.get(record_kind, ())
    sides = []
    for record_id in (left, right):
        try:
            view = record_view(req.archive, req.principal, record_kind, record_id, lang=req.lang)
        except NotFound:
            return []
        sides.append({f.key: f for f in display_fields(view, req.archive, req.lang)})
    return [
        Line(key, _text(sides[0][key].value), _text(sides[1][key].value),
             sides[0][key].redacted or sides[1][key].redacted)
        for key in wanted
        if key in sides[0] and key in sides[1]
    ]


def _weight(principal: Principal, record_kind: str, item: dict[str, Any]) -> Weight:
    name = str(item.get("field"))
    table = RECORD_TABLES[record_kind].name if record_kind in RECORD_TABLES else record_kind
    source = EVIDENCE_COLUMNS.get(record_kind, {}).get(name, (table, name))
    # the sharing level the records service titles with (records.titles): the same answer
    if not readable(principal, "internal", *source):
        return Weight(name, REDACTED, None, "none", BAR_HALF, 0)
    weight = float(item.get("weight") or 0.0)
    width = round(min(abs(weight), BAR_BITS) / BAR_BITS * BAR_HALF)
    side = "for" if weight > 0 else "against" if weight < 0 else "none"
    return Weight(
        name, str(item.get("level")), weight, side, BAR_HALF if weight >= 0 else BAR_HALF - width,
        width,
    )


def _pairs(req: Req, kind: str, status: str, offset: int, limit: int) -> tuple[list[Pair], bool]:
    """A window of the queue the principal may see, and whether more follow it."""
    record_kind = LINK_KINDS[kind]
    found = req.archive.links.queue(status, limit=offset + limit + 1, kind=kind)
    window = found[offset : offset + limit]
    ids = sorted({c.left_id for c in window} | {c.right_id for c in window})
    seen = set(visible_ids(req.archive, req.principal, record_kind, ids))
    titles = record_titles(req.archive, req.principal, [(record_kind, i) for i in seen], req.lang)
    pairs = [
        Pair(c, record_kind, [_weight(req.principal, record_kind, e) for e in c.evidence],
             _lines(req, record_kind, c.left_id, c.right_id),
             titles.get((record_kind, c.left_id), str(c.left)),
             titles.get((record_kind, c.right_id), str(c.right)))
        for c in window
        if c.left_id in seen and c.right_id in seen
    ]
    return pairs, len(found) > offset + limit


def _address(kind: str, status: str, page: int, anchor: int | None = None,
             **flash: int) -> str:
    query = urlencode({"kind": kind, "status": status, "page": page, **flash})
    return f"/links?{query}" + (f"#link-{anchor}" if anchor else "")


@pages.get("/links")
def review_page(
    req: ReqDep,
    kind: KindQuery = DEFAULT_KIND,
    status: StatusQuery = "pending",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    accepted: Annotated[int | None, Query(ge=1, le=MAX_BULK)] = None,
    rejected: Annotated[int | None, Query(ge=1, le=MAX_BULK)] = None,
) -> Response:
    """The review queue (or the accepted or rejected links), one page of pairs; after a bulk
    decision, how many pairs it accepted or rejected."""
    req.require("read", LINK_KINDS[kind])
    size = req.web.settings.page_size
    pairs, more = _pairs(req, kind, status, (page - 1) * size, size)
    return req.render(
        "links.html",
        pairs=pairs,
        kind=kind,
        tab=status,
        page=page,
        more=more,
        kinds=list(LINK_KINDS),
        statuses=STATUSES,
        counts=req.archive.links.progress(kind),
        may_decide=may(req.principal, "review"),
        address=_address,
        decided={"accept": accepted, "reject": rejected},
    )


@pages.post("/links/merge")
def merge_from_queue(
    req: ReqDep,
    left: Annotated[int, Form(ge=1, le=2**40 - 1)],
    right: Annotated[int, Form(ge=1, le=2**40 - 1)],
) -> Response:
    """Merge two persons by hand: an accepted link, listed with the accepted ones."""
    req.require("review")
    link_id = req.archive.links.merge(left, right)
    return req.redirect(_address(DEFAULT_KIND, "accepted", 1, link_id))


@pages.post("/records/person/{person_id}/merge")
def merge_from_person(
    req: ReqDep, person_id: LinkId, other: Annotated[int, Form(ge=1, le=2**40 - 1)]
) -> Response:
    """Say on a person's page that another person record is the same person."""
    req.require("review")
    link_id = req.archive.links.merge(person_id, other)
    return req.redirect(f"/records/person/{person_id}#merge-{link_id}")


@pages.post("/records/person/{person_id}/merges/{link_id}/undo")
def unmerge_from_person(req: ReqDep, person_id: LinkId, link_id: LinkId) -> Response:
    """Undo a merge shown on a person's page: the link is rejected (its history kept)."""
    req.require("review")
    if link_id not in {link for link, _other in req.archive.links.merged_with(person_id)}:
        raise NotFound(no_such("link", link_id))
    req.archive.links.unmerge(link_id)
    return req.redirect(f"/records/person/{person_id}#merges-section")


@pages.post("/links/decisions")
def decide_selected(
    req: ReqDep,
    verdict: Annotated[str, Form(max_length=16)],
    ids: Annotated[list[ListedId] | None, Form()] = None,
    kind: Annotated[str, Form(pattern=KIND_PATTERN)] = DEFAULT_KIND,
    page: Annotated[int, Form(ge=1, le=1000)] = 1,
) -> Response:
    """Accept or reject the pairs ticked on the queue page, all or none, then back to the
    queue saying how many were decided."""
    req.require("review")
    if len(ids or ()) > MAX_BULK:
        raise InvalidInput(too_many_links(MAX_BULK))
    count = req.archive.links.decide_many(ids or [], verdict)
    flash = {"accepted" if verdict == "accept" else "rejected": count}
    return req.redirect(_address(kind, "pending", page, **flash))


@pages.post("/links/{link_id}")
def decide(
    req: ReqDep,
    link_id: LinkId,
    verdict: Annotated[Verdict, Form()],
    kind: Annotated[str, Form(pattern=KIND_PATTERN)] = DEFAULT_KIND,
    status: Annotated[str, Form(pattern=STATUS_PATTERN)] = "pending",
    page: Annotated[int, Form(ge=1, le=1000)] = 1,
    then: Annotated[int | None, Form(ge=1, le=2**40 - 1)] = None,
) -> Response:
    """Accept, reject or undo one link, then back to the list (at the pair ``then``)."""
    req.require("review")
    req.archive.links.decide(link_id, verdict.value)
    return req.redirect(_address(kind, status, page, then))


# --- API ------------------------------------------------------------------------------------


class Merge(BaseModel):
    """Two person records that are the same person."""

    left_id: int = PydanticField(ge=1, le=2**40 - 1)
    right_id: int = PydanticField(ge=1, le=2**40 - 1)


@api.post("/links/merge", summary="Merge two persons by hand (an accepted link)")
def api_merge(req: ReqDep, body: Merge) -> dict[str, Any]:
    """Accept a link between two persons (made if the queue has none); undo it by rejecting
    it (``POST /api/links/{id}`` with ``reject``)."""
    req.require("review")
    return {"id": req.archive.links.merge(body.left_id, body.right_id), "status": "accepted"}


class Decision(BaseModel):
    """A reviewer's decision on a link."""

    verdict: Verdict


@api.get("/links", summary="Candidate pairs in a status, the most probable first")
def api_queue(
    req: ReqDep,
    kind: KindQuery = DEFAULT_KIND,
    status: StatusQuery = "pending",
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The pairs with their titles, probability and evidence, as the page shows them."""
    req.require("read", LINK_KINDS[kind])
    pairs, more = _pairs(req, kind, status, offset, limit)
    return {
        "kind": kind,
        "status": status,
        "offset": offset,
        "limit": limit,
        "more": more,
        "links": [p.to_json() for p in pairs],
    }


class Decisions(BaseModel):
    """A reviewer's decision on several pending links at once."""

    ids: list[ListedId] = PydanticField(max_length=MAX_BULK)
    verdict: str = PydanticField(max_length=16)


@api.post("/links/decisions", summary="Accept or reject several pending links, all or none")
def api_decide_many(req: ReqDep, body: Decisions) -> dict[str, Any]:
    """Decide several pending links in one transaction; answers how many were decided. An
    unknown link, one already decided or a verdict other than accept or reject refuses all."""
    req.require("review")
    count = req.archive.links.decide_many(body.ids, body.verdict)
    return {"decided": count, "ids": list(dict.fromkeys(body.ids)),
            "status": "accepted" if body.verdict == "accept" else "rejected"}


@api.post("/links/{link_id}", summary="Accept, reject or undo a link (a new version of it)")
def api_decide(req: ReqDep, link_id: LinkId, body: Decision) -> dict[str, Any]:
    """Decide one link; answers its new status (``undo`` puts it back in the queue)."""
    req.require("review")
    return {"id": link_id, "status": req.archive.links.decide(link_id, body.verdict.value)}
