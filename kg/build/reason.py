"""OWL 2 RL closure, returned as the new triples only: owlrl (the reference) or reasonable (fast).

Reasoning never changes its input: :func:`infer` works on a copy and returns the closure minus the
input, with the noise no user wants removed, so the inferred graph can be served and labelled on its own.

Two engines give the same result (``tests/test_reason_fast.py`` proves it on the shipped data and on
generated graphs):

* ``owlrl`` -- the pure-Python reference implementation of the OWL 2 RL rules. Slow: about a minute per
  100k triples.
* ``reasonable`` -- Python bindings of a Rust OWL 2 RL reasoner, one to two orders of magnitude faster.
  What it lacks, and how this module makes up for it:

  - it returns its input plus the inferences, and would type plain strings as ``xsd:string``: literals
    are handed to it as opaque IRIs and mapped back, so every literal comes back exactly as it went in,
    and the input is subtracted as for owlrl;
  - it does not materialise the schema rules scm-spo, scm-eqc2, scm-eqp2, scm-dom1, scm-dom2,
    scm-rng1, scm-rng2 (it applies their effect on instances, but not the schema triples, e.g.
    ``ic:speaker rdfs:domain schema:Event``): :func:`_schema_closure` derives them here;
  - its Python bindings report no inconsistency (cax-dw, cax-adc -- which it does not implement at all --
    cls-nothing2, dt-not-type): :func:`_clashes` finds them in the closure, with owlrl's own messages;
  - it is only proven equal to owlrl on the OWL subset our ontology uses (subclass, subproperty,
    inverse, domain, range, disjointness). A graph using any other OWL construct (owl:sameAs,
    owl:equivalentClass, restrictions, property characteristics, ...) is reasoned with owlrl instead,
    with a warning.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

import pyoxigraph as ox
from owlrl import OWLRL_Semantics
from owlrl.DatatypeHandling import AltXSDToPYTHON
from owlrl.XsdDatatypes import OWL_RL_Datatypes
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.build import derivations, owl_rl_rules
from kg.terms import new_graph, to_oxigraph, to_rdflib

log = logging.getLogger(__name__)

ENGINES = ("oxigraph", "reasonable", "owlrl")

#: Vocabularies whose own axioms the reasoner re-derives; statements about their terms are noise.
_BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))
_REFLEXIVE = (OWL.sameAs, RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass, OWL.equivalentProperty)
_TRIVIAL_OBJECTS = (OWL.Thing, RDFS.Resource)
_NOT_DATA_TYPES = frozenset({RDFS.Literal, RDF.PlainLiteral, RDF.XMLLiteral, RDF.langString})
_TYPE, _NOTHING, _XSD = RDF.type, OWL.Nothing, str(XSD)

#: The OWL / RDFS vocabulary the fast path is proven on: what ontology/ uses, plus annotations.
_FAST_PREDICATES = frozenset({
    RDF.type, RDF.first, RDF.rest,
    RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range,
    RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy,
    OWL.inverseOf, OWL.disjointWith, OWL.members,
    OWL.versionIRI, OWL.versionInfo, OWL.imports, OWL.priorVersion, OWL.deprecated,
    OWL.backwardCompatibleWith, OWL.incompatibleWith,
})
_FAST_TYPES = frozenset({
    OWL.Class, RDFS.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property,
    OWL.Ontology, OWL.AllDisjointClasses, OWL.NamedIndividual, OWL.Thing, RDF.List,
})
#: The closure's triples the schema rules and the consistency checks look at.
_SCHEMA_PREDICATES = (RDF.type, RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range,
                      OWL.disjointWith, OWL.members, RDF.first, RDF.rest)
#: Literals go to reasonable as IRIs under this prefix, and come back as the very same literals.
_LITERAL_PREFIX = "urn:x-kg-reason:literal:"


class InconsistentGraph(Exception):
    """The closure contains a contradiction (for example a node in two disjoint classes)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("OWL 2 RL reasoning found the graph inconsistent:\n  " + "\n  ".join(messages))
        self.messages = messages


