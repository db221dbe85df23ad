"""Why is this fact here? The derivation of one inferred triple, down to the asserted triples and their sources.

The build recorded, per inferred triple, one OWL 2 RL rule and its premises (``explanations.sqlite``, see
:data:`kg.snapshot.EXPLANATIONS_TABLES`). This module reads that file, follows premises recursively to
asserted triples, and names the named graphs (and so the source documents) that state each of those.
It never reconstructs a derivation the build did not record: a release reasoned by an engine that does
not report them says so (:attr:`Explainer.note`).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.namespaces import PREFIXES
from kg.query.store import GraphStore
from kg.snapshot import EXPLANATIONS_FILE, SCHEMA_CLOSURE_RULE

SPEC = "https://www.w3.org/TR/owl2-profiles/"
#: Where the OWL 2 Profiles document states each rule: section 4.3, tables 5 (properties), 7 (class axioms)
#: and 9 (schema vocabulary).
RULES_SECTION = SPEC + "#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules"
RULE_TABLES = {"prp": "Table 5, the semantics of axioms about properties",
               "cax": "Table 7, the semantics of class axioms",
               "scm": "Table 9, the semantics of schema vocabulary"}


class BadTerm(ValueError):
    """A query parameter that is not an N-Triples term (or a bare IRI)."""


@dataclass(frozen=True)
class Step:
    """One triple of a derivation: asserted (``rule`` None, ``graphs`` the named graphs stating it) or
    inferred by ``rule`` from ``premises``; ``recorded`` is False when the build did not record why."""

    triple: ox.Triple
    rule: str | None
    premises: tuple["Step", ...]
    graphs: tuple[str, ...]
    recorded: bool = True

    @property
    def rule_url(self) -> str | None:
        return RULES_SECTION if self.rule and self.rule != SCHEMA_CLOSURE_RULE else None

    @property
    def rule_table(self) -> str | None:
        return RULE_TABLES.get((self.rule or "").split("-")[0])


def _has_blank(triple: ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)


def parse_triple(s: str | None, p: str | None, o: str | None, blank_ok: bool = False) -> ox.Triple:
    """The triple named by the ``s``, ``p`` and ``o`` parameters; :class:`BadTerm` says what is wrong."""
    terms = []
    for name, text, literal_ok in (("s", s, False), ("p", p, False), ("o", o, True)):
        text = (text or "").strip()
        if not text:
            raise BadTerm(f"parameter {name} is missing: give an IRI (<…> or bare) or, for o, a literal in N-Triples syntax")
        if not text.startswith(("<", '"', "_:")):
            text = f"<{text}>"
        if text.startswith('"') and not literal_ok:
            raise BadTerm(f"parameter {name} must be an IRI, not a literal")
        terms.append(text)
    try:
        parsed = list(ox.parse(" ".join(terms) + " .\n", format=ox.RdfFormat.N_TRIPLES))
    except (SyntaxError, ValueError) as error:
        raise BadTerm(f"not an N-Triples triple: {' '.join(terms)} ({error})") from None
    if len(parsed) != 1:
        raise BadTerm(f"not one N-Triples triple: {' '.join(terms)}")
    if _has_blank(parsed[0].triple) and not blank_ok:
        raise BadTerm("a blank node cannot be named in a link (each release names its blank nodes afresh): "
                      "explanations are given for triples of IRIs and literals")
    return parsed[0].triple


class Explainer:
    """Explanations from one snapshot: its explanations file and its store."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        manifest = store.snapshot.manifest
        self.inferred_graph = ox.NamedNode(manifest["inferred_graph"])
        entry = manifest.get("explanations")
        path = Path(store.snapshot.path) / EXPLANATIONS_FILE
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if entry and path.is_file():
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            about = dict(self._db.execute("SELECT key, value FROM about").fetchall())
            self.recorded, self.note = about.get("recorded") == "1", about.get("note", "")
        else:
            self.recorded, self.note = False, "this release was built before derivations were recorded"

    def is_inferred(self, triple: ox.Triple) -> bool:
        return next(self.store.store.quads_for_pattern(triple.subject, triple.predicate, triple.object,
                                                        self.inferred_graph), None) is not None

    def explain(self, triple: ox.Triple) -> Step | None:
        """The derivation of ``triple``, or None if the inferred graph does not hold it."""
        if not self.is_inferred(triple):
            return None
        return self._step(triple, set())

    def _step(self, triple: ox.Triple, above: set[ox.Triple]) -> Step:
        if _has_blank(triple):
            triple = self._renamed(triple)
        graphs = self._asserted_in(triple)
        if graphs:
            return Step(triple, None, (), graphs)
        found = self._lookup(triple) if triple not in above else None
        if found is None:
            return Step(triple, None, (), (), recorded=False)
        rule, premises = found
        below = above | {triple}
        return Step(triple, rule, tuple(self._step(p, below) for p in premises), (), rule != SCHEMA_CLOSURE_RULE)

    def _renamed(self, premise: ox.Triple) -> ox.Triple:
        """A recorded premise with blank nodes, as this store names them: loading the store renamed the
        build's blank nodes, so the premise is matched with each blank node standing for any blank node (an
        asserted match first). Unmatched, it is returned as recorded, and shows as not recorded."""
        pattern = [None if isinstance(t, ox.BlankNode) else t for t in premise]
        matches = [q for q in self.store.store.quads_for_pattern(*pattern, None)
                   if all(isinstance(t, ox.BlankNode) for t, want in zip(q.triple, pattern) if want is None)]
        matches.sort(key=lambda q: q.graph_name == self.inferred_graph)
        return matches[0].triple if matches else premise

    def _asserted_in(self, triple: ox.Triple) -> tuple[str, ...]:
        """The named graphs other than the inferred one that state ``triple``."""
        quads = self.store.store.quads_for_pattern(triple.subject, triple.predicate, triple.object, None)
        return tuple(sorted({q.graph_name.value for q in quads
                             if isinstance(q.graph_name, ox.NamedNode) and q.graph_name != self.inferred_graph}))

    def _lookup(self, triple: ox.Triple) -> tuple[str, list[ox.Triple]] | None:
        if self._db is None:
            return None
        keys = [str(triple.subject), str(triple.predicate), str(triple.object)]
        with self._lock:
            ids = []
            for key in keys:
                row = self._db.execute("SELECT id FROM terms WHERE term = ?", (key,)).fetchone()
                if row is None:
                    return None
                ids.append(row[0])
            row = self._db.execute("SELECT rule, premises FROM derivations WHERE s = ? AND p = ? AND o = ?", ids).fetchone()
            if row is None:
                return None
            rule, flat = row
            premise_ids = [int(i) for i in flat.split()]
            names = dict(self._db.execute(f"SELECT id, term FROM terms WHERE id IN ({','.join('?' * len(premise_ids))})",
                                          premise_ids).fetchall()) if premise_ids else {}
        terms = [names[i] for i in premise_ids]
        premises = [parse_triple(*terms[i:i + 3], blank_ok=True) for i in range(0, len(terms), 3)]
        return rule, premises

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def to_json(step: Step, graph_label: dict[str, dict]) -> dict:
    """A derivation for programs: terms in N-Triples syntax, premises nested."""
    out: dict = {"subject": str(step.triple.subject), "predicate": str(step.triple.predicate),
                 "object": str(step.triple.object)}
    if step.rule is None and step.recorded:
        out["asserted_in"] = [graph_label[g] for g in step.graphs]
    elif step.rule is None:
        out["derivation"] = "not recorded"
    else:
        out.update({"rule": step.rule, "rule_url": step.rule_url, "premises": [to_json(p, graph_label) for p in step.premises]})
        if not step.recorded:
            out["premises_recorded"] = False
    return out


