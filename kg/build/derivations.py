"""Why each inferred triple is there: the OWL 2 RL rule and premises that derive it, recorded at build time.

Why: the compiled instance rules (:mod:`kg.build.owl_rl_rules`) compose several rule steps into one
update (a sub-property of an inverse, a domain's super-class), which is what makes them fast, but a reader
asking "why is this fact here?" wants one rule of the OWL 2 Profiles document at a time. So, once the
inferred graph is written, each of its triples is matched against the closed schema's *one-step* rules
(prp-spo1, prp-inv1, prp-inv2, prp-dom, prp-rng, cax-sco; :attr:`InstanceRules.steps`), each with two
premises: a schema triple and an instance triple.

Rounds keep the premises acyclic: round one explains what follows from an asserted triple; each later
round what follows from a triple explained in an earlier one. Following premises therefore always ends
at asserted triples. Schema triples that the general engine (reasonable) derived are recorded as
:data:`~kg.snapshot.SCHEMA_CLOSURE_RULE` without premises: reasonable does not say which it used, and
we do not guess.

The work is a handful of set-at-a-time queries; only their answers (about one row per inferred triple)
cross into Python, and the artefact stores each term once (:data:`~kg.snapshot.EXPLANATIONS_TABLES`).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any, Iterable

import pyoxigraph as ox
from rdflib.namespace import RDF

from kg.build.owl_rl_rules import InstanceRules
from kg.snapshot import EXPLANATIONS_FILE, EXPLANATIONS_TABLES, SCHEMA_CLOSURE_RULE, file_sha256

log = logging.getLogger(__name__)

#: A triple as three N-Triples terms.
Triple = tuple[str, str, str]
#: The rule's name and its premises (schema premise first).
Derivation = tuple[str, tuple[Triple, ...]]

_TYPE = f"<{RDF.type}>"
#: (rule, the table it draws on, the order of ?a ?b in that table's rows, conclusion, premise, the premise's
#: node sampled when many premises give the same conclusion). ``?n`` is that node; ``a`` is rdf:type.
_STEPS = (
    ("prp-spo1", "prp-spo1", "?a ?b", "?s ?b ?o", "?s ?a ?o", None),
    ("prp-inv1", "prp-inv1", "?a ?b", "?s ?b ?o", "?o ?a ?s", None),
    ("prp-inv2", "prp-inv1", "?b ?a", "?s ?b ?o", "?o ?a ?s", None),
    ("prp-dom", "prp-dom", "?a ?b", "?s a ?b", "?s ?a ?n", "?o"),
    ("prp-rng", "prp-rng", "?a ?b", "?o a ?b", "?n ?a ?o", "?s"),
    ("cax-sco", "cax-sco", "?a ?b", "?s a ?b", "?s a ?a", None),
)


def record(store: ox.Store, target: str, rules: InstanceRules, schema_inferred: Iterable[Triple]) -> dict[Triple, Derivation]:
    """One derivation for each triple of graph ``target`` (the inferred graph just written)."""
    tables = {rule: (predicate, rows) for (rule, predicate), rows in rules.steps.items()}
    found: dict[Triple, Derivation] = {}
    for conclusion, derivation in _candidates(store, target, tables, premise_graph=None):
        found.setdefault(conclusion, derivation)
    later = [c for c in _candidates(store, target, tables, premise_graph=target) if c[0] not in found]
    while later:
        progress = False
        waiting = []
        for conclusion, derivation in later:
            if conclusion in found:
                continue
            if derivation[1][1] in found:
                found[conclusion] = derivation
                progress = True
            else:
                waiting.append((conclusion, derivation))
        if not progress:
            break
        later = waiting
    schema = set(schema_inferred)
    unexplained = 0
    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(target)):
        triple = (str(quad.subject), str(quad.predicate), str(quad.object))
        if triple in found:
            continue
        if triple in schema:
            found[triple] = (SCHEMA_CLOSURE_RULE, ())
        else:
            unexplained += 1
    if unexplained:
        log.warning("%d inferred triples matched no one-step rule: their derivations are not recorded", unexplained)
    return found


def _candidates(store: ox.Store, target: str, tables: dict[str, tuple[str, list[tuple[str, str]]]],
                premise_graph: str | None) -> Iterable[tuple[Triple, Derivation]]:
    """Each conclusion in ``target`` with a one-step derivation whose instance premise is in ``premise_graph``
    (None: the asserted default graph)."""
    for rule, table, order, conclusion, premise, sampled in _STEPS:
        predicate, rows = tables[table]
        if not rows:
            continue
        values = " ".join(f"(<{a}> <{b}>)" for a, b in rows)
        where = premise if premise_graph is None else f"GRAPH <{premise_graph}> {{ {premise} }}"
        body = f"VALUES ({order}) {{ {values} }} GRAPH <{target}> {{ {conclusion} }} {where}"
        if sampled:
            kept = "?s ?a ?b" if sampled == "?o" else "?o ?a ?b"
            query = f"SELECT {kept} (SAMPLE(?n) AS {sampled}) WHERE {{ {body} }} GROUP BY {kept}"
        else:
            query = f"SELECT ?s ?o ?a ?b WHERE {{ {body} }}"
        for row in store.query(query):
            s, o, a, b = (str(row[v]) for v in ("s", "o", "a", "b"))
            schema_premise = (a, f"<{predicate}>", b) if order == "?a ?b" else (b, f"<{predicate}>", a)
            yield _derived(rule, s, o, a, b, conclusion, premise, schema_premise)


def _derived(rule: str, s: str, o: str, a: str, b: str, conclusion: str, premise: str,
             schema_premise: Triple) -> tuple[Triple, Derivation]:
    """The conclusion and premises of one answer row, from the step's patterns."""
    names = {"?s": s, "?o": o, "?n": o if rule == "prp-dom" else s, "?a": a, "?b": b, "a": _TYPE}
    made = tuple(tuple(names[t] for t in pattern.split()) for pattern in (conclusion, premise))
    return made[0], (rule, (schema_premise, made[1]))  # type: ignore[return-value]


