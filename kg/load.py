"""Turtle files -> rdflib graphs, one named graph per file.

Parsing is done by Oxigraph's Turtle parser: it is an order of magnitude faster than rdflib's
and reports the exact line and column of a syntax error, which we pass on to the person who
wrote the file. The triples are then handed to rdflib, which pySHACL and owlrl work on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.config import Settings
from kg.namespaces import PREFIXES


class TurtleSyntaxError(Exception):
    """A source file that cannot be parsed; ``str()`` is ``file:line:col: message``."""

    def __init__(self, path: Path, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")
        self.path, self.line, self.column, self.message = path, line, column, message


@dataclass
class LoadedGraphs:
    """The asserted graphs of one build, keyed by named-graph IRI, with the file each came from."""

    graphs: dict[str, Graph] = field(default_factory=dict)
    files: dict[str, list[Path]] = field(default_factory=dict)

    def union(self, names: list[str] | None = None) -> Graph:
        """One rdflib graph holding the triples of the given graphs (all by default)."""
        merged = new_graph()
        for iri, graph in self.graphs.items():
            if names is None or iri in names:
                for triple in graph:
                    merged.add(triple)
        return merged

    def __len__(self) -> int:
        return sum(len(g) for g in self.graphs.values())


def new_graph() -> Graph:
    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, replace=True)
    return graph


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None)


def parse_turtle(path: Path, into: Graph | None = None) -> Graph:
    """Parse one Turtle file; a syntax error becomes :class:`TurtleSyntaxError` with its position."""
    graph = new_graph() if into is None else into
    try:
        for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
    except SyntaxError as error:
        raise TurtleSyntaxError(path, error.lineno or 0, error.offset or 0, _first_line(error)) from None
    except UnicodeDecodeError as error:
        raise TurtleSyntaxError(path, 0, 0, f"not UTF-8 text ({error.reason})") from None
    return graph


def _first_line(error: SyntaxError) -> str:
    """Oxigraph's message without its own position prefix, which we already report as line:col."""
    message = (error.msg if isinstance(error.msg, str) else str(error)).split("\n", 1)[0]
    if message.startswith("Parser error") and ": " in message:
        message = message.split(": ", 1)[1]
    return message


def turtle_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.ttl") if p.is_file())


def load_sources(settings: Settings) -> LoadedGraphs:
    """The ontology (all of ``ontology/`` in one graph) and each ``data/<stem>.ttl`` in ``graph/<stem>``."""
    loaded = LoadedGraphs()
    ontology = new_graph()
    ontology_files = turtle_files(settings.ontology_dir)
    for path in ontology_files:
        parse_turtle(path, into=ontology)
    loaded.graphs[settings.ontology_graph] = ontology
    loaded.files[settings.ontology_graph] = ontology_files
    for path in turtle_files(settings.data_dir):
        iri = settings.graph_iri(path.stem)
        loaded.graphs[iri] = parse_turtle(path)
        loaded.files[iri] = [path]
    return loaded


def load_shapes(settings: Settings) -> Graph:
    shapes = new_graph()
    for path in turtle_files(settings.shapes_dir):
        parse_turtle(path, into=shapes)
    return shapes
