"""Record pages and their JSON: sources, events, acts, persons, places, organizations,
with their revision history. One URL, two formats: ``/records/act/7`` is the page,
``/api/records/act/7`` the same data as JSON, both from :func:`~sillok.web.views.record_view`.

Editing: ``/records/act/7/edit`` is the edit page, ``PATCH /api/records/act/7`` its twin;
both call :meth:`sillok.records.editing.RecordEditor.edit` (a new version, all or nothing).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from sillok import vocab
from sillok.dates import DateError, parse_date
from sillok.dates.words import human_date
from sillok.messages import Message
from sillok.records.editing import EditForm, EditRefused, StaleVersion, fields_of
from sillok.web.access import may, refused, sealed
from sillok.web.context import Req, requester
from sillok.web.i18n import WORDS as _WORDS
from sillok.web.i18n import local_error, translator
from sillok.web.testimony import pickers
from sillok.web.views import (
    _LINKS,
    Version,
    display_fields,
    heading,
    history_view,
    record_titles,
    record_view,
)

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["records"])

ReqDep = Annotated[Req, Depends(requester)]
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
    req: ReqDep, kind: Kind, record_id: RecordId, reveal: bool = False, saved: bool = False,
    edited: bool = False,
) -> Response:
    """A record, with links to the records it refers to; ``reveal`` opens its sealed fields
    for a role that holds the seal key (each opening is audited by the archive); ``saved``
    says that the testimony entry form has just written it, ``edited`` its edit page."""
    req.require("read", kind.value)
    reveal = reveal and may(req.principal, "seal.open")
    archive = req.archive
    # The record, its lists, its attachments and its merges from one read transaction.
    with archive.store.one_read():
        view = record_view(archive, req.principal, kind.value, record_id, reveal, req.lang)
        fields = display_fields(view, archive, req.lang)
        attachments = archive.attachments.list(kind.value, record_id)
        merges = _merges(req, record_id) if kind is Kind.person else []
    return req.render(
        "record.html",
        view=view,
        kind=kind.value,
        title=heading(view, req.lang),
        fields=fields,
        proof_url=f"/records/{kind.value}/{record_id}/proof"
        if may(req.principal, "proof")
        else None,
        may_reveal=may(req.principal, "seal.open") and not reveal,
        attachments=attachments,
        refused_labels=list(dict.fromkeys(req._(f) for f in view.redacted)),
        sealed_labels=list(dict.fromkeys(req._(f) for f in view.protected)),
        saved=saved and kind is Kind.source,
        edited=edited,
        may_edit=may(req.principal, "write", kind.value),
        merges=merges,
    )


def _merges(req: Req, person_id: int) -> list[tuple[int, int, str]]:
    """(link id, person id, title) of the persons this one was merged with."""
    merged = req.archive.links.merged_with(person_id)
    persons = [("person", p) for _l, p in merged]
    titles = record_titles(req.archive, req.principal, persons, req.lang)
    return [(link, p, titles.get(("person", p), f"{req._('person')} {p}")) for link, p in merged]


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
    titles = record_titles(req.archive, req.principal, sorted(wanted), req.lang)
    _ = translator(req.lang)
    act_types, facility_types = vocab.load("act_types"), vocab.load("facility_types")
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
            elif key in ("act_type", "facility_type") and isinstance(value, str):
                term = (act_types if key == "act_type" else facility_types).lookup(value)
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
    req: ReqDep, kind: Kind, record_id: RecordId, response: Response, reveal: bool = False
) -> dict[str, Any]:
    """The record as its page shows it (``reveal``: sealed fields opened, audited); its
    ``ETag`` is its version, for an ``If-Match`` on ``PATCH``."""
    req.require("read", kind.value)
    reveal = reveal and may(req.principal, "seal.open")
    with req.archive.store.one_read():
        view = record_view(req.archive, req.principal, kind.value, record_id, reveal).to_json()
    response.headers["ETag"] = f'"{view["data"].get("version")}"'
    return view


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


# --- editing --------------------------------------------------------------------------------

#: the record page's label of each edit field (the same words on both pages)
EDIT_LABELS = {"birth": "birth_edtf", "within": "within"}
#: which picker (datalist) helps typing a field, by the field's kind
EDIT_PICKERS = {"act_type": "act-types", "facility_type": "facility-types",
                "facility": "facility-types", "place": "places"}
def _render_edit(
    req: Req, form: EditForm, errors: dict[str, str] | None = None, status: int = 200,
    stale: bool = False,
) -> Response:
    view = record_view(req.archive, req.principal, form.kind, form.id, lang=req.lang)
    return req.render(
        "record_edit.html",
        status=status,
        form=form,
        kind=form.kind,
        title=heading(view, req.lang),
        fields=fields_of(form.kind),
        labels={f.name: EDIT_LABELS.get(f.name, f.name) for f in fields_of(form.kind)},
        pickers=pickers(req.archive, req.lang),
        picker_of=EDIT_PICKERS,
        errors={k: local_error(v, req.lang) for k, v in (errors or {}).items()},
        stale=stale,
    )


@pages.get("/records/{kind}/{record_id}/edit")
def edit_page(req: ReqDep, kind: Kind, record_id: RecordId, reveal: bool = False) -> Response:
    """The edit page of a record: its fields as the role may read them (``reveal``: sealed
    ones opened, each opening audited), with the entry form's pickers."""
    req.require("write", kind.value)
    reveal = reveal and may(req.principal, "seal.open")
    form = req.archive.editor.form(kind.value, record_id, reveal, req.lang)
    return _render_edit(req, _dates_as_written(form, req.lang))


