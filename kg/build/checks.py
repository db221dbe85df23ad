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
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from kg.build.load import LoadedGraphs
from kg.build.report import SEVERITIES, Violation
from kg.namespaces import IC, PREFIXES, SCHEMA, VOID

#: Terms from other vocabularies that data files may use directly.
FOREIGN_PREDICATES = frozenset(
    {RDF.type, RDFS.label, RDFS.comment, RDFS.seeAlso}
    | {SKOS[t] for t in ("prefLabel", "altLabel", "definition", "inScheme", "broader", "narrower",
                         "related", "topConceptOf", "hasTopConcept", "note", "scopeNote", "notation",
                         "exactMatch")}
    | {SCHEMA.latitude, SCHEMA.longitude, OWL.versionInfo, VOID.uriSpace}  # the links of `kg link` (kg/build/link.py)
    | {DCTERMS[t] for t in ("title", "description", "publisher", "license", "source", "created", "modified")}
)
FOREIGN_CLASSES = frozenset({SKOS.Concept, SKOS.ConceptScheme})
UNDEFINED_TERM = "undefined-term"
_FOREIGN_PREDICATES = frozenset(str(t) for t in FOREIGN_PREDICATES)
_FOREIGN_CLASSES = frozenset(str(t) for t in FOREIGN_CLASSES)
_TYPE = str(RDF.type)


def load_severities(checks_dir: Path) -> dict[str, str]:
    """Check name -> severity, without the switched-off ones."""
    config = tomllib.loads((checks_dir / "checks.toml").read_text(encoding="utf-8"))["severity"]
    for name, severity in config.items():
        if severity not in (*SEVERITIES, "off"):
            raise ValueError(f"checks/checks.toml: {name} = {severity!r}; use one of error, warning, info, off")
    return {name: severity for name, severity in config.items() if severity != "off"}


def run_checks(loaded: LoadedGraphs, ontology_graph: str, checks_dir: Path) -> list[Violation]:
    """Every switched-on check over the loaded store (its default graph: data and ontology together)."""
    severities = load_severities(checks_dir)
    results: list[Violation] = []
    if UNDEFINED_TERM in severities:
        data_graphs = [g for g in loaded.names if g != ontology_graph]
        results += undefined_terms(loaded.store, data_graphs, ontology_graph, severities[UNDEFINED_TERM])
    for name in severities:
        if name != UNDEFINED_TERM:
            results += sparql_check(loaded.store, checks_dir / f"{name}.rq", severities[name])
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


def undefined_terms(store: ox.Store, data_graphs: list[str], ontology_graph: str,
                    severity: str = "error") -> list[Violation]:
    """One violation per (subject, undefined term) use, so each can be traced to its line.

    The terms a graph uses are few, however large it is: they are listed by the store, and only the
    uses of an undefined one are fetched.
    """
    if not data_graphs:
        return []
    graphs = [ox.NamedNode(g) for g in data_graphs]
    defined = {row["t"].value for row in store.query(
        f"SELECT DISTINCT ?t WHERE {{ GRAPH <{ontology_graph}> {{ ?t a ?kind }} FILTER(isIRI(?t)) }}")}
    violations = []
    for row in store.query("SELECT DISTINCT ?p WHERE { ?s ?p ?o }", default_graph=graphs):
        p = row["p"].value
        if p != _TYPE and p not in defined and p not in _FOREIGN_PREDICATES:
            uses = store.query(f"SELECT DISTINCT ?s WHERE {{ ?s <{p}> ?o }}", default_graph=graphs)
            violations += [_undefined(use["s"], p, None, "property", severity) for use in uses]
    for row in store.query(f"SELECT DISTINCT ?c WHERE {{ ?s <{_TYPE}> ?c FILTER(isIRI(?c)) }}", default_graph=graphs):
        c = row["c"].value
        if c not in defined and c not in _FOREIGN_CLASSES:
            uses = store.query(f"SELECT DISTINCT ?s WHERE {{ ?s <{_TYPE}> <{c}> }}", default_graph=graphs)
            violations += [_undefined(use["s"], _TYPE, c, "class", severity) for use in uses]
    return sorted(violations, key=lambda v: (v.focus, v.path or "", v.value or ""))


def _undefined(subject: ox.NamedNode | ox.BlankNode, predicate: str, value: str | None, kind: str,
               severity: str) -> Violation:
    term = value if value is not None else predicate
    hint = "not defined in the ontology" if term.startswith(str(IC)) else "not a term this graph uses"
    return Violation(
        severity=severity,
        rule=f"every {kind} is defined in the ontology",
        message=f"Undefined {kind} {term}: {hint} (a typo, or a term to add to the ontology first)",
        focus=subject.value if isinstance(subject, ox.NamedNode) else f"_:{subject.value}",
        path=predicate,
        value=value,
        component=f"kg:{UNDEFINED_TERM}",
    )
