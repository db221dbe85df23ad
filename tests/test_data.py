"""Properties of the shipped data that SHACL cannot see: provenance per graph, no personal contact data."""

from __future__ import annotations

import re

from rdflib import Literal, URIRef
from rdflib.namespace import RDF

from kg.config import BASE_IRI
from kg.namespaces import IC

SOURCE_KIND = URIRef(BASE_IRI + "id/concept/source-facts")


def source_graphs(pipeline):
    sources = pipeline.loaded.graphs[pipeline.settings.graph_iri("sources")]
    return {str(g): s for g, s in sources.subject_objects(IC.graphSource)}


def test_every_graph_is_described(pipeline):
    sources = pipeline.loaded.graphs[pipeline.settings.graph_iri("sources")]
    described = {str(g) for g in sources.subjects(RDF.type, IC.DataGraph)}
    assert set(pipeline.loaded.graphs) | {pipeline.settings.inferred_graph} <= described


def test_five_source_graphs_each_with_its_source(pipeline):
    graphs = source_graphs(pipeline)
    assert len(graphs) == 5
    assert set(graphs) <= set(pipeline.loaded.graphs)


def test_every_entity_in_a_source_graph_cites_that_source(pipeline):
    for graph_iri, source in source_graphs(pipeline).items():
        graph = pipeline.loaded.graphs[graph_iri]
        for entity in set(graph.subjects(RDF.type, None)):
            if isinstance(entity, URIRef):
                assert (entity, IC.source, source) in graph, f"{entity} in {graph_iri} does not cite {source}"


def test_no_telephone_numbers_or_email_addresses(pipeline):
    phone = re.compile(r"\+\d[\d ()]{7,}")
    email = re.compile(r"[\w.]+(@|\(at\))\w")
    for _, _, o in pipeline.asserted_data():
        if isinstance(o, Literal):
            assert not phone.search(str(o)) and not email.search(str(o)), o


def test_all_minted_iris_use_the_configured_base(pipeline):
    for triple in pipeline.loaded.union():
        for node in triple:
            if isinstance(node, URIRef) and "integrating-cities" in str(node):
                assert str(node).startswith(BASE_IRI), node


def test_a_count_in_whole_millions_is_not_exact(pipeline):
    """"130 million residents" is a rounded figure: concept:approximately, never concept:exactly."""
    data = pipeline.asserted_data()
    exactly = URIRef(BASE_IRI + "id/concept/exactly")
    for count in data.subjects(IC.qualifier, exactly):
        number = int(data.value(count, IC["count"]))  # IC.count is str.count
        assert number < 10**6 or number % 10**6, f"{count}: {number} stated exactly; a figure in millions is rounded"
