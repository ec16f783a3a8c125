"""Import a flat acts file: upload, read the validation report, then commit (page and API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sillok.errors import InvalidInput
from sillok.web.bodies import read_upload_form
from sillok.web.context import Refused, Req, current
from sillok.web.evidence import FileTooLarge, discard, private_path, receive
from sillok.web.i18n import field_label, local_error
from sillok.web.imports import Preview, commit, format_of_upload, preview, read_upload

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["imports"])

ReqDep = Annotated[Req, Depends(current)]
PENDING = "import"


def _pending(req: Req, import_id: str) -> Preview:
    found = req.session.pending.get(PENDING) if req.session else None
    if not isinstance(found, Preview) or found.id != import_id:
        raise Refused(
            404, "not_found", req._("This upload is no longer waiting: upload the file again.")
        )
    return found


def _check(req: Req, name: str, path: Path, fmt: str) -> Preview:
    """Read and validate a file waiting in the private folder, then discard it."""
    try:
        rows = read_upload(name, path, fmt, req.archive.settings.read_limits)
    finally:
        discard(path)
    return preview(req.archive, name, rows)


@pages.get("/import")
def import_form(req: ReqDep) -> Response:
    """The upload form."""
    req.require("import")
    return req.render("import.html", say=_say(req), preview=None, report=None, error=None)


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
        checked = await run_in_threadpool(_check, req, name, received.path, kind)
    except FileTooLarge:
        limit = req.web.settings.max_upload_bytes
        error = req._("The file is larger than {n} bytes.", n=limit)
        return req.render(
            "import.html", say=_say(req), status=413, preview=None, report=None, error=error
        )
    except InvalidInput as exc:
        return req.render(
            "import.html", say=_say(req), status=422, preview=None, report=None, error=str(exc)
        )
    assert req.session is not None  # a logged-in page request always has one
    req.session.pending[PENDING] = checked
    return req.render("import.html", say=_say(req), preview=checked, report=None, error=None)


@pages.post("/import/commit")
async def import_commit(req: ReqDep, import_id: Annotated[str, Form(max_length=64)]) -> Response:
    """Write the valid rows of the file whose report was shown."""
    req.require("import")
    pending = _pending(req, import_id)
    archive = req.archive
    report = await run_in_threadpool(commit, archive, pending)
    assert req.session is not None
    req.session.pending.pop(PENDING, None)
    req.web.cache.clear()
    return req.render("import.html", say=_say(req), preview=None, report=report, error=None)


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


def _say(req: Req) -> Any:
    """The import page's way to put a library message and a column name in its language."""

    def say(message: str, column: str | None = None) -> str:
        return field_label(column, req.lang) if column else local_error(message, req.lang)

    return say
