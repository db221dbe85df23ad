"""What the engine cannot do is the endpoint's to answer clearly: a 4xx naming what to do instead, or a 500
naming the engine's bug, never a traceback page; and the endpoint keeps answering afterwards.

* A call of an extension function the engine does not have: 400 with the engine's message.
* An answer the format cannot hold, which Oxigraph would write as a document no parser reads (XML 1.0 control
  characters, an RDF/XML predicate with no local name) or fail on (JSON-LD of triple terms): 406 naming the
  formats that can.
* A query on which the engine panics (tests/queries/order_by_panic.rq aborts its worker process): 500 naming
  the engine bug, the worker replaced, the query not run a second time, the next requests answered.
"""

from __future__ import annotations

import xml.dom.minidom
import xml.etree.ElementTree
from pathlib import Path

import pyoxigraph as ox
import pytest
import realserver

from kg.build.pipeline import build

PANIC = (Path(__file__).parent / "queries" / "order_by_panic.rq").read_text()


def test_an_unknown_extension_function_is_a_400_with_the_engines_message(client):
    for query in ("SELECT * { FILTER(<http://example.org/f>(1)) }",
                  "PREFIX ex: <http://example.org/> SELECT (ex:f(?x) AS ?y) { VALUES ?x { 1 } }"):
        response = client.get("/sparql", query_string={"query": query})
        assert response.status_code == 400, response.data
        assert response.mimetype == "text/plain"
        assert "The custom function <http://example.org/f> is not supported" in response.get_data(as_text=True)


def test_a_control_character_in_xml_results_is_a_406_naming_json(client):
    query = 'SELECT ?x { BIND("bell \\u0007 here" AS ?x) }'
    response = client.get("/sparql", query_string={"query": query, "format": "xml"})
    assert response.status_code == 406, response.data
    assert "U+0007" in response.get_data(as_text=True) and "format=json" in response.get_data(as_text=True)
    as_json = client.get("/sparql", query_string={"query": query, "format": "json"})
    assert as_json.status_code == 200 and as_json.json["results"]["bindings"][0]["x"]["value"] == "bell \x07 here"


def test_xml_results_keep_tabs_line_ends_and_carriage_returns(client):
    """An XML parser reads a bare carriage return as a line feed (XML 1.0 §2.11): it must be written as &#13;."""
    query = 'SELECT ?x { BIND("a\\tb\\nc\\rd" AS ?x) }'
    response = client.get("/sparql", query_string={"query": query, "format": "xml"})
    assert response.status_code == 200
    literal = xml.etree.ElementTree.fromstring(response.data).find(".//{http://www.w3.org/2005/sparql-results#}literal")
    assert literal.text == "a\tb\nc\rd"


def test_a_predicate_rdf_xml_cannot_split_is_a_406_naming_turtle(client):
    query = "CONSTRUCT { <urn:x:s> <urn:x:1> 'o' } {}"
    response = client.get("/sparql", query_string={"query": query, "format": "rdfxml"})
    assert response.status_code == 406, response.data
    assert "<urn:x:1>" in response.get_data(as_text=True) and "Turtle" in response.get_data(as_text=True)
    assert client.get("/sparql", query_string={"query": query, "format": "turtle"}).status_code == 200
    fine = client.get("/sparql", query_string={"query": "CONSTRUCT { <urn:x:s> <urn:x:p1> 'o' } {}", "format": "rdfxml"})
    assert fine.status_code == 200
    xml.dom.minidom.parseString(fine.data)  # well-formed
    assert {q.triple for q in ox.parse(fine.data, format=ox.RdfFormat.RDF_XML)} == {
        ox.Triple(ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:p1"), ox.Literal("o"))}


def test_a_control_character_in_rdf_xml_is_a_406(client):
    query = "CONSTRUCT { <urn:x:s> <urn:x:p> 'form \\u000C feed' } {}"
    response = client.get("/sparql", query_string={"query": query, "format": "rdfxml"})
    assert response.status_code == 406 and "U+000C" in response.get_data(as_text=True)


def test_json_ld_of_triple_terms_is_a_406_not_a_500(client):
    query = "CONSTRUCT { <urn:x:s> <urn:x:p> <<( <urn:x:s> <urn:x:p> 1 )>> } {}"
    response = client.get("/sparql", query_string={"query": query, "format": "jsonld"})
    assert response.status_code == 406, response.data
    assert "triple terms" in response.get_data(as_text=True) and "N-Triples" in response.get_data(as_text=True)
    as_nt = client.get("/sparql", query_string={"query": query, "format": "ntriples"})
    assert as_nt.status_code == 200 and b"<<( <urn:x:s> <urn:x:p>" in as_nt.data


# --- the engine's panic, against the real server ---


@pytest.fixture
def server(project, tmp_path):
    build(project)
    env = {"KG_ROOT": str(project.root), "KG_HTTP_WORKERS": "1", "KG_QUERY_WORKERS": "1",
           "KG_STATE_DIR": str(tmp_path / "state")}
    running = realserver.start(env, tmp_path / "serve.log")
    yield running
    running.stop()


def test_a_query_the_engine_panics_on_is_a_500_naming_the_bug_and_the_server_carries_on(server):
    (worker,) = realserver.query_workers(server)
    status, headers, body = server.query(PANIC)
    assert status == 500 and headers["Content-Type"].startswith("text/plain"), body[:300]
    assert b"pyoxigraph" in body and b"panic" in body and b"not run again" in body
    # The query ran once: one worker died (the log has one panic), and a new one took its place.
    assert server.log.read_text(errors="replace").count("panicked at") == 1
    for _ in range(3):
        status, _, body = server.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", format="csv")
        assert status == 200 and body.split()[1].isdigit()
    (replacement,) = realserver.query_workers(server)
    assert replacement != worker
