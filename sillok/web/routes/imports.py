"""Import a flat acts file: upload, read the validation report, then commit (page and API).

A spreadsheet of the group's own takes one more page between the upload and the report: the
proposed column mapping, corrected in a plain form (``POST /import/mapping``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sillok.errors import InvalidInput
from sillok.messages import Message
from sillok.records.flatacts import COLUMNS, REQUIRED
from sillok.web.bodies import read_upload_form
from sillok.web.context import Refused, Req, requester
from sillok.web.evidence import FileTooLarge, discard, private_path, receive
from sillok.web.i18n import field_label, local_error, said
from sillok.web.imports import (
    SAMPLE_COLUMNS,
    TARGETS,
    UNMAPPED_CHOICES,
    MappingStep,
    Preview,
    commit,
    format_of_upload,
    map_rows,
    mapping_of_form,
    preview,
    problems_csv,
    read_spreadsheet,
    read_upload,
    template_csv,
    unmapped_unchosen,
)

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["imports"])

ReqDep = Annotated[Req, Depends(requester)]
PENDING = "import"
MAPPING = "import_mapping"


def _pending(req: Req, import_id: str) -> Preview:
    found = req.session.pending.get(PENDING) if req.session else None
    if not isinstance(found, Preview) or found.id != import_id:
        raise Refused(
            404, "not_found", req._("This upload is no longer waiting: upload the file again.")
        )
    return found


def _check(req: Req, name: str, path: Path, fmt: str) -> Preview:
    """Read and validate a flat acts file waiting in the private folder, then discard it."""
    try:
        rows = read_upload(name, path, fmt, req.archive.settings.read_limits)
    finally:
        discard(path)
    return preview(req.archive, name, rows)


def _read(req: Req, name: str, path: Path, fmt: str) -> Preview | MappingStep:
    """A file waiting in the private folder (then discarded): the validation report of a flat
    acts file, or the mapping step of a spreadsheet of the group's own."""
    try:
        read = read_spreadsheet(req.archive, name, path, fmt, req.archive.settings.read_limits)
    finally:
        discard(path)
    if isinstance(read, MappingStep):
        return read
    return preview(req.archive, name, read)


def _page(req: Req, status: int = 200, **context: Any) -> Response:
    values = {"preview": None, "report": None, "error": None, "step": None, **context}
    return req.render(
        "import.html",
        status=status,
        say=_say(req),
        targets=TARGETS,
        unmapped_choices=UNMAPPED_CHOICES,
        columns=COLUMNS,
        required=REQUIRED,
        sample_columns=SAMPLE_COLUMNS,
        **values,
    )


@pages.get("/import")
def import_form(req: ReqDep) -> Response:
    """The upload form, with the columns the format takes and an empty file to fill."""
    req.require("import")
    return _page(req)


@pages.get("/import/template.csv")
def import_template(req: ReqDep) -> Response:
    """An empty flat acts file (the header row), to fill in a spreadsheet program."""
    req.require("import")
    return Response(
        template_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sillok-acts-template.csv"'},
    )


@pages.get("/import/problems.csv")
def import_problems(req: ReqDep, id: Annotated[str, Query(max_length=100)]) -> Response:
    """The waiting upload's invalid rows and their problems, as a CSV file to fix them by."""
    req.require("import")
    found = _pending(req, id)
    return Response(
        problems_csv(found, _say(req), req._),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="sillok-import-problems.csv"',
            "Cache-Control": "no-store",
        },
    )


@pages.post("/import")
async def import_upload(req: ReqDep, request: Request) -> Response:
    """Validate an uploaded file (the form's ``file``) and show the report; nothing is
    written yet."""
    req.require("import")
    try:
        received = await read_upload_form(req, request, req.web.settings.max_upload_bytes)
        name = received.filename or "upload"
        try:
            kind = format_of_upload(name)
        except InvalidInput:
            await run_in_threadpool(discard, received.path)
            raise
        checked = await run_in_threadpool(_read, req, name, received.path, kind)
    except FileTooLarge:
        limit = req.web.settings.max_upload_bytes
        return _page(req, 413, error=req._("The file is larger than {n} bytes.", n=limit))
    except InvalidInput as exc:
        return _page(req, 422, error=said(exc))
    assert req.session is not None  # a logged-in page request always has one
    if isinstance(checked, MappingStep):
        req.session.pending.pop(PENDING, None)
        req.session.pending[MAPPING] = checked
        return _page(req, step=checked)
    req.session.pending[PENDING] = checked
    return _page(req, preview=checked)


