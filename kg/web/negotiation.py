"""Content negotiation for every blueprint: :func:`kg.formats.negotiate` on this request's Accept
header, and the Content-Type to send. https://www.rfc-editor.org/rfc/rfc9110#name-accept
"""

from __future__ import annotations

from typing import Sequence

from flask import request

from kg.formats import Format, negotiate


def negotiated(offered: Sequence[Format], default: Format | None = None) -> Format | None:
    """The offered format this request prefers (see :func:`kg.formats.negotiate`)."""
    return negotiate(request.headers.get("Accept"), offered, default)


def content_type(media_type: str) -> str:
    """The media type with ``charset=utf-8`` for text formats; JSON types are UTF-8 by definition and take none."""
    is_json = media_type.endswith("/json") or media_type.endswith("+json")
    return media_type if is_json else f"{media_type}; charset=utf-8"


def client_has(etag: str) -> bool:
    """If-None-Match holds ``etag``, possibly with the ``:gzip`` suffix flask-compress gives compressed responses."""
    return any(tag.split(":", 1)[0] == etag for tag in request.if_none_match.as_set())
