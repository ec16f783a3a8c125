"""Evidence files on record pages: upload (streamed) and download, page and API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from sillok.errors import InvalidInput
from sillok.web.access import refused
from sillok.web.bodies import read_upload_form
from sillok.web.context import Refused, Req, requester
from sillok.web.evidence import discard, preview_type, private_path, receive, safe_name
from sillok.web.routes.records import Kind, RecordId

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["evidence"])

ReqDep = Annotated[Req, Depends(requester)]
AttachmentId = Annotated[int, Path(ge=1, le=2**40 - 1)]


def _attach(req: Req, kind: Kind, record_id: int, path: Any) -> dict[str, Any]:
    added: dict[str, Any] = req.archive.attachments.attach(kind.value, record_id, path)
    return {k: v for k, v in added.items() if k != "blob_name"}


@pages.post("/records/{kind}/{record_id}/attachments")
async def upload(req: ReqDep, request: Request, kind: Kind, record_id: RecordId) -> Response:
    """Seal an uploaded file (the form's ``file``) into the archive and attach it."""
    req.require("attachment.add", kind.value)
    received = await read_upload_form(req, request, req.web.settings.max_evidence_bytes)
    try:
        await run_in_threadpool(_attach, req, kind, record_id, received.path)
    finally:
        await run_in_threadpool(discard, received.path)
    return req.redirect(f"/records/{kind.value}/{record_id}#attachments")


async def _send(req: Req, attachment_id: int) -> Response:
    req.require("attachment.get")
    # the library decides who may open which file (sillok.security.policy.may_get_evidence)
    path = private_path(req.archive, f"attachment-{attachment_id}")
    try:
        got = await run_in_threadpool(req.archive.attachments.get, attachment_id, path)
    except BaseException:
        await run_in_threadpool(discard, path)
        raise
    name = got.get("filename")
    filename = safe_name(name) if name and not refused(name) else f"attachment-{attachment_id}"
    return FileResponse(
        path,
        media_type=str(got.get("media_type") or "application/octet-stream"),
        filename=filename,
        background=BackgroundTask(discard, path),
    )


@pages.get("/attachments/{attachment_id}")
async def download(req: ReqDep, attachment_id: AttachmentId) -> Response:
    """The original file, byte for byte (its opening joins the chain of custody)."""
    return await _send(req, attachment_id)


#: headers of a file shown in the browser: no script, no plugin, no guessing of its type, no
#: copy kept by the browser or a proxy
_INLINE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
}


@pages.get("/attachments/{attachment_id}/inline")
async def inline(req: ReqDep, attachment_id: AttachmentId) -> Response:
    """An image or PDF shown in the browser (a preview); any other file is refused with 415,
    to be downloaded instead. The opening joins the chain of custody like a download."""
    req.require("attachment.get")
    path = private_path(req.archive, f"inline-{attachment_id}")
    try:
        await run_in_threadpool(req.archive.attachments.get, attachment_id, path)
        media = await run_in_threadpool(preview_type, path)
    except BaseException:
        await run_in_threadpool(discard, path)
        raise
    if media is None:
        await run_in_threadpool(discard, path)
        raise Refused(415, "no_preview", req._(
            "This file is not an image or a PDF the browser can show: download it instead."
        ))
    headers = dict(_INLINE_HEADERS)
    if media.startswith("image/"):
        headers["Content-Security-Policy"] += "; sandbox"
    return FileResponse(
        path,
        media_type=media,
        headers=headers,
        content_disposition_type="inline",
        filename=f"evidence-{attachment_id}",
        background=BackgroundTask(discard, path),
    )


# --- API ------------------------------------------------------------------------------------

_FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@api.post(
    "/records/{kind}/{record_id}/attachments",
    status_code=201,
    summary="Attach an evidence file (the request body is the file, streamed)",
    openapi_extra=_FILE_BODY,
)
async def api_upload(
    req: ReqDep,
    request: Request,
    kind: Kind,
    record_id: RecordId,
    filename: Annotated[str, Query(min_length=1, max_length=200)] = "evidence",
) -> JSONResponse:
    """Store the body as an evidence file of the record; answers its SHA-256 and size."""
    req.require("attachment.add", kind.value)
    path = private_path(req.archive, filename)
    try:
        size = await receive(request.stream(), path, req.web.settings.max_evidence_bytes)
        if size == 0:
            raise InvalidInput("the file is empty")
        added = await run_in_threadpool(_attach, req, kind, record_id, path)
    finally:
        await run_in_threadpool(discard, path)
    return JSONResponse(added, status_code=201)


@api.get("/records/{kind}/{record_id}/attachments", summary="The evidence files of a record")
def api_list(req: ReqDep, kind: Kind, record_id: RecordId) -> dict[str, Any]:
    """The attachments of a record with their chain of custody, as the role may see them."""
    req.require("read", kind.value)
    found = req.archive.attachments.list(kind.value, record_id)
    return {"attachments": [{k: v for k, v in a.items() if k != "blob_name"} for a in found]}


@api.get("/attachments/{attachment_id}", summary="Download an evidence file")
async def api_download(req: ReqDep, attachment_id: AttachmentId) -> Response:
    """The original file, byte for byte."""
    return await _send(req, attachment_id)


__all__ = ["Refused", "api", "pages"]
