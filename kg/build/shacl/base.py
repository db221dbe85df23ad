"""What the compiler and every family of constraint components build on.

* :class:`UnsupportedShape`, raised wherever a shape is read;
* :class:`Run`: one validation of a store: what it holds (the subclasses of the classes the shapes
  name, the classes and predicates in use, the literals rdflib judges for SPARQL), fresh variables;
* :class:`Focus`: the focus nodes of a shape (its targets), as SPARQL;
* :class:`Test`, :class:`UncertainTest`: a condition on one value node, as a SPARQL expression;
* :class:`Constraint`: one query whose rows are results, each made a Violation by the shape's
  :class:`Source`; :class:`ValueConstraint` applies a Test to each value node.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from kg.build.report import Violation
from kg.terms import to_oxigraph, to_rdflib

if TYPE_CHECKING:
    from kg.build.shacl.paths import SparqlPath

TYPE = RDF.type.n3()


class UnsupportedShape(ValueError):
    """A shapes graph uses a SHACL feature this engine does not compile (the message names it).

    Add the feature to kg/build/shacl/ (with a fixture proving it matches pySHACL), or validate
    with the reference engine, kg.build.validate.run_shacl.
    """

    def __init__(self, feature: str, where: Node | None = None) -> None:
        super().__init__(f"unsupported SHACL feature: {feature}" + (f" (in {where.n3()})" if where is not None else ""))
        self.feature = feature


def string(text: str) -> str:
    """A SPARQL string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


class Run:
    """What one validation needs to know about the store before the constraint queries run."""

    def __init__(self, store: ox.Store, classes: set[URIRef], predicates: set[URIRef],
                 uncertain: dict[UncertainTest, set[Node]], present: tuple[Node, ...] = ()) -> None:
        """``classes``, ``predicates``, ``uncertain``: those of the compiled shapes (kg.build.shacl.compiler)."""
        self.store = store
        self._check_present(present)
        self.subclasses = self._subclasses(classes)
        self.instantiated = self._present(sorted({t for terms in self.subclasses.values() for t in terms}), f"?s {TYPE} ?x")
        self.used = self._present(sorted(p.n3() for p in predicates), "?s ?x ?o")
        self.failing = {test: self._failing(test, paths) for test, paths in uncertain.items()}
        self._names = itertools.count()

    def _check_present(self, nodes: tuple[Node, ...]) -> None:
        """``nodes``: target nodes that must be terms of the validated graph (zero-length paths need them)."""
        for node in nodes:
            term, graph = to_oxigraph(node), ox.DefaultGraph()
            as_subject = not isinstance(term, ox.Literal) and next(self.store.quads_for_pattern(term, None, None, graph), None)
            if not as_subject and next(self.store.quads_for_pattern(None, None, term, graph), None) is None:
                raise UnsupportedShape(f"a zero-length path from the target node {node.n3()}, which the data does not mention")

    def fresh(self) -> str:
        """A variable name of its own, for the patterns nested in EXISTS."""
        return f"?_v{next(self._names)}"

    def query(self, text: str) -> ox.QuerySolutions:
        return self.store.query(text)

    def _subclasses(self, classes: set[URIRef]) -> dict[URIRef, list[str]]:
        """Each class with its subclasses (rdfs:subClassOf*), so that queries test rdf:type with IN."""
        found: dict[URIRef, set[str]] = {c: {c.n3()} for c in classes}
        if classes:
            union = " UNION ".join(f"{{ ?s {RDFS.subClassOf.n3()}* {c.n3()} BIND({c.n3()} AS ?c) }}" for c in sorted(classes))
            for row in self.store.query(f"SELECT ?c ?s WHERE {{ {union} }}"):
                if isinstance(row["s"], ox.NamedNode):
                    found[URIRef(row["c"].value)].add(str(row["s"]))
                elif next(self.store.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), row["s"], ox.DefaultGraph()),
                          None) is not None:
                    # A query cannot name a blank node of the store: refused rather than its instances skipped.
                    raise UnsupportedShape(f"instances of a blank-node subclass of {row['c']} in the data")
        return {c: sorted(terms) for c, terms in found.items()}

    def _present(self, terms: list[str], pattern: str) -> set[str]:
        """The terms ?x for which the pattern has a match: a constraint on absent classes or predicates is not run."""
        if not terms:
            return set()
        rows = self.store.query(f"SELECT ?x WHERE {{ VALUES ?x {{ {' '.join(terms)} }} FILTER EXISTS {{ {pattern} }} }}")
        return {str(row["x"]) for row in rows}

    def _failing(self, test: "UncertainTest", sources: set[Node]) -> list[str]:
        """The literals SPARQL cannot judge for the test and rdflib finds failing, among its value nodes:
        the objects of the predicates in ``sources`` and the literals in it (sh:targetNode focus nodes)."""
        predicates = sorted(p.n3() for p in sources if isinstance(p, URIRef))
        literals = sorted(n.n3() for n in sources if isinstance(n, Literal))
        paths = sorted(p.n3() for p in sources if not isinstance(p, (URIRef, Literal)))  # kg.build.shacl.paths
        parts = [f"{{ VALUES ?p {{ {' '.join(predicates)} }} ?s ?p ?v }}"] if predicates else []
        parts += [f"{{ VALUES ?v {{ {' '.join(literals)} }} }}"] if literals else []
        parts += [f"{{ ?s {path} ?v }}" for path in paths]
        rows = self.store.query(
            f"SELECT DISTINCT ?v WHERE {{ {' UNION '.join(parts)} FILTER(isLiteral(?v) && !({test.known('?v')})) }}")
        return [str(row["v"]) for row in rows if not test.decide(to_rdflib(row["v"]))]