def _dates_as_written(form: EditForm, lang: str) -> EditForm:
    """The form with its dates as people write them (``2009년 봄``, not ``2009-21``) where
    that reading means the very same date, so that saving it unchanged changes nothing."""
    for spec in fields_of(form.kind):
        value = form.values.get(spec.name)
        if spec.kind != "date" or not value:
            continue
        written = human_date(value, lang)
        try:
            same = written is not None and parse_date(written).edtf == value
        except DateError:
            same = False
        if same and written:
            form.values[spec.name] = written
    return form


@pages.post("/records/{kind}/{record_id}/edit")
async def edit_submit(request: Request, req: ReqDep, kind: Kind, record_id: RecordId) -> Response:
    """Save an edit as a new version, or show the form again as typed with each bad field
    named (nothing saved), or say that someone else changed the record meanwhile (409)."""
    req.require("write", kind.value)
    typed = await request.form()
    version = str(typed.get("version") or "")
    changes = {
        f.name: str(typed[f.name])
        for f in fields_of(kind.value)
        if isinstance(typed.get(f.name), str)
    }
    editor = req.archive.editor
    shown = editor.form(kind.value, record_id, lang=req.lang)
    if not version.isdigit():
        return _render_edit(req, shown, {"form": Message("the version edited is missing")}, 422)
    again = EditForm(kind.value, record_id, int(version), shown.sharing,
                     {**shown.values, **changes},
                     [w for w in shown.withheld if w not in changes],
                     [o for o in shown.openable if o not in changes])
    try:
        editor.edit(kind.value, record_id, changes, int(version))
    except EditRefused as exc:
        return _render_edit(req, again, exc.fields, 422)
    except StaleVersion:
        return _render_edit(req, again, None, 409, stale=True)
    req.web.cache.clear()
    return req.redirect(f"/records/{kind.value}/{record_id}?edited=1")


def _if_match(header: str | None) -> int | None:
    """The version an ``If-Match`` header names (``"3"``, ``W/"3"`` or ``3``), if any."""
    value = (header or "").strip().removeprefix("W/").strip('"')
    return int(value) if value.isdigit() else None


@api.patch(
    "/records/{kind}/{record_id}",
    summary="Edit a record: the fields given become its next version",
    responses={409: {"description": "changed by someone else since that version"},
               422: {"description": "a value cannot be taken; each field named"},
               428: {"description": "no version given (If-Match or version)"}},
)
def api_edit(
    req: ReqDep,
    kind: Kind,
    record_id: RecordId,
    body: Annotated[dict[str, Any], Body(examples=[{"version": 1, "title": "요덕 수용소 구금"}])],
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Change the fields named in the body (``null`` or ``""`` clears one); the version
    edited comes from ``If-Match`` (the record's ``ETag``) or the body's ``version``.
    Answers the new version and the fields that changed, 409 when the record is no longer at
    that version, 422 naming each bad field (nothing is written either way)."""
    req.require("write", kind.value)
    changes = dict(body)
    given = changes.pop("version", None)
    version = _if_match(if_match)
    if version is None and isinstance(given, int | str) and str(given).isdigit():
        version = int(given)
    if version is None:
        return _api_error(428, "version_required",
                          "say which version you edited: an If-Match header or a version field")
    try:
        edited = req.archive.editor.edit(kind.value, record_id, changes, version)
    except EditRefused as exc:
        return _api_error(422, "invalid_input", str(exc), exc.fields)
    except StaleVersion as exc:
        return _api_error(409, "stale_version", str(exc))
    req.web.cache.clear()
    return JSONResponse(edited.to_json(), headers={"ETag": f'"{edited.version}"'})


def _api_error(status: int, code: str, message: str,
               fields: dict[str, str] | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    return JSONResponse({"error": error}, status_code=status)
