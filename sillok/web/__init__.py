"""The web application and HTTP API (FastAPI, Jinja2 pages, little JavaScript)."""

from __future__ import annotations

from sillok.web.app import AppFactory, create_app
from sillok.web.settings import WebSettings

__all__ = ["AppFactory", "WebSettings", "create_app"]
