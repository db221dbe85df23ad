"""Checks a reviewer would otherwise do by hand, beyond what SHACL expresses.

Each check is named after what it finds and has a severity in ``checks/checks.toml`` ("off"
switches it off). ``undefined-term`` is Python: every term the data uses in our namespace — as a
predicate or as a class — must be defined by the ontology, and every term from another vocabulary
must be one we expect there; ``ic:locaton`` or ``rdfs:lable`` is legal Turtle and would silently
mint a new IRI. The others are SPARQL files, ``checks/<name>.rq``, that must return no rows.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from kg.load import to_oxigraph
from kg.namespaces import IC, PREFIXES
from kg.report import SEVERITIES, Violation

#: Terms from other vocabularies that data files may use directly.
FOREIGN_PREDICATES = frozenset(
    {RDF.type, RDFS.label, RDFS.comment, RDFS.seeAlso}
    | {SKOS[t] for t in ("prefLabel", "altLabel", "definition", "inScheme", "broader", "narrower",
                         "related", "topConceptOf", "hasTopConcept", "note", "scopeNote", "notation")}
    | {DCTERMS[t] for t in ("title", "description", "publisher", "license", "source", "created", "modified")}
)
FOREIGN_CLASSES = frozenset({SKOS.Concept, SKOS.ConceptScheme})
UNDEFINED_TERM = "undefined-term"


def load_severities(checks_dir: Path) -> dict[str, str]:
    """Check name -> severity, without the switched-off ones."""
    config = tomllib.loads((checks_dir / "checks.toml").read_text(encoding="utf-8"))["severity"]
    for name, severity in config.items():
        if severity not in (*SEVERITIES, "off"):
            raise ValueError(f"checks/checks.toml: {name} = {severity!r}; use one of error, warning, info, off")
    return {name: severity for name, severity in config.items() if severity != "off"}


def run_checks(data: Graph, ontology: Graph, checks_dir: Path) -> list[Violation]:
    severities = load_severities(checks_dir)
    results: list[Violation] = []
    if UNDEFINED_TERM in severities:
        results += undefined_terms(data, ontology, severities[UNDEFINED_TERM])
    sparql = [name for name in severities if name != UNDEFINED_TERM]
    if sparql:
        store = ox.Store()
        store.bulk_extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for graph in (data, ontology) for s, p, o in graph)
        for name in sparql:
            results += sparql_check(store, checks_dir / f"{name}.rq", severities[name])
    return results


def sparql_check(store: ox.Store, path: Path, severity: str) -> list[Violation]:
    text = path.read_text(encoding="utf-8")
    rule = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("# Finds:")), path.stem)
    found = []
    for row in store.query(text, prefixes=PREFIXES):  # every check binds ?focus ?path ?value ?message
        found.append(Violation(
            severity=severity, rule=rule.split(":")[0], message=row["message"].value if row["message"] else rule,
            focus=row["focus"].value, path=row["path"].value if row["path"] else None,
            value=row["value"].value if row["value"] else None, component=f"kg:{path.stem}",
        ))
    return found


def defined_terms(ontology: Graph) -> set[URIRef]:
    return {s for s in ontology.subjects(RDF.type, None) if isinstance(s, URIRef)}


def undefined_terms(data: Graph, ontology: Graph, severity: str = "error") -> list[Violation]:
    """One violation per (subject, undefined term) use, so each can be traced to its line."""
    defined = defined_terms(ontology)
    violations = []
    for s, p, o in data:
        if p == RDF.type:
            if isinstance(o, URIRef) and o not in defined and o not in FOREIGN_CLASSES:
                violations.append(_undefined(s, RDF.type, o, "class", severity))
        elif p not in defined and p not in FOREIGN_PREDICATES:
            violations.append(_undefined(s, p, None, "property", severity))
    return sorted(violations, key=lambda v: (v.focus, v.path or "", v.value or ""))


def _undefined(subject, predicate, value, kind: str, severity: str) -> Violation:
    term = value if value is not None else predicate
    hint = "not defined in the ontology" if str(term).startswith(str(IC)) else "not a term this graph uses"
    return Violation(
        severity=severity,
        rule=f"every {kind} is defined in the ontology",
        message=f"Undefined {kind} {term}: {hint} (a typo, or a term to add to the ontology first)",
        focus=str(subject),
        path=str(predicate),
        value=None if value is None else str(value),
        component=f"kg:{UNDEFINED_TERM}",
    )
