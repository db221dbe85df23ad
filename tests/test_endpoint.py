"""The SPARQL endpoint over HTTP (Flask test client): protocol paths, formats, errors, caching, CORS."""

from __future__ import annotations

import gzip
import json
import threading
import time
from xml.etree import ElementTree

import pyoxigraph as ox
import pytest
from rdflib import Graph

from prometheus_client.parser import text_string_to_metric_families

from kg.config import PROJECT_ROOT
from kg.formats import BY_FORM
from kg.query.metrics import CONTENT_TYPE, QUERY_BUCKETS, Metrics
from kg.site.competency import questions

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


def test_default_graph_uri_overrides_a_foreign_from(client, store):
    """SPARQL 1.1 Protocol §2.1.4: the protocol's dataset replaces the query's, so a FROM naming a graph we
    do not publish is not read at all (nor refused) when default-graph-uri or named-graph-uri is given."""
    query = "SELECT (COUNT(*) AS ?n) FROM <http://example.org/foreign> FROM NAMED <http://example.org/other> WHERE { ?s ?p ?o }"
    assert client.get("/sparql", query_string={"query": query}).status_code == 400
    overridden = client.get("/sparql", query_string={"query": query, "default-graph-uri": G + "ontology"})
    expected = store.store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=[ox.NamedNode(G + "ontology")])
    assert overridden.status_code == 200 and solutions(overridden) == {(str(next(iter(expected))["n"]),)}
    # Only named-graph-uri: the default graph is empty (the query's FROM is gone too), GRAPH sees the one named.
    named_only = client.get("/sparql", query_string={"query": query, "named-graph-uri": G + "sources"})
    assert solutions(named_only) == {('"0"^^<http://www.w3.org/2001/XMLSchema#integer>',)}
    graphs = client.get("/sparql", query_string={
        "query": "SELECT DISTINCT ?g FROM NAMED <http://example.org/other> WHERE { GRAPH ?g { ?s ?p ?o } }",
        "named-graph-uri": G + "sources"})
    assert solutions(graphs) == {(f"<{G}sources>",)}


#: Valid read-only queries a guard once refused (issue 18): each must answer as bare Oxigraph does.
ONCE_REFUSED = {
    "a language tag spelling an update keyword": 'SELECT * WHERE { VALUES ?x { "x"@drop "y"@insert "z"@load "w"@with } }',
    "a dot and a keyword in a local name": "PREFIX ex: <http://example.org/> SELECT * WHERE { VALUES ?p { ex:a.insert ex:a.from } }",
    "an escaped comma in a local name": "PREFIX ex: <http://example.org/> SELECT * WHERE { VALUES ?p { ex:a\\,with } }",
    "a comment right after a less-than": "SELECT ?s WHERE { ?s ic:editionNumber ?o FILTER(?o<4)#>\n } ORDER BY ?s",
    "FROM relative to BASE": f"BASE <{G}> SELECT (COUNT(*) AS ?n) FROM <ontology> WHERE {{ ?s ?p ?o }}",
    "FROM with a \\u escape": f"SELECT (COUNT(*) AS ?n) FROM <{G}ontolog\\u0079> WHERE {{ ?s ?p ?o }}",
}


@pytest.mark.parametrize("query", ONCE_REFUSED.values(), ids=ONCE_REFUSED.keys())
def test_valid_queries_the_guard_once_refused_answer_as_bare_oxigraph(client, store, query):
    from kg.namespaces import PREFIXES

    response = client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.data
    bare = store.store.query(query, prefixes=PREFIXES, default_graph=store.snapshot.union
                             if "FROM" not in query else None)
    names = [v.value for v in bare.variables]
    assert solutions(response) == {tuple(str(s[n]) if s[n] is not None else None for n in names) for s in bare}
    assert solutions(response), "a comparison of two empty answers proves little"


def test_without_dataset_parameters_graph_patterns_see_every_published_graph(client, snapshot):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert solutions(client.get("/sparql", query_string={"query": query})) == {
        (f"<{g}>",) for g in snapshot.manifest["graphs"]}


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
    response = client.get("/metrics")
    assert response.content_type == CONTENT_TYPE
    metrics = response.get_data(as_text=True)
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


# --- bounded queries answered in the HTTP process ---------------------------------------------

from kg.query.executor import QueryJob, QueryPool, QueryTimeout, WorkerFailed, evaluate  # noqa: E402
from kg.query.guard import analyse  # noqa: E402

