"""RDF terms and graphs both wings use: our prefixes bound on rdflib graphs, terms converted between
rdflib (the reference engines, reports, small descriptions) and Oxigraph (everything else), and names
folded for matching (the build's GeoNames links and the served reconciliation compare them alike)."""

from __future__ import annotations

import unicodedata

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.namespaces import PREFIXES


def new_graph() -> Graph:
    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, replace=True)
    return graph


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == _XSD_STRING:
        return Literal(term.value)  # a simple literal: what rdflib's own parsers make of "plain"
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None)


#: Words a place's name may start with that do not tell places apart ("City of Helsinki" is Helsinki).
_PREFIX_WORDS = ("city of ", "municipality of ")


def fold_name(name: str) -> str:
    """A name as the matching compares it: no accents, no case, no "City of"; Zürich = zurich."""
    decomposed = unicodedata.normalize("NFKD", name)
    folded = " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())
    for prefix in _PREFIX_WORDS:
        folded = folded.removeprefix(prefix)
    return folded
