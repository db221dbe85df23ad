"""The W3C SHACL core test suite through the fast SHACL engine (kg/build/shacl/).

Every sht:Validate test of tests/w3c/data-shapes/core/ (vendored, see its README) is either refused
by the compiler, with the refusal naming the feature, or answered exactly: ``conforms`` and the
multiset of results (focus node, path, value, source shape, constraint component, severity) equal
the test's expected sh:ValidationReport, and pySHACL's answer too. No test may come back with a wrong report: a wrong
"conforms" would let bad data through a build that trusts the fast path.

Blank nodes: the data, shapes and expected report of most tests are one file, parsed once, so their
blank nodes keep their identifiers through the store and compare as they are; when the data is a
file of its own, blank nodes compare as one placeholder. A blank-node source shape is compared as
None, as :class:`kg.build.report.Violation` gives it.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Iterator

import pyoxigraph as ox
import pytest
import rdflib
from pyshacl import validate
from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, Namespace
from rdflib.term import Node

from kg.build.report import FROM_SHACL, Violation
from kg.build.shacl import UnsupportedShape, compile_shapes
from kg.build.shacl.paths import read_path
from kg.build.validate import _violation
from kg.namespaces import SH
from kg.terms import to_oxigraph, to_rdflib

SUITE = Path(__file__).resolve().parent / "w3c" / "data-shapes" / "core"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")

Result = tuple[str, str | None, str | None, str | None, str, str]


@contextmanager
def literals_as_written() -> Iterator[None]:
    """rdflib keeps lexical forms: the suite tests them ("1"^^xsd:boolean is not "true" to sh:uniqueLang)."""
    before, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    try:
        yield
    finally:
        rdflib.NORMALIZE_LITERALS = before


@cache
def parsed(path: Path) -> Graph:
    """Each file parsed once, so that a test's data, shapes and report share their blank nodes."""
    with literals_as_written():
        return Graph().parse(path, format="turtle", publicID=path.as_uri())


def manifests(path: Path) -> list[Path]:
    graph = parsed(path)
    found = [path]
    for included in graph.objects(None, MF.include):
        found += manifests(Path(str(included).removeprefix("file://")))
    return found


def cases() -> list[tuple[str, URIRef, Path]]:
    """(name, test IRI, the file stating it) for every sht:Validate entry."""
    found = []
    for manifest in manifests(SUITE / "manifest.ttl"):
        graph = parsed(manifest)
        for entries in graph.objects(None, MF.entries):
            for entry in Collection(graph, entries):
                test_file = Path(str(entry).split("#")[0].removeprefix("file://"))
                if test_file.suffix != ".ttl":
                    test_file = test_file.with_suffix(".ttl")
                stated = parsed(test_file)
                if (entry, RDF.type, SHT.Validate) in stated:
                    found.append((str(test_file.relative_to(SUITE).with_suffix("")), entry, test_file))
    return sorted(found)


CASES = cases()


def term(node: Node | None, keep_blank: bool, blank_prefix: str = "_:") -> str | None:
    """A term as a Violation field gives it: blank nodes by id (focus nodes prefixed ``_:``, values not)
    or, across files, as a placeholder."""
    if node is None:
        return None
    if isinstance(node, BNode):
        return f"{blank_prefix}{node}" if keep_blank else "_:"
    return str(node)


def path_term(graph: Graph, node: Node | None) -> str | None:
    """A result path as a Violation gives it: an IRI, or a path expression in SPARQL syntax
    (kg.build.shacl.paths), so that paths compare by their structure, not their blank nodes."""
    if node is None or isinstance(node, URIRef):
        return None if node is None else str(node)
    return str(read_path(graph, node, node))


def short(component: Node) -> str:
    return "sh:" + str(component).removeprefix(str(SH))


def expected(graph: Graph, entry: URIRef, keep_blank: bool) -> tuple[bool, Counter[Result]]:
    report = graph.value(entry, MF.result)
    conforms = graph.value(report, SH.conforms).toPython()
    results: Counter[Result] = Counter()
    for r in graph.objects(report, SH.result):
        shape = graph.value(r, SH.sourceShape)
        severity = str(graph.value(r, SH.resultSeverity)).rsplit("#", 1)[-1]
        results[(term(graph.value(r, SH.focusNode), keep_blank), path_term(graph, graph.value(r, SH.resultPath)),
                 term(graph.value(r, SH.value), keep_blank, blank_prefix=""), None if isinstance(shape, BNode) else str(shape),
                 short(graph.value(r, SH.sourceConstraintComponent)), FROM_SHACL.get(severity, "error"))] += 1
    return conforms, results


