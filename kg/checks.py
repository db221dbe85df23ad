"""Checks a reviewer would otherwise do by hand, beyond what SHACL expresses.

The first: every term the data uses in our namespace — as a predicate or as a class — is defined by
the ontology, and every term from another vocabulary is one we expect there. A typo such as
``ic:locaton`` or ``rdfs:lable`` is legal Turtle and would silently mint a new IRI; here it is a
violation.
"""

from __future__ import annotations

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from kg.namespaces import IC
from kg.report import Violation

#: Terms from other vocabularies that data files may use directly.
FOREIGN_PREDICATES = frozenset(
    {RDF.type, RDFS.label, RDFS.comment, RDFS.seeAlso}
    | {SKOS[t] for t in ("prefLabel", "altLabel", "definition", "inScheme", "broader", "narrower",
                         "related", "topConceptOf", "hasTopConcept", "note", "scopeNote", "notation")}
    | {DCTERMS[t] for t in ("title", "description", "publisher", "license", "source", "created", "modified")}
)
FOREIGN_CLASSES = frozenset({SKOS.Concept, SKOS.ConceptScheme})

RULE = "kg:UndefinedTerm"


def defined_terms(ontology: Graph) -> set[URIRef]:
    return {s for s in ontology.subjects(RDF.type, None) if isinstance(s, URIRef)}


def undefined_terms(data: Graph, ontology: Graph) -> list[Violation]:
    """One violation per (subject, undefined term) use, so each can be traced to its line."""
    defined = defined_terms(ontology)
    violations = []
    for s, p, o in data:
        if p == RDF.type:
            if isinstance(o, URIRef) and o not in defined and o not in FOREIGN_CLASSES:
                violations.append(_undefined(s, RDF.type, o, "class"))
        elif p not in defined and p not in FOREIGN_PREDICATES:
            violations.append(_undefined(s, p, None, "property"))
    return sorted(violations, key=lambda v: (v.focus, v.path or "", v.value or ""))


def _undefined(subject, predicate, value, kind: str) -> Violation:
    term = value if value is not None else predicate
    hint = "not defined in the ontology" if str(term).startswith(str(IC)) else "not a term this graph uses"
    return Violation(
        severity="Violation",
        message=f"Undefined {kind} {term}: {hint} (a typo, or a term to add to the ontology first)",
        focus=str(subject),
        path=str(predicate),
        value=None if value is None else str(value),
        component=RULE,
        shape=None,
    )
