"""The application's routers: each module holds a noun's pages and its API."""

from __future__ import annotations

from fastapi import APIRouter

from sillok.web.routes import (
    account,
    audit,
    auth,
    entry,
    estimate,
    evidence,
    imports,
    links,
    public,
    records,
    search,
    statements,
    users,
)

ROUTERS: list[APIRouter] = [
    public.pages,
    public.api,
    auth.pages,
    auth.api,
    account.pages,
    records.pages,
    records.api,
    evidence.pages,
    evidence.api,
    search.pages,
    search.api,
    entry.pages,
    entry.api,
    imports.pages,
    imports.api,
    statements.pages,
    statements.api,
    links.pages,
    links.api,
    users.pages,
    audit.pages,
    audit.api,
    estimate.pages,
    estimate.api,
]
