"""SHACL validation of the asserted data (pySHACL), plus the checks in :mod:`kg.checks`.

The shapes are run on the asserted data without inference: contributors edit the asserted data,
so that is what a report must speak about. The ontology is mixed in as pySHACL's ``ont_graph`` so
that ``sh:class`` and ``sh:targetClass`` follow ``rdfs:subClassOf`` as the SHACL spec requires.
"""

from __future__ import annotations

from pyshacl import validate as shacl_validate
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from kg.checks import undefined_terms
from kg.namespaces import SH
from kg.report import ValidationReport, Violation


def run_shacl(data: Graph, shapes: Graph, ontology: Graph) -> list[Violation]:
    _conforms, report_graph, _text = shacl_validate(
        data, shacl_graph=shapes, ont_graph=ontology, inference="none", advanced=True, allow_warnings=True,
    )
    return [_violation(report_graph, result) for result in report_graph.subjects(RDF.type, SH.ValidationResult)]


def _violation(report: Graph, result: Node) -> Violation:
    def one(prop: URIRef) -> str | None:
        value = report.value(result, prop)
        return None if value is None else str(value)

    severity = one(SH.resultSeverity) or str(SH.Violation)
    return Violation(
        severity=severity.rsplit("#", 1)[-1],
        message=one(SH.resultMessage) or "",
        focus=one(SH.focusNode) or "",
        path=one(SH.resultPath),
        value=one(SH.value),
        component=_shorten(one(SH.sourceConstraintComponent) or ""),
        shape=one(SH.sourceShape),
    )


def _shorten(iri: str) -> str:
    return "sh:" + iri[len(str(SH)):] if iri.startswith(str(SH)) else iri


def validate(data: Graph, shapes: Graph, ontology: Graph) -> ValidationReport:
    """All problems in the asserted data, sorted by focus node, each with the focus node's label."""
    results = run_shacl(data, shapes, ontology) + undefined_terms(data, ontology)
    labelled = [_with_label(v, data) for v in results]
    return ValidationReport(sorted(labelled, key=lambda v: (v.focus, v.path or "", v.component, v.value or "")))


def _with_label(violation: Violation, data: Graph) -> Violation:
    label = data.value(URIRef(violation.focus), RDFS.label) if violation.focus.startswith("http") else None
    if label is None:
        return violation
    return Violation(**{**violation.__dict__, "focus_label": str(label)})
