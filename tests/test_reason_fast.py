"""The fast OWL 2 RL paths give exactly the reference's (owlrl's) inferences and clashes.

owlrl stays the reference: every test here runs it and each fast engine and compares. reasonable lacks
some OWL 2 RL rules (the schema rules scm-spo, scm-eqc2, scm-eqp2, scm-dom1/2, scm-rng1/2; cax-adc; any
inconsistency report from Python) and changes literals; kg/build/reason.py makes up for each. "oxigraph"
(kg/build/owl_rl_rules.py) closes the schema with reasonable and applies it to the instances as SPARQL updates in the
store. These tests prove both. Timings are printed (run with -s), never asserted.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.build.reason import ENGINES, InconsistentGraph, infer
from kg.namespaces import IC
from kg.terms import new_graph

EX = "http://example.org/"


def _outcome(graph: Graph, engine: str):
    """The inferred triples, or the sorted inconsistency messages.

    Literals are compared as RDF 1.1 terms: ``"x"`` and ``"x"^^xsd:string`` are one literal, which
    Oxigraph (the "oxigraph" engine's store) keeps as one and rdflib as two.
    """
    try:
        return {tuple(_rdf11(t) for t in triple) for triple in infer(graph, engine=engine)}
    except InconsistentGraph as clash:
        return clash.messages


def _rdf11(term):
    return Literal(str(term)) if isinstance(term, Literal) and term.datatype == XSD.string else term


#: The engines proven against owlrl.
FAST = ("oxigraph", "reasonable")


def _difference(reference, fast) -> str:
    """What one engine inferred and the other did not, by predicate, for the failure message."""
    lines = []
    for name, extra in (("only owlrl", reference - fast), ("only the fast engine", fast - reference)):
        counts = Counter(str(p) for _, p, _ in extra)
        lines.append(f"{name}: {len(extra)} {dict(counts)}")
        lines += [f"  {t}" for t in sorted(extra, key=str)[:20]]
    return "\n".join(lines)


def _assert_same_inferences(graph: Graph) -> set:
    reference = _outcome(graph, "owlrl")
    for engine in FAST:
        fast = _outcome(graph, engine)
        assert isinstance(reference, set) and isinstance(fast, set), (engine, reference, fast)
        assert fast == reference, f"{engine}:\n" + _difference(reference, fast)
    return reference


def _parse(turtle: str) -> Graph:
    graph = new_graph()
    graph.parse(data="""
        @prefix ex: <http://example.org/> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        """ + turtle, format="turtle")
    return graph


# --- the shipped data ---------------------------------------------------------------------------------


def test_engines_infer_the_same_triples_on_the_shipped_data(pipeline):
    asserted = pipeline.loaded.union()
    started = time.perf_counter()
    reference = set(infer(asserted, engine="owlrl"))
    reference_s = time.perf_counter() - started
    assert len(reference) > 0
    for engine in FAST:
        started = time.perf_counter()
        fast = set(infer(asserted, engine=engine))
        fast_s = time.perf_counter() - started
        print(f"\nshipped data, {len(asserted)} triples -> {len(reference)} inferred: "
              f"owlrl {reference_s:.2f} s, {engine} {fast_s:.2f} s, {reference_s / fast_s:.0f}x faster")
        assert fast == reference, f"{engine}:\n" + _difference(reference, fast)


@pytest.mark.parametrize("engine", ENGINES)
def test_reasoning_leaves_its_input_unchanged(pipeline, engine):
    asserted = pipeline.loaded.union()
    before = set(asserted)
    inferred = infer(asserted, engine=engine)
    assert set(asserted) == before
    assert not any(t in asserted for t in inferred)


def test_a_clash_in_the_shipped_data_is_found_by_both_engines(pipeline):
    """A city also typed a person: ic:Person and ic:Place are in one owl:AllDisjointClasses (rule cax-adc,
    which reasonable does not implement)."""
    graph = pipeline.loaded.union()
    city = next(graph.subjects(RDF.type, IC.City))
    graph.add((city, RDF.type, IC.Person))
    reference = _outcome(graph, "owlrl")
    assert isinstance(reference, list) and any(str(city) in m for m in reference)
    assert all(_outcome(graph, engine) == reference for engine in FAST)


def test_the_build_setting_chooses_the_engine(pipeline):
    from dataclasses import replace

    from kg.build.pipeline import Pipeline
    from kg.config import Settings

    assert Settings.__dataclass_fields__["reasoner"].default == "oxigraph"
    reference = Pipeline(replace(pipeline.settings, reasoner="owlrl"), pipeline.loaded, pipeline.shapes)
    assert set(reference.infer()) == set(pipeline.infer())
    with pytest.raises(ValueError):
        infer(new_graph(), engine="hermit")


# --- small graphs: each rule one engine lacks, each kind of clash ---------------------------------------

SCHEMA = """
    ex:A a owl:Class ; rdfs:subClassOf ex:B . ex:B a owl:Class ; rdfs:subClassOf ex:C . ex:C rdfs:subClassOf ex:A .
    ex:D rdfs:subClassOf ex:E . ex:E rdfs:subClassOf ex:F . ex:F a owl:Class .
    ex:p rdfs:subPropertyOf ex:q ; rdfs:domain ex:A .
    ex:q rdfs:subPropertyOf ex:r ; rdfs:range ex:D .
    ex:r rdfs:subPropertyOf ex:q ; rdfs:domain ex:E ; owl:inverseOf ex:rInverse .
    ex:name rdfs:subPropertyOf rdfs:label ; rdfs:range ex:Text .
"""
DATA = """
    ex:x ex:p ex:y ; ex:name "plain", "typed"^^xsd:string, "English"@en, 42, "2020"^^xsd:gYear .
    ex:y ex:rInverse "a literal" .
    _:b ex:p [ ex:name "blank" ] .
"""


def test_schema_rules_reasonable_lacks_are_derived():
    """scm-spo, scm-eqc2, scm-eqp2, scm-dom1/2, scm-rng1/2: owlrl materialises them, reasonable does not."""
    inferred = _assert_same_inferences(_parse(SCHEMA + DATA))
    ex = lambda name: URIRef(EX + name)  # noqa: E731
    for triple in [
        (ex("p"), RDFS.subPropertyOf, ex("r")),  # scm-spo
        (ex("A"), OWL.equivalentClass, ex("C")),  # scm-eqc2
        (ex("q"), OWL.equivalentProperty, ex("r")),  # scm-eqp2
        (ex("p"), RDFS.domain, ex("B")),  # scm-dom1
        (ex("p"), RDFS.domain, ex("E")),  # scm-dom2
        (ex("p"), RDFS.range, ex("F")),  # scm-rng1 after scm-rng2
    ]:
        assert triple in inferred, triple


def test_literals_come_back_exactly_as_they_went_in():
    """reasonable alone would type plain strings as xsd:string; the fast path hands literals over opaquely."""
    inferred = _assert_same_inferences(_parse(SCHEMA + DATA))
    x = URIRef(EX + "x")
    labels = {o for s, p, o in inferred if s == x and p == RDFS.label}
    assert labels == {Literal("plain"), Literal("typed"), Literal("English", lang="en"),
                      Literal(42), Literal("2020", datatype=XSD.gYear)}


PLANTED = {
    "cax-dw, through subclasses": "ex:A owl:disjointWith ex:F . ex:z a ex:A, ex:D .",
    "cax-adc, through domain and range": """[] a owl:AllDisjointClasses ; owl:members ( ex:A ex:Q ex:D ) .
        ex:w a ex:Q ; ex:q ex:v . ex:z a ex:Q ; ex:p ex:w .""",
    "cax-dw on a literal typed by ranges": """ex:A owl:disjointWith ex:F . ex:s rdfs:range ex:A . ex:t rdfs:range ex:F .
        ex:z ex:s "v" ; ex:t "v" .""",
    "cls-nothing2": "ex:G rdfs:subClassOf owl:Nothing . ex:z a ex:G .",
    "dt-not-type": 'ex:z ex:count "many"^^xsd:integer .',
}


@pytest.mark.parametrize("planted", PLANTED.values(), ids=PLANTED.keys())
def test_planted_clashes_are_reported_alike(planted):
    graph = _parse(SCHEMA + DATA + planted)
    reference = _outcome(graph, "owlrl")
    assert isinstance(reference, list) and reference
    assert all(_outcome(graph, engine) == reference for engine in FAST)


def test_a_construct_outside_the_proven_subset_falls_back_to_owlrl(caplog):
    graph = _parse(SCHEMA + DATA + "ex:z owl:sameAs ex:x .")
    with caplog.at_level(logging.WARNING, logger="kg.reason"):
        _assert_same_inferences(graph)
    assert "owl#sameAs" in caplog.text and "owlrl instead" in caplog.text


#: One small graph per instance rule the compiled path ("oxigraph", kg/build/owl_rl_rules.py) claims, named as
#: in OWL 2 Profiles, table 4-9, with the conclusion it must draw (so that agreeing on nothing cannot pass).
RULES = {
    "cax-sco": ("ex:A rdfs:subClassOf ex:B . ex:B rdfs:subClassOf ex:C . ex:x a ex:A .", "ex:x a ex:C"),
    "prp-dom": ("ex:p rdfs:domain ex:A . ex:A rdfs:subClassOf ex:B . ex:x ex:p ex:y .", "ex:x a ex:B"),
    "prp-rng": ('ex:p rdfs:range ex:A . ex:x ex:p ex:y, "a literal" .', "ex:y a ex:A"),
    "prp-spo1": ("ex:p rdfs:subPropertyOf ex:q . ex:q rdfs:subPropertyOf ex:r . ex:x ex:p ex:y .", "ex:x ex:r ex:y"),
    "prp-inv1": ("ex:p owl:inverseOf ex:q . ex:x ex:p ex:y .", "ex:y ex:q ex:x"),
    "prp-inv2": ("ex:p owl:inverseOf ex:q . ex:x ex:q ex:y .", "ex:y ex:p ex:x"),
    "prp-inv1 then prp-dom": ("ex:p owl:inverseOf ex:q . ex:q rdfs:domain ex:A . ex:x ex:p ex:y .", "ex:y a ex:A"),
}


def _triple(text: str) -> tuple:
    graph = _parse(text + " .")
    return next(iter(graph))


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_compiled_rule_infers_what_owlrl_infers(rule, caplog):
    data, conclusion = RULES[rule]
    with caplog.at_level(logging.WARNING):
        inferred = _assert_same_inferences(_parse(data))
    assert _triple(conclusion) in inferred
    assert "reasoning the whole graph" not in caplog.text  # the compiled rules drew it, no fallback


#: Schemas the compiled rules cannot follow: they are refused (NotCompilable) and the graph reasoned by
#: reasonable, which owlrl agrees with on them.
REFUSED = {
    "a blank-node super-class": ("ex:A rdfs:subClassOf _:c . ex:x a ex:A .", "rdf-schema#subClassOf"),
    "a blank-node domain": ("ex:p rdfs:domain _:c . ex:x ex:p ex:y .", "rdf-schema#domain"),
    "a blank-node range": ("ex:p rdfs:range _:c . ex:y ex:p ex:x .", "rdf-schema#range"),
    "a sub-property of rdf:type": ("ex:kind rdfs:subPropertyOf rdf:type . ex:A rdfs:subClassOf ex:B . ex:x ex:kind ex:A .",
                                   "sub-property or inverse of"),
    "an inverse of rdf:type": ("ex:kind owl:inverseOf rdf:type . ex:A rdfs:subClassOf ex:B . ex:A ex:kind ex:x .",
                               "sub-property or inverse of"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_schema_the_compiled_rules_cannot_follow_falls_back(case, caplog):
    data, reason = REFUSED[case]
    graph = _parse("@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> . " + data)
    with caplog.at_level(logging.WARNING):
        inferred = _assert_same_inferences(graph)
    assert "reasoning the whole graph with reasonable" in caplog.text and reason in caplog.text
    x = URIRef(EX + "x")
    assert any(s == x and p == RDF.type for s, p, _ in inferred)  # owlrl types ex:x in each case


# --- generated graphs ---------------------------------------------------------------------------------


def _replicated(pipeline, copies: int) -> Graph:
    """The shipped ontology with ``copies`` renamed copies of the shipped instance data."""
    instances = pipeline.settings.instance_namespace
    data = pipeline.asserted_data()
    graph = new_graph()
    for triple in pipeline.ontology:
        graph.add(triple)
    for k in range(copies):
        def rename(term, k=k):
            if isinstance(term, URIRef) and str.startswith(term, instances):
                return URIRef(f"{instances}copy{k}/{term[len(instances):]}")
            if isinstance(term, BNode):
                return BNode(f"{term}c{k}")
            return term
        for s, p, o in data:
            graph.add((rename(s), p, rename(o)))
    return graph


def test_engines_agree_on_a_larger_generated_graph(pipeline):
    graph = _replicated(pipeline, 3)
    started = time.perf_counter()
    _assert_same_inferences(graph)
    print(f"\nreplicated data, {len(graph)} triples: both engines in {time.perf_counter() - started:.1f} s")


def test_planted_violations_in_a_generated_graph_are_reported_alike(pipeline):
    graph = _replicated(pipeline, 2)
    city = next(graph.subjects(RDF.type, IC.City))
    event = next(graph.subjects(RDF.type, IC.Event))
    person = next(graph.subjects(RDF.type, IC.Person))
    graph.add((person, RDF.type, IC.Organisation))  # stated clash
    graph.add((event, IC.speaker, city))  # clash only the closure shows: a city typed ic:Person by the range
    graph.add((person, URIRef(EX + "born"), Literal("soon", datatype=XSD.date)))  # ill-typed literal
    reference = _outcome(graph, "owlrl")
    assert isinstance(reference, list)
    for node in (person, city, "soon"):
        assert any(str(node) in message for message in reference), node
    assert all(_outcome(graph, engine) == reference for engine in FAST)


def _synthetic(out, triples: int, violations: int):
    synth = pytest.importorskip("kg.dev.synth", reason="kg.synth (the generator) is not importable yet")
    from kg.build.pipeline import Pipeline
    from kg.config import load_settings

    result = synth.synthesize(out, triples=triples, seed=7, violations=violations)
    return Pipeline.load(load_settings({"root": out}, environ={})).loaded.union(), result


def test_engines_agree_on_a_synthetic_graph(tmp_path):
    graph, result = _synthetic(tmp_path / "synth", 20_000, 0)
    started = time.perf_counter()
    _assert_same_inferences(graph)
    print(f"\nkg.synth graph, {result.triples} triples: both engines in {time.perf_counter() - started:.1f} s")


def test_violations_planted_by_the_generator_are_reported_alike(tmp_path):
    """kg.synth's wrong-link-class violation (a meeting located at an organisation) makes the closure
    type an organisation an ic:Place: a cax-adc clash, which both engines must report."""
    graph, result = _synthetic(tmp_path / "synth", 5_000, 1)
    reference = _outcome(graph, "owlrl")
    assert isinstance(reference, list)
    located = [v["value"] for v in result.violations if v["kind"] == "wrong-link-class"]
    assert located and all(any(value in m for m in reference) for value in located)
    assert all(_outcome(graph, engine) == reference for engine in FAST)
