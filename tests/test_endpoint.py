"""The SPARQL endpoint over HTTP (Flask test client): protocol paths, formats, errors, caching, CORS."""

from __future__ import annotations

import gzip
import json
from xml.etree import ElementTree

import pyoxigraph as ox
import pytest
from rdflib import Graph

from kg.competency import questions
from kg.config import PROJECT_ROOT
from kg.formats import BY_FORM

G = "https://w3id.org/integrating-cities/graph/"
CQS = questions(PROJECT_ROOT / "queries")
SELECT_CITY = "SELECT ?city WHERE { event:integrating-cities-iii ic:location ?city }"
BERLIN = "https://w3id.org/integrating-cities/id/city/berlin"


def solutions(response) -> set[tuple]:
    fmt = ox.QueryResultsFormat.from_media_type(response.mimetype)
    parsed = ox.parse_query_results(response.data, format=fmt)
    if isinstance(parsed, ox.QueryBoolean):
        return {(bool(parsed),)}
    names = [v.value for v in parsed.variables]
    return {tuple(str(s[n]) if s[n] is not None else None for n in names) for s in parsed}


# --- protocol paths -------------------------------------------------------------------------

def test_get_post_form_and_post_direct_agree(client):
    get = client.get("/sparql", query_string={"query": SELECT_CITY})
    form = client.post("/sparql", data={"query": SELECT_CITY})
    direct = client.post("/sparql", data=SELECT_CITY, content_type="application/sparql-query")
    assert get.status_code == form.status_code == direct.status_code == 200
    assert solutions(get) == solutions(form) == solutions(direct) == {(f"<{BERLIN}>",)}


def test_head_is_answered_like_get(client):
    get = client.get("/sparql", query_string={"query": SELECT_CITY})
    head = client.head("/sparql", query_string={"query": SELECT_CITY})
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"] and head.headers["ETag"] == get.headers["ETag"]


