"""Record pages and their JSON: sources, events, acts, persons, places, organizations,
with their revision history. One URL, two formats: ``/records/act/7`` is the page,
``/api/records/act/7`` the same data as JSON, both from :func:`~sillok.web.views.record_view`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from sillok import vocab
from sillok.web.access import may, refused, sealed
from sillok.web.context import Req, current
from sillok.web.dates import human_date
from sillok.web.i18n import WORDS as _WORDS
from sillok.web.i18n import translator
from sillok.web.views import (
    _LINKS,
    Version,
    _titles,
    display_fields,
    heading,
    history_view,
    record_view,
)

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
def record_page(
    req: ReqDep, kind: Kind, record_id: RecordId, reveal: bool = False, saved: bool = False
) -> Response:
    """A record, with links to the records it refers to; ``reveal`` opens its sealed fields
    for a role that holds the seal key (each opening is audited by the archive); ``saved``
    says that the testimony entry form has just written it."""
    req.require("read", kind.value)
    reveal = reveal and may(req.principal, "seal.open")
    view = record_view(req.archive, req.principal, kind.value, record_id, reveal, req.lang)
    return req.render(
        "record.html",
        view=view,
        kind=kind.value,
        title=heading(view, req.lang),
        fields=display_fields(view, req.archive, req.lang),
        proof_url=f"/records/{kind.value}/{record_id}/proof"
        if may(req.principal, "proof")
        else None,
        may_reveal=may(req.principal, "seal.open") and not reveal,
        attachments=req.archive.attachments.list(kind.value, record_id),
        refused_labels=list(dict.fromkeys(req._(f) for f in view.redacted)),
        sealed_labels=list(dict.fromkeys(req._(f) for f in view.protected)),
        saved=saved and kind is Kind.source,
    )


@pages.get("/records/{kind}/{record_id}/history")
def history_page(req: ReqDep, kind: Kind, record_id: RecordId) -> Response:
    """Every version of a record, with who changed what and when."""
    req.require("read", kind.value)
    versions = history_view(req.archive, req.principal, kind.value, record_id)
    return req.render(
        "history.html",
        versions=versions,
        shown=_history_values(req, kind.value, versions),
        title=heading(record_view(req.archive, req.principal, kind.value, record_id,
                                  lang=req.lang), req.lang),
        kind=kind.value,
        record_id=record_id,
    )


def _history_values(req: Req, kind: str, versions: list[Version]) -> list[dict[str, Any]]:
    """Each version's values as a reader reads them: linked records by their titles (and a
    link), vocabulary keys by their labels, dates in words, in the page's language."""
    links = _LINKS.get(kind, {})
    wanted = {
        (target, v.data[column])
        for v in versions
        for column, target in links.items()
        if isinstance(v.data.get(column), int)
    }
    titles = _titles(req.archive, req.principal, sorted(wanted), req.lang)
    _ = translator(req.lang)
    act_types = vocab.load("act_types")
    result = []
    for version in versions:
        shown: dict[str, Any] = {}
        for key, value in version.data.items():
            if refused(value) or sealed(value):
                shown[key] = value
            elif key in links and isinstance(value, int):
                target = links[key]
                shown[key] = (titles.get((target, value), f"{_(target)} {value}"),
                              f"/records/{target}/{value}")
            elif key == "act_type" and isinstance(value, str):
                term = act_types.lookup(value)
                shown[key] = term.label(req.lang) if term else value
            elif key.endswith("_edtf") and isinstance(value, str):
                shown[key] = human_date(value, req.lang) or value
            elif key in _WORDS and isinstance(value, str):
                shown[key] = _(value)
            else:
                shown[key] = value
        result.append(shown)
    return result


@api.get("/records/{kind}/{record_id}", summary="One record, redacted for the caller's role")
def api_record(
    req: ReqDep, kind: Kind, record_id: RecordId, reveal: bool = False
) -> dict[str, Any]:
    """The record as its page shows it (``reveal``: sealed fields opened, audited)."""
    req.require("read", kind.value)
    reveal = reveal and may(req.principal, "seal.open")
    return record_view(req.archive, req.principal, kind.value, record_id, reveal).to_json()


@api.get("/records/{kind}/{record_id}/history", summary="Every version of a record")
def api_history(req: ReqDep, kind: Kind, record_id: RecordId) -> dict[str, Any]:
    """The versions, oldest first, each redacted for the caller's role."""
    req.require("read", kind.value)
    versions = history_view(req.archive, req.principal, kind.value, record_id)
    return {"kind": kind.value, "id": record_id, "versions": [v.to_json() for v in versions]}


def _proof(req: Req, kind: Kind, record_id: int, version: int | None) -> Response:
    req.require("proof", kind.value)
    # The server's own handle is an administrator's: it signs the head, so that a proof of
    # what a documenter just wrote does not wait for an administrator's next session.
    req.web.archive.proofs.sign_head()
    bundle = req.archive.proofs.record(kind.value, record_id, version)
    number = bundle["record"]["version"]
    name = f"sillok-proof-{kind.value}-{record_id}-v{number}.json"
    return Response(
        json.dumps(bundle, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@pages.get("/records/{kind}/{record_id}/proof")
def proof_download(
    req: ReqDep,
    kind: Kind,
    record_id: RecordId,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    """A proof bundle of a record version, for `sillok proof verify` (no archive needed)."""
    return _proof(req, kind, record_id, version)


@api.get(
    "/records/{kind}/{record_id}/proof",
    summary="A proof bundle: the record version, its inclusion proof, a signed checkpoint",
)
def api_proof(
    req: ReqDep,
    kind: Kind,
    record_id: RecordId,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    """The same bundle as the page's "download proof" button."""
    return _proof(req, kind, record_id, version)
