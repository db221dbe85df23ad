"""The fast SHACL engine (kg/build/shacl/) reports exactly what pySHACL, the reference, reports.

Each case is a graph loaded with the ontology into the default graph of an Oxigraph store, as
``validate_store`` expects. The reference, ``kg.build.validate.run_shacl``, runs on the graph as the
store holds it (Oxigraph keeps numbers canonical: "6.0"^^xsd:decimal reads back as "6"), so that
both engines see the same terms, blank-node identifiers included, and Violations compare exactly.
pySHACL takes most of the time here, so the synthetic graphs are small.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.namespace import RDF

from kg.build.load import LoadedGraphs, parse_turtle, turtle_files
from kg.build.report import Violation
from kg.build.shacl import UnsupportedShape, compile_shapes, validate_store
from kg.build.validate import run_shacl, validate
from kg.dev.synth import MANIFEST, synthesize
from kg.terms import new_graph, to_oxigraph, to_rdflib

ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = Path(__file__).resolve().parent / "shapes"
FIXTURES = sorted(FIXTURES_DIR.glob("**/*.ttl"))
SEEDS = (1, 2)
SYNTHETIC_TRIPLES = 3000


def _parse_folder(folder: Path) -> Graph:
    graph = new_graph()
    for path in turtle_files(folder):
        parse_turtle(path, into=graph)
    return graph


def store_of(*graphs: Graph) -> ox.Store:
    """The graphs in the default graph of a new store."""
    store = ox.Store()
    store.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for g in graphs for s, p, o in g)
    return store


def held(store: ox.Store) -> Graph:
    """The store's triples as rdflib terms: what the store holds, blank-node ids kept."""
    graph = Graph()
    for quad in store:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


SHAPES = _parse_folder(ROOT / "shapes")
ONTOLOGY = held(store_of(_parse_folder(ROOT / "ontology")))


def with_ontology(data: Graph) -> ox.Store:
    """The data and the ontology in the default graph, as validate_store expects them."""
    return store_of(data, ONTOLOGY)


def reference(store: ox.Store) -> Counter[Violation]:
    """pySHACL's Violations, on the store's graph with the ontology as ont_graph (as kg.build.validate calls it)."""
    return Counter(run_shacl(held(store) - ONTOLOGY, SHAPES, ONTOLOGY)[0])


def assert_same(store: ox.Store, expected: Counter[Violation]) -> list[Violation]:
    got = validate_store(store, SHAPES)
    missing, extra = expected - Counter(got), Counter(got) - expected
    assert not missing and not extra, (
        "only pySHACL:\n" + "\n".join(map(str, missing.elements())) + "\nonly the fast engine:\n"
        + "\n".join(map(str, extra.elements())))
    return got


# --------------------------------------------------------------------------- same results as pySHACL


@pytest.mark.parametrize("path", FIXTURES, ids=[str(p.relative_to(FIXTURES_DIR)) for p in FIXTURES])
def test_fixture_gives_the_same_violations(path: Path) -> None:
    """The fixture with the ontology, as tests/test_shapes.py validates it."""
    store = with_ontology(parse_turtle(path))
    got = assert_same(store, reference(store))
    if path.name.startswith("invalid-"):
        assert got, "an invalid fixture must give a violation"


def test_shipped_data_gives_the_same_violations() -> None:
    store = with_ontology(_parse_folder(ROOT / "data"))
    assert_same(store, reference(store))


@pytest.mark.parametrize("seed", SEEDS)
def test_synthetic_graph_gives_the_same_violations_and_every_planted_one(seed: int, tmp_path: Path) -> None:
    synthesize(tmp_path, SYNTHETIC_TRIPLES, seed=seed, violations=2)
    store = with_ontology(_parse_folder(tmp_path / "data"))
    got = assert_same(store, reference(store))
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    planted = Counter((r["focus"], r["component"]) for v in manifest["violations"] for r in v["reports"]
                      if r["component"].startswith("sh:"))
    assert planted, "the synthetic graph has no planted SHACL violation"
    assert Counter((v.focus, v.component) for v in got) == planted


# --------------------------------------------------------------------------- literals SPARQL alone would judge otherwise