def write(path: Path, derivations: dict[Triple, Derivation] | None, note: str) -> dict[str, Any]:
    """Write the artefact; ``None`` records that this build's engine gave no derivations (``note`` says why)."""
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    try:
        for statement in EXPLANATIONS_TABLES:
            connection.execute(statement)
        ids: dict[str, int] = {}

        def term_id(term: str) -> int:
            found = ids.get(term)
            if found is None:
                found = ids[term] = len(ids) + 1
            return found

        rows = []
        for (s, p, o), (rule, premises) in (derivations or {}).items():
            flat = " ".join(str(term_id(t)) for triple in premises for t in triple)
            rows.append((term_id(s), term_id(p), term_id(o), rule, flat))
        connection.executemany("INSERT INTO terms VALUES (?, ?)", ((i, t) for t, i in ids.items()))
        connection.executemany("INSERT INTO derivations VALUES (?, ?, ?, ?, ?)", rows)
        connection.executemany("INSERT INTO about VALUES (?, ?)",
                               [("recorded", "1" if derivations is not None else "0"), ("note", note)])
        connection.commit()
    finally:
        connection.close()
    return {"file": path.name, "sha256": file_sha256(path), "recorded": derivations is not None,
            "derivations": len(derivations or {})}


def write_artefact(derivations: dict[Triple, Derivation] | None, note: str, staging: Path,
                   _manifest: dict[str, Any], _dataset: ox.Store) -> dict[str, Any]:
    """A build step (see :data:`kg.build.writer.Artefact`): the manifest's ``"explanations"`` entry."""
    return {"explanations": write(staging / EXPLANATIONS_FILE, derivations, note)}
