"""OWL 2 RL closure with owlrl (the reference implementation), returned as the new triples only.

Reasoning never changes its input: :func:`infer` works on a copy and returns the closure minus the
input, with the noise no user wants removed, so the inferred graph can be served and labelled on its own.
"""

from __future__ import annotations

from owlrl import OWLRL_Semantics
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.load import new_graph

#: Vocabularies whose own axioms the reasoner re-derives; statements about their terms are noise.
_BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))
_REFLEXIVE = (OWL.sameAs, RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass, OWL.equivalentProperty)
_TRIVIAL_OBJECTS = (OWL.Thing, RDFS.Resource)


class InconsistentGraph(Exception):
    """The closure contains a contradiction (for example a node in two disjoint classes)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("OWL 2 RL reasoning found the graph inconsistent:\n  " + "\n  ".join(messages))
        self.messages = messages


def infer(asserted: Graph) -> Graph:
    """The OWL 2 RL entailments of ``asserted`` that are not already in it, without noise."""
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


def is_noise(triple: tuple) -> bool:
    """Entailments that hold of everything or of the RDF machinery itself, never of our data."""
    s, p, o = triple
    if isinstance(s, Literal):
        return True
    if isinstance(s, URIRef) and str(s).startswith(_BUILTIN_NAMESPACES):
        return True
    if p in _REFLEXIVE and s == o:
        return True
    if o in _TRIVIAL_OBJECTS or s == OWL.Nothing:
        return True
    if p == RDF.type and isinstance(o, URIRef) and (str(o).startswith(str(XSD)) or o in (RDFS.Literal, RDF.PlainLiteral, RDF.XMLLiteral, RDF.langString)):
        return True
    return False