EDGE_CASES = r"""
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
@prefix ic:      <https://w3id.org/integrating-cities/def/> .
@prefix project: <https://w3id.org/integrating-cities/id/project/> .
@prefix source:  <https://w3id.org/integrating-cities/id/source/> .
@prefix person:  <https://w3id.org/integrating-cities/id/person/> .
@prefix city:    <https://w3id.org/integrating-cities/id/city/> .
@prefix organisation: <https://w3id.org/integrating-cities/id/organisation/> .
@prefix partnership:  <https://w3id.org/integrating-cities/id/partnership/> .

project:leap-day a ic:Project ; rdfs:label "Leap day"@en ; ic:source source:helsinki-international-activities ;
    ic:startDate "2012-02-29"^^xsd:date ; ic:endDate "2013-01-01+01:00"^^xsd:date .
project:no-leap-day a ic:Project ; rdfs:label "No leap day"@en ; ic:source source:helsinki-international-activities ;
    ic:startDate "2011-02-29"^^xsd:date .
project:april-31 a ic:Project ; rdfs:label "April 31"@en ; ic:source source:helsinki-international-activities ;
    ic:startDate "2011-04-31"^^xsd:date .
partnership:inclusion-of-migrants-and-refugees ic:launchDate "MMXI"^^xsd:gYear .
organisation:eurocities-migration-integration-wg ic:meetingsPerYear " 4"^^xsd:integer, "1_0"^^xsd:integer .
person:erika-mustermann a ic:Person ; rdfs:label "Erika Mustermann"@en ; ic:name "Erika Mustermann" ;
    ic:source source:helsinki-international-activities ; rdfs:comment "Contact:\nerika.mustermann@example.org"@en .
city:berlin rdfs:label "Berlin"@en-GB ; rdfs:comment "Write to İ@example.org"@en, "İstanbul and Berlin"@en .
source:second-capture a ic:SourceDocument ; rdfs:label "A second capture"@en ;
    ic:fileName "001_d3504afde72282df.txt\n" .
"""


def test_literals_are_judged_as_pyshacl_judges_them() -> None:
    """Ill-typed dates, rdflib's integers and gYears, Python's regex on newlines and dotted capitals."""
    data = parse_turtle(FIXTURES_DIR / "valid-minimal.ttl")
    data.parse(data=EDGE_CASES, format="turtle")
    store = with_ontology(data)
    got = assert_same(store, reference(store))
    project, person, city = (f"https://w3id.org/integrating-cities/id/{kind}/" for kind in ("project", "person", "city"))
    assert sorted((v.focus, v.component, v.value) for v in got) == [
        (city + "berlin", "sh:NotConstraintComponent", "Write to İ@example.org"),
        (person + "erika-mustermann", "sh:NotConstraintComponent", "Contact:\nerika.mustermann@example.org"),
        (project + "april-31", "sh:OrConstraintComponent", "2011-04-31"),
        (project + "no-leap-day", "sh:OrConstraintComponent", "2011-02-29"),
    ]


# --------------------------------------------------------------------------- features the shipped shapes do not use

EXTRA_SHAPES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex:  <http://example.org/> .

ex:ThingShape a sh:NodeShape ; sh:targetClass ex:Thing ; sh:nodeKind sh:IRI ; sh:message "an IRI" ;
    sh:property [ sh:path ex:link ; sh:nodeKind sh:BlankNodeOrIRI ; sh:class ex:Thing, ex:Other ;
                  sh:severity sh:Warning ; sh:name "links to things" ; sh:message "a thing and an other" ] ,
                [ sh:path ex:tag ; sh:minCount 2 ; sh:maxCount 3 ; sh:severity sh:Info ; sh:message "two or three tags" ] ,
                [ sh:path ex:tag ; sh:languageIn ( "en" "fr-be" ) ; sh:description "tags in English" ; sh:message "en" ] ,
                [ sh:path ex:tag ; sh:pattern "^[A-Z]" ; sh:deactivated true ; sh:message "never reported" ] ,
                [ sh:path ex:part ; sh:message "parts with a two-tag part" ;
                  sh:or ( [ sh:path ex:tag ; sh:minCount 2 ; sh:uniqueLang true ] [ sh:hasValue ex:whole ] ) ] .
