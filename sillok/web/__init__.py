"""The web application and HTTP API (FastAPI, Jinja2 pages, little JavaScript)."""

from __future__ import annotations

from sillok.web.app import create_app
from sillok.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
