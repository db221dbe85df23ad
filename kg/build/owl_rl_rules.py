"""The OWL 2 RL closure of the instance data as a handful of set-at-a-time SPARQL updates in Oxigraph.

Why: reasonable reasons in Rust, but its Python binding hands the whole closure back as rdflib terms;
at 10^5 triples building those terms is most of the 17 s a build spent reasoning, and it grows
linearly. Here no instance triple crosses into Python at all.

How: once the schema is closed, every OWL 2 RL rule our ontology can fire on instance data has a
single instance premise — cax-sco (``x a C``), prp-spo1, prp-inv1/2, prp-dom and prp-rng
(``s p o``). So the closed schema compiles into lookup tables: for each property, the properties a
triple with it also holds for (following sub-properties and inverses to a fixpoint), and the classes
its subject and object then belong to (domains, ranges and all their super-classes). Five
``INSERT … WHERE { VALUES … }`` updates apply the tables to the asserted data in one pass each.

The schema part of the graph — the ontology graph, plus any triple of the data whose predicate is an
RDF/RDFS/OWL term other than ``rdf:type`` and the annotations, or that types a node with one — is
closed by the general engine (kg.build.reason, reasonable). Those are the only triples rules with several
schema premises read, and the instance rules above never produce one (:class:`NotCompilable`
otherwise, and the caller reasons the whole graph with the general engine instead). The clash
checks (cax-dw, cax-adc, cls-nothing2, dt-not-type) are queries over asserted + inferred types.
``tests/test_reason_fast.py`` proves the result equal to owlrl's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox
from owlrl.DatatypeHandling import AltXSDToPYTHON
from owlrl.XsdDatatypes import OWL_RL_Datatypes
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

BUILTIN = (str(RDF), str(RDFS), str(OWL), str(XSD))
#: Built-in predicates that instance data may use and no schema rule reads.
ANNOTATIONS = frozenset(str(t) for t in (RDF.type, RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy))
#: Super-classes every node or literal has, and (below) datatypes: owlrl derives these types and
#: kg.build.reason drops them as noise.
_NOISE_CLASSES = frozenset(str(t) for t in (OWL.Thing, RDFS.Resource, RDFS.Literal, RDF.PlainLiteral,
                                               RDF.XMLLiteral, RDF.langString))
_TYPE = str(RDF.type)
_NOT_BUILTIN = "(!isIRI(?{v}) || " + " && ".join(f'!STRSTARTS(STR(?{{v}}), "{ns}")' for ns in BUILTIN) + ")"


class NotCompilable(Exception):
    """The schema lets instance data derive schema triples or types the tables cannot follow (a sub-property
    of rdf:type, a blank-node class); the whole graph needs the general engine."""


def schema_triples(store: ox.Store, ontology_graph: str) -> list[ox.Quad]:
    """The triples the general engine must close: the ontology graph and schema statements in the data.

    Found by index look-ups on the predicates and classes the data uses, not by filtering every triple.
    """
    default = ox.DefaultGraph()
    found = list(store.quads_for_pattern(None, None, None, ox.NamedNode(ontology_graph)))
    for row in store.query("SELECT DISTINCT ?p WHERE { ?s ?p ?o }"):
        p = row["p"].value
        if p.startswith(BUILTIN) and p not in ANNOTATIONS:
            found += store.quads_for_pattern(None, row["p"], None, default)
    for row in store.query(f"SELECT DISTINCT ?c WHERE {{ ?s <{_TYPE}> ?c FILTER(isIRI(?c)) }}"):
        if row["c"].value.startswith(BUILTIN):
            found += store.quads_for_pattern(None, ox.NamedNode(_TYPE), row["c"], default)
    return found


@dataclass
class InstanceRules:
    """Lookup tables compiled from a closed schema, each a list of (IRI, IRI) rows."""

    same_direction: list[tuple[str, str]] = field(default_factory=list)  # s p o => s q o
    inverse_direction: list[tuple[str, str]] = field(default_factory=list)  # s p o => o q s
    super_classes: list[tuple[str, str]] = field(default_factory=list)  # x a C => x a D
    subject_types: list[tuple[str, str]] = field(default_factory=list)  # s p o => s a D
    object_types: list[tuple[str, str]] = field(default_factory=list)  # s p o => o a D
    #: The closed schema's one-step rules, (rule, schema premise's predicate) -> (IRI, IRI) rows: how
    #: :mod:`kg.build.derivations` explains each conclusion the composed tables above produce at once.
    steps: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def compile(cls, schema: Graph) -> "InstanceRules":
        """Tables from a schema closed under scm-sco, scm-spo, scm-dom1/2 and scm-rng1/2."""
        def pairs(predicate: URIRef) -> dict[str, set[str]]:
            table: dict[str, set[str]] = defaultdict(set)
            for s, _, o in schema.triples((None, predicate, None)):
                if not (isinstance(s, URIRef) and isinstance(o, URIRef)):
                    # A SPARQL update cannot name a blank node: its instances would go untyped.
                    raise NotCompilable(f"a blank-node class or property in {predicate.n3()} ({s.n3()} {o.n3()})")
                table[str(s)].add(str(o))
            return table

        sub_class, sub_property = pairs(RDFS.subClassOf), pairs(RDFS.subPropertyOf)
        domains, ranges, inverses = pairs(RDFS.domain), pairs(RDFS.range), pairs(OWL.inverseOf)
        stated_inverses = sorted((p, q) for p, qs in inverses.items() for q in qs)
        for p, others in list(inverses.items()):
            for q in others:
                inverses[q].add(p)

        def classes(named: set[str]) -> set[str]:
            found = set(named)
            for c in named:
                found |= sub_class.get(c, set())
            return {c for c in found if c not in _NOISE_CLASSES and not c.startswith(str(XSD))}

        rules = cls()
        rules.steps = {
            ("prp-spo1", str(RDFS.subPropertyOf)): sorted((p, q) for p, qs in sub_property.items() for q in qs if q != p),
            ("prp-inv1", str(OWL.inverseOf)): stated_inverses,
            ("prp-dom", str(RDFS.domain)): sorted((p, c) for p, cs in domains.items() for c in classes(cs) & cs),
            ("prp-rng", str(RDFS.range)): sorted((p, c) for p, cs in ranges.items() for c in classes(cs) & cs),
            ("cax-sco", str(RDFS.subClassOf)): sorted((c, d) for c in sub_class for d in classes({c}) - {c}),
        }
        for c in sorted(sub_class):
            rules.super_classes += [(c, d) for d in sorted(classes({c}) - {c})]
        for p in sorted(set(sub_property) | set(inverses) | set(domains) | set(ranges)):
            subject_classes, object_classes = set(), set()
            for q, flipped in sorted(_reachable(p, sub_property, inverses)):
                if (q, flipped) != (p, False):
                    (rules.inverse_direction if flipped else rules.same_direction).append((p, q))
                subject_classes |= ranges.get(q, set()) if flipped else domains.get(q, set())
                object_classes |= domains.get(q, set()) if flipped else ranges.get(q, set())
            rules.subject_types += [(p, d) for d in sorted(classes(subject_classes))]
            rules.object_types += [(p, d) for d in sorted(classes(object_classes))]
        rules._check_no_schema_output()
        return rules

    def _check_no_schema_output(self) -> None:
        for _, q in self.same_direction + self.inverse_direction:
            if q == _TYPE:  # each table is applied to the asserted triples once: derived types get no super-classes
                raise NotCompilable(f"a sub-property or inverse of {q}: instance triples would derive types")
            if q.startswith(BUILTIN) and q not in ANNOTATIONS:
                raise NotCompilable(f"instance triples would derive {q} triples")
        for _, d in self.super_classes + self.subject_types + self.object_types:
            if d.startswith(BUILTIN):
                raise NotCompilable(f"instance triples would be typed {d}")

    def updates(self, target: str) -> list[str]:
        """The SPARQL updates that add the rules' conclusions over the default graph, less what it states, to ``target``."""
        def keep(var: str) -> str:
            return _NOT_BUILTIN.format(v=var)

        # (table, conclusion, the rows it is drawn from, the node that must not be built-in). Types are
        # drawn from the distinct (property, node) pairs first: a city is the object of thousands of
        # memberships, and typing it once per membership made the object-type rule 13x slower at 10^6.
        plans = (
            (self.same_direction, "?s ?b ?o", "?s ?a ?o", "s"),
            (self.inverse_direction, "?o ?b ?s", "?s ?a ?o FILTER(!isLiteral(?o))", "o"),
            (self.super_classes, "?s a ?b", "?s a ?a", "s"),
            (self.subject_types, "?s a ?b", "{ SELECT DISTINCT ?a ?s WHERE { VALUES ?a { %s } ?s ?a ?o } }", "s"),
            (self.object_types, "?o a ?b",
             "{ SELECT DISTINCT ?a ?o WHERE { VALUES ?a { %s } ?s ?a ?o FILTER(!isLiteral(?o)) } }", "o"),
        )
        updates = []
        for rows, triple, source, node in plans:
            if not rows:
                continue
            if "%s" in source:
                source %= " ".join(sorted({f"<{a}>" for a, _ in rows}))
            table = " ".join(f"(<{a}> <{b}>)" for a, b in rows)
            updates.append(f"INSERT {{ GRAPH <{target}> {{ {triple} }} }} WHERE {{ {source} FILTER({keep(node)}) "
                           f"VALUES (?a ?b) {{ {table} }} FILTER NOT EXISTS {{ {triple} }} }}")
        return updates