ex:OffShape a sh:NodeShape ; sh:targetClass ex:Thing ; sh:deactivated true ; sh:nodeKind sh:Literal ; sh:message "off" .
ex:SubjectShape a sh:NodeShape ; sh:targetSubjectsOf ex:tag ; sh:hasValue ex:a ; sh:message "only ex:a has tags" .
"""

EXTRA_DATA = """
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ex:   <http://example.org/> .
ex:Special rdfs:subClassOf ex:Thing .
ex:a a ex:Thing, ex:Other ; ex:tag "one"@en, "two"@EN ; ex:link ex:a ; ex:part ex:a, ex:whole, ex:b .
ex:b a ex:Special ; ex:tag "un"@fr-BE, "deux"@fr-FR, "trois"@de, "vier"@de ; ex:link ex:a, ex:b, "text" ; ex:part ex:a .
_:c a ex:Thing ; ex:link [ a ex:Thing, ex:Other ] .
"""


def test_severity_deactivation_node_kinds_and_nested_shapes_match_pyshacl() -> None:
    shapes = Graph().parse(data=EXTRA_SHAPES, format="turtle")
    data = Graph().parse(data=EXTRA_DATA, format="turtle")
    store = store_of(data)
    expected = Counter(run_shacl(data, shapes, Graph())[0])
    got = Counter(validate_store(store, shapes))
    assert got == expected
    assert {v.severity for v in got} == {"error", "warning", "info"}
    assert not [v for v in got if v.message in ("never reported", "off")]
    assert any(v.focus.startswith("_:") for v in got)


BOUND_SHAPES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex:  <http://example.org/> .
ex:NumberShape a sh:NodeShape ; sh:targetClass ex:Thing ;
    sh:property [ sh:path ex:n ; sh:minInclusive -90 ; sh:message "at least -90" ] ,
                [ sh:path ex:n ; sh:maxInclusive 90.5 ; sh:message "at most 90.5" ] ,
                [ sh:path ex:n ; sh:minExclusive 0 ; sh:message "above 0" ] ,
                [ sh:path ex:n ; sh:maxExclusive 10 ; sh:message "below 10" ] ,
                [ sh:path ex:d ; sh:minExclusive "2011-01-01"^^xsd:date ; sh:message "after 2011" ] ,
                [ sh:path ex:d ; sh:maxInclusive "2019-12-31"^^xsd:date ; sh:message "in 2019 at the latest" ] .
"""

BOUND_DATA = """
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex:  <http://example.org/> .
ex:a a ex:Thing ; ex:n -90, 90.5, 0, 10, 5, 5.0, 9.99, 0.01, -91, 90.51, "5", 5e0, 1e2, "abc", ex:iri, true .
ex:b a ex:Thing ; ex:d "2011-01-01"^^xsd:date, "2011-01-02"^^xsd:date, "2019-12-31"^^xsd:date,
    "2020-01-01"^^xsd:date, "2015"^^xsd:gYear, "2015-06-01T10:00:00"^^xsd:dateTime, "not a date"^^xsd:date, 7 .
"""


def test_value_range_bounds_match_pyshacl() -> None:
    """The four bounds on numbers (equal to the bound, either side, other datatypes) and on dates."""
    shapes = Graph().parse(data=BOUND_SHAPES, format="turtle")
    data = Graph().parse(data=BOUND_DATA, format="turtle")
    expected = Counter(run_shacl(data, shapes, Graph())[0])
    got = Counter(validate_store(store_of(data), shapes))
    assert got == expected
    components = {v.component for v in got}
    assert {f"sh:{b}ConstraintComponent" for b in ("MinInclusive", "MaxInclusive", "MinExclusive", "MaxExclusive")} <= components


TARGET_SHAPES = """
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex:  <http://example.org/> .
ex:Thing a rdfs:Class, sh:NodeShape ; sh:property [ sh:path ex:n ; sh:datatype xsd:integer ; sh:message "an integer" ] .
ex:Kind rdfs:subClassOf rdfs:Class .
ex:Special a rdfs:Class ; sh:property [ sh:path ex:mark ; sh:maxCount 1 ; sh:message "one mark at most" ] .
ex:Inner a rdfs:Class ; sh:nodeKind sh:BlankNode ; sh:message "not a shape: nothing refers to it" .
ex:Gadget a ex:Kind, sh:NodeShape ; sh:nodeKind sh:IRI ; sh:message "an IRI" .
ex:Listed a sh:NodeShape ; sh:targetNode ex:a, ex:absent, "9", 42 ; sh:pattern "^[a-z/:.]+$" ; sh:message "lower case" .
ex:Objects a sh:NodeShape ; sh:targetObjectsOf ex:link ; sh:class ex:Thing ; sh:message "links go to things" .
ex:Flags a sh:NodeShape ; sh:targetSubjectsOf ex:flag ;
    sh:property [ sh:path ex:flag ; sh:datatype xsd:boolean ; sh:message "a boolean" ] .
"""

TARGET_DATA = """
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex:  <http://example.org/> .
ex:Special <http://www.w3.org/2000/01/rdf-schema#subClassOf> ex:Thing .
ex:a a ex:Special ; ex:n 1, "two" ; ex:link ex:b, ex:a, "text" ; ex:mark 1, 2 .
ex:c a ex:Inner .
ex:b a ex:Gadget ; ex:n "3"^^xsd:integer ; ex:flag true, "1"^^xsd:boolean, "2"^^xsd:boolean, "none"^^xsd:boolean .
_:g a ex:Gadget ; ex:flag "yes"^^xsd:boolean, "TRUE"^^xsd:boolean .
"""


