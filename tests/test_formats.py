"""Our result writers agree with Oxigraph's parsers on awkward values, and the row cap cuts exactly."""

from __future__ import annotations

import csv
import io

import pyoxigraph as ox
import pytest

from kg.formats import CSV, JSON, TSV, XML
from kg.query.result_formats import write

VALUES = [
    ox.Literal('a "quoted", comma\nnew line\ttab'),
    ox.Literal("Liège", language="fr"),
    ox.Literal("34", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
    ox.NamedNode("https://w3id.org/integrating-cities/id/city/berlin"),
    ox.BlankNode("b0"),
]


@pytest.fixture
def store():
    s = ox.Store()
    for i, value in enumerate(VALUES):
        s.add(ox.Quad(ox.NamedNode(f"http://example.org/s{i}"), ox.NamedNode("http://example.org/p"), value))
    return s


QUERY = "SELECT ?s ?o ?missing WHERE { ?s ?p ?o } ORDER BY ?s"


@pytest.mark.parametrize("fmt", [JSON, XML, TSV], ids=lambda f: f.name)
def test_writers_round_trip_through_oxigraph(store, fmt):
    body = write(store.query(QUERY), fmt, 100).body
    parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.from_media_type(fmt.media_type))
    assert [v.value for v in parsed.variables] == ["s", "o", "missing"]
    rows = [(s["s"], s["o"], s["missing"]) for s in parsed]
    expected = [(s["s"], s["o"], None) for s in store.query(QUERY)]
    # Blank node labels may be renamed by a parser; compare them by kind.
    norm = lambda rows: [tuple("bnode" if isinstance(t, ox.BlankNode) else t for t in row) for row in rows]
    assert norm(rows) == norm(expected)


def test_csv_quotes_and_plain_values(store):
    body = write(store.query(QUERY), CSV, 100).body.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["s", "o", "missing"]
    assert rows[1][1] == 'a "quoted", comma\nnew line\ttab' and rows[2][1] == "Liège" and rows[3][1] == "34"
    assert body.endswith("\r\n")


def test_row_cap_cuts_and_says_so(store):
    capped = write(store.query(QUERY), JSON, 2)
    assert (capped.rows, capped.truncated) == (2, True)
    exact = write(store.query(QUERY), JSON, len(VALUES))
    assert (exact.rows, exact.truncated) == (len(VALUES), False)


def _reference_json(names, rows) -> str:
    """The JSON writer as first written: a dict per binding through json.dumps."""
    from kg.query.result_formats import _json_term
    import json

    out = '{"head":{"vars":' + json.dumps(names) + '},"results":{"bindings":['
    out += ",".join(json.dumps({n: _json_term(r[n]) for n in names if r[n] is not None}, ensure_ascii=False,
                               separators=(",", ":")) for r in rows)
    return out + "]}}"


def test_json_writer_is_byte_identical_to_the_reference(store):
    store.add(ox.Quad(ox.NamedNode("http://example.org/s9"), ox.NamedNode("http://example.org/p"),
                      ox.Literal("control \x01 and \\ backslash é ✓")))
    rows = list(store.query(QUERY))
    assert write(store.query(QUERY), JSON, 100).body.decode() == _reference_json(["s", "o", "missing"], rows)


def test_no_row_cap(store):
    import sys

    written = write(store.query(QUERY), JSON, sys.maxsize)
    assert (written.rows, written.truncated) == (len(VALUES), False)


#: SPARQL 1.2 terms: literals with a base direction, triple terms (nested, with a blank node and such a literal).
TERMS_12 = ('SELECT ?x { { VALUES ?x { "a"@en--ltr "b"@ar--rtl "c"@en "d" } } UNION '
            '{ BIND(TRIPLE(BNODE("z"), <http://e/p>, <<( <http://e/s> <http://e/p> "o, \\"x"@fr--rtl )>>) AS ?x) } }')


@pytest.mark.parametrize("fmt", [JSON, XML, TSV], ids=lambda f: f.name)
def test_sparql_12_terms_read_back_as_oxigraph_writes_them(fmt):
    """Base directions and triple terms survive our writers: parsed back, the rows are Oxigraph's own."""
    engine = ox.Store()
    results_format = ox.QueryResultsFormat.from_media_type(fmt.media_type)
    ours = ox.parse_query_results(write(engine.query(TERMS_12), fmt, 100).body, format=results_format)
    theirs = ox.parse_query_results(engine.query(TERMS_12).serialize(format=results_format), format=results_format)
    assert [s["x"] for s in ours] == [s["x"] for s in theirs]


def test_base_direction_and_triple_terms_are_written_as_the_standard_says():
    engine = ox.Store()
    text = {fmt.name: write(engine.query(TERMS_12), fmt, 100).body.decode() for fmt in (JSON, XML, TSV, CSV)}
    assert '{"type":"literal","value":"a","xml:lang":"en","its:dir":"ltr"}' in text[JSON.name]
    assert ('<literal xml:lang="ar" its:dir="rtl" xmlns:its="http://www.w3.org/2005/11/its" its:version="2.0">b'
            '</literal>') in text[XML.name]
    assert text[TSV.name].splitlines()[1:] == [
        '"a"@en--ltr', '"b"@ar--rtl', '"c"@en', '"d"',
        '<<( _:z <http://e/p> <<( <http://e/s> <http://e/p> "o, \\"x"@fr--rtl )>> )>>']
    # CSV keeps lexical forms only; a triple term is one cell (Oxigraph quotes its literals inside the cell instead,
    # which splits the cell at their commas for any CSV reader).
    assert list(csv.reader(io.StringIO(text[CSV.name]))) == [
        ["x"], ["a"], ["b"], ["c"], ["d"], ['_:z http://e/p http://e/s http://e/p o, "x']]


def test_rdf_xml_names_blank_nodes_as_xml_names_and_keeps_carriage_returns():
    """Oxigraph's blank node labels may begin with a digit, which rdf:nodeID cannot (rdflib refuses the document),
    and a raw carriage return in a literal is read back as a line feed."""
    import rdflib
    from rdflib.compare import isomorphic

    from kg.formats import RDFXML

    engine = ox.Store()
    a, b = ox.BlankNode("1ab"), ox.BlankNode("2cd")
    for triple in [(a, ox.NamedNode("http://e/p"), b), (b, ox.NamedNode("http://e/p"), a),
                   (a, ox.NamedNode("http://e/q"), ox.Literal("carriage\rreturn"))]:
        engine.add(ox.Quad(*triple))
    body = write(engine.query("CONSTRUCT WHERE { ?s ?p ?o }"), RDFXML, 100).body
    ours = rdflib.Graph().parse(data=body, format="xml")
    expected = rdflib.Graph().parse(data=ox.serialize(engine, format=ox.RdfFormat.N_TRIPLES), format="nt")
    assert len(ours) == 3 and isomorphic(ours, expected)