BOUNDED = [
    "ASK {}",
    "ASK { city:berlin a schema:City }",
    "SELECT * {}",
    f"SELECT ?p ?o WHERE {{ <{BERLIN}> ?p ?o }}",
    "SELECT ?label WHERE { city:berlin rdfs:label ?label }",
    "select ?s where { ?s a ic:City . }",
    "SELECT * WHERE { ?s ?p ?o }",
    "SELECT ?x WHERE { ?s ?p ?o } LIMIT 3",
    'SELECT ?s WHERE { ?s rdfs:label "Berlin"@en }',
    'SELECT ?s WHERE { ?s ic:population "5"^^xsd:integer }',
    "SELECT ?s { ?s ic:population 5 }",
    "PREFIX ex: <http://example.org/> # a comment { ?a ?b ?c . ?d ?e ?f }\nSELECT ?o WHERE { ex:a ex:b ?o }",
    f"SELECT ?p ?o WHERE {{ <{BERLIN}#x> ?p ?o }}",
]
NOT_BOUNDED = [
    "SELECT DISTINCT ?p WHERE { ?s ?p ?o }",           # reads every triple to return a few
    "SELECT REDUCED ?p WHERE { ?s ?p ?o }",
    "SELECT * WHERE { ?s ?p ?s }",                     # repeated variable: a filter over a full scan
    "SELECT * WHERE { ?s ?p $s }",
    "SELECT * WHERE { ?s ?p ?o } ORDER BY ?o",
    "SELECT * WHERE { ?s ?p ?o } LIMIT 5 OFFSET 100000",
    "SELECT * WHERE { ?s ?p ?o . ?a ?b ?c }",           # a join
    "SELECT * WHERE { ?s ?p ?o ; ?q ?r }",
    "SELECT * WHERE { ?s ?p ?o , ?r }",
    "SELECT * WHERE { ?s ic:partOf* ?o }",             # a path
    "SELECT * WHERE { ?s ic:partOf+ ?o }",
    "SELECT * WHERE { ?s ?p ?o FILTER(REGEX(STR(?o), 'x')) }",
    "SELECT * WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?r } }",
    "SELECT * WHERE { { ?s ?p ?o } UNION { ?a ?b ?c } }",
    "SELECT * WHERE { { ?s ?p ?o } }",
    "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
    f"SELECT * FROM <{G}ontology> WHERE {{ ?s ?p ?o }}",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p",
    "SELECT * WHERE { ?s ?p ?o } VALUES ?s { city:berlin }",
    "SELECT * WHERE { ?s ?p ?o BIND(STR(?o) AS ?x) }",
    "SELECT * WHERE { _:b ?p ?o }",
    "SELECT * WHERE { [] ?p ?o }",
    'SELECT * WHERE { ?s ?p """ } UNION { ?a ?b ?c . ?d ?e ?f } """ }',
    'SELECT * WHERE { ?s ?p "\\u0022 } UNION { ?a ?b ?c }" }',
    "BASE <http://example.org/> SELECT * WHERE { <a> ?p ?o }",
    "ASK { ?s ?p ?o } LIMIT 1",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
    f"DESCRIBE <{BERLIN}>",
    "SELECT * WHERE { ?s ?p ?o } LIMIT",
    "SELECT * WHERE { ?s ?p ?o }}",
    "SELECT * WHERE { ?s ?p",
    "ASK {",
    "",
    "INSERT DATA { <http://a> <http://b> <http://c> }",
]


@pytest.mark.parametrize("query", BOUNDED)
def test_bounded_shapes_are_recognised(query):
    assert analyse(query).bounded


@pytest.mark.parametrize("query", NOT_BOUNDED)
def test_everything_else_goes_to_a_worker(query):
    assert not analyse(query).bounded


def test_competency_questions_go_to_workers():
    assert not any(analyse(q.text).bounded for q in CQS)


@pytest.fixture(scope="module")
def big_store():
    """200,000 triples, a tenth of them on one hub subject: enough that reading it all shows in the time.
    Laid out as a snapshot's store: the hub's triples in the inferred graph, the rest in the default graph."""
    store = ox.Store()
    p = [ox.NamedNode(f"http://example.org/p{i}") for i in range(10)]
    hub = ox.NamedNode("http://example.org/hub")
    quads = [ox.Quad(ox.NamedNode(f"http://example.org/s{i // 10}"), p[i % 10], ox.Literal(f"v{i}")) for i in range(180_000)]
    quads += [ox.Quad(hub, p[0], ox.NamedNode(f"http://example.org/o{i}"), _INFERRED) for i in range(20_000)]
    store.bulk_extend(quads)
    return store


_INFERRED = ox.NamedNode("http://example.org/inferred")