def test_targets_match_pyshacl() -> None:
    """Implicit class targets (an rdfs:Class, or an instance of a subclass of it, that is a shape: typed as
    one or, untyped, the subject of sh:property),
    sh:targetNode IRIs and literals (present in the data or not), sh:targetObjectsOf, and ill-typed
    booleans: only "true", "false", "1" and "0" are valid, and pySHACL reads "2" and "none"^^xsd:boolean
    as one ill-typed "false" (one result for ex:b; "yes" and "TRUE" are two for _:g)."""
    shapes = Graph().parse(data=TARGET_SHAPES, format="turtle")
    store = ox.Store()
    store.load(TARGET_DATA.encode(), ox.RdfFormat.TURTLE)  # Oxigraph's parser, as the build loads data
    expected = Counter(run_shacl(held(store), shapes, Graph())[0])
    got = Counter(validate_store(store, shapes))
    assert got == expected
    by_shape = Counter(v.message for v in got.elements())
    assert by_shape == {"an integer": 1, "an IRI": 1, "lower case": 2, "links go to things": 2, "a boolean": 3,
                        "one mark at most": 1}


FEATURE_SHAPES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex:  <http://example.org/> .
ex:S a sh:NodeShape ; sh:targetClass ex:Thing ;
    sh:property [ sh:path ex:code ; sh:minLength 2 ; sh:maxLength 4 ; sh:message "two to four characters" ] ,
                [ sh:path ex:colour ; sh:in ( ex:red ex:green "blue" 7 ) ; sh:message "a listed colour" ] ,
                [ sh:path ex:size ; sh:hasValue "M" ; sh:message "size M among its sizes" ] ,
                [ sh:path ex:n ; sh:message "a small integer" ;
                  sh:and ( [ sh:datatype xsd:integer ] [ sh:maxInclusive 9 ] ) ] ,
                [ sh:path ex:n ; sh:message "even or above five, not both" ;
                  sh:xone ( [ sh:in ( 0 2 4 6 8 ) ] [ sh:minExclusive 5 ] ) ] .
"""

FEATURE_DATA = """
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex:  <http://example.org/> .
ex:a a ex:Thing ; ex:code "ab", "abcde", "x", "ünï", 12345, ex:i, [] ; ex:colour ex:red, "blue", "blue"@en, 7, 7.0, ex:pink ;
    ex:size "L", "M" ; ex:n 1, 2, 6, 7, 12, "3" .
ex:b a ex:Thing ; ex:size "m", "M"@en ; ex:n 4 .
"""


def test_length_in_has_value_and_xone_match_pyshacl() -> None:
    """sh:minLength/maxLength (IRIs, blank nodes, numbers, non-ASCII), sh:in and sh:hasValue with literals
    (compared as terms: 7.0 is not 7, "blue"@en is not "blue"), sh:and, and sh:xone (both members hold: fails)."""
    shapes = Graph().parse(data=FEATURE_SHAPES, format="turtle")
    store = store_of(Graph().parse(data=FEATURE_DATA, format="turtle"))
    expected = Counter(run_shacl(held(store), shapes, Graph())[0])
    got = Counter(validate_store(store, shapes))
    assert got == expected
    assert {v.component for v in got} == {f"sh:{c}ConstraintComponent" for c in
                                          ("MinLength", "MaxLength", "In", "HasValue", "And", "Xone")}


PAIR_SHAPES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix ex:  <http://example.org/> .
ex:Same a sh:NodeShape ; sh:targetClass ex:Thing ; sh:equals ex:self ; sh:disjoint ex:other ; sh:message "itself" ;
    sh:property [ sh:path ex:p ; sh:equals ex:q ; sh:message "p equals q" ] ,
                [ sh:path ex:p ; sh:disjoint ex:r ; sh:message "p is not r" ] .
"""

PAIR_DATA = """
@prefix ex:  <http://example.org/> .
ex:a a ex:Thing ; ex:self ex:a ; ex:p 1, 2, "x" ; ex:q 1, 2.0, "x"@en ; ex:r 2, "y" .
ex:b a ex:Thing ; ex:self ex:b, ex:a ; ex:other ex:b ; ex:q ex:c .
ex:c a ex:Thing .
"""


