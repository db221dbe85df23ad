"""Content negotiation shared by every blueprint: which offered media type a request prefers, and
the Content-Type to send for it. https://www.rfc-editor.org/rfc/rfc9110#name-accept
"""

from __future__ import annotations

from flask import request


def preferred(offered: list[str], default: str | None = None) -> str | None:
    """The offered media type the client prefers (q-values honoured; the first offered wins ties).

    No Accept header means any: then ``default``, or the first offered. None: nothing offered is acceptable.
    """
    if not request.accept_mimetypes:
        return default or offered[0]
    return request.accept_mimetypes.best_match(offered)


def content_type(media_type: str) -> str:
    """The media type with ``charset=utf-8`` for text formats; JSON types are UTF-8 by definition and take none."""
    is_json = media_type.endswith("/json") or media_type.endswith("+json")
    return media_type if is_json else f"{media_type}; charset=utf-8"


def client_has(etag: str) -> bool:
    """If-None-Match holds ``etag``, possibly with the ``:gzip`` suffix flask-compress gives compressed responses."""
    return any(tag.split(":", 1)[0] == etag for tag in request.if_none_match.as_set())
