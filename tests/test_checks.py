"""Terms the ontology does not define are violations, not new IRIs."""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS

from kg.build.checks import undefined_terms
from kg.build.load import LoadedGraphs
from kg.namespaces import IC
from kg.terms import new_graph

BERLIN = URIRef("https://w3id.org/integrating-cities/id/city/berlin")


def test_shipped_data_uses_only_defined_terms(pipeline):
    settings = pipeline.settings
    assert undefined_terms(pipeline.loaded.store, pipeline.data_graphs, settings.ontology_graph) == []


def test_typo_in_class_property_and_foreign_term(pipeline):
    data = new_graph()
    data.add((BERLIN, RDF.type, IC.Cty))
    data.add((BERLIN, IC.locaton, BERLIN))
    data.add((BERLIN, URIRef(str(RDFS) + "lable"), Literal("Berlin", lang="en")))
    loaded = LoadedGraphs()
    loaded.add_graph(pipeline.settings.ontology_graph, pipeline.ontology)
    loaded.add_graph("urn:data", data)
    found = {(v.path, v.value) for v in undefined_terms(loaded.store, ["urn:data"], pipeline.settings.ontology_graph)}
    assert found == {
        (str(RDF.type), str(IC.Cty)),
        (str(IC.locaton), None),
        (str(RDFS) + "lable", None),
    }
