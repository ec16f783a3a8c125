"""Dates in words for pages: the library's :func:`sillok.dates.words.human_date`."""

from __future__ import annotations

from sillok.dates.words import human_date

__all__ = ["human_date"]