def test_equals_and_disjoint_match_pyshacl() -> None:
    """sh:equals and sh:disjoint on node shapes (the focus node against its values) and property shapes
    (values on one side only, either side; terms compared exactly: 2.0 is not 2, "x"@en is not "x")."""
    shapes = Graph().parse(data=PAIR_SHAPES, format="turtle")
    store = store_of(Graph().parse(data=PAIR_DATA, format="turtle"))
    expected = Counter(run_shacl(held(store), shapes, Graph())[0])
    got = Counter(validate_store(store, shapes))
    assert got == expected
    assert Counter(v.message for v in got.elements()) == {"itself": 3, "p equals q": 5, "p is not r": 1}


NESTED_SHAPES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix ex:  <http://example.org/> .
ex:PersonShape a sh:NodeShape ; sh:targetClass ex:Person ;
    sh:property [ sh:path ex:address ; sh:nodeKind sh:IRI ; sh:message "an IRI" ;
        sh:property [ sh:path ex:city ; sh:minCount 1 ; sh:class ex:City ; sh:message "in a city" ;
            sh:property [ sh:path ex:country ; sh:hasValue ex:de ; sh:message "in Germany" ] ] ] .
"""

NESTED_DATA = """
@prefix ex:  <http://example.org/> .
ex:p1 a ex:Person ; ex:address ex:home, "a string" .
ex:p2 a ex:Person ; ex:address ex:home, ex:work .
ex:home ex:city ex:berlin, ex:nowhere .
ex:work ex:city ex:paris .
ex:berlin a ex:City ; ex:country ex:de .
ex:paris a ex:City ; ex:country ex:fr .
"""


def test_property_shapes_nested_in_property_shapes_match_pyshacl() -> None:
    """sh:property on a property shape, two levels deep: a value reached from two focus nodes is validated,
    and reported, twice, as pySHACL does (ex:home from ex:p1 and ex:p2; the literal address has no city)."""
    shapes = Graph().parse(data=NESTED_SHAPES, format="turtle")
    store = store_of(Graph().parse(data=NESTED_DATA, format="turtle"))
    expected = Counter(run_shacl(held(store), shapes, Graph())[0])
    got = Counter(validate_store(store, shapes))
    assert got == expected
    assert Counter((v.message, v.focus.rsplit("/", 1)[-1]) for v in got.elements()) == {
        ("an IRI", "p1"): 1, ("in a city", "a string"): 1, ("in a city", "home"): 2,
        ("in Germany", "nowhere"): 2, ("in Germany", "paris"): 1}


PATH_SHAPES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix ex:  <http://example.org/> .
ex:S a sh:NodeShape ; sh:targetClass ex:Person ;
    sh:property [ sh:path [ sh:inversePath ex:child ] ; sh:minCount 1 ; sh:maxCount 2 ] ,
                [ sh:path ( ex:address ex:city ) ; sh:class ex:City ] ,
                [ sh:path [ sh:alternativePath ( ex:name [ sh:inversePath ex:named ] ) ] ; sh:datatype ex:Name ] ,
                [ sh:path [ sh:oneOrMorePath ex:parent ] ; sh:nodeKind sh:IRI ; sh:minCount 2 ] .
"""

PATH_DATA = """
@prefix ex:  <http://example.org/> .
ex:a a ex:Person ; ex:address ex:h1, ex:h2 ; ex:name "A"^^ex:Name, "a" ; ex:parent ex:b .
ex:b a ex:Person ; ex:parent ex:c, _:d ; ex:address ex:h1 .
ex:c a ex:Person .
ex:h1 ex:city ex:berlin . ex:h2 ex:city ex:berlin, ex:atlantis . ex:berlin a ex:City .
ex:b ex:child ex:a . ex:c ex:child ex:a . ex:x ex:child ex:a . ex:c ex:child ex:b .
ex:label ex:named ex:c .
"""


def test_complex_paths_match_pyshacl_where_the_result_path_is_not_reported() -> None:
    """Inverse, sequence (two ways to one value: one result), alternative and one-or-more paths, compiled
    with full_report=False; pySHACL reports a copy of the path's blank nodes, so paths are compared
    here by the compiler's SPARQL form, and the build (full report) refuses them."""
    shapes = Graph().parse(data=PATH_SHAPES, format="turtle")
    store = store_of(Graph().parse(data=PATH_DATA, format="turtle"))
    def fields(v: Violation) -> tuple:
        return (v.focus, v.value, v.component, v.severity)
    expected = Counter(fields(v) for v in run_shacl(held(store), shapes, Graph())[0])
    got = compile_shapes(shapes, full_report=False).validate(store)
    assert Counter(fields(v) for v in got) == expected
    assert {v.path for v in got} == {"^(<http://example.org/child>)", "(<http://example.org/address> / <http://example.org/city>)",
                                     "(<http://example.org/name> | ^(<http://example.org/named>))",
                                     "(<http://example.org/parent>)+"}
    with pytest.raises(UnsupportedShape, match="not an IRI. in a full report"):
        compile_shapes(shapes)


