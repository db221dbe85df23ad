"""Answers kept for repeated identical queries, per release.

Clients repeat queries: an editor re-run, a page's embedded query, a dashboard polling. The key is the
query's ETag (:meth:`kg.query.protocol.Endpoint.prepare`), which covers the release, the text, the dataset
and the format, and each release has its own cache, dropped with it: an answer is never stale.
Bounded by the bytes of the answers it holds, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from kg.query.executor import QueryOutcome

#: No single answer may take more than this share of the cache, so one large download cannot empty it.
LARGEST_SHARE = 8


class ResultCache:
    """Thread-safe LRU of outcomes by key, holding at most ``max_bytes`` of answer bodies."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, QueryOutcome] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> QueryOutcome | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: str, outcome: QueryOutcome) -> None:
        size = len(outcome.body)
        if size > self.max_bytes // LARGEST_SHARE:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.body)
            self._entries[key] = outcome
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)

    @property
    def bytes(self) -> int:
        with self._lock:
            return self._bytes
