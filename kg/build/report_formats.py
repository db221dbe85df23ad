"""A validation report in the formats people and CI systems read.

text (grouped by file, coloured on a terminal), JSON, the SHACL report graph in Turtle, JUnit XML,
SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html) and GitHub Actions
workflow commands (https://docs.github.com/actions/reference/workflow-commands-for-github-actions).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from importlib import metadata
from typing import Callable
from xml.etree import ElementTree as ET

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, XSD

from kg.build.report import ValidationReport, Violation
from kg.namespaces import SH
from kg.terms import new_graph

KG_CHECKS = "https://w3id.org/integrating-cities/checks/"
_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_RESET, _BOLD = "\033[0m", "\033[1m"


def where(v: Violation) -> str:
    return f"{v.file}:{v.line}" if v.file and v.line else (v.file or "(no file)")


def who(v: Violation) -> str:
    return f"{v.focus_label} <{v.focus}>" if v.focus_label else f"<{v.focus}>"


def to_text(report: ValidationReport, colour: bool = False) -> str:
    paint = (lambda text, code: f"{code}{text}{_RESET}") if colour else (lambda text, code: text)
    if not report.results:
        return "Conforms: no problems found.\n"
    by_file: dict[str, list[Violation]] = defaultdict(list)
    for v in report.results:
        by_file[v.file or "(no file)"].append(v)
    lines = []
    for file, problems in by_file.items():
        lines.append(paint(file, _BOLD))
        for v in problems:
            origin = " [found only after reasoning]" if v.origin == "inferred" else ""
            lines.append(f"  {where(v)}: {paint(v.severity, _COLOURS[v.severity])}: {v.message}{origin}")
            lines.append(f"      rule:  {v.rule} ({v.component})")
            lines.append(f"      node:  {who(v)}")
            if v.path:
                lines.append(f"      path:  {v.path}")
            if v.value is not None:
                lines.append(f"      value: {v.value}")
        lines.append("")
    counts = {s: sum(v.severity == s for v in report.results) for s in ("error", "warning", "info")}
    lines.append(", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n))
    return "\n".join(lines) + "\n"


def to_json(report: ValidationReport) -> str:
    return json.dumps({"conforms": report.conforms, "results": [asdict(v) for v in report.results]}, indent=2) + "\n"


def to_turtle(report: ValidationReport) -> str:
    """A SHACL validation report graph; our own checks appear as results of their own components."""
    graph = new_graph()
    graph.bind("sh", SH)
    graph.bind("kgcheck", KG_CHECKS)
    root = BNode()
    graph.add((root, RDF.type, SH.ValidationReport))
    graph.add((root, SH.conforms, Literal(report.conforms)))
    severity = {"error": SH.Violation, "warning": SH.Warning, "info": SH.Info}
    for v in report.results:
        node = BNode()
        graph.add((root, SH.result, node))
        graph.add((node, RDF.type, SH.ValidationResult))
        graph.add((node, SH.resultSeverity, severity[v.severity]))
        graph.add((node, SH.focusNode, BNode(v.focus[2:]) if v.focus.startswith("_:") else URIRef(v.focus)))
        graph.add((node, SH.resultMessage, Literal(v.message)))
        component = URIRef(str(SH) + v.component[3:]) if v.component.startswith("sh:") else URIRef(KG_CHECKS + v.component[3:])
        graph.add((node, SH.sourceConstraintComponent, component))
        if v.path:
            graph.add((node, SH.resultPath, URIRef(v.path)))
        if v.value is not None:
            graph.add((node, SH.value, URIRef(v.value) if v.value.startswith(("http://", "https://")) else Literal(v.value)))
        if v.shape:
            graph.add((node, SH.sourceShape, URIRef(v.shape)))
        if v.file:
            graph.add((node, URIRef(KG_CHECKS + "file"), Literal(v.file)))
        if v.line:
            graph.add((node, URIRef(KG_CHECKS + "line"), Literal(v.line, datatype=XSD.integer)))
    return graph.serialize(format="turtle")


def to_junit(report: ValidationReport) -> str:
    """One test suite per file, one failing test case per problem; a clean run is one passing case."""
    suites = ET.Element("testsuites", name="kg validate", tests=str(max(1, len(report.results))),
                        failures=str(len(report.results)))
    by_file: dict[str, list[Violation]] = defaultdict(list)
    for v in report.results:
        by_file[v.file or "(no file)"].append(v)
    if not by_file:
        suite = ET.SubElement(suites, "testsuite", name="data", tests="1", failures="0")
        ET.SubElement(suite, "testcase", classname="kg.validate", name="the data conforms")
    for file, problems in by_file.items():
        suite = ET.SubElement(suites, "testsuite", name=file, tests=str(len(problems)), failures=str(len(problems)))
        for v in problems:
            case = ET.SubElement(suite, "testcase", classname=file, name=f"{where(v)} {v.rule}", file=v.file or "",
                                 line=str(v.line or 0))
            failure = ET.SubElement(case, "failure", message=v.message, type=v.severity)
            failure.text = f"{who(v)}\npath: {v.path}\nvalue: {v.value}\nrule: {v.rule} ({v.component})"
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def to_sarif(report: ValidationReport) -> str:
    rules: dict[str, dict] = {}
    results = []
    level = {"error": "error", "warning": "warning", "info": "note"}
    for v in report.results:
        rule_id = v.component.replace("sh:", "shacl/").replace("kg:", "kg/")
        rules.setdefault(rule_id, {"id": rule_id, "name": rule_id.split("/")[-1],
                                   "shortDescription": {"text": v.rule}})
        result = {
            "ruleId": rule_id,
            "ruleIndex": list(rules).index(rule_id),
            "level": level[v.severity],
            "message": {"text": f"{v.message} — {who(v)}" + (f", path {v.path}" if v.path else "")},
            "properties": {"focusNode": v.focus, "path": v.path, "value": v.value, "origin": v.origin, "rule": v.rule},
        }
        if v.file:
            location = {"physicalLocation": {"artifactLocation": {"uri": v.file, "uriBaseId": "%SRCROOT%"}}}
            if v.line:
                location["physicalLocation"]["region"] = {"startLine": v.line}
            result["locations"] = [location]
        results.append(result)
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "kg validate", "version": metadata.version("integrating-cities-kg"),
                                "informationUri": "https://w3id.org/integrating-cities/", "rules": list(rules.values())}},
            "results": results,
        }],
    }
    return json.dumps(sarif, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(report: ValidationReport) -> str:
    command = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for v in report.results:
        props = [f"title={_escape_property(v.rule)}"]
        if v.file:
            props.insert(0, f"file={_escape_property(v.file)}")
            if v.line:
                props.insert(1, f"line={v.line}")
        lines.append(f"::{command[v.severity]} {','.join(props)}::{_escape_data(f'{v.message} ({who(v)})')}")
    return "\n".join(lines) + ("\n" if lines else "")


FORMATS: dict[str, Callable[[ValidationReport], str]] = {
    "text": to_text, "json": to_json, "turtle": to_turtle, "junit": to_junit, "sarif": to_sarif, "github": to_github,
}