ZERO_SHAPES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix ex:  <http://example.org/> .
ex:S a sh:NodeShape ; sh:targetClass ex:Person ; sh:targetNode ex:lonely ;
    sh:property [ sh:path [ sh:zeroOrMorePath ex:parent ] ; sh:class ex:Person ] ,
                [ sh:path ( ex:knows [ sh:zeroOrOnePath ex:knows ] ) ; sh:maxCount 2 ] .
"""


def test_zero_length_paths_match_pyshacl_and_need_their_target_nodes_in_the_data() -> None:
    """sh:zeroOrMorePath and sh:zeroOrOnePath: each focus node is a value of its own. Oxigraph matches a
    zero-length path only on terms of the graph, so a target node the data does not mention is refused."""
    shapes = Graph().parse(data=ZERO_SHAPES, format="turtle")
    store = store_of(Graph().parse(data="""@prefix ex: <http://example.org/> .
        ex:a a ex:Person ; ex:parent ex:b ; ex:knows ex:b, ex:c . ex:b ex:parent ex:c ; ex:knows ex:d . ex:c a ex:Person .
        ex:lonely ex:knows ex:a .""", format="turtle"))
    def fields(v: Violation) -> tuple:
        return (v.focus, v.value, v.component)
    expected = Counter(fields(v) for v in run_shacl(held(store), shapes, Graph())[0])
    got = Counter(fields(v) for v in compile_shapes(shapes, full_report=False).validate(store))
    assert got == expected
    assert ("http://example.org/lonely", "http://example.org/lonely", "sh:ClassConstraintComponent") in got
    store.remove(ox.Quad(ox.NamedNode("http://example.org/lonely"), ox.NamedNode("http://example.org/knows"),
                         ox.NamedNode("http://example.org/a")))
    with pytest.raises(UnsupportedShape, match="which the data does not mention"):
        compile_shapes(shapes, full_report=False).validate(store)


CLOSED_SHAPES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix ex:  <http://example.org/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true ; sh:ignoredProperties ( rdf:type ) ; sh:message "closed" ;
    sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:message "a p" ] , [ sh:path ex:q ; sh:deactivated true ] .
ex:T a sh:NodeShape ; sh:targetNode ex:b ; sh:closed false ; sh:message "open" .
"""

CLOSED_DATA = """
@prefix ex:  <http://example.org/> .
ex:a a ex:C ; ex:p 1 ; ex:q 2 ; ex:r 3, ex:b ; ex:s "x"@en .
ex:b a ex:C ; ex:r 4 .
"""


def test_closed_shapes_match_pyshacl() -> None:
    """sh:closed with sh:ignoredProperties: a result per triple of another predicate (resultPath and value
    the triple's), a deactivated property shape's path still allowed, sh:closed false closing nothing."""
    shapes = Graph().parse(data=CLOSED_SHAPES, format="turtle")
    store = store_of(Graph().parse(data=CLOSED_DATA, format="turtle"))
    expected = Counter(run_shacl(held(store), shapes, Graph())[0])
    got = Counter(validate_store(store, shapes))
    assert got == expected
    assert sorted((v.focus[-1], v.path.rsplit("/", 1)[-1], v.value) for v in got if v.message == "closed") == [
        ("a", "r", "3"), ("a", "r", "http://example.org/b"), ("a", "s", "x"), ("b", "r", "4")]


QUALIFIED_SHAPES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix ex:  <http://example.org/> .
ex:Hand a sh:NodeShape ; sh:targetClass ex:Hand ;
    sh:property [ sh:path ex:digit ; sh:qualifiedValueShape [ sh:class ex:Thumb ] ; sh:qualifiedValueShapesDisjoint true ;
                  sh:qualifiedMinCount 1 ; sh:qualifiedMaxCount 1 ; sh:message "one thumb" ] ,
                [ sh:path ex:digit ; sh:qualifiedValueShape [ sh:class ex:Finger ] ; sh:qualifiedValueShapesDisjoint true ;
                  sh:qualifiedMinCount 4 ; sh:message "four fingers" ] .
ex:AnyHand a sh:NodeShape ; sh:targetClass ex:Hand ;  # a shape of its own: no sibling of the two above
    sh:property [ sh:path ex:digit ; sh:qualifiedValueShape [ sh:class ex:Finger ] ; sh:qualifiedMaxCount 4 ;
                  sh:message "at most four fingers, thumbs that are fingers too included" ] .