def infer(asserted: Graph, engine: str = "oxigraph") -> Graph:
    """The OWL 2 RL entailments of ``asserted`` that are not already in it, without noise.

    ``engine`` is ``"oxigraph"`` (fastest: see :mod:`kg.build.owl_rl_rules`), ``"reasonable"`` (fast) or ``"owlrl"``
    (the reference); all give the same triples and raise :class:`InconsistentGraph` on the same clashes.
    """
    if engine == "owlrl":
        return _infer_owlrl(asserted)
    if engine == "reasonable":
        return _infer_reasonable(asserted)
    if engine == "oxigraph":
        store = ox.Store()
        store.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in asserted)
        infer_into(store, _NO_GRAPH, _TARGET, engine)
        return _rdflib_graph(store, _TARGET)
    raise ValueError(f"unknown OWL 2 RL engine {engine!r}; choose one of {', '.join(ENGINES)}")


#: Graph names for :func:`infer` on a bare rdflib graph: it has no ontology graph, and a scratch target.
_NO_GRAPH, _TARGET = "urn:x-kg:no-graph", "urn:x-kg:inferred"


@dataclass(frozen=True)
class Explanations:
    """What :func:`infer_into` knows of why each inferred triple is there (see :mod:`kg.build.derivations`):
    ``derivations`` is None when the engine that reasoned does not say, and ``note`` says which engine."""

    derivations: dict[derivations.Triple, derivations.Derivation] | None
    note: str


