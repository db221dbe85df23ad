"""The query side of the W3C SPARQL 1.1 Protocol test suite (w3c/rdf-tests, sparql/sparql11/protocol).

Each case keeps the suite's name and request shape; the suite's own data graphs (kasei.us data0-3)
are replaced by graphs of ours. Update cases expect success from an update service; ours is a
read-only query endpoint, so for them we check the refusal the issue asks for (4xx, data unchanged).
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

G = "https://w3id.org/integrating-cities/graph/"
D1, D2, D3 = G + "helsinki-international-activities", G + "integrating-cities-home", G + "sources"
S1 = "<https://w3id.org/integrating-cities/id/city/helsinki>"   # in D1 only among these
S2 = "<https://w3id.org/integrating-cities/id/event/integrating-cities-iii>"  # in D2
S3 = "<https://w3id.org/integrating-cities/id/source/integrating-cities-home>"  # in D3
q = lambda s: quote(s, safe="")

BOOLEAN_TRUE = [
    ("query_post_form", "POST", f"/sparql?default-graph-uri={q(D1)}", "query=ASK%20%7B%7D", "application/x-www-form-urlencoded"),
    ("query_dataset_default_graphs_get", "GET",
     f"/sparql?query={q(f'ASK {{ {S1} a ?t1 . {S2} a ?t2 }}')}&default-graph-uri={q(D1)}&default-graph-uri={q(D2)}", None, None),
    ("query_dataset_default_graphs_post", "POST", f"/sparql?default-graph-uri={q(D1)}&default-graph-uri={q(D2)}",
     f"ASK {{ {S1} a ?t1 . {S2} a ?t2 }}", "application/sparql-query"),
    ("query_dataset_named_graphs_post", "POST", f"/sparql?named-graph-uri={q(D1)}&named-graph-uri={q(D2)}",
     f"ASK {{ GRAPH ?g1 {{ {S1} a ?t1 }} GRAPH ?g2 {{ {S2} a ?t2 }} }}", "application/sparql-query"),
    ("query_dataset_named_graphs_get", "GET",
     f"/sparql?query={q(f'ASK {{ GRAPH ?g1 {{ {S1} a ?t1 }} GRAPH ?g2 {{ {S2} a ?t2 }} }}')}&named-graph-uri={q(D1)}&named-graph-uri={q(D2)}", None, None),
    ("query_dataset_full", "POST", f"/sparql?default-graph-uri={q(D3)}&named-graph-uri={q(D1)}&named-graph-uri={q(D2)}",
     f"ASK {{ {S3} a ?t . GRAPH ?g1 {{ {S1} a ?t1 }} GRAPH ?g2 {{ {S2} a ?t2 }} }}", "application/sparql-query"),
    ("query_get", "GET", "/sparql?query=ASK%20%7B%7D", None, None),
    ("query_post_direct", "POST", "/sparql", "ASK {}", "application/sparql-query"),
]


@pytest.mark.parametrize("name, method, path, body, content_type", BOOLEAN_TRUE, ids=[c[0] for c in BOOLEAN_TRUE])
def test_boolean_true(client, name, method, path, body, content_type):
    response = client.open(path, method=method, data=body, headers={"Content-Type": content_type} if content_type else {})
    assert response.status_code == 200
    assert response.mimetype in ("application/sparql-results+json", "application/sparql-results+xml")
    assert json.loads(response.data)["boolean"] is True


def test_query_multiple_dataset(client):
    """FROM in the query, overridden by the protocol's default-graph-uri (2.1.4)."""
    query = f"ASK FROM <{D3}> {{ {S2} a ?t }}"
    overridden = client.get(f"/sparql?query={q(query)}&default-graph-uri={q(D2)}")
    assert json.loads(overridden.data)["boolean"] is True
    assert json.loads(client.get(f"/sparql?query={q(query)}").data)["boolean"] is False