def _seconds(store, query: str, max_rows: int = 100) -> float:
    started = time.perf_counter()
    evaluate(store, [ox.DefaultGraph(), _INFERRED], QueryJob(query, None, (), "json", max_rows))
    return time.perf_counter() - started


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { ?s ?p ?o }",
    "SELECT ?o WHERE { <http://example.org/hub> ?p ?o }",
    "SELECT ?s WHERE { ?s <http://example.org/p3> ?o }",
    "SELECT ?s WHERE { ?s ?p ?o } LIMIT 100000",
    "ASK { ?s ?p ?o }",
    'SELECT ?s WHERE { ?s ?p "v17" }',
])
def test_a_bounded_query_costs_the_row_cap_not_the_data(big_store, query):
    """Accepted queries do O(max_rows) work: far less than one pass over the data, which the same
    shapes made unbounded (a repeated variable, DISTINCT) need."""
    assert analyse(query).bounded
    full_pass = min(_seconds(big_store, "SELECT * WHERE { ?s ?p ?s }"),
                    _seconds(big_store, "SELECT DISTINCT ?p WHERE { ?s ?p ?o }"))
    bounded = min(_seconds(big_store, query) for _ in range(3))
    assert bounded < full_pass / 5, (bounded, full_pass)
    assert bounded < 0.05


def test_inline_and_worker_answers_are_identical(app):
    endpoint = app.extensions["kg.releases"].current.endpoint
    everything = tuple(sorted(endpoint.published_graphs))
    for query in BOUNDED[:-2]:
        form = "ASK" if query.startswith("ASK") else "SELECT"
        for fmt in BY_FORM[form]:
            job = QueryJob(query, None, everything, fmt.name, 50)
            inline, worker = endpoint.inline.run(job), endpoint.pool.run(job, 5)
            assert (inline.body, inline.rows, inline.truncated) == (worker.body, worker.rows, worker.truncated), (query, fmt)


def _metric(client, name: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")))


def test_lookups_run_inline_and_other_queries_in_workers(client):
    inline, total = _metric(client, "kg_queries_inline_total"), _metric(client, "kg_queries_total")
    assert client.get("/sparql", query_string={"query": f"SELECT ?p ?o WHERE {{ <{BERLIN}> ?p ?o }}"}).status_code == 200
    assert (_metric(client, "kg_queries_inline_total"), _metric(client, "kg_queries_total")) == (inline + 1, total + 1)
    assert client.get("/sparql", query_string={"query": SELECT_CITY + " ORDER BY ?city"}).status_code == 200
    assert (_metric(client, "kg_queries_inline_total"), _metric(client, "kg_queries_total")) == (inline + 1, total + 2)
    # A dataset of the client's choosing always goes to a worker.
    scoped = client.get("/sparql", query_string={"query": "ASK { city:berlin ?p ?o }", "default-graph-uri": G + "ontology"})
    assert json.loads(scoped.data)["boolean"] is False
    assert _metric(client, "kg_queries_inline_total") == inline + 1


def test_inline_syntax_error_is_400_with_the_parser_message(client):
    response = client.get("/sparql", query_string={"query": "SELECT ?o WHERE { nope:x ?p ?o }"})
    assert response.status_code == 400 and "error at 1:" in response.get_data(as_text=True)


def test_inline_row_cap_is_announced(client, app):
    cap = app.extensions["kg.settings"].max_rows
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }", "format": "tsv"})
    assert len(response.data.decode().splitlines()) == cap + 1
    assert response.headers["KG-Result-Truncated"] == f"max-rows={cap}"


def test_a_query_past_its_timeout_has_its_worker_killed(snapshot):
    """The runaway query's process is gone when the client gets its answer, and a new worker takes its place."""
    pool = QueryPool(snapshot, 1, queue_timeout_s=30)
    try:
        (worker,) = pool._all
        runaway = QueryJob("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i", None, (), "json", 10)
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            pool.run(runaway, 0.5)
        assert time.monotonic() - started < 0.5 + 1.0
        assert worker.process.poll() is not None, "the worker running the runaway query is still alive"
        assert pool.run(QueryJob("ASK {}", None, (), "json", 10), 5).body  # its successor answers
        assert pool.size == 1
    finally:
        pool.close()


#: About a second of work on the shipped data: long enough to kill its worker while it runs.
SLOW_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d a ?f }"


def test_workers_killed_while_idle_cost_no_query_an_error(snapshot):
    """What the OOM killer does to idle workers: the next queries find them dead, and get live ones."""
    pool = QueryPool(snapshot, 2, queue_timeout_s=30)
    try:
        for worker in list(pool._all):
            worker.process.kill()
            worker.process.wait(5)
        for _ in range(3):
            assert b"true" in pool.run(QueryJob("ASK {}", None, None, "json", 10), 10).body
        deadline = time.monotonic() + 30
        while pool.size < 2 and time.monotonic() < deadline:  # the second replacement may still be starting
            time.sleep(0.1)
        assert pool.size == 2
    finally:
        pool.close()


