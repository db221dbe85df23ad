"""Why is this fact here? Every inferred triple of the shipped data has a recorded derivation that ends at
asserted triples, agrees with owlrl (the reference) and with the rule it names; /explain serves it."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html import unescape
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest
from rdflib.namespace import OWL, RDF, RDFS

from kg.build.pipeline import build
from kg.build.reason import infer
from kg.query.store import GraphStore
from kg.site.explain import Explainer, Step
from kg.snapshot import SCHEMA_CLOSURE_RULE
from kg.terms import to_oxigraph

TYPE, SUB_CLASS, SUB_PROPERTY = ox.NamedNode(str(RDF.type)), ox.NamedNode(str(RDFS.subClassOf)), ox.NamedNode(str(RDFS.subPropertyOf))
DOMAIN, RANGE, INVERSE = ox.NamedNode(str(RDFS.domain)), ox.NamedNode(str(RDFS.range)), ox.NamedNode(str(OWL.inverseOf))
SCHEMA_NAMESPACES = (str(RDFS), str(OWL))


def apply_rule(rule: str, schema: ox.Triple, fact: ox.Triple) -> ox.Triple | None:
    """The OWL 2 RL rule (OWL 2 Profiles, tables 5 and 7) applied to its two premises; None if it does not fire."""
    s, p, o = fact.subject, fact.predicate, fact.object
    if rule == "prp-spo1" and schema.predicate == SUB_PROPERTY and p == schema.subject:
        return ox.Triple(s, schema.object, o)
    if rule == "prp-inv1" and schema.predicate == INVERSE and p == schema.subject and not isinstance(o, ox.Literal):
        return ox.Triple(o, schema.object, s)
    if rule == "prp-inv2" and schema.predicate == INVERSE and p == schema.object and not isinstance(o, ox.Literal):
        return ox.Triple(o, schema.subject, s)
    if rule == "prp-dom" and schema.predicate == DOMAIN and p == schema.subject:
        return ox.Triple(s, TYPE, schema.object)
    if rule == "prp-rng" and schema.predicate == RANGE and p == schema.subject and not isinstance(o, ox.Literal):
        return ox.Triple(o, TYPE, schema.object)
    if rule == "cax-sco" and schema.predicate == SUB_CLASS and p == TYPE and o == schema.subject:
        return ox.Triple(s, TYPE, schema.object)
    return None


def walk(step: Step):
    yield step
    for premise in step.premises:
        yield from walk(premise)


@pytest.fixture(scope="module")
def explainer(snapshot) -> Explainer:
    return Explainer(GraphStore(snapshot))


@pytest.fixture(scope="module")
def inferred(snapshot) -> list[ox.Triple]:
    """The inferred triples a link can name: blank nodes are named afresh by each load (tested apart)."""
    store = GraphStore(snapshot).store
    return [q.triple for q in store.quads_for_pattern(None, None, None, ox.NamedNode(snapshot.manifest["inferred_graph"]))
            if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)]


def test_every_inferred_triple_is_explained_down_to_asserted_triples(explainer, inferred, snapshot):
    assert snapshot.manifest["explanations"]["recorded"] is True
    assert snapshot.manifest["explanations"]["derivations"] >= len(inferred) > 1000
    rules = set()
    for triple in inferred:
        step = explainer.explain(triple)
        assert step is not None and step.rule is not None, triple
        for node in walk(step):
            if node.rule is None:  # a leaf: asserted in a named graph, never "not recorded" (nor a cycle cut)
                assert node.recorded and node.graphs, (triple, node.triple)
            elif node.rule == SCHEMA_CLOSURE_RULE:  # what reasonable closed: schema triples only
                assert node.triple.predicate.value.startswith(SCHEMA_NAMESPACES) and not node.premises, node.triple
            else:
                rules.add(node.rule)
                schema, fact = (p.triple for p in node.premises)
                assert apply_rule(node.rule, schema, fact) == node.triple, (node.rule, node.triple)
    assert {"cax-sco", "prp-dom", "prp-rng", "prp-spo1", "prp-inv1"} <= rules


def test_every_recorded_conclusion_is_in_owlrls_closure(pipeline, explainer, inferred):
    asserted = pipeline.loaded.union()
    closure = {ox.Triple(*(to_oxigraph(t) for t in triple)) for triple in infer(asserted, engine="owlrl")}
    closure |= {ox.Triple(*(to_oxigraph(t) for t in triple)) for triple in asserted}
    for triple in inferred:
        for node in walk(explainer.explain(triple)):
            assert node.triple in closure, node.triple


def _example(inferred: list[ox.Triple], explainer: Explainer, rule: str) -> ox.Triple:
    return next(t for t in sorted(inferred, key=str) if explainer.explain(t).rule == rule)


def _query(triple: ox.Triple) -> str:
    return "/explain?" + urlencode({"s": str(triple.subject), "p": str(triple.predicate), "o": str(triple.object)})


def test_the_page_names_the_rule_links_the_spec_and_the_sources(client, inferred, explainer):
    triple = _example(inferred, explainer, "prp-inv1")
    response = client.get(_query(triple), headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert re.search(r'<a class="rule" href="https://www.w3.org/TR/owl2-profiles/#[^"]+"[^>]*>prp-inv1</a>', page)
    assert "asserted</strong> in" in page
    assert 'href="/graph/' in page  # the named graph stating a premise, with its page


def test_json_gives_the_rule_and_premise_tree(client, inferred, explainer):
    triple = _example(inferred, explainer, "cax-sco")
    response = client.get(_query(triple), headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = json.loads(response.data)
    top = body["explanation"]
    assert (top["subject"], top["predicate"], top["object"]) == tuple(map(str, (triple.subject, triple.predicate, triple.object)))
    assert top["rule"] == "cax-sco" and len(top["premises"]) == 2
    assert top["premises"][0]["predicate"] == str(SUB_CLASS)
    assert body["recorded"] is True


def test_turtle_reifies_the_derivation_with_prov(client, inferred, explainer):
    triple = _example(inferred, explainer, "prp-dom")
    response = client.get(_query(triple), headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    graph = list(ox.parse(response.data, format=ox.RdfFormat.TURTLE))
    labels = {q.object.value for q in graph if q.predicate.value == str(RDFS.label)}
    assert "prp-dom" in labels
    derived = [q for q in graph if q.predicate.value == "http://www.w3.org/ns/prov#wasDerivedFrom"]
    assert len(derived) >= 2


def test_an_asserted_or_unknown_triple_is_404(client, pipeline):
    s, p, o = next(iter(pipeline.asserted_data()))
    asserted = ox.Triple(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o))
    response = client.get(_query(asserted))
    assert response.status_code == 404
    assert "only inferred triples have an explanation" in response.get_data(as_text=True)
    literal = client.get("/explain?" + urlencode({"s": "https://example.org/x", "p": "https://example.org/p", "o": '"x"@en'}))
    assert literal.status_code == 404


@pytest.mark.parametrize("params, message", [
    ({"s": "<not an iri>", "p": str(TYPE), "o": str(TYPE)}, "not an N-Triples triple"),
    ({"s": "https://example.org/x", "p": str(TYPE)}, "parameter o is missing"),
    ({"s": '"a literal"', "p": str(TYPE), "o": str(TYPE)}, "parameter s must be an IRI"),
    ({"s": "https://example.org/x", "p": str(TYPE), "o": '"unterminated'}, "not an N-Triples triple"),
    ({"s": "_:b0", "p": str(TYPE), "o": str(TYPE)}, "a blank node cannot be named"),
])
def test_a_malformed_term_is_400_with_a_clear_message(client, params, message):
    response = client.get("/explain?" + urlencode(params))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text and "Traceback" not in text


def test_a_resource_page_links_its_inferred_values_to_their_explanations(client, inferred, explainer):
    triple = _example(inferred, explainer, "prp-inv1")
    page = client.get(triple.subject.value.replace("https://w3id.org/integrating-cities", "") + ".html").get_data(as_text=True)
    links = {unescape(href) for href in re.findall(r'<a class="badge inferred" href="([^"]+)"', page)}
    assert _query(triple).replace("+", "%20") in {link.replace("+", "%20") for link in links}
    for link in sorted(links)[:3]:
        assert client.get(link).status_code == 200, link


def test_a_release_reasoned_without_derivations_says_so(project):
    settings = replace(project, reasoner="reasonable", build_dir_name=str(project.root / "build"))
    snapshot, _ = build(settings)
    assert snapshot.manifest["explanations"]["recorded"] is False
    model = Explainer(GraphStore(snapshot))
    some = next(GraphStore(snapshot).store.quads_for_pattern(None, None, None, ox.NamedNode(snapshot.manifest["inferred_graph"])))
    step = model.explain(some.triple)
    assert step is not None and step.rule is None and not step.recorded
    assert "reasonable" in model.note and not model.recorded
