"""Import a flat acts file: upload, read the validation report, then commit (page and API)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sillok.errors import InvalidInput
from sillok.web.context import Refused, Req, current
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


async def _read(req: Req, upload: UploadFile, fmt: str | None = None) -> Preview:
    limit = req.web.settings.max_upload_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise Refused(413, "too_large", req._("The file is larger than {n} bytes.", n=limit))
    name = upload.filename or "upload"
    kind = format_of_upload(name, fmt)
    rows = await run_in_threadpool(read_upload, name, data, kind)
    return await run_in_threadpool(preview, req.archive, name, rows)


@pages.get("/import")
def import_form(req: ReqDep) -> Response:
    """The upload form."""
    req.require("import")
    return req.render("import.html", preview=None, report=None, error=None)


@pages.post("/import")
async def import_upload(req: ReqDep, file: Annotated[UploadFile, File()]) -> Response:
    """Validate an uploaded file and show the report; nothing is written yet."""
    req.require("import")
    try:
        checked = await _read(req, file)
    except InvalidInput as exc:
        return req.render("import.html", status=422, preview=None, report=None, error=str(exc))
    assert req.session is not None  # a logged-in page request always has one
    req.session.pending[PENDING] = checked
    return req.render("import.html", preview=checked, report=None, error=None)


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
    return req.render("import.html", preview=None, report=report, error=None)


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
    limit = req.web.settings.max_upload_bytes
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise Refused(413, "too_large", f"the file is larger than {limit} bytes")
    rows = await run_in_threadpool(read_upload, name, data, format)
    checked = await run_in_threadpool(preview, req.archive, name, rows)
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