def _reachable(start: str, sub_property: dict[str, set[str]], inverses: dict[str, set[str]]) -> set[tuple[str, bool]]:
    """(property, flipped) for every property a ``start`` triple also holds for, flipped when s and o swap."""
    seen = {(start, False)}
    stack = [(start, False)]
    while stack:
        p, flipped = stack.pop()
        steps = [(q, flipped) for q in sub_property.get(p, ())] + [(q, not flipped) for q in inverses.get(p, ())]
        for step in steps:
            if step not in seen:
                seen.add(step)
                stack.append(step)
    return seen


def apply(store: ox.Store, rules: InstanceRules, target: str) -> None:
    """Add to graph ``target`` the instance inferences the default graph does not already state."""
    for update in rules.updates(target):
        store.update(update)


def clashes(store: ox.Store, target: str, rules: InstanceRules, disjoint: list[tuple[str, str]]) -> set[str]:
    """cax-dw / cax-adc / cls-nothing2 over asserted + inferred types, and dt-not-type, in owlrl's words."""
    graphs = [ox.DefaultGraph(), ox.NamedNode(target)]
    messages = set()
    if disjoint:
        rows = " ".join(f"(<{a}> <{b}>)" for a, b in disjoint)
        query = f"SELECT DISTINCT ?x ?a ?b WHERE {{ VALUES (?a ?b) {{ {rows} }} ?x a ?a . ?x a ?b }}"
        for row in store.query(query, default_graph=graphs):
            messages.add("Disjoint classes %s and %s have a common individual %s"
                         % (row["a"].value, row["b"].value, row["x"].value))
    for row in store.query(f"SELECT DISTINCT ?x WHERE {{ ?x a <{OWL.Nothing}> }}", default_graph=graphs):
        messages.add("%s is defined of type 'Nothing'" % row["x"].value)
    return messages | literal_clashes(store, rules, disjoint) | ill_typed(store)


