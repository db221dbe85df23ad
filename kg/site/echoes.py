"""Fold the reasoner's echoes of a stated fact under it, so a page shows each fact once.

OWL 2 RL reasoning over our alignments restates every fact in the standard vocabularies: ``ic:source`` also
as ``dcterms:source`` and ``prov:wasDerivedFrom``, ``rdfs:label`` as ``foaf:name`` and ``schema:name``,
``ic:hasUnit`` as ``org:hasUnit`` and ``schema:subOrganization``, a City also as a Place, ``schema:City``
and ``foaf:Agent``. Listed one by one they swamp the few facts a source states. Here an inferred fact whose
value a stated fact already gives (or an inferred class, beside a stated one) becomes an *echo* of that
fact, which the page shows on one "Also as …" line under it; inferred facts no stated one covers keep a line
of their own, with the echoes that share their value under the one in our vocabulary. Only pages fold: the
RDF formats keep every triple.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import pyoxigraph as ox

from kg.namespaces import PREFIXES

RDF_TYPE = PREFIXES["rdf"] + "type"
OURS = PREFIXES["ic"]

#: What the "Also as" line calls each vocabulary, by its prefix; the others are called by their prefix.
VOCABULARY_NAMES = {"schema": "schema.org", "foaf": "FOAF", "org": "ORG", "dcterms": "Dublin Core", "prov": "PROV-O",
                    "geo": "GeoSPARQL", "skos": "SKOS", "rdfs": "RDFS", "owl": "OWL", "ic": "this ontology"}


@dataclass
class Fact:
    """One (predicate, value) of the described resource, with the graphs stating it."""

    predicate: str
    value: ox.Term
    graphs: list[str]
    inferred: bool
    echoes: list[Fact] = field(default_factory=list)  # inferred restatements folded under this one


def fold_echoes(facts: list[Fact], rank: dict[str, int]) -> list[Fact]:
    """The facts to list, each with its echoes; ``rank`` orders predicates (lower first) to pick which stated
    fact an echo folds under when several give the same value."""
    def order(fact: Fact) -> tuple:
        return (fact.inferred, not fact.predicate.startswith(OURS), rank.get(fact.predicate, len(rank)), str(fact.value))

    facts = sorted(facts, key=order)
    stated = [f for f in facts if not f.inferred]
    by_value: dict[ox.Term, Fact] = {}
    for fact in stated:
        by_value.setdefault(fact.value, fact)
    first_type = next((f for f in stated if f.predicate == RDF_TYPE), None)
    kept = list(stated)
    inferred_by_value: dict[ox.Term, Fact] = {}
    for fact in facts:
        if not fact.inferred:
            continue
        host = first_type if fact.predicate == RDF_TYPE and first_type else by_value.get(fact.value)
        if host is None and fact.predicate != RDF_TYPE:
            host = inferred_by_value.get(fact.value)
        if host is not None and host is not fact:
            host.echoes.append(fact)
            continue
        kept.append(fact)
        if fact.predicate != RDF_TYPE:
            inferred_by_value[fact.value] = fact
    return kept


def vocabularies(echoes: list[Fact], curie: Callable[[str], str]) -> list[str]:
    """The names of the vocabularies the echoes are in, in order of first appearance (for the "Also as" line)."""
    names: dict[str, None] = {}
    for echo in echoes:
        term = echo.value.value if echo.predicate == RDF_TYPE and isinstance(echo.value, ox.NamedNode) else echo.predicate
        prefix = curie(term).split(":", 1)[0] if curie(term) != term else term
        names[VOCABULARY_NAMES.get(prefix, prefix)] = None
    return list(names)


def group_by_predicate(facts: list[Fact]) -> dict[str, list[Fact]]:
    grouped: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        grouped[fact.predicate].append(fact)
    return grouped