def _step(req: Req, import_id: str) -> MappingStep:
    found = req.session.pending.get(MAPPING) if req.session else None
    if not isinstance(found, MappingStep) or found.id != import_id:
        raise Refused(
            404, "not_found", req._("This upload is no longer waiting: upload the file again.")
        )
    return found


@pages.get("/import/mapping")
def import_mapping_form(
    req: ReqDep, import_id: Annotated[str, Query(alias="id", max_length=64)]
) -> Response:
    """The column mapping of a spreadsheet waiting for it, as last chosen (to correct it)."""
    req.require("import")
    return _page(req, step=_step(req, import_id))


@pages.post("/import/mapping")
async def import_mapping(req: ReqDep, request: Request) -> Response:
    """Map the waiting spreadsheet's rows as the form chose, and show the validation report;
    a mapping that does not fit is shown again with the problem, as chosen."""
    req.require("import")
    form = await request.form()
    step = _step(req, str(form.get("import_id") or ""))
    try:
        mapping = mapping_of_form(step, form)
        unchosen = unmapped_unchosen(step, mapping)
        if unchosen:
            error = req._(
                "Columns not mapped: {columns}. Choose a field for each, or below what becomes "
                "of them.",
                columns=", ".join(unchosen),
            )
            return _page(req, 422, step=step, error=error)
        rows = await run_in_threadpool(map_rows, step, mapping)
    except InvalidInput as exc:
        return _page(req, 422, step=step, error=_said(exc))
    checked = await run_in_threadpool(preview, req.archive, step.name, rows, step)
    assert req.session is not None
    req.session.pending[PENDING] = checked
    return _page(req, preview=checked)


@pages.post("/import/commit")
async def import_commit(req: ReqDep, import_id: Annotated[str, Form(max_length=64)]) -> Response:
    """Write the valid rows of the file whose report was shown."""
    req.require("import")
    pending = _pending(req, import_id)
    archive = req.archive
    report = await run_in_threadpool(commit, archive, pending)
    assert req.session is not None
    req.session.pending.pop(PENDING, None)
    req.session.pending.pop(MAPPING, None)
    req.web.cache.clear()
    return _page(req, report=report)


# --- API ------------------------------------------------------------------------------------


_FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@api.post(
    "/imports",
    summary="Upload a flat acts file: validation report, or import at once",
    openapi_extra=_FILE_BODY,
)
async def api_import(
    req: ReqDep,
    request: Request,
    format: Annotated[str, Query(pattern="^(csv|jsonl|xlsx)$")] = "csv",
    commit_now: Annotated[bool, Query(alias="commit")] = False,
    name: Annotated[str, Query(max_length=200)] = "upload",
) -> Response:
    """The request body is the file itself. Without ``commit`` the answer is the validation
    report and an ``id`` to commit it with; with ``commit`` a file with any invalid row is
    refused (422, the report) and a valid one is imported (201)."""
    req.require("import")
    path = private_path(req.archive, name)
    size = await receive(request.stream(), path, req.web.settings.max_upload_bytes)
    if size == 0:
        await run_in_threadpool(discard, path)
        raise InvalidInput(f"{name}: the file is empty")
    checked = await run_in_threadpool(_check, req, name, path, format)
    rows = checked.rows
    if not commit_now:
        if req.session is not None:
            req.session.pending[PENDING] = checked
        return JSONResponse(checked.to_json())
    if checked.invalid_rows:
        return JSONResponse(
            {
                "error": {
                    "code": "invalid_input",
                    "message": f"{checked.invalid_rows} of {len(rows)} rows are invalid; "
                    "nothing was imported",
                },
                "report": checked.to_json(),
            },
            status_code=422,
        )
    report = await run_in_threadpool(commit, req.archive, checked)
    req.web.cache.clear()
    return JSONResponse(report.to_json(), status_code=201)


@api.post("/imports/{import_id}/commit", status_code=201, summary="Import a validated upload")
def api_import_commit(req: ReqDep, import_id: str) -> dict[str, Any]:
    """Write the valid rows of an upload validated earlier with the same token."""
    req.require("import")
    pending = _pending(req, import_id)
    report = commit(req.archive, pending)
    assert req.session is not None
    req.session.pending.pop(PENDING, None)
    req.web.cache.clear()
    return report.to_json()


def _said(exc: InvalidInput) -> str:
    """The error's message, a library :class:`Message` kept as one (said in the page's
    language)."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, Message) else str(exc)


def _say(req: Req) -> Any:
    """The import page's way to put a library message and a column name in its language."""

    def say(message: str, column: str | None = None) -> str:
        if column:
            return field_label(column, req.lang)
        return req._(message) if isinstance(message, Message) else local_error(message, req.lang)

    return say