class Test:
    """A condition on one value node, as a SPARQL expression; ``component`` names it in results."""

    component = ""

    def passes(self, x: str, run: Run) -> str:
        raise NotImplementedError


class UncertainTest(Test):
    """A test SPARQL decides only where ``known`` holds; rdflib decides the other literals.

    ``known`` must be true for every IRI and blank node: only literals are looked up beforehand.
    """

    def known(self, x: str) -> str:
        raise NotImplementedError

    def verdict(self, x: str) -> str:
        raise NotImplementedError

    def decide(self, value: Node) -> bool:
        raise NotImplementedError

    @property
    def needs_lookup(self) -> bool:
        """Whether some literal may be left to Python (then its paths' literals are looked up)."""
        return True

    def passes(self, x: str, run: Run) -> str:
        failing = run.failing.get(self, [])
        if not failing:
            return f"(!({self.known(x)}) || ({self.verdict(x)}))"
        listed = " || ".join(f"sameTerm({x}, {term})" for term in failing)
        return f"IF({self.known(x)}, {self.verdict(x)}, !({listed}))"


@dataclass(frozen=True)
class Focus:
    """The focus nodes of a shape: its sh:targetNode terms, instances of its target classes (subclasses
    included; a shape that is an rdfs:Class targets its own instances), subjects and objects of its predicates."""

    classes: tuple[URIRef, ...]
    subjects_of: tuple[URIRef, ...]
    objects_of: tuple[URIRef, ...] = ()
    nodes: tuple[Node, ...] = ()

    def enumerate(self, run: Run) -> str:
        """A group binding ?this to each focus node once."""
        parts = [f"{{ ?this {p.n3()} ?_o }}" for p in self.subjects_of]
        parts += [f"{{ ?_s {p.n3()} ?this }}" for p in self.objects_of]
        if self.nodes:
            parts.append(f"{{ VALUES ?this {{ {' '.join(n.n3() for n in self.nodes)} }} }}")
        if self.classes:
            parts.insert(0, f"{{ VALUES ?_t {{ {' '.join(self._types(run))} }} ?this {TYPE} ?_t }}")
        return f"{{ SELECT DISTINCT ?this WHERE {{ {' UNION '.join(parts)} }} }}"

    def contains(self, x: str, run: Run) -> str:
        """An expression true when ``x`` is a focus node (cheaper than enumerating them when few rows are tested)."""
        parts = [f"EXISTS {{ {x} {p.n3()} ?_o }}" for p in self.subjects_of]
        parts += [f"EXISTS {{ ?_s {p.n3()} {x} }}" for p in self.objects_of]
        parts += [f"sameTerm({x}, {n.n3()})" for n in self.nodes]  # sameTerm: "01"^^xsd:int is not "1"^^xsd:int
        if self.classes:
            parts.insert(0, f"EXISTS {{ {x} {TYPE} ?_t FILTER(?_t IN ({', '.join(self._types(run))})) }}")
        return "(" + " || ".join(parts) + ")"

    def is_empty(self, run: Run) -> bool:
        """Target nodes are focus nodes whether or not the data mentions them."""
        used = {p.n3() for p in self.subjects_of + self.objects_of} & run.used
        return not (self.nodes or set(self._types(run)) & run.instantiated or used)

    def _types(self, run: Run) -> list[str]:
        return sorted({t for c in self.classes for t in run.subclasses[c]})

    def multiplicity(self, run: Run) -> dict[str, int] | None:
        """How many times pySHACL validates each focus node: once (None), but see ValuesFocus."""
        return None


