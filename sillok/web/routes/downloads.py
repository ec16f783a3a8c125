"""Pages as PDF files: a record, a published statement, a staff draft.

Each PDF is drawn from a print template (:mod:`sillok.web.pdf`) with the data its page shows,
from the same library calls, so it carries exactly the redaction the role sees there: a record
through :func:`~sillok.web.views.record_view` (sealed fields stay ``[protected]``: a PDF never
opens them), a published statement through the public side's copy. Each download is audited as
an export. These routes are registered before the pages', whose ``/{id}`` would take ``7.pdf``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from sillok.records.statements import Statement
from sillok.web import i18n
from sillok.web.access import may
from sillok.web.context import Req, requester
from sillok.web.pdf import MEDIA_TYPE, html_to_pdf, today
from sillok.web.public_pages import public_copy
from sillok.web.routes.records import Kind, RecordId
from sillok.web.routes.statements import StatementId
from sillok.web.views import display_fields, heading, record_view

pages = APIRouter(include_in_schema=False)

ReqDep = Annotated[Req, Depends(requester)]


@pages.get("/records/{kind}/{record_id}.pdf")
def record_pdf(req: ReqDep, kind: Kind, record_id: RecordId) -> Response:
    """A record as its page shows it to the role, as a PDF (sealed fields unopened)."""
    req.require("read", kind.value)
    view = record_view(req.archive, req.principal, kind.value, record_id, False, req.lang)
    html = _html(
        req, "record_print.html", view=view, kind=kind.value, title=heading(view, req.lang),
        fields=display_fields(view, req.archive, req.lang),
        refused_labels=list(dict.fromkeys(req._(f) for f in view.redacted)),
        sealed_labels=list(dict.fromkeys(req._(f) for f in view.protected)),
    )
    return _pdf(req, html, f"sillok-{kind.value}-{record_id}.pdf", kind.value, record_id)


@pages.get("/news/{statement_id}.pdf")
def news_pdf(req: ReqDep, statement_id: StatementId) -> Response:
    """A published statement or news item as a PDF, for anyone (as ``/news/{id}`` shows it)."""
    item = public_copy(req.web.statements.get(statement_id, published_only=True), req.principal)
    events = item.events if req.principal.authenticated else tuple(
        e for e in item.events if e.sharing == "public"
    )
    return _statement_pdf(req, item, events)


@pages.get("/statements/{statement_id}.pdf")
def statement_pdf(req: ReqDep, statement_id: StatementId) -> Response:
    """A statement as staff see it (drafts included), as a PDF."""
    req.require("statement.write")
    item = req.statements.get(statement_id)
    return _statement_pdf(req, item, item.events)


def _statement_pdf(req: Req, item: Statement, events: Any) -> Response:
    html = _html(req, "statement_print.html", item=item, events=events)
    return _pdf(req, html, f"sillok-statement-{item.id}.pdf", "statement", item.id)


def _html(req: Req, template: str, **context: Any) -> str:
    """A print template with what the pages' templates are given (never a CSRF token)."""
    return req.web.templates.get_template(template).render(
        _=req.gettext,
        lang=req.lang,
        languages=i18n.LANGUAGE_NAMES,
        principal=req.principal,
        may=lambda action, kind=None: may(req.principal, action, kind),
        today=today(),
        **context,
    )


def _pdf(req: Req, html: str, name: str, kind: str, record_id: int) -> Response:
    pdf = html_to_pdf(html)
    req.archive.audit.record(
        "export", kind, record_id,
        {"format": "pdf", "role": req.principal.policy_role, "bytes": len(pdf)},
    )
    response = Response(
        pdf, media_type=MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
    req.finish(response)
    return response