@pytest.mark.parametrize("accept, media_type", [
    (None, "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
    ("application/json", "application/sparql-results+json"),
    ("*/*", "application/sparql-results+json"),
])
def test_select_result_formats_by_accept(client, accept, media_type):
    response = client.get("/sparql", query_string={"query": SELECT_CITY}, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200 and response.mimetype == media_type
    assert "Accept" in response.headers["Vary"]


def test_tsv_header_and_csv_values(client):
    tsv = client.get("/sparql", query_string={"query": SELECT_CITY, "format": "tsv"})
    assert tsv.data.decode().splitlines() == ["?city", f"<{BERLIN}>"]
    csv = client.get("/sparql", query_string={"query": SELECT_CITY, "format": "csv"})
    assert csv.data.decode() == f"city\r\n{BERLIN}\r\n"


def test_xml_results_are_well_formed(client):
    response = client.get("/sparql", query_string={"query": SELECT_CITY, "format": "xml"})
    root = ElementTree.fromstring(response.data)
    assert root.find(".//{http://www.w3.org/2005/sparql-results#}uri").text == BERLIN


@pytest.mark.parametrize("fmt", [f.name for f in BY_FORM["CONSTRUCT"]])
def test_construct_in_every_rdf_format(client, fmt):
    query = "CONSTRUCT { event:integrating-cities-iii ?p ?o } WHERE { GRAPH graph:integrating-cities-home { event:integrating-cities-iii ?p ?o } }"
    response = client.get("/sparql", query_string={"query": query, "format": fmt})
    assert response.status_code == 200
    rdf_format = ox.RdfFormat.from_media_type(response.mimetype)
    triples = list(ox.parse(response.data, format=rdf_format))
    assert len(triples) > 5


def test_jsonld_round_trips_to_the_same_triples(client):
    query = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH graph:integrating-cities-home { ?s ?p ?o } }"
    turtle = client.get("/sparql", query_string={"query": query, "format": "turtle"})
    jsonld = client.get("/sparql", query_string={"query": query, "format": "jsonld"})
    a = Graph().parse(data=turtle.data, format="turtle")
    b = Graph().parse(data=jsonld.data, format="json-ld")
    from rdflib.compare import isomorphic
    assert isomorphic(a, b)


def test_describe_and_ask(client):
    describe = client.get("/sparql", query_string={"query": f"DESCRIBE <{BERLIN}>"}, headers={"Accept": "application/n-triples"})
    assert describe.status_code == 200 and BERLIN.encode() in describe.data
    ask = client.get("/sparql", query_string={"query": "ASK { city:berlin a schema:City }"})
    assert json.loads(ask.data) == {"head": {}, "boolean": True}


def test_unservable_accept_is_406_with_the_list(client):
    response = client.get("/sparql", query_string={"query": SELECT_CITY}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.get_data(as_text=True)


def test_format_parameter_that_cannot_express_the_form_is_400(client):
    response = client.get("/sparql", query_string={"query": SELECT_CITY, "format": "turtle"})
    assert response.status_code == 400 and "cannot express SELECT" in response.get_data(as_text=True)


# --- errors ----------------------------------------------------------------------------------

def test_syntax_error_is_400_with_line_and_column(client):
    response = client.get("/sparql", query_string={"query": "SELECT ?x WHERE {\n  ?x ?y"})
    assert response.status_code == 400
    assert "error at 2:" in response.get_data(as_text=True)


@pytest.mark.parametrize("kwargs", [
    {"query_string": {"update": "CLEAR ALL"}},
    {"query_string": {"query": "INSERT DATA { <http://a> <http://b> <http://c> }"}},
    {"method": "POST", "data": {"update": "DROP ALL"}},
    {"method": "POST", "data": "DELETE WHERE { ?s ?p ?o }", "content_type": "application/sparql-update"},
    {"method": "POST", "data": {"query": "LOAD <http://example.org/x.ttl>"}},
], ids=["update-param", "update-in-query", "form-update", "direct-update", "load"])
def test_updates_are_refused_and_nothing_changes(client, kwargs):
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    before = client.get("/sparql", query_string={"query": count, "format": "csv"}).data
    response = client.open("/sparql", **kwargs)
    assert response.status_code == 403 and "read-only" in response.get_data(as_text=True)
    assert client.get("/sparql", query_string={"query": count, "format": "csv"}).data == before


def test_two_query_parameters_are_400(client):
    response = client.get("/sparql?query=ASK%20%7B%7D&query=SELECT%20%2A%20%7B%7D")
    assert response.status_code == 400


@pytest.mark.parametrize("content_type, body, status", [
    ("text/plain", b"ASK {}", 415),
    (None, b"query=ASK%20%7B%7D", 415),
    (None, b"ASK {}", 415),
    ("application/sparql-query; charset=UTF-16", "ASK {}".encode("utf-16"), 415),
    ("application/sparql-query", b"ASK { ?s ?p \"\xff\xfe\" }", 400),
    ("application/x-www-form-urlencoded", b"query=ASK%20%7B%20%3Fs%20%3Fp%20%22%FF%22%20%7D", 400),
])
def test_bad_post_bodies(client, content_type, body, status):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/sparql", data=body, headers=headers)
    assert response.status_code == status


def test_invalid_utf8_in_the_query_string_is_400(client):
    assert client.get("/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%22%C3%28%22%20%7D").status_code == 400


def test_unknown_parameter_is_400(client):
    response = client.get("/sparql", query_string={"query": "ASK {}", "timeout": "0"})
    assert response.status_code == 400 and "timeout" in response.get_data(as_text=True)


def test_other_methods_are_405(client):
    assert client.put("/sparql?query=ASK%20%7B%7D").status_code == 405


def test_oversized_body_is_413(client, app):
    big = b"query=" + b"A" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    assert client.post("/sparql", data=big, content_type="application/x-www-form-urlencoded").status_code == 413


# --- dataset ---------------------------------------------------------------------------------

def test_default_graph_uri_selects_one_graph(client):
    query = "ASK { city:berlin ?p ?o }"
    only_ontology = client.get("/sparql", query_string={"query": query, "default-graph-uri": G + "ontology"})
    only_home = client.get("/sparql", query_string={"query": query, "default-graph-uri": G + "integrating-cities-home"})
    assert json.loads(only_ontology.data)["boolean"] is False and json.loads(only_home.data)["boolean"] is True


def test_named_graph_uri_limits_graph_patterns(client):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = client.get("/sparql", query_string={"query": query, "named-graph-uri": [G + "sources", G + "inferred"]})
    assert solutions(response) == {(f"<{G}inferred>",), (f"<{G}sources>",)}


def test_from_selects_our_graphs_and_unknown_graphs_are_400(client):
    ok = client.get("/sparql", query_string={"query": f"ASK FROM <{G}ontology> {{ ic:City ?p ?o }}"})
    assert json.loads(ok.data)["boolean"] is True
    bad = client.get("/sparql", query_string={"query": "SELECT * FROM <http://example.org/x> WHERE { ?s ?p ?o }"})
    assert bad.status_code == 400


def test_default_graph_is_a_set_merge(client):
    """A fact stated by several sources is one triple in the default graph."""
    query = "SELECT (COUNT(*) AS ?n) WHERE { work:integrating-cities-charter ic:launchDate ?d }"
    assert client.get("/sparql", query_string={"query": query, "format": "csv"}).data == b"n\r\n1\r\n"


# --- service description, caching, CORS, compression, limits ----------------------------------

def test_service_description_lists_every_graph(client, snapshot):
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    graph = Graph().parse(data=response.data, format="turtle")
    names = {str(o) for o in graph.objects(None, ox_sd("name"))}
    assert names == set(snapshot.manifest["graphs"])
    jsonld = client.get("/sparql", headers={"Accept": "application/ld+json"})
    assert len(Graph().parse(data=jsonld.data, format="json-ld")) == len(graph)


def ox_sd(term: str):
    from rdflib import URIRef
    return URIRef("http://www.w3.org/ns/sparql-service-description#" + term)


def test_repeated_query_can_be_answered_304(client):
    first = client.get("/sparql", query_string={"query": SELECT_CITY})
    again = client.get("/sparql", query_string={"query": SELECT_CITY}, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    big = "SELECT * WHERE { GRAPH graph:ontology { ?s ?p ?o } } LIMIT 40"
    gzipped = client.get("/sparql", query_string={"query": big}, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    again_gzipped = client.get("/sparql", query_string={"query": big},
                               headers={"Accept-Encoding": "gzip", "If-None-Match": gzipped.headers["ETag"]})
    assert again_gzipped.status_code == 304
    other = client.get("/sparql", query_string={"query": SELECT_CITY, "format": "csv"}, headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200
    assert first.headers["Last-Modified"].endswith("GMT")


def test_cors_on_reads_and_preflight(client):
    assert client.get("/sparql", query_string={"query": "ASK {}"}).headers["Access-Control-Allow-Origin"] == "*"
    preflight = client.options("/sparql", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200 and "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_gzip_when_accepted(client):
    query = "SELECT * WHERE { GRAPH graph:ontology { ?s ?p ?o } } LIMIT 40"
    response = client.get("/sparql", query_string={"query": query}, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.data))["results"]["bindings"]


def test_row_cap_is_announced(client, app):
    cap = app.extensions["kg.settings"].max_rows
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert len(json.loads(response.data)["results"]["bindings"]) == cap
    assert response.headers["KG-Result-Truncated"] == f"max-rows={cap}"
    small = client.get("/sparql", query_string={"query": SELECT_CITY})
    assert "KG-Result-Truncated" not in small.headers


def test_healthz_and_metrics(client, snapshot):
    assert client.get("/healthz").get_data(as_text=True) == f"ok {snapshot.manifest['build_id']}\n"
    client.get("/sparql", query_string={"query": "ASK {}"})
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "kg_queries_total" in metrics and f'kg_graph_triples{{graph="{G}inferred"}}' in metrics


# --- competency questions over HTTP ----------------------------------------------------------

@pytest.mark.parametrize("question", CQS, ids=[q.name for q in CQS])
def test_every_competency_question_in_every_format(client, question):
    expected = ox.parse_query_results(question.expected_path.read_bytes(), format=ox.QueryResultsFormat.TSV)
    names = [v.value for v in expected.variables]
    want = sorted(tuple(str(s[n]) if s[n] is not None else None for n in names) for s in expected)
    for fmt in ("json", "xml", "tsv"):
        response = client.post("/sparql", data={"query": question.text, "format": fmt})
        assert response.status_code == 200, response.data
        got = ox.parse_query_results(response.data, format=ox.QueryResultsFormat.from_media_type(response.mimetype))
        assert sorted(tuple(str(s[n]) if s[n] is not None else None for n in names) for s in got) == want, fmt
    csv = client.post("/sparql", data={"query": question.text, "format": "csv"})
    assert csv.status_code == 200 and len(csv.data.decode().splitlines()) == len(want) + 1