@dataclass(frozen=True)
class ValuesFocus(Focus):
    """The focus nodes of a property shape nested in a property shape (sh:property on it): the values of
    the outer path at the outer focus nodes. pySHACL validates a value once per outer focus node that
    reaches it, so each of its results is reported that many times (:meth:`multiplicity`)."""

    outer: Focus | None = None
    path: URIRef | SparqlPath | None = None

    def enumerate(self, run: Run) -> str:
        f = run.fresh()
        return (f"{{ SELECT DISTINCT ?this WHERE {{ {{ SELECT (?this AS {f}) WHERE {{ {self.outer.enumerate(run)} }} }} "
                f"{f} {self.path.n3()} ?this }} }}")

    def contains(self, x: str, run: Run) -> str:
        f = run.fresh()
        return f"EXISTS {{ {f} {self.path.n3()} {x} FILTER({self.outer.contains(f, run)}) }}"

    def is_empty(self, run: Run) -> bool:
        return not path_used(self.path, run) or self.outer.is_empty(run)

    def multiplicity(self, run: Run) -> dict[str, int] | None:
        """How many times each focus node is reached (as Violation.focus gives it)."""
        outer = self.outer.multiplicity(run)
        f = run.fresh()
        counts: dict[str, int] = {}
        rows = run.query(f"SELECT {f} ?this WHERE {{ {{ SELECT (?this AS {f}) WHERE {{ {self.outer.enumerate(run)} }} }} "
                         f"{f} {self.path.n3()} ?this }}")
        for row in rows:
            key = focus_text(row["this"])
            counts[key] = counts.get(key, 0) + (1 if outer is None else outer.get(focus_text(row[f[1:]]), 0))
        return counts


def path_used(path: URIRef | SparqlPath, run: Run) -> bool:
    """Whether the store has a triple of the path's predicates (an IRI, or a kg.build.shacl.paths.SparqlPath)."""
    if not isinstance(path, URIRef) and path.zero_length:
        return True  # every focus node is a value of its own
    predicates = [path] if isinstance(path, URIRef) else list(path.predicates)
    return any(p.n3() in run.used for p in predicates)


def focus_text(term: ox.Term) -> str:
    """A focus node as Violation.focus gives it (blank nodes as ``_:id``, as kg.build.validate writes them)."""
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else _text(term)


