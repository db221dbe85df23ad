"""OWL 2 RL reasoning: new triples only, no noise, and the alignment makes standard queries work."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.build.reason import InconsistentGraph, infer
from kg.namespaces import IC, SCHEMA
from kg.query.store import Scope
from kg.terms import new_graph


@pytest.fixture(scope="module")
def inferred(pipeline):
    return pipeline.infer()


def test_reasoning_leaves_its_input_unchanged(pipeline):
    asserted = pipeline.loaded.union()
    before = set(asserted)
    infer(asserted)
    assert set(asserted) == before


def test_inferred_graph_holds_only_new_triples(pipeline, inferred):
    asserted = pipeline.loaded.union()
    assert len(inferred) > 0
    assert not any(t in asserted for t in inferred)


def test_inferred_graph_has_no_noise(inferred):
    for s, p, o in inferred:
        assert not isinstance(s, Literal)
        assert not (p == OWL.sameAs and s == o)
        assert not (p in (RDFS.subClassOf, RDFS.subPropertyOf) and s == o)
        assert o not in (OWL.Thing, RDFS.Resource)
        assert not str(s).startswith((str(RDF), str(RDFS), str(OWL)))


def test_inferred_types_follow_the_alignment(inferred):
    berlin = URIRef("https://w3id.org/integrating-cities/id/city/berlin")
    assert (berlin, RDF.type, SCHEMA.City) in inferred
    assert (berlin, RDF.type, SCHEMA.Place) in inferred


def test_contradictory_types_are_reported_not_served():
    graph = new_graph()
    for triple in [
        (IC.Person, OWL.disjointWith, IC.Place),
        (IC.City, RDFS.subClassOf, IC.Place),
        (URIRef("http://example.org/x"), RDF.type, IC.Person),
        (URIRef("http://example.org/x"), RDF.type, IC.City),
    ]:
        graph.add(triple)
    with pytest.raises(InconsistentGraph) as caught:
        infer(graph)
    assert "http://example.org/x" in str(caught.value)


STANDARD_VOCABULARY_QUERIES = {
    "events with schema.org dates and places": """
        SELECT ?e WHERE { ?e a schema:Event ; schema:startDate ?d ; schema:location ?p . ?p a schema:City }""",
    "people by foaf:name": "SELECT ?p WHERE { ?p a foaf:Person ; foaf:name ?n }",
    "people by schema:name": "SELECT ?p WHERE { ?p a schema:Person ; schema:name ?n }",
    "units of organisations (ORG)": "SELECT ?u WHERE { ?u a org:OrganizationalUnit ; org:unitOf ?o . ?o org:hasUnit ?u }",
    "memberships (ORG)": "SELECT ?m WHERE { ?m a org:Membership ; org:member ?a ; org:organization ?o }",
    "posts (ORG)": "SELECT ?p WHERE { ?p a org:Post ; org:heldBy ?h . ?h org:holds ?p }",
    "projects with funders (schema.org)": "SELECT ?p WHERE { ?p a schema:Project ; schema:funder ?f }",
    "collaborations (ORG)": "SELECT ?c WHERE { ?c a org:OrganizationalCollaboration }",
    "subjects are SKOS concepts": "SELECT ?x WHERE { ?x dcterms:subject ?t . ?t a skos:Concept }",
    "provenance (DCTERMS)": "SELECT ?x WHERE { ?x dcterms:source ?s . ?s a foaf:Document }",
    "sub-events (schema.org)": "SELECT ?w WHERE { ?w schema:superEvent ?c . ?c schema:subEvent ?w }",
}


@pytest.mark.parametrize("query", STANDARD_VOCABULARY_QUERIES.values(), ids=STANDARD_VOCABULARY_QUERIES.keys())
def test_standard_vocabulary_query_needs_the_closure(store, query):
    assert len(list(store.query(query, Scope.ALL))) > 0
    assert len(list(store.query(query, Scope.ASSERTED))) == 0
