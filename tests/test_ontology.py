"""The ontology documents itself and stays within what OWL 2 RL reasoners handle."""

from __future__ import annotations

import pytest
from rdflib import URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from kg.namespaces import IC

ONTOLOGY_IRI = URIRef(str(IC).rstrip("/"))


@pytest.fixture(scope="module")
def ontology(pipeline):
    return pipeline.ontology


def terms(ontology):
    return sorted(
        s for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
        for s in ontology.subjects(RDF.type, kind) if str(s).startswith(str(IC))
    )


def test_header(ontology):
    for prop in (DCTERMS.title, DCTERMS.description, OWL.versionIRI, OWL.versionInfo, DCTERMS.license, DCTERMS.creator):
        assert ontology.value(ONTOLOGY_IRI, prop) is not None, prop


def test_every_term_has_label_definition_and_is_defined_by(ontology):
    found = terms(ontology)
    assert len(found) > 100
    for term in found:
        assert ontology.value(term, RDFS.label) is not None, term
        assert ontology.value(term, SKOS.definition) is not None, term
        assert ontology.value(term, RDFS.isDefinedBy) == ONTOLOGY_IRI, term


def test_only_owl2_rl_friendly_constructs(ontology):
    """Superclass expressions with existentials or unions are outside OWL 2 RL; we use none at all."""
    forbidden = {OWL.someValuesFrom, OWL.unionOf, OWL.oneOf, OWL.hasSelf, OWL.minCardinality, OWL.cardinality}
    assert not any(p in forbidden for _, p, _ in ontology)


def test_every_ic_term_in_an_axiom_is_declared(pipeline):
    """A typo inside the ontology itself (ic:Organistion in a subClassOf) would otherwise go unnoticed."""
    declared = set(terms(pipeline.ontology)) | {pipeline.ontology.value(ONTOLOGY_IRI, OWL.versionIRI)}
    for s, p, o in pipeline.ontology:
        for node in (s, o):
            if isinstance(node, URIRef) and str(node).startswith(str(IC)):
                assert node in declared, node
