"""Quality checks beyond SHACL: terms the ontology does not define are violations, not new IRIs; likely
duplicates are found by folded names and by the post patterns of one office."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS

from kg.build.checks import sparql_check, undefined_terms
from kg.build.load import LoadedGraphs
from kg.config import PROJECT_ROOT
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


# --- likely duplicates (checks/duplicate-entity.rq) ---------------------------------------------

DUPLICATES = PROJECT_ROOT / "checks" / "duplicate-entity.rq"
PREFIXES_TTL = """
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ic: <https://w3id.org/integrating-cities/def/> .
@prefix city: <https://w3id.org/integrating-cities/id/city/> .
@prefix person: <https://w3id.org/integrating-cities/id/person/> .
@prefix post: <https://w3id.org/integrating-cities/id/post/> .
@prefix project: <https://w3id.org/integrating-cities/id/project/> .
@prefix initiative: <https://w3id.org/integrating-cities/id/initiative/> .
@prefix role: <https://w3id.org/integrating-cities/id/role/> .
@prefix source: <https://w3id.org/integrating-cities/id/source/> .
"""
ID = "https://w3id.org/integrating-cities/id/"


def likely_duplicates(pipeline, planted: str = "") -> set[str]:
    """The focus nodes the duplicate check reports on the shipped data, plus Turtle planted beside it."""
    loaded = LoadedGraphs()
    loaded.add_graph(pipeline.settings.ontology_graph, pipeline.ontology)
    loaded.add_graph("urn:shipped", pipeline.asserted_data())
    if planted:
        loaded.add_graph("urn:planted", new_graph().parse(data=PREFIXES_TTL + planted, format="turtle"))
    return {v.focus for v in sparql_check(loaded.store, DUPLICATES, "warning")}


def test_shipped_data_has_no_likely_duplicates(pipeline):
    assert likely_duplicates(pipeline) == set()


@pytest.mark.parametrize("planted, flagged", [
    # case, accents and a leading "The City of"
    ('city:genova a ic:City ; rdfs:label "The City of GENOA"@en ; ic:source source:integrating-cities-home .',
     {"city/genova", "city/genoa"}),
    # a name without its accents, under a second IRI
    ('person:celine-chateau-2 a ic:Person ; rdfs:label "Celine CHATEAU"@en ; ic:name "Celine Chateau" ;'
     ' ic:source source:integrating-cities-home .',
     {"person/celine-chateau-2", "person/celine-chateau"}),
    # a project named like an organisation's alternative label: both are organisations
    ('project:eccar a ic:Project ; rdfs:label "European Coalition - Cities against Racism"@en ;'
     ' ic:source source:integrating-cities-home .',
     {"project/eccar", "organisation/eccar"}),
    # "&" for "and", an apostrophe
    ('initiative:eus-urban-agenda a ic:Initiative ; rdfs:label "EUs Urban Agenda"@en ;'
     ' ic:source source:integrating-cities-home .',
     {"initiative/eus-urban-agenda", "organisation/urban-agenda-for-the-eu"}),
])
def test_a_planted_duplicate_is_flagged_on_both_iris(pipeline, planted, flagged):
    assert likely_duplicates(pipeline, planted) == {ID + f for f in flagged}


def test_a_name_shared_by_two_kinds_of_thing_is_not_a_duplicate(pipeline):
    planted = 'person:toronto a ic:Person ; rdfs:label "Toronto"@en ; ic:name "Toronto" ; ic:source source:integrating-cities-home .'
    assert likely_duplicates(pipeline, planted) == set()


#: The two Athens posts and the two launchers of Solidarity Cities as the data had them before they were
#: merged (source 002's office and source 001's tenure of it).
ATHENS_BEFORE = """
post:athens-mayor a ic:Post ; rdfs:label "Mayor of Athens"@en ; ic:postIn city:athens ; ic:role role:mayor ;
    ic:source source:integrating-cities-home .
post:athens-mayor-giorgios-kaminis a ic:Post ; rdfs:label "Mayor of Athens: Giorgios Kaminis"@en ;
    ic:postIn city:athens ; ic:role role:mayor ; ic:heldBy person:giorgios-kaminis ;
    ic:asOf "2016-04"^^xsd:gYearMonth ; ic:source source:eurocities-migration-integration .
person:giorgios-kaminis a ic:Person ; rdfs:label "Giorgios Kaminis"@en ; ic:name "Giorgios Kaminis" ;
    ic:source source:eurocities-migration-integration .
initiative:solidarity-cities ic:launchedBy post:athens-mayor , person:giorgios-kaminis .
"""


def test_the_athens_mayor_pair_and_the_solidarity_cities_launcher_pair_are_flagged(pipeline):
    """What the reviewer found by reading: the office and its holder's post, and the initiative launched by both."""
    loaded = LoadedGraphs()
    loaded.add_graph(pipeline.settings.ontology_graph, pipeline.ontology)
    loaded.add_graph("urn:before", new_graph().parse(data=PREFIXES_TTL + ATHENS_BEFORE, format="turtle"))
    found = {(v.focus, v.path, v.value) for v in sparql_check(loaded.store, DUPLICATES, "warning")}
    assert found == {
        (ID + "post/athens-mayor", str(IC.role), ID + "role/mayor"),
        (ID + "post/athens-mayor-giorgios-kaminis", str(IC.role), ID + "role/mayor"),
        (ID + "initiative/solidarity-cities", str(IC.launchedBy), ID + "person/giorgios-kaminis"),
    }
