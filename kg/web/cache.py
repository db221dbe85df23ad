"""Per-application objects built once, on first use: models the pages derive from the snapshot."""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from flask import current_app

T = TypeVar("T")
_lock = threading.Lock()


def once(key: str, build: Callable[[], T]) -> T:
    """``app.extensions[key]``, built by ``build()`` the first time any thread asks."""
    found = current_app.extensions.get(key)
    if found is None:
        with _lock:
            found = current_app.extensions.get(key)
            if found is None:
                found = current_app.extensions[key] = build()
    return found