def to_triples(step: Step) -> list[ox.Triple]:
    """A derivation in RDF: each triple a reified ``rdf:Statement``; an inferred one ``prov:wasDerivedFrom`` its
    premises and ``prov:wasGeneratedBy`` its rule (an activity with the rule's name and the spec's section),
    an asserted one with ``dcterms:source``, the named graphs stating it."""
    rdf, prov, dcterms, rdfs = PREFIXES["rdf"], PREFIXES["prov"], PREFIXES["dcterms"], PREFIXES["rdfs"]
    out: list[ox.Triple] = []

    def node(s: Step) -> ox.BlankNode:
        b = ox.BlankNode()
        out.extend([ox.Triple(b, ox.NamedNode(rdf + "type"), ox.NamedNode(rdf + "Statement")),
                    ox.Triple(b, ox.NamedNode(rdf + "subject"), s.triple.subject),
                    ox.Triple(b, ox.NamedNode(rdf + "predicate"), s.triple.predicate),
                    ox.Triple(b, ox.NamedNode(rdf + "object"), s.triple.object)])
        for g in s.graphs:
            out.append(ox.Triple(b, ox.NamedNode(dcterms + "source"), ox.NamedNode(g)))
        if s.rule:
            activity = ox.BlankNode()
            out.extend([ox.Triple(b, ox.NamedNode(prov + "wasGeneratedBy"), activity),
                        ox.Triple(activity, ox.NamedNode(rdfs + "label"), ox.Literal(s.rule))])
            if s.rule_url:
                out.append(ox.Triple(activity, ox.NamedNode(rdfs + "seeAlso"), ox.NamedNode(s.rule_url)))
        for p in s.premises:
            out.append(ox.Triple(b, ox.NamedNode(prov + "wasDerivedFrom"), node(p)))
        return b

    node(step)
    return out