def literal_clashes(store: ox.Store, rules: InstanceRules, disjoint: list[tuple[str, str]]) -> set[str]:
    """cax-dw / cax-adc on literals: owlrl types a literal by the ranges of the properties it is a value
    of (prp-rng; such triples are not RDF and are never kept), and reports the clash all the same."""
    typed_by: dict[str, set[str]] = defaultdict(set)
    for p, c in rules.object_types:
        typed_by[c].add(p)
    messages = set()
    for a, b in disjoint:
        if typed_by.get(a) and typed_by.get(b):
            first = " ".join(f"<{p}>" for p in sorted(typed_by[a]))
            second = " ".join(f"<{p}>" for p in sorted(typed_by[b]))
            query = (f"SELECT DISTINCT ?x WHERE {{ VALUES ?p {{ {first} }} ?s ?p ?x FILTER(isLiteral(?x)) "
                     f"VALUES ?q {{ {second} }} ?t ?q ?x }}")
            for row in store.query(query):
                messages.add("Disjoint classes %s and %s have a common individual %s" % (a, b, row["x"].value))
    return messages


def ill_typed(store: ox.Store) -> set[str]:
    """owlrl's dt-not-type: a literal whose lexical form is not valid for its (OWL 2 RL) datatype.

    Only the datatypes the data uses and owlrl can check are fetched: decoding every literal (most are
    language-tagged strings) would cost more than the rest of the reasoning.
    """
    used = store.query("SELECT DISTINCT (datatype(?o) AS ?d) WHERE { ?s ?p ?o FILTER(isLiteral(?o)) }")
    checked = [URIRef(row["d"].value) for row in used if row["d"] is not None]
    checked = [d for d in checked if d in OWL_RL_Datatypes and d in AltXSDToPYTHON and d != XSD.string]
    messages: set[str] = set()
    if not checked:
        return messages
    listed = ", ".join(f"<{d}>" for d in checked)
    for row in store.query(f"SELECT DISTINCT ?o WHERE {{ ?s ?p ?o FILTER(isLiteral(?o) && datatype(?o) IN ({listed})) }}"):
        literal = row["o"]
        datatype = URIRef(literal.datatype.value)
        try:
            AltXSDToPYTHON[datatype](literal.value)
        except ValueError:
            messages.add("Lexical value of the literal '%s' does not match its datatype (%s)"
                         % (Literal(literal.value, datatype=datatype), datatype))
    return messages