@pytest.mark.parametrize("name, query, accept, media_types", [
    ("query_content_type_select", "SELECT (1 AS ?value) {}", "application/sparql-results+json, application/sparql-results+xml",
     {"application/sparql-results+json", "application/sparql-results+xml"}),
    ("query_content_type_ask", "ASK {}", "application/sparql-results+xml, application/sparql-results+json",
     {"application/sparql-results+json", "application/sparql-results+xml"}),
    ("query_content_type_describe", f"DESCRIBE {S1}", "text/turtle, application/rdf+xml",
     {"text/turtle", "application/rdf+xml"}),
    ("query_content_type_construct", f"CONSTRUCT {{ {S1} ?p ?o }} WHERE {{ {S1} ?p ?o }}", "text/turtle, application/rdf+xml",
     {"text/turtle", "application/rdf+xml"}),
], ids=lambda v: v if isinstance(v, str) and v.startswith("query_") else "")
def test_content_types(client, name, query, accept, media_types):
    response = client.post("/sparql", data={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype in media_types


BAD = [
    ("bad_query_method", "PUT", f"/sparql?query=ASK%20%7B%7D&default-graph-uri={q(D1)}", b"", "application/x-www-form-urlencoded"),
    ("bad_multiple_queries", "GET", "/sparql?query=ASK%20%7B%7D&query=SELECT%20%2A%20%7B%7D", None, None),
    ("bad_query_wrong_media_type", "POST", "/sparql", b"ASK {}", "text/plain"),
    ("bad_query_missing_form_type", "POST", "/sparql", b"query=ASK%20%7B%7D", None),
    ("bad_query_missing_direct_type", "POST", "/sparql", b"ASK {}", None),
    ("bad_query_non_utf8", "POST", "/sparql", "ASK {}".encode("utf-16"), "application/sparql-query; charset=UTF-16"),
    ("bad_query_syntax", "GET", "/sparql?query=ASK%20%7B", None, None),
    ("bad_update_get", "GET", "/sparql?update=CLEAR%20ALL", None, None),
    ("bad_multiple_updates", "POST", "/sparql", b"update=CLEAR%20NAMED&update=CLEAR%20DEFAULT", "application/x-www-form-urlencoded"),
    ("bad_update_wrong_media_type", "POST", "/sparql", b"CLEAR NAMED", "text/plain"),
    ("bad_update_missing_form_type", "POST", "/sparql", b"update=CLEAR%20NAMED", None),
    ("bad_update_non_utf8", "POST", "/sparql", "CLEAR NAMED".encode("utf-16"), "application/sparql-update; charset=UTF-16"),
    ("bad_update_syntax", "POST", "/sparql", b"update=CLEAR%20XYZ", "application/x-www-form-urlencoded"),
    ("bad_update_dataset_conflict", "POST", f"/sparql?using-graph-uri={q(D1)}", b"CLEAR ALL", "application/sparql-update"),
    # The suite's update_* cases, answered by a read-only endpoint:
    ("update_post_form", "POST", "/sparql", b"update=CLEAR+ALL", "application/x-www-form-urlencoded"),
    ("update_post_direct", "POST", "/sparql", b"CLEAR ALL", "application/sparql-update"),
    ("update_dataset_default_graph", "POST", f"/sparql?using-graph-uri={q(D1)}", b"DROP ALL", "application/sparql-update"),
    ("update_base_uri", "POST", "/sparql", b"CLEAR GRAPH <http://example.org/protocol-base-test/>", "application/sparql-update"),
]


@pytest.mark.parametrize("name, method, path, body, content_type", BAD, ids=[c[0] for c in BAD])
def test_refused_with_4xx_and_data_unchanged(client, name, method, path, body, content_type):
    count = "/sparql?query=" + q("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }") + "&format=csv"
    before = client.get(count).data
    response = client.open(path, method=method, data=body, headers={"Content-Type": content_type} if content_type else {})
    assert 400 <= response.status_code < 500, response.data
    assert client.get(count).data == before
