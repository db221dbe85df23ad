"""Validation of the asserted data and of the closure, each problem traced to its file and line.

The shapes run on the asserted data without inference, by the fast engine of kg.build.shacl or by
pySHACL (the reference): contributors edit the asserted data, so
that is what a report must speak about. The ontology is mixed in as pySHACL's ``ont_graph`` so that
``sh:class`` and ``sh:targetClass`` follow ``rdfs:subClassOf`` as the SHACL spec requires. The
shapes then run once more on the closure (asserted + inferred); what only that run finds is
reported with origin "inferred". The quality checks of :mod:`kg.build.checks` run on the asserted data.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pyoxigraph as ox
from pyshacl import validate as shacl_validate
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from kg.build.checks import run_checks
from kg.build.load import LoadedGraphs
from kg.build.locate import FileIndex, index_file
from kg.build.report import FROM_SHACL, ValidationReport, Violation
from kg.build.shacl import UnsupportedShape, validate_store
from kg.namespaces import SH


def run_shacl(data: Graph, shapes: Graph, ontology: Graph) -> tuple[list[Violation], Graph]:
    """The results as Violations, and pySHACL's report graph (for the Turtle output)."""
    _conforms, report_graph, _text = shacl_validate(
        data, shacl_graph=shapes, ont_graph=ontology, inference="none", advanced=True, allow_warnings=True,
    )
    results = [_violation(report_graph, shapes, r) for r in report_graph.subjects(RDF.type, SH.ValidationResult)]
    return results, report_graph


def _violation(report: Graph, shapes: Graph, result: Node) -> Violation:
    def one(graph: Graph, node: Node, prop: URIRef) -> str | None:
        value = graph.value(node, prop)
        return None if value is None else str(value)

    shape = report.value(result, SH.sourceShape)
    severity = (one(report, result, SH.resultSeverity) or str(SH.Violation)).rsplit("#", 1)[-1]
    component = one(report, result, SH.sourceConstraintComponent) or ""
    focus = report.value(result, SH.focusNode)
    return Violation(
        severity=FROM_SHACL.get(severity, "error"),
        rule=one(shapes, shape, SH.name) or one(shapes, shape, SH.description) or _short(component),
        message=one(report, result, SH.resultMessage) or "",
        focus=focus.n3() if isinstance(focus, BNode) else str(focus),
        path=one(report, result, SH.resultPath),
        value=one(report, result, SH.value),
        component=_short(component),
        shape=None if shape is None or isinstance(shape, BNode) else str(shape),
    )


def _short(iri: str) -> str:
    return "sh:" + iri[len(str(SH)):] if iri.startswith(str(SH)) else iri