"""

QUALIFIED_DATA = """
@prefix ex:  <http://example.org/> .
ex:left a ex:Hand ; ex:digit ex:t, ex:f1, ex:f2, ex:f3, ex:f4 .
ex:right a ex:Hand ; ex:digit ex:t, ex:tf, ex:f1, ex:f2, ex:f3, ex:f4 .
ex:none a ex:Hand .
ex:t a ex:Thumb . ex:tf a ex:Thumb, ex:Finger .
ex:f1 a ex:Finger . ex:f2 a ex:Finger . ex:f3 a ex:Finger . ex:f4 a ex:Finger .
"""


def test_qualified_value_shapes_match_pyshacl() -> None:
    """sh:qualifiedMinCount/MaxCount, with sh:qualifiedValueShapesDisjoint (a thumb that is a finger counts
    for neither) and without (it counts), and a focus node with no values at all."""
    shapes = Graph().parse(data=QUALIFIED_SHAPES, format="turtle")
    store = store_of(Graph().parse(data=QUALIFIED_DATA, format="turtle"))
    expected = Counter(run_shacl(held(store), shapes, Graph())[0])
    got = Counter(validate_store(store, shapes))
    assert got == expected
    assert sorted((v.focus.rsplit("/", 1)[-1], v.message) for v in got) == [
        ("none", "four fingers"), ("none", "one thumb"),
        ("right", "at most four fingers, thumbs that are fingers too included")]


ORDER_SHAPES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix ex:  <http://example.org/> .
ex:S a sh:NodeShape ; sh:targetClass ex:Thing ;
    sh:property [ sh:path ex:start ; sh:lessThan ex:end ; sh:message "starts before it ends" ] ,
                [ sh:path ex:low ; sh:lessThanOrEquals ex:high ; sh:message "low at most high" ] .
"""

ORDER_DATA = """
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex:  <http://example.org/> .
ex:a a ex:Thing ; ex:start 1, 5, 2.5, "b", "2020-01-01"^^xsd:date, ex:m ; ex:end 3, "c", "2021-01-01"^^xsd:date, ex:n .
ex:b a ex:Thing ; ex:low 2, 3.0, "x"@en, "2020-01-01T00:00:00"^^xsd:dateTime ; ex:high 3, "x", "2020-06-01"^^xsd:date .
"""


def test_less_than_matches_pyshacl() -> None:
    """sh:lessThan and sh:lessThanOrEquals over numbers of two datatypes, dates, date-times, strings with and
    without a language and IRIs: a result per failing pair, strings comparable only with strings and IRIs."""
    shapes = Graph().parse(data=ORDER_SHAPES, format="turtle")
    store = store_of(Graph().parse(data=ORDER_DATA, format="turtle"))
    expected = Counter(run_shacl(held(store), shapes, Graph())[0])
    got = Counter(validate_store(store, shapes))
    assert got == expected
    assert {v.component for v in got} == {"sh:LessThanConstraintComponent", "sh:LessThanOrEqualsConstraintComponent"}
    store.add(ox.Quad(ox.NamedNode("http://example.org/a"), ox.NamedNode("http://example.org/end"), ox.BlankNode()))
    with pytest.raises(UnsupportedShape, match="comparing a blank node"):  # pySHACL stops with an error
        validate_store(store, shapes)


# --------------------------------------------------------------------------- what it refuses

