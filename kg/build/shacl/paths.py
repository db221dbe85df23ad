"""Property paths, https://www.w3.org/TR/shacl/#property-paths, as SPARQL property paths.

A sh:path other than one IRI (inverse, sequence and alternative paths, sh:oneOrMorePath,
sh:zeroOrMorePath, sh:zeroOrOnePath) becomes a :class:`SparqlPath`, which the constraint queries use
where they use a predicate. Its value nodes are what the SPARQL path matches, as a set (the queries
count and report distinct values).

A zero-length path makes a focus node a value of its own; Oxigraph matches it only for terms of
the graph, so when the shapes have such a path, a sh:targetNode the data does not mention is refused
when the shapes run (kg.build.shacl.base.Run). Refused when the shapes are compiled: any path other
than an IRI in the report of a build (``full_report``), since pySHACL reports a copy of the path's
blank nodes, whose identifiers cannot be reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from kg.build.shacl.base import UnsupportedShape
from kg.namespaces import SH

#: Each path predicate: its SPARQL form, and whether it matches a zero-length path (None: as its inner path).
_WRAPPERS = {SH.inversePath: ("^({})", None), SH.oneOrMorePath: ("({})+", None),
             SH.zeroOrMorePath: ("({})*", True), SH.zeroOrOnePath: ("({})?", True)}


@dataclass(frozen=True)
class SparqlPath:
    """A complex path: ``text`` in SPARQL syntax, the predicates it follows (to skip a constraint when none is used)."""

    text: str
    predicates: tuple[URIRef, ...]
    zero_length: bool  # whether the path may match without a step: each node is then a value of its own

    def n3(self) -> str:
        return self.text

    def __str__(self) -> str:
        """What a Violation gives as the result path: the SPARQL form (pySHACL's is a blank node)."""
        return self.text


def read_path(g: Graph, node: Node, shape: Node) -> URIRef | SparqlPath:
    """The sh:path ``node`` of ``shape``; UnsupportedShape for what is refused (see the module docstring)."""
    if isinstance(node, URIRef):
        return node
    text, predicates, zero = _sparql(g, node, shape, set())
    return SparqlPath(text, tuple(sorted(predicates, key=str)), zero)


def _sparql(g: Graph, node: Node, shape: Node, seen: set[Node]) -> tuple[str, set[URIRef], bool]:
    """(SPARQL text, predicates followed, whether it matches zero-length) of one path expression."""
    if isinstance(node, URIRef):
        return node.n3(), {node}, False
    if not isinstance(node, BNode) or node in seen:
        raise UnsupportedShape("a sh:path that is neither an IRI nor a path expression", shape)
    seen = seen | {node}
    if (node, RDF.first, None) in g:
        members = [_sparql(g, m, shape, seen) for m in g.items(node)]
        if len(members) < 2:
            raise UnsupportedShape("a sequence path of fewer than two members", shape)
        return ("(" + " / ".join(t for t, _, _ in members) + ")", set().union(*(p for _, p, _ in members)),
                all(z for _, _, z in members))
    kinds = [(p, o) for p, o in g.predicate_objects(node) if str(p).startswith(str(SH))]
    if len(kinds) != 1:
        raise UnsupportedShape("a path node with other than one path predicate", shape)
    kind, inner = kinds[0]
    if kind == SH.alternativePath:
        members = [_sparql(g, m, shape, seen) for m in g.items(inner)]
        if len(members) < 2:
            raise UnsupportedShape("an alternative path of fewer than two members", shape)
        return ("(" + " | ".join(t for t, _, _ in members) + ")", set().union(*(p for _, p, _ in members)),
                any(z for _, _, z in members))
    if kind not in _WRAPPERS:
        raise UnsupportedShape(f"the path predicate {kind.n3()}", shape)
    text, predicates, zero = _sparql(g, inner, shape, seen)
    template, zero_length = _WRAPPERS[kind]
    return template.format(text), predicates, zero if zero_length is None else zero_length