def test_a_query_whose_worker_dies_under_it_is_run_again(snapshot):
    """Queries only read, so a query whose worker is killed mid-run is answered by another worker."""
    pool = QueryPool(snapshot, 1, queue_timeout_s=30)
    try:
        (worker,) = pool._all
        killer = threading.Timer(0.3, worker.process.kill)
        killer.start()
        outcome = pool.run(QueryJob(SLOW_COUNT, None, None, "csv", 10), 30)
        killer.join()
        assert worker.process.poll() is not None, "the worker was not killed while it ran the query"
        assert outcome.body.split()[1].isdigit() and pool.size == 1
    finally:
        pool.close()


def test_a_query_that_kills_its_second_worker_too_is_our_error_not_a_retry_loop(snapshot):
    pool = QueryPool(snapshot, 1, queue_timeout_s=30)
    stop = threading.Event()

    def kill_every_worker() -> None:
        while not stop.wait(0.2):
            for worker in list(pool._all):
                worker.process.kill()

    try:
        killer = threading.Thread(target=kill_every_worker, daemon=True)
        killer.start()
        with pytest.raises(WorkerFailed, match="stopped two query workers"):
            pool.run(QueryJob(SLOW_COUNT, None, None, "csv", 10), 30)
    finally:
        stop.set()
        pool.close()


def _samples(client) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics, by name and sorted labels (whose order the exposition does not fix)."""
    text = client.get("/metrics").get_data(as_text=True)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_query_time_is_a_histogram(client):
    before = _samples(client)
    for _ in range(3):
        assert client.get("/sparql", query_string={"query": f"ASK {{ <{BERLIN}> ?p ?o }}"}).status_code == 200
    for n in range(2):  # two different queries: the second of two identical ones would come from the cache
        assert client.get("/sparql", query_string={"query": SELECT_CITY + f" ORDER BY ?city LIMIT {n + 5}"}).status_code == 200
    after = _samples(client)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after[key] - before.get(key, 0.0)

    for runner, completed in (("inline", 3), ("worker", 2)):
        assert grew("kg_query_duration_seconds_count", runner=runner) == completed
        assert grew("kg_query_duration_seconds_sum", runner=runner) > 0
        buckets = {float(dict(labels)["le"]): value for (name, labels), value in after.items()
                   if name == "kg_query_duration_seconds_bucket" and dict(labels)["runner"] == runner}
        assert sorted(buckets) == [*QUERY_BUCKETS, float("inf")]
        counts = [buckets[le] for le in sorted(buckets)]
        assert counts == sorted(counts) and counts[-1] == after[("kg_query_duration_seconds_count", (("runner", runner),))]
    assert grew("kg_queries_total") == 5 and grew("kg_queries_inline_total") == 3


def test_two_applications_in_one_process_count_apart(snapshot):
    ours, theirs = Metrics(), Metrics()
    ours.watch_pool(lambda: (2, 0))
    theirs.watch_pool(lambda: (3, 1))
    ours.request("sparql.sparql", 200)
    ours.query(0.5, inline=True)
    text = theirs.render(snapshot.manifest, {}).decode()
    assert "kg_queries_total 0.0" in text and "kg_query_workers 3.0" in text and "kg_long_queries 1.0" in text
    assert 'kg_http_requests_total{endpoint="sparql.sparql",status="200"}' not in text
    text = ours.render(snapshot.manifest, {}).decode()
    assert 'kg_http_requests_total{endpoint="sparql.sparql",status="200"} 1.0' in text
    assert "kg_queries_inline_total 1.0" in text and "kg_query_workers 2.0" in text and "kg_http_processes 1.0" in text


@pytest.mark.parametrize("query", [
    "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
    "select distinct ?g where { graph ?g { ?s ?p ?o } }",
    "SELECT DISTINCT ?g WHERE { \\u0047RAPH ?g { ?s ?p ?o } }",
])
def test_graph_patterns_see_exactly_the_published_graphs(client, snapshot, query):
    """Queries without a GRAPH pattern are run without the list of named graphs; those with one keep it."""
    response = client.get("/sparql", query_string={"query": query})
    if response.status_code == 400:  # the engine may not read \\u escapes outside strings; then nothing leaks either
        return
    assert solutions(response) == {(f"<{g}>",) for g in snapshot.manifest["graphs"]}