def infer_into(store: ox.Store, ontology_graph: str, target: str, engine: str) -> Explanations:
    """Write the inferences from the store's default graph into named graph ``target`` (replacing it).

    The default graph is the asserted union; the ontology graph is where the schema is stated (schema
    statements elsewhere are found too). With ``"oxigraph"`` only the schema is handed to Python, and the
    derivations are recorded; the general engines do not report them.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown OWL 2 RL engine {engine!r}; choose one of {', '.join(ENGINES)}")
    name = ox.NamedNode(target)
    if store.contains_named_graph(name):
        store.remove_graph(name)
    store.add_graph(name)
    if engine == "oxigraph":
        schema = _rdflib_triples(owl_rl_rules.schema_triples(store, ontology_graph))
        if not _unsupported(schema):
            schema_inferred = _infer_reasonable(schema)
            closed = new_graph()
            for graph in (schema, schema_inferred):
                for triple in graph:
                    closed.add(triple)
            try:
                compiled = owl_rl_rules.InstanceRules.compile(closed)
            except owl_rl_rules.NotCompilable as reason:
                log.warning("reasoning the whole graph with reasonable: %s", reason)
            else:
                quads = (ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), name) for s, p, o in schema_inferred)
                store.extend(q for q in quads if next(store.quads_for_pattern(q.subject, q.predicate, q.object,
                                                                              ox.DefaultGraph()), None) is None)
                owl_rl_rules.apply(store, compiled, target)
                disjoint = [(str(a), str(b)) for a, b in _disjoint_pairs(_buckets(closed))]
                messages = owl_rl_rules.clashes(store, target, compiled, disjoint)
                if messages:
                    raise InconsistentGraph(sorted(messages))
                schema_nt = ((str(to_oxigraph(s)), str(to_oxigraph(p)), str(to_oxigraph(o))) for s, p, o in schema_inferred)
                return Explanations(derivations.record(store, target, compiled, schema_nt),
                                    "recorded by the compiled OWL 2 RL instance rules (kg.build.owl_rl_rules)")
        engine = "reasonable"
    inferred = infer(_rdflib_graph(store, None), engine=engine)
    store.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), name) for s, p, o in inferred)
    return Explanations(None, f"this release was reasoned by {engine} (or owlrl, its fallback), "
                              "which does not report which rule and premises derived a triple")


def _rdflib_graph(store: ox.Store, graph: str | None) -> Graph:
    """A graph of the store (the default graph for None) as an rdflib graph."""
    name = ox.DefaultGraph() if graph is None else ox.NamedNode(graph)
    return _rdflib_triples(store.quads_for_pattern(None, None, None, name))


def _rdflib_triples(triples: Iterable) -> Graph:
    graph = new_graph()
    for t in triples:
        graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return graph


def _buckets(graph: Graph) -> dict:
    buckets: dict = {p: [] for p in _SCHEMA_PREDICATES}
    for triple in graph:
        bucket = buckets.get(triple[1])
        if bucket is not None:
            bucket.append(triple)
    return buckets


def _infer_owlrl(asserted: Graph) -> Graph:
    working = new_graph()
    for triple in asserted:
        working.add(triple)
    closure = OWLRL_Semantics(working, False, False, rdfs=False)
    closure.closure()
    if closure.error_messages:
        raise InconsistentGraph(sorted(closure.error_messages))
    inferred = new_graph()
    for triple in working:
        if triple not in asserted and not is_noise(triple):
            inferred.add(triple)
    return inferred


def _infer_reasonable(asserted: Graph) -> Graph:
    import reasonable

    literals: dict[URIRef, Literal] = {}
    surrogates: dict[Literal, URIRef] = {}

    def opaque(literal: Literal) -> URIRef:
        surrogate = surrogates.get(literal)
        if surrogate is None:
            surrogate = surrogates[literal] = URIRef(f"{_LITERAL_PREFIX}{len(surrogates)}")
            literals[surrogate] = literal
        return surrogate

    input_triples = set()
    encoded = []
    for triple in asserted:
        input_triples.add(triple)
        s, _, o = triple
        if isinstance(o, Literal) or isinstance(s, Literal):
            triple = (opaque(s) if isinstance(s, Literal) else s, triple[1], opaque(o) if isinstance(o, Literal) else o)
        encoded.append(triple)
    unsupported = _unsupported(asserted)
    if unsupported:
        log.warning("reasonable is not proven on %s; reasoning with owlrl instead",
                    ", ".join(sorted(str(t) for t in unsupported)))
        return _infer_owlrl(asserted)

    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(encoded)
    del encoded
    new = []  # the closure minus the input
    buckets: dict = {p: [] for p in _SCHEMA_PREDICATES}
    for triple in reasoner.reason():
        s, p, o = triple
        if isinstance(s, URIRef) and str.startswith(s, _LITERAL_PREFIX):
            s = literals[s]
            triple = (s, p, o)
        if isinstance(o, URIRef) and str.startswith(o, _LITERAL_PREFIX):
            o = literals[o]
            triple = (s, p, o)
        bucket = buckets.get(p)
        if bucket is not None:
            bucket.append(triple)
        if triple not in input_triples and not isinstance(p, BNode):
            new.append(triple)  # owlrl's post-processing drops triples with a blank-node predicate
    del input_triples

    messages = _clashes(buckets) | _ill_typed(literals.values())
    if messages:
        raise InconsistentGraph(sorted(messages))
    inferred = new_graph()
    for triple in new:
        if not is_noise(triple):
            inferred.add(triple)
    for triple in _schema_closure(buckets):
        if triple not in inferred and triple not in asserted and not is_noise(triple):
            inferred.add(triple)
    return inferred


def _unsupported(graph: Graph) -> set:
    """The OWL / RDFS terms of ``graph`` the fast engines are not proven on."""
    found: set = set()
    for p in graph.predicates(unique=True):
        if p not in _FAST_PREDICATES and str.startswith(p, _BUILTIN_NAMESPACES):
            found.add(p)
    for o in graph.objects(None, _TYPE, unique=True):
        if o not in _FAST_TYPES and isinstance(o, URIRef) and str.startswith(o, _BUILTIN_NAMESPACES):
            found.add(o)
    return found


def _transitive(edges: dict) -> dict:
    """For each node, everything reachable from it over one or more edges."""
    reach: dict = {}
    for start in edges:
        seen: set = set()
        stack = list(edges[start])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))
        reach[start] = seen
    return reach


def _schema_closure(buckets: dict) -> Iterable[tuple]:
    """The schema triples owlrl derives and reasonable does not: scm-sco, scm-eqc2, scm-spo, scm-eqp2,
    scm-dom1/2, scm-rng1/2 (with scm-cls's owl:Thing / owl:Nothing axioms, which only ever yield noise
    on their own, taken into account)."""
    sub_class: dict = defaultdict(set)
    sub_property: dict = defaultdict(set)
    domains: dict = defaultdict(set)
    ranges: dict = defaultdict(set)
    for s, _, o in buckets[RDFS.subClassOf]:
        sub_class[s].add(o)
    for s, _, o in buckets[RDFS.subPropertyOf]:
        sub_property[s].add(o)
    for s, _, o in buckets[RDFS.domain]:
        domains[s].add(o)
    for s, _, o in buckets[RDFS.range]:
        ranges[s].add(o)
    for s, _, o in buckets[_TYPE]:
        if o == OWL.Class:  # scm-cls
            sub_class[s].add(OWL.Thing)
            sub_class[OWL.Nothing].add(s)
    classes = _transitive(sub_class)
    properties = _transitive(sub_property)
    for c1, supers in classes.items():
        for c2 in supers:
            if c2 != c1:
                yield (c1, RDFS.subClassOf, c2)  # scm-sco
                if c1 in classes.get(c2, ()):
                    yield (c1, OWL.equivalentClass, c2)  # scm-eqc2
    for p1, supers in properties.items():
        for p2 in supers:
            if p2 != p1:
                yield (p1, RDFS.subPropertyOf, p2)  # scm-spo
                if p1 in properties.get(p2, ()):
                    yield (p1, OWL.equivalentProperty, p2)  # scm-eqp2
    for axioms, predicate in ((domains, RDFS.domain), (ranges, RDFS.range)):
        constrained = set(axioms) | {p for p, supers in properties.items() if not supers.isdisjoint(axioms)}
        for prop in constrained:
            stated: set = set()
            for p in {prop} | properties.get(prop, set()):  # scm-dom2 / scm-rng2
                stated |= axioms.get(p, set())
            for c in stated:
                yield (prop, predicate, c)
                for c2 in classes.get(c, ()):  # scm-dom1 / scm-rng1
                    yield (prop, predicate, c2)


def _disjoint_pairs(buckets: dict) -> list[tuple]:
    """The pairs of classes stated disjoint, by owl:disjointWith or in an owl:AllDisjointClasses list."""
    pairs = [(s, o) for s, _, o in buckets[OWL.disjointWith]]
    members: dict = defaultdict(list)
    for s, _, o in buckets[OWL.members]:
        members[s].append(o)
    first = {s: o for s, _, o in buckets[RDF.first]}
    rest = {s: o for s, _, o in buckets[RDF.rest]}
    for axiom, _, kind in buckets[_TYPE]:
        if kind == OWL.AllDisjointClasses:
            for head in members.get(axiom, ()):
                classes, node, seen = [], head, set()
                while node in first and node not in seen:
                    seen.add(node)
                    classes.append(first[node])
                    node = rest.get(node, RDF.nil)
                pairs += [(c1, c2) for i, c1 in enumerate(classes) for c2 in classes[i + 1:]]
    return pairs


def _clashes(buckets: dict) -> set[str]:
    """The inconsistencies owlrl reports for our OWL subset (cax-dw, cax-adc, cls-nothing2), in its words."""
    pairs = _disjoint_pairs(buckets)
    watched = {c for pair in pairs for c in pair} | {OWL.Nothing}
    types: dict = defaultdict(set)
    for s, _, o in buckets[_TYPE]:
        if o in watched:
            types[s].add(o)
    messages = set()
    for node, its_types in types.items():
        if OWL.Nothing in its_types:
            messages.add("%s is defined of type 'Nothing'" % node)
        for c1, c2 in pairs:
            if c1 in its_types and c2 in its_types:
                messages.add("Disjoint classes %s and %s have a common individual %s" % (c1, c2, node))
    return messages


def _ill_typed(literals: Iterable[Literal]) -> set[str]:
    """owlrl's dt-not-type: a literal whose lexical form is not valid for its (OWL 2 RL) datatype."""
    messages = set()
    for literal in literals:
        if literal.datatype in OWL_RL_Datatypes:
            try:
                AltXSDToPYTHON.get(literal.datatype, str)(str(literal))
            except ValueError:
                messages.add("Lexical value of the literal '%s' does not match its datatype (%s)"
                             % (literal, literal.datatype))
    return messages


def is_noise(triple: tuple) -> bool:
    """Entailments that hold of everything or of the RDF machinery itself, never of our data."""
    s, p, o = triple
    if isinstance(s, Literal):
        return True
    if isinstance(s, URIRef) and str.startswith(s, _BUILTIN_NAMESPACES):
        return True
    if p in _REFLEXIVE and s == o:
        return True
    if o in _TRIVIAL_OBJECTS or s == _NOTHING:
        return True
    if p == _TYPE and isinstance(o, URIRef) and (str.startswith(o, _XSD) or o in _NOT_DATA_TYPES):
        return True
    return False