SH_PREFIXES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix ex:  <http://example.org/> .
"""
UNSUPPORTED = {
    "sh:targetNode that is a blank node": 'ex:S sh:targetNode [] ; sh:class ex:C ; sh:message "m" .',
    "sh:closed on a shape inside": 'ex:S sh:targetClass ex:C ; sh:not [ sh:closed true ] ; sh:message "m" .',
    "sh:ignoredProperties without sh:closed true": 'ex:S sh:targetClass ex:C ; sh:ignoredProperties ( ex:p ) ; sh:message "m" .',
    "sh:path ^(<http://example.org/p>) (not an IRI) in a full report":
        'ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:inversePath ex:p ] ; sh:minCount 1 ; sh:message "m" ] .',
    "sh:zeroOrMorePaths":
        'ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:zeroOrMorePaths ex:p ] ; sh:minCount 1 ; sh:message "m" ] .',
    "sh:node in a full report": 'ex:S sh:targetClass ex:C ; sh:node [ sh:class ex:D ] ; sh:message "m" .',
    "sh:in with a literal not in Oxigraph's canonical form": 'ex:S sh:targetClass ex:C ; sh:in ( 4.0 ) ; sh:message "m" .',
    "sh:lessThan on a node shape": 'ex:S sh:targetClass ex:C ; sh:lessThan ex:q ; sh:message "m" .',
    "sh:equals on a shape inside": 'ex:S sh:targetClass ex:C ; sh:not [ sh:equals ex:q ] ; sh:message "m" .',
    "sh:qualifiedMinCount on a property shape inside": 'ex:S sh:targetClass ex:C ; sh:not [ sh:path ex:p ; sh:qualifiedValueShape [ sh:class ex:D ] ; sh:qualifiedMinCount 1 ] ; sh:message "m" .',
    "an empty sh:and list": 'ex:S sh:targetClass ex:C ; sh:and () ; sh:message "m" .',
    "sh:minCount on a node shape": 'ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:minCount 1 ; sh:message "m" .',
    "the escape \\w": 'ex:S sh:targetClass ex:C ; sh:pattern "^\\\\w+$" ; sh:message "m" .',
    "sh:flags 'x'": 'ex:S sh:targetClass ex:C ; sh:pattern "^a" ; sh:flags "x" ; sh:message "m" .',
    "VALUES in sh:select": ('ex:S sh:targetClass ex:C ; sh:sparql [ sh:message "m" ; '
                            'sh:select "SELECT $this WHERE { VALUES ?x { 1 } $this ?p ?x }" ] .'),
    "0 sh:message": 'ex:S sh:targetClass ex:C ; sh:class ex:D .',
    "sh:hasValue with a blank node": 'ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:hasValue [] ; sh:message "m" ] .',
    "sh:minLength that is not an integer": 'ex:S sh:targetClass ex:C ; sh:minLength "2" ; sh:message "m" .',
}


@pytest.mark.parametrize("feature", sorted(UNSUPPORTED))
def test_an_unsupported_feature_is_refused_by_name(feature: str) -> None:
    shapes = Graph().parse(data=SH_PREFIXES + UNSUPPORTED[feature], format="turtle")
    with pytest.raises(UnsupportedShape) as refused:
        compile_shapes(shapes)
    assert feature in str(refused.value)


FALLBACKS = {  # shapes, data, the refusal, the values of the results pySHACL gives
    "a zero-length path": ('ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:zeroOrMorePath ex:p ] ; '
                           'sh:class ex:C ; sh:message "m" ] .', "ex:a a ex:C ; ex:p ex:b .", "not an IRI) in a full report",
                           ["http://example.org/b"]),  # ex:a is a value of its own, and a C
    "a blank-node subclass": ('ex:S sh:targetClass ex:C ; sh:nodeKind sh:Literal ; sh:message "m" .',
                              "_:k rdfs:subClassOf ex:C . ex:a a _:k .", "blank-node subclass",
                              ["http://example.org/a"]),
}


@pytest.mark.parametrize("case", sorted(FALLBACKS))
def test_the_build_validates_what_the_compiler_refuses_with_pyshacl(
        case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A refusal, of the shapes or of the data, is never a silent skip: the build hands the shapes to
    pySHACL and says why."""
    shapes_text, data_text, refusal, values = FALLBACKS[case]
    shapes = Graph().parse(data=SH_PREFIXES + shapes_text, format="turtle")
    loaded = LoadedGraphs()
    loaded.add_graph("https://example.org/data", Graph().parse(
        data="@prefix ex: <http://example.org/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . "
             + data_text, format="turtle"))
    loaded.add_graph("https://example.org/ontology", Graph())
    (tmp_path / "checks.toml").write_text('[severity]\nundefined-term = "off"\n')  # the shapes alone
    with caplog.at_level(logging.WARNING):
        report = validate(loaded, "https://example.org/ontology", shapes, tmp_path, tmp_path)
    assert "unsupported SHACL feature" in caplog.text and refusal in caplog.text
    assert sorted(v.value for v in report.results) == values


def test_named_graphs_are_not_validated() -> None:
    store = with_ontology(parse_turtle(FIXTURES_DIR / "valid-minimal.ttl"))
    unlabelled = ox.NamedNode("https://w3id.org/integrating-cities/id/membership/unlabelled")
    membership = ox.NamedNode("https://w3id.org/integrating-cities/def/Membership")
    store.add(ox.Quad(unlabelled, ox.NamedNode(str(RDF.type)), membership, ox.NamedNode("https://example.org/graph")))
    assert validate_store(store, SHAPES) == []
    store.add(ox.Quad(unlabelled, ox.NamedNode(str(RDF.type)), membership))
    assert validate_store(store, SHAPES)


def test_shapes_are_compiled_once_per_shapes_graph() -> None:
    assert compile_shapes(SHAPES) is compile_shapes(SHAPES)
    assert compile_shapes(SHAPES) is not compile_shapes(_parse_folder(ROOT / "shapes"))
