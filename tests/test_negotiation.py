"""Content negotiation on its own (kg.formats.negotiate), and the HTTP helpers in a bare request context."""

from __future__ import annotations

import pytest
from flask import Flask

from kg.formats import BY_FORM, HTML, JSON, JSONLD, NTRIPLES, TRIPLE_FORMATS, TURTLE, XML, by_name, negotiate
from kg.web.negotiation import client_has, content_type, negotiated

OFFERED = (TURTLE, JSONLD, HTML)
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("accept, expected", [
    (None, TURTLE),
    ("", TURTLE),
    ("*/*", TURTLE),
    ("application/ld+json", JSONLD),
    ("text/html;q=0.5, application/ld+json;q=0.9", JSONLD),
    ("text/*", TURTLE),
    (BROWSER, HTML),
    ("application/xhtml+xml", HTML),  # an alias, named exactly
    ("application/json", JSONLD),
    ("image/png", None),
    ("text/html;q=0, */*", TURTLE),  # the most specific range decides: HTML is excluded, not promoted by */*
    ("text/turtle;q=0, text/*;q=0.5", HTML),
    ("application/*", JSONLD),  # an alias never matches through a wildcard: application/x-turtle is not Turtle here
    ("text/turtle;q=bad, application/ld+json;q=0.1", JSONLD),  # a malformed q counts as 0
    ("TEXT/HTML", HTML),  # media types are case-insensitive
])
def test_negotiate(accept, expected):
    assert negotiate(accept, OFFERED) is expected


def test_ties_go_to_the_format_offered_first():
    assert negotiate("text/turtle, application/ld+json", (JSONLD, TURTLE)) is JSONLD
    assert negotiate("*/*", TRIPLE_FORMATS) is TURTLE


def test_default_applies_only_without_accept():
    assert negotiate(None, OFFERED, default=HTML) is HTML
    assert negotiate("text/turtle", OFFERED, default=HTML) is TURTLE


def test_an_alias_means_what_the_route_offers():
    """application/json is SPARQL JSON results for SELECT and JSON-LD for a graph."""
    assert negotiate("application/json", BY_FORM["SELECT"]) is JSON
    assert negotiate("application/json", BY_FORM["CONSTRUCT"]) is JSONLD
    assert negotiate("text/xml", BY_FORM["ASK"]) is XML
    assert negotiate("text/plain", BY_FORM["CONSTRUCT"]) is NTRIPLES


def test_format_parameter_names_a_format_by_name_media_type_or_alias():
    assert by_name("json", BY_FORM["SELECT"]) is JSON
    assert by_name("application/sparql-results+xml", BY_FORM["SELECT"]) is XML
    assert by_name("application/json", BY_FORM["CONSTRUCT"]) is JSONLD
    assert by_name("turtle", BY_FORM["SELECT"]) is None


def test_negotiated_reads_the_request_header():
    with Flask(__name__).test_request_context(headers={"Accept": BROWSER}):
        assert negotiated(OFFERED) is HTML
    with Flask(__name__).test_request_context():
        assert negotiated(OFFERED, default=HTML) is HTML


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
