"""What pages compute from the archive, kept until the archive changes.

The dashboard's counts of 100,000 acts and a search's matches cost more than a page should,
and they change only when a record is written. Every write of a record adds an entry to the
archive's log, whichever process makes it (this server, an import on the command line), so
the log's size marks the archive's state: a value computed at one size is served only while
the log still has that size, and a write anywhere makes the next page compute afresh.

A cache holds only what its caller keys correctly for the access policy: values that depend
on the reader's role carry the role in their key (the dashboard counts), and values that do
not depend on it at all (the ids a query matches, before any record is checked against the
reader's role) are shared. Nothing a role may not see is kept under a key another role uses.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

V = TypeVar("V")

#: how many values a cache keeps (the least recently used go first)
CACHE_SIZE = 512


class ArchiveCache:
    """Values keyed by what they were computed from, valid for one state of the archive."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._mark: Hashable = None
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, mark: Hashable, key: Hashable, compute: Callable[[], V]) -> V:
        """The value of ``key`` at the archive state ``mark`` (read before ``compute`` runs,
        see :meth:`sillok.store.Store.state_mark`), computed and kept when not known for it.

        Any other mark than the one the values were kept for empties the cache; a value is
        kept only when the mark has not changed while it was computed.
        """
        with self._lock:
            if mark != self._mark:
                self._mark = mark
                self._values.clear()
            elif key in self._values:
                self._values.move_to_end(key)
                value: V = self._values[key]
                return value
        value = compute()
        with self._lock:
            if mark == self._mark:
                self._values[key] = value
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every value (after a write through the web, before its log entry is read)."""
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