def got(violation: Violation, blanks: set[str] | None) -> Result:
    """The result fields of a Violation; ``blanks``: the data's blank-node ids, to be made placeholders
    (None when the data is the test's own file and ids compare as they are)."""
    def blank(text: str | None) -> str | None:
        return "_:" if blanks is not None and text is not None and text.removeprefix("_:") in blanks else text
    return (blank(violation.focus), blank(violation.path), blank(violation.value), violation.shape,
            violation.component, violation.severity)


def files(entry: URIRef, test_file: Path) -> tuple[Path, Path]:
    """The data file and the shapes file of a test."""
    graph = parsed(test_file)
    action = graph.value(entry, MF.action)
    return tuple(Path(str(graph.value(action, p)).removeprefix("file://")) for p in (SHT.dataGraph, SHT.shapesGraph))


def data_store(data_file: Path) -> ox.Store:
    store = ox.Store()
    store.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in parsed(data_file))
    return store


def blank_ids(data_file: Path, test_file: Path) -> set[str] | None:
    """The data's blank-node ids when they cannot be compared as they are (see :func:`got`)."""
    if data_file == test_file:
        return None
    return {str(b) for t in parsed(data_file) for b in t if isinstance(b, BNode)}


def run(entry: URIRef, test_file: Path) -> tuple[bool, Counter[Result]] | UnsupportedShape:
    """The fast engine's answer to one test (conforms: no result at all, whatever its severity), or its refusal."""
    data_file, shapes_file = files(entry, test_file)
    try:
        with literals_as_written():
            violations = compile_shapes(parsed(shapes_file), full_report=False).validate(data_store(data_file))
    except UnsupportedShape as refusal:
        return refusal
    return not violations, Counter(got(v, blank_ids(data_file, test_file)) for v in violations)


def pyshacl(entry: URIRef, test_file: Path) -> tuple[bool, Counter[Result]]:
    """pySHACL's answer, on the data as the store holds it (as tests/test_shacl_fast.py compares them):
    the top-level results of its report (not those it nests under sh:detail)."""
    data_file, shapes_file = files(entry, test_file)
    with literals_as_written():
        held = Graph()
        for quad in data_store(data_file):
            held.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
        _, report, _ = validate(held, shacl_graph=parsed(shapes_file), inference="none", advanced=True,
                                       allow_warnings=True)
        top = report.value(None, RDF.type, SH.ValidationReport)
        results = Counter(got(replace(_violation(report, parsed(shapes_file), r),
                                      path=path_term(report, report.value(r, SH.resultPath))),
                              blank_ids(data_file, test_file))
                          for r in report.objects(top, SH.result))
    return not results, results  # conforms as SHACL has it (allow_warnings makes pySHACL's own differ)


@pytest.mark.parametrize(("name", "entry", "test_file"), CASES, ids=[c[0] for c in CASES])
def test_w3c_core_is_answered_exactly_or_refused_by_name(name: str, entry: URIRef, test_file: Path) -> None:
    answer = run(entry, test_file)
    if isinstance(answer, UnsupportedShape):
        assert answer.feature and str(answer).startswith("unsupported SHACL feature: ")
        return
    with literals_as_written():
        assert answer == expected(parsed(test_file), entry, files(entry, test_file)[0] == test_file)
        assert answer == pyshacl(entry, test_file)  # the fast path is a faster pySHACL, never a different one


def test_the_suite_is_all_there() -> None:
    """All 98 sht:Validate tests of the core suite are found (a broken manifest walk would pass vacuously)."""
    assert len(CASES) == 98


#: The tests the compiler refuses, and why: what it cannot answer as pySHACL does (README, "SHACL and
#: OWL fast paths refuse"). A feature refused by mistake shows up here, not as a silent pass.
REFUSED = {
    "complex/shacl-shacl": "sh:closed on a shape inside",
    "property/qualifiedValueShape-001": "sh:nodeShape",  # a misspelt sh:node: an unknown sh: term
    "property/uniqueLang-002": "sh:uniqueLang other than",  # "1"^^xsd:boolean: true to pySHACL, not to SHACL
}


def test_only_these_tests_are_refused() -> None:
    refused = {name: str(answer) for name, entry, test_file in CASES
               if isinstance(answer := run(entry, test_file), UnsupportedShape)}
    assert set(refused) == set(REFUSED)
    assert all(REFUSED[name] in text for name, text in refused.items()), refused
