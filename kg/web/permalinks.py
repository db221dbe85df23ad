"""Permalinks of queries: ``/q/<hash>``, where the hash covers the query text and the release it ran on.

Stored server-side in one append-only file of JSON lines (``permalinks.jsonl`` in the build folder, so it
outlives a restart and is shared by every HTTP process): each line the hash, the release id, the query and
the day it was first made. Nothing about who made it is kept (no client address, no time beyond the day).
The file never grows past ``KG_PERMALINK_MAX_BYTES``: when a new line would not fit, the permalink is
refused (:class:`PermalinksFull`) and every existing one still resolves. The same query on the same
release always gives the same hash, and is stored once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FILE = "permalinks.jsonl"
#: Hex digits of SHA-256 kept in a permalink: 64 bits, no collision among any number of stored queries
#: the size bound allows.
HASH_LENGTH = 16


class PermalinksFull(Exception):
    """The file has reached its bound: no new permalink can be stored."""


@dataclass(frozen=True)
class Permalink:
    hash: str
    release: str
    query: str
    day: str


def permalink_hash(query: str, release: str) -> str:
    """The stable id of ``query`` run on ``release``."""
    return hashlib.sha256(f"{release}\n{query}".encode()).hexdigest()[:HASH_LENGTH]


class Permalinks:
    """The append-only file at ``folder/permalinks.jsonl``, at most ``max_bytes`` long."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.path = folder / FILE
        self.max_bytes = max_bytes

    def find(self, key: str) -> Permalink | None:
        """The permalink with this hash, if stored."""
        try:
            with self.path.open(encoding="utf-8") as stream:
                for line in stream:
                    if f'"{key}"' in line:
                        entry = json.loads(line)
                        if entry["hash"] == key:
                            return Permalink(**entry)
        except FileNotFoundError:
            pass
        return None

    def add(self, query: str, release: str) -> Permalink:
        """Store ``query`` on ``release`` (once) and return its permalink; PermalinksFull past the bound."""
        key = permalink_hash(query, release)
        found = self.find(key)
        if found is not None:
            return found
        entry = Permalink(key, release, query, datetime.now(UTC).date().isoformat())
        line = (json.dumps(entry.__dict__, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # processes append one at a time: no line is interleaved or doubled
            if self.find(key) is None:
                if os.fstat(fd).st_size + len(line) > self.max_bytes:
                    raise PermalinksFull(f"the permalink file {self.path} has reached its limit of {self.max_bytes} bytes")
                os.write(fd, line)
        finally:
            os.close(fd)
        return entry
