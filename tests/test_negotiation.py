"""Content negotiation on its own, in a bare request context."""

from __future__ import annotations

import pytest
from flask import Flask

from kg.web.negotiation import client_has, content_type, preferred

OFFERED = ["text/turtle", "application/ld+json", "text/html"]


@pytest.mark.parametrize("accept, expected", [
    (None, "text/turtle"),
    ("*/*", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
    ("text/html;q=0.5, application/ld+json;q=0.9", "application/ld+json"),
    ("text/*", "text/turtle"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
    ("image/png", None),
])
def test_preferred(accept, expected):
    with Flask(__name__).test_request_context(headers={"Accept": accept} if accept else {}):
        assert preferred(OFFERED) == expected


def test_default_applies_only_without_accept():
    with Flask(__name__).test_request_context():
        assert preferred(OFFERED, default="text/html") == "text/html"


@pytest.mark.parametrize("media_type, header", [
    ("text/turtle", "text/turtle; charset=utf-8"),
    ("application/ld+json", "application/ld+json"),
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/json", "application/json"),
    ("application/rdf+xml", "application/rdf+xml; charset=utf-8"),
])
def test_content_type(media_type, header):
    assert content_type(media_type) == header


def test_client_has_matches_compressed_etags():
    with Flask(__name__).test_request_context(headers={"If-None-Match": '"abc:gzip", "other"'}):
        assert client_has("abc") and client_has("other") and not client_has("ab")