def written_literals(nodes: tuple[Node, ...]) -> tuple[tuple[ox.Term, ox.Term], ...]:
    """For each target-node literal, the term Oxigraph's queries give back for it and the term as written:
    Oxigraph reads "4.0"^^xsd:decimal as "4", pySHACL reports the shapes graph's own term."""
    pairs = []
    for node in nodes:
        if isinstance(node, Literal):
            read = next(iter(ox.Store().query(f"SELECT ?x WHERE {{ VALUES ?x {{ {node.n3()} }} }}")))["x"]
            if read != to_oxigraph(node):
                pairs.append((read, to_oxigraph(node)))
    return tuple(pairs)


@dataclass(frozen=True)
class Source:
    """How the results of one shape are reported: the fields of kg.build.validate._violation."""

    shape: Node
    severity: str
    name: str | None
    description: str | None
    message: str
    path: URIRef | SparqlPath | None
    written: tuple[tuple[ox.Term, ox.Term], ...] = ()

    def violation(self, component: str, focus: ox.Term, value: ox.Term | None, message: str | None = None,
                  path: ox.Term | None = None) -> Violation:
        if self.written:  # a target-node literal, as the shapes write it: see written_literals
            written = dict(self.written)
            value = written.get(value, value) if path is None and self.path is None and value == focus else value
            focus = written.get(focus, focus)
        short = "sh:" + component
        result_path = _text(path) if path is not None else (str(self.path) if self.path is not None else None)
        return Violation(
            severity=self.severity,
            rule=self.name or self.description or short,
            message=self.message if message is None else message,
            focus=focus_text(focus),
            path=result_path,
            value=None if value is None else _text(value),
            component=short,
            shape=None if isinstance(self.shape, BNode) else str(self.shape),
        )


def _text(term: ox.Term) -> str:
    """A term as pySHACL's report gives it to kg.build.validate (rdflib's str of it)."""
    return str(to_rdflib(term))


class Constraint:
    """One constraint of a shape with targets: one query, whose rows are its results."""

    source: Source
    focus: Focus
    #: Whether a result needs a value of the path (sh:minCount and sh:hasValue report missing ones).
    needs_values = True

    def may_fail(self, run: Run) -> bool:
        """False when the store has no focus node, or no value of the path where one is needed."""
        path = self.source.path
        return not self.focus.is_empty(run) and not (self.needs_values and path is not None and not path_used(path, run))

    def violations(self, run: Run) -> Iterator[Violation]:
        raise NotImplementedError


@dataclass(frozen=True)
class ValueConstraint(Constraint):
    """A test on each value node: the focus node itself (no path) or the values of the path."""

    source: Source
    focus: Focus
    test: Test

    def query(self, run: Run) -> str:
        if self.source.path is None:
            return f"SELECT ?this WHERE {{ {self.focus.enumerate(run)} FILTER(!({self.test.passes('?this', run)})) }}"
        # The failing values first, in a subquery; only then is each one's subject tested for being a
        # focus node. In one FILTER, Oxigraph evaluated the focus test (an EXISTS over the subject's
        # types) on every row, even though the value test had already failed: 12x slower at 10^6.
        return (f"SELECT DISTINCT ?this ?value WHERE {{ {{ SELECT ?this ?value WHERE {{ "
                f"?this {self.source.path.n3()} ?value FILTER(!({self.test.passes('?value', run)})) }} }} "
                f"FILTER({self.focus.contains('?this', run)}) }}")

    def violations(self, run: Run) -> Iterator[Violation]:
        """One result per value node as rdflib reads it: pySHACL sees "2", "none" and "yes"^^xsd:boolean,
        three terms in the store, as the one ill-typed literal rdflib makes of each ("false")."""
        value = "this" if self.source.path is None else "value"
        seen: set[tuple[Node, Node]] = set()
        for row in run.query(self.query(run)):
            read = (to_rdflib(row["this"]), to_rdflib(row[value]))
            if read not in seen:
                seen.add(read)
                yield self.source.violation(self.test.component, row["this"], row[value])