class Locator:
    """Finds the file and line of the statement a problem is about.

    Which file states what is asked of the build's store (one named graph per file); a file's text is
    indexed only when a problem points into it, so locating a few problems in a large graph stays cheap.
    """

    def __init__(self, loaded: LoadedGraphs, root: Path) -> None:
        self.store = loaded.store
        self.root = root
        self.files = [(self._name(path), ox.NamedNode(iri), path) for iri, paths in loaded.files.items() for path in paths]
        self._indexes: dict[Path, FileIndex] = {}

    def _name(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    def _index(self, path: Path) -> FileIndex:
        if path not in self._indexes:
            self._indexes[path] = index_file(path)
        return self._indexes[path]

    def _has(self, s: ox.NamedNode | ox.BlankNode, p: ox.NamedNode | None, o: ox.Term | None,
             graph: ox.NamedNode | ox.DefaultGraph) -> bool:
        return next(self.store.quads_for_pattern(s, p, o, graph), None) is not None

    def locate(self, v: Violation) -> Violation:
        subject, predicate = self._anchor(v)
        if subject is None:
            return v
        value = _term(v.value) if v.value is not None else None
        best: tuple[int, str, int] | None = None
        for name, graph, path in self.files:
            if predicate is not None and value is not None and self._has(subject, predicate, value, graph):
                rank = 0  # the file holding the offending triple
            elif predicate is not None and self._has(subject, predicate, None, graph):
                rank = 1
            elif self._has(subject, _TYPE, None, graph):
                rank = 2  # the file describing the node
            elif self._has(subject, None, None, graph):
                rank = 3
            else:
                continue
            if best is not None and rank >= best[0]:
                continue
            line = self._index(path).line_of(subject.value, predicate.value if predicate is not None else None, v.value)
            if line is not None:
                best = (rank, name, line)
        if best:
            return v.located(best[1], best[2])
        referrer = next(self.store.quads_for_pattern(None, None, subject, ox.DefaultGraph()), None)
        if referrer is not None and isinstance(referrer.subject, ox.NamedNode):
            # A node no file describes (a dangling link, say) is located where it is linked to.
            moved = replace(v, focus=referrer.subject.value, path=referrer.predicate.value, value=subject.value)
            return self.locate(moved).located_as(v)
        return v

    def _anchor(self, v: Violation) -> tuple[ox.NamedNode | ox.BlankNode | None, ox.NamedNode | None]:
        """The (subject, predicate) the statement hangs on; a blank node is located by the triple pointing at it."""
        predicate = ox.NamedNode(v.path) if v.path and v.path.startswith("http") else None
        if v.focus.startswith("_:"):
            parent = next(self.store.quads_for_pattern(None, None, ox.BlankNode(v.focus[2:]), ox.DefaultGraph()), None)
            return (parent.subject, parent.predicate) if parent else (None, None)
        try:
            return ox.NamedNode(v.focus), predicate
        except ValueError:
            return None, None

    def label(self, violation: Violation) -> Violation:
        """The violation with its node's label, if it has one."""
        if not violation.focus.startswith("http"):
            return violation
        label = next(self.store.quads_for_pattern(ox.NamedNode(violation.focus), _LABEL, None, ox.DefaultGraph()), None)
        return violation if label is None else replace(violation, focus_label=label.object.value)


def _term(value: str) -> ox.NamedNode | ox.Literal:
    if value.startswith(("http://", "https://", "urn:")):
        try:
            return ox.NamedNode(value)
        except ValueError:
            pass
    return ox.Literal(value)


_TYPE, _LABEL = ox.NamedNode(str(RDF.type)), ox.NamedNode(str(RDFS.label))


ENGINES = ("oxigraph", "pyshacl")
log = logging.getLogger(__name__)


def validate(loaded: LoadedGraphs, ontology_graph: str, shapes: Graph, checks_dir: Path, root: Path,
             inferred_graph: str | None = None, engine: str = "oxigraph") -> ValidationReport:
    """Every problem of the asserted data (and, given the store's ``inferred_graph``, of the closure),
    located and labelled. ``engine`` runs the shapes: "oxigraph" (kg.build.shacl) or "pyshacl" (the
    reference); both give the same results (tests/test_shacl_fast.py), and shapes the compiler refuses
    are validated by pySHACL, with a warning naming the feature."""
    if engine not in ENGINES:
        raise ValueError(f"unknown SHACL engine {engine!r}; choose one of {', '.join(ENGINES)}")
    asserted = _shacl(loaded, ontology_graph, shapes, engine)
    results = asserted + run_checks(loaded, ontology_graph, checks_dir)
    if inferred_graph is not None:
        seen = {_identity(v) for v in asserted}
        closure_results = _shacl(loaded, ontology_graph, shapes, engine, inferred_graph)
        results += [replace(v, origin="inferred") for v in closure_results if _identity(v) not in seen]
    locator = Locator(loaded, root)
    located = [locator.label(locator.locate(v)) for v in results]
    ordered = sorted(located, key=lambda v: (v.file or "~", v.line or 0, v.focus, v.path or "", v.component))
    return ValidationReport(ordered)


def _shacl(loaded: LoadedGraphs, ontology_graph: str, shapes: Graph, engine: str,
           inferred_graph: str | None = None) -> list[Violation]:
    """The shapes over data + ontology (+ the inferred graph): the store's default graph, or rdflib copies."""
    if engine == "oxigraph":
        try:
            if inferred_graph is None:
                return validate_store(loaded.store, shapes)
            with _in_default_graph(loaded.store, inferred_graph):
                return validate_store(loaded.store, shapes)
        except UnsupportedShape as refusal:  # never a silent skip: the reference validates what is not compiled
            log.warning("validating with pySHACL, as the SHACL compiler refuses the shapes or data: %s", refusal)
    data = loaded.union([g for g in loaded.names if g != ontology_graph])
    if inferred_graph is not None:
        for triple in loaded.graph(inferred_graph):
            data.add(triple)
    return run_shacl(data, shapes, loaded.graph(ontology_graph))[0]


@contextmanager
def _in_default_graph(store: ox.Store, graph: str) -> Iterator[None]:
    """The store's default graph with ``graph``'s triples added, for as long as the block runs.

    Taking them out again restores the asserted union exactly, since no inferred triple is asserted.
    """
    store.update(f"INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    try:
        yield
    finally:
        store.update(f"DELETE {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")


def _identity(v: Violation) -> tuple:
    return (v.focus, v.path, v.value, v.component, v.shape, v.message)
