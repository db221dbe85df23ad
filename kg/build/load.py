"""Turtle files -> rdflib graphs, one named graph per file.

Parsing is done by Oxigraph's Turtle parser: it is an order of magnitude faster than rdflib's
and reports the exact line and column of a syntax error, which we pass on to the person who
wrote the file. The triples go into an in-memory Oxigraph store, which the fast engines work on; rdflib copies are
made only for the reference engines (pySHACL, owlrl) and for reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pyoxigraph as ox
from rdflib import Graph

from kg.config import Settings
from kg.terms import new_graph, to_oxigraph, to_rdflib


class TurtleSyntaxError(Exception):
    """A source file that cannot be parsed; ``str()`` is ``file:line:col: message``."""

    def __init__(self, path: Path, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")
        self.path, self.line, self.column, self.message = path, line, column, message


class LoadedGraphs:
    """The asserted graphs of one build, in an in-memory Oxigraph store, with the files each came from.

    Each graph is a named graph of :attr:`store`; the store's default graph holds their union as a set
    (a fact stated by two files is in it once), which is what validation and reasoning read. The fast
    engines work on the store directly; rdflib copies (:attr:`graphs`, :meth:`union`) are made only
    when a reference engine or a report needs them, since converting a million triples to rdflib
    terms alone takes longer than the whole fast build.
    """

    def __init__(self) -> None:
        self.store = ox.Store()
        self.files: dict[str, list[Path]] = {}
        self._rdflib: dict[str, Graph] = {}

    @property
    def names(self) -> list[str]:
        """The graph IRIs, in the order they were loaded."""
        return list(self.files)

    def load_file(self, iri: str, path: Path) -> None:
        """Parse one Turtle file into graph ``iri`` (several files may share one graph)."""
        try:
            self.store.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(iri))
        except SyntaxError as error:
            raise TurtleSyntaxError(path, error.lineno or 0, error.offset or 0, _first_line(error)) from None
        except UnicodeDecodeError as error:
            raise TurtleSyntaxError(path, 0, 0, f"not UTF-8 text ({error.reason})") from None
        self._registered(iri, [path])

    def add_graph(self, iri: str, graph: Graph, files: list[Path] | None = None) -> None:
        """Add an rdflib graph as graph ``iri`` (tests and tools that build graphs in memory)."""
        name = ox.NamedNode(iri)
        self.store.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), name) for s, p, o in graph)
        self._registered(iri, files or [])

    def _registered(self, iri: str, paths: list[Path]) -> None:
        self.store.update(f"INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}")
        self.files.setdefault(iri, []).extend(paths)
        self._rdflib.pop(iri, None)

    @property
    def graphs(self) -> dict[str, Graph]:
        """Each loaded graph as an rdflib graph."""
        return {iri: self.graph(iri) for iri in self.files}

    def graph(self, iri: str) -> Graph:
        """A named graph of the store as an rdflib graph; a loaded graph is converted once and kept."""
        if iri in self._rdflib:
            return self._rdflib[iri]
        graph = new_graph()
        for quad in self.store.quads_for_pattern(None, None, None, ox.NamedNode(iri)):
            graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
        if iri in self.files:
            self._rdflib[iri] = graph
        return graph

    def union(self, names: list[str] | None = None) -> Graph:
        """One rdflib graph holding the triples of the given graphs (all by default)."""
        merged = new_graph()
        for iri, graph in self.graphs.items():
            if names is None or iri in names:
                for triple in graph:
                    merged.add(triple)
        return merged

    def __len__(self) -> int:
        """Triples over all graphs, counting a triple once per graph it is in."""
        return self._count("GRAPH ?g { ?s ?p ?o }")

    def union_size(self) -> int:
        """Distinct triples over all graphs."""
        return self._count("?s ?p ?o")

    def _count(self, pattern: str) -> int:
        row = next(iter(self.store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")))
        return int(row["n"].value)


def parse_turtle(path: Path, into: Graph | None = None) -> Graph:
    """Parse one Turtle file into rdflib; a syntax error becomes :class:`TurtleSyntaxError` with its position."""
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


def source_files(settings: Settings) -> dict[str, list[Path]]:
    """Each graph's Turtle files in load order: all of ``ontology/`` in one graph, then each
    ``data/<name>.ttl`` in ``graph/<name>``. A file ``data/<name>.<part>.ttl`` goes into ``graph/<name>``
    too, so that a generated file (``kg link``'s description of its links) can add to a hand-written
    graph without anyone editing the other's file."""
    graphs: dict[str, list[Path]] = {}
    for path in turtle_files(settings.ontology_dir):
        graphs.setdefault(settings.ontology_graph, []).append(path)
    for path in turtle_files(settings.data_dir):
        graphs.setdefault(settings.graph_iri(path.stem.split(".", 1)[0]), []).append(path)
    return graphs


def load_sources(settings: Settings, loaded: LoadedGraphs | None = None,
                 on_graph: Callable[[str], None] | None = None) -> LoadedGraphs:
    """Parse every source file into ``loaded`` (a new one by default), graph by graph; ``on_graph`` is told
    each graph's IRI once all its files are in, so a build can start writing it out while the rest parse."""
    loaded = LoadedGraphs() if loaded is None else loaded
    for iri, paths in source_files(settings).items():
        for path in paths:
            loaded.load_file(iri, path)
        if on_graph is not None:
            on_graph(iri)
    return loaded


def load_shapes(settings: Settings) -> Graph:
    shapes = new_graph()
    for path in turtle_files(settings.shapes_dir):
        parse_turtle(path, into=shapes)
    return shapes
