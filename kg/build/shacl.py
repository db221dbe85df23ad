"""Fast SHACL validation: our shapes compiled into SPARQL queries that Oxigraph runs.

pySHACL walks every focus node in Python and needs minutes for 10^5 triples. Here each constraint
of the shapes graph becomes one SPARQL query that returns only its violating rows, so the work is
done by the store's indexes (10^6 triples in about 10 s). pySHACL stays the reference:
tests/test_shacl_fast.py checks that both engines give the same Violations on every fixture of
tests/shapes/, on the shipped data and on synthetic graphs with planted violations.

    validate_store(store, shapes) -> list[Violation]   # what kg.build.validate.run_shacl(...)[0] returns
    compile_shapes(shapes) -> CompiledShapes            # once per shapes graph (cached); .validate(store)

The graph validated is the store's default graph: the data and the ontology together, as pySHACL's
``ont_graph`` mixes them. Named graphs are never read.

Supported: what shapes/shapes.ttl uses, plus sh:nodeKind, sh:severity and sh:deactivated.

* targets: sh:targetClass (instances of subclasses included: rdfs:subClassOf* in the validated
  graph) and sh:targetSubjectsOf, on node shapes or on property shapes;
* sh:property with an IRI sh:path (the only path form the shapes use);
* sh:class, sh:datatype, sh:pattern with sh:flags "i"/"m", sh:minInclusive, sh:languageIn,
  sh:nodeKind, sh:hasValue (an IRI), sh:minCount, sh:maxCount (distinct values), sh:uniqueLang;
* sh:not and sh:or, whose members are node or property shapes made of the constraints above;
* sh:sparql on node shapes: sh:select with $this, sh:prefixes/sh:declare, sh:message templates
  ({?var} and {$var}) filled as pySHACL fills them, ?value and ?path taken from the results;
* sh:severity, sh:deactivated; sh:name, sh:description and one sh:message for the report.

Anything else in the sh: namespace, and the corners of these features listed where they are
read, raise :class:`UnsupportedShape` naming the feature when the shapes are compiled: add the
feature here, or validate with the reference engine.

Semantic choices (pySHACL's behaviour is matched, not SPARQL's):

* sh:datatype, sh:minInclusive and sh:pattern judge a literal as pySHACL does, through rdflib's
  reading of it: "2011-02-30"^^xsd:date is ill-typed, " 2"^^xsd:integer is the integer 2, and
  any lexical form of xsd:gYear or xsd:gYearMonth passes (rdflib does not parse them). SPARQL
  judges the literals whose lexical form it can judge the way rdflib does; the few others (one
  lookup query per such constraint, over the values of its paths) are judged in Python by rdflib
  and handed to the constraint's query by value.
* sh:pattern is Python's ``re`` in pySHACL and Rust's ``regex`` in Oxigraph. Patterns are limited
  to the syntax both read alike (see :func:`_portable_pattern`); strings with a newline (Python's
  ``$`` also matches before a final newline) and, with the "i" flag, strings with "İ" or "ı"
  (Python folds them to "i") are judged in Python.
* Values are reported as the store holds them: Oxigraph keeps numbers and date-times canonical,
  so "6.0"^^xsd:decimal is reported (and fills a message) as "6", where pySHACL given the rdflib
  parse of the file says "6.0". Blank nodes keep the store's identifiers: a store built from the
  rdflib graph pySHACL validates gives the same "_:id".
* A SPARQL constraint runs once, its focus nodes joined at the start of its outermost group,
  instead of once per pre-bound focus node; the two agree for the queries SHACL allows (no MINUS,
  VALUES, SERVICE or subqueries, which are refused). Its query is run by Oxigraph, not by
  rdflib's SPARQL engine; the two agree on the functions our queries use.
* Left out, as no data of ours has them: instances of a blank-node subclass (of a target class or
  of a sh:class), and a case-insensitive sh:pattern on an IRI containing "İ" or "ı".
"""

from __future__ import annotations

import itertools
import re
import weakref
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Iterator

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node, XSDToPython

from kg.build.report import FROM_SHACL, Violation
from kg.namespaces import SH
from kg.terms import to_rdflib

# --------------------------------------------------------------------------- what is supported

#: Parameters a node shape may have (besides the common ones).
NODE_PARAMETERS = {SH[p] for p in ("class", "datatype", "pattern", "flags", "minInclusive", "languageIn",
                                   "nodeKind", "hasValue", "not", "or", "property", "sparql")}
#: Parameters a property shape may have (besides the common ones).
PROPERTY_PARAMETERS = {SH[p] for p in ("path", "class", "datatype", "pattern", "flags", "minInclusive",
                                       "languageIn", "nodeKind", "hasValue", "not", "or", "minCount",
                                       "maxCount", "uniqueLang")}
#: Predicates any shape may have: targets, and what only describes or switches it.
COMMON_PREDICATES = {SH[p] for p in ("targetClass", "targetSubjectsOf", "name", "description", "message",
                                     "severity", "deactivated", "order", "group")}
#: sh: predicates of SPARQL constraints and prefix declarations.
SPARQL_PREDICATES = {SH[p] for p in ("select", "prefixes", "declare", "prefix", "namespace")}
SUPPORTED_PREDICATES = NODE_PARAMETERS | PROPERTY_PARAMETERS | COMMON_PREDICATES | SPARQL_PREDICATES
SUPPORTED_TYPES = {SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint, SH.PrefixDeclaration}

TARGETS = (SH.targetClass, SH.targetSubjectsOf)
NODE_KINDS = {
    SH.IRI: "isIRI({x})", SH.BlankNode: "isBlank({x})", SH.Literal: "isLiteral({x})",
    SH.BlankNodeOrIRI: "!isLiteral({x})", SH.BlankNodeOrLiteral: "!isIRI({x})", SH.IRIOrLiteral: "!isBlank({x})",
}
TYPE = RDF.type.n3()

#: Lexical forms that rdflib certainly reads as a valid value of the datatype (others go to Python).
SURELY_VALID = {
    XSD.integer: r"^[+-]?[0-9]+$",
    XSD.date: r"^[1-9][0-9]{3}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)$",
}
#: The Python type pySHACL requires of a literal's value for these datatypes; others pass unparsed.
PYTHON_TYPES = {
    XSD.string: (str, bytes), RDF.langString: (str, bytes), XSD.integer: int, XSD.float: float,
    XSD.decimal: Decimal, XSD.boolean: bool, XSD.date: date, XSD.time: time, XSD.dateTime: datetime,
}
#: Escapes that Python's re and Rust's regex read alike (letters other than these differ or are refused).
PORTABLE_ESCAPES = set("dDntr")


class UnsupportedShape(ValueError):
    """A shapes graph uses a SHACL feature this engine does not compile (the message names it).

    Add the feature to kg/build/shacl.py (with a fixture proving it matches pySHACL), or validate
    with the reference engine, kg.build.validate.run_shacl.
    """

    def __init__(self, feature: str, where: Node | None = None) -> None:
        super().__init__(f"unsupported SHACL feature: {feature}" + (f" (in {where.n3()})" if where is not None else ""))
        self.feature = feature


# --------------------------------------------------------------------------- public API


def validate_store(store: ox.Store, shapes: Graph) -> list[Violation]:
    """The Violations pySHACL reports for the store's default graph (see the module docstring)."""
    return compile_shapes(shapes).validate(store)


_compiled: dict[int, tuple[weakref.ref, int, "CompiledShapes"]] = {}


def compile_shapes(shapes: Graph) -> "CompiledShapes":
    """Compile once per shapes graph: the graph object (and its size) is the cache key."""
    hit = _compiled.get(id(shapes))
    if hit is not None and hit[0]() is shapes and hit[1] == len(shapes):
        return hit[2]
    for key in [k for k, (ref, _, _) in _compiled.items() if ref() is None]:
        del _compiled[key]
    compiled = CompiledShapes(shapes)
    _compiled[id(shapes)] = (weakref.ref(shapes), len(shapes), compiled)
    return compiled


class CompiledShapes:
    """The constraints of a shapes graph, ready to be run against any store."""

    def __init__(self, shapes: Graph) -> None:
        compiler = _Compiler(shapes)
        self.constraints: list[_Constraint] = compiler.constraints
        self.classes: set[URIRef] = compiler.classes
        self.predicates: set[URIRef] = compiler.predicates
        self.uncertain: dict[_UncertainTest, set[URIRef]] = compiler.uncertain

    def validate(self, store: ox.Store) -> list[Violation]:
        run = _Run(store, self)
        return [v for constraint in self.constraints if constraint.may_fail(run) for v in constraint.violations(run)]


# --------------------------------------------------------------------------- one validation run


class _Run:
    """What one validation needs to know about the store before the constraint queries run."""

    def __init__(self, store: ox.Store, compiled: CompiledShapes) -> None:
        self.store = store
        self.subclasses = self._subclasses(compiled.classes)
        self.instantiated = self._present(sorted({t for terms in self.subclasses.values() for t in terms}), f"?s {TYPE} ?x")
        self.used = self._present(sorted(p.n3() for p in compiled.predicates), "?s ?x ?o")
        self.failing = {test: self._failing(test, paths) for test, paths in compiled.uncertain.items()}
        self._names = itertools.count()

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
                if isinstance(row["s"], ox.NamedNode):  # an instance of an anonymous class is not looked for
                    found[URIRef(row["c"].value)].add(str(row["s"]))
        return {c: sorted(terms) for c, terms in found.items()}

    def _present(self, terms: list[str], pattern: str) -> set[str]:
        """The terms ?x for which the pattern has a match: a constraint on absent classes or predicates is not run."""
        if not terms:
            return set()
        rows = self.store.query(f"SELECT ?x WHERE {{ VALUES ?x {{ {' '.join(terms)} }} FILTER EXISTS {{ {pattern} }} }}")
        return {str(row["x"]) for row in rows}

    def _failing(self, test: "_UncertainTest", paths: set[URIRef]) -> list[str]:
        """The literals on these paths that SPARQL cannot judge for the test and rdflib finds failing."""
        predicates = " ".join(p.n3() for p in sorted(paths))
        rows = self.store.query(
            f"SELECT DISTINCT ?v WHERE {{ VALUES ?p {{ {predicates} }} ?s ?p ?v "
            f"FILTER(isLiteral(?v) && !({test.known('?v')})) }}")
        return [str(row["v"]) for row in rows if not test.decide(to_rdflib(row["v"]))]


# --------------------------------------------------------------------------- tests of one value node


class _Test:
    """A condition on one value node, as a SPARQL expression; ``component`` names it in results."""

    component = ""

    def passes(self, x: str, run: _Run) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class _ClassTest(_Test):
    cls: URIRef
    component = "ClassConstraintComponent"

    def passes(self, x: str, run: _Run) -> str:
        t = run.fresh()
        return f"EXISTS {{ {x} {TYPE} {t} FILTER({t} IN ({', '.join(run.subclasses[self.cls])})) }}"


@dataclass(frozen=True)
class _LanguageInTest(_Test):
    languages: tuple[str, ...]  # lower case, as pySHACL compares them
    component = "LanguageInConstraintComponent"

    def passes(self, x: str, run: _Run) -> str:
        tagged = f"isLiteral({x}) && LANG({x}) != \"\""
        if "*" in self.languages:
            return f"({tagged})"
        listed = ", ".join(_string(lang) for lang in self.languages)
        first = f"LCASE(STRBEFORE(CONCAT(LANG({x}), \"-\"), \"-\"))"
        return f"({tagged} && (LCASE(LANG({x})) IN ({listed}) || {first} IN ({listed})))"


@dataclass(frozen=True)
class _NodeKindTest(_Test):
    kind: URIRef
    component = "NodeKindConstraintComponent"

    def passes(self, x: str, run: _Run) -> str:
        return NODE_KINDS[self.kind].format(x=x)


@dataclass(frozen=True)
class _SameTermTest(_Test):
    """sh:hasValue on a shape inside sh:or/sh:not: the value node is that IRI."""

    value: URIRef
    component = "HasValueConstraintComponent"

    def passes(self, x: str, run: _Run) -> str:
        return f"sameTerm({x}, {self.value.n3()})"


class _UncertainTest(_Test):
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

    def passes(self, x: str, run: _Run) -> str:
        failing = run.failing.get(self, [])
        if not failing:
            return f"(!({self.known(x)}) || ({self.verdict(x)}))"
        listed = " || ".join(f"sameTerm({x}, {term})" for term in failing)
        return f"IF({self.known(x)}, {self.verdict(x)}, !({listed}))"


@dataclass(frozen=True)
class _DatatypeTest(_UncertainTest):
    datatype: URIRef
    component = "DatatypeConstraintComponent"

    @property
    def needs_lookup(self) -> bool:
        """rdflib parses the lexical form of this datatype (xsd:string and xsd:gYear, say, it does not)."""
        return self.datatype not in (XSD.string, RDF.langString) and XSDToPython.get(self.datatype) is not None

    def known(self, x: str) -> str:
        if not self.needs_lookup:
            return "true"  # the datatype alone decides
        surely = f" || REGEX(STR({x}), {_string(SURELY_VALID[self.datatype])})" if self.datatype in SURELY_VALID else ""
        return f"!isLiteral({x}) || DATATYPE({x}) != {self.datatype.n3()}{surely}"

    def verdict(self, x: str) -> str:
        if self.datatype == RDF.langString:
            return f"isLiteral({x}) && LANG({x}) != \"\""
        return f"isLiteral({x}) && DATATYPE({x}) = {self.datatype.n3()}"

    def decide(self, value: Node) -> bool:
        """pySHACL's DatatypeConstraintComponent on one value."""
        if not isinstance(value, Literal):
            return False
        if value.datatype == self.datatype:
            return getattr(value, "ill_typed", None) is not True and _has_python_type(value.value, self.datatype)
        if value.datatype is None and value.language is None and self.datatype == XSD.string:
            return _has_python_type(value.value, self.datatype)
        return self.datatype == RDF.langString and bool(value.language) and _has_python_type(value.value, self.datatype)


@dataclass(frozen=True)
class _MinInclusiveTest(_UncertainTest):
    bound: Literal
    component = "MinInclusiveConstraintComponent"

    def known(self, x: str) -> str:
        if not isinstance(self.bound.value, (int, Decimal)) or isinstance(self.bound.value, bool):
            return f"!isLiteral({x})"
        number = _string(r"^[+-]?[0-9]+([.][0-9]+)?$")
        return (f"!isLiteral({x}) || (DATATYPE({x}) IN ({XSD.integer.n3()}, {XSD.decimal.n3()}) "
                f"&& REGEX(STR({x}), {number}))")

    def verdict(self, x: str) -> str:
        return f"isLiteral({x}) && {x} >= {self.bound.n3()}"

    def decide(self, value: Node) -> bool:
        """pySHACL's MinInclusiveConstraintComponent on one value (its compare_literal >= 0)."""
        if not isinstance(value, Literal) or isinstance(value.value, str) != isinstance(self.bound.value, str):
            return False
        try:
            if value.eq(self.bound):
                return True
            if type(value.value) in (datetime, time):
                return value.value >= self.bound.value
            return bool(value > self.bound)
        except (TypeError, NotImplementedError):
            return False


@dataclass(frozen=True)
class _PatternTest(_UncertainTest):
    pattern: str
    flags: str  # the flags pySHACL applies: "i" and/or "m"
    component = "PatternConstraintComponent"

    def known(self, x: str) -> str:
        odd = ["\n", "İ", "ı"] if "i" in self.flags else ["\n"]
        plain = " && ".join(f"!CONTAINS(STR({x}), {_string(c)})" for c in odd)
        return f"!isLiteral({x}) || (DATATYPE({x}) IN ({XSD.string.n3()}, {RDF.langString.n3()}) && {plain})"

    def verdict(self, x: str) -> str:
        return f"!isBlank({x}) && REGEX(STR({x}), {_string(self.pattern)}, {_string(self.flags)})"

    def decide(self, value: Node) -> bool:
        """pySHACL's PatternConstraintComponent on one value."""
        if isinstance(value, BNode):
            return False
        return self.regex().search(_string_of(value)) is not None

    def regex(self) -> re.Pattern:
        return re.compile(self.pattern, (re.I if "i" in self.flags else 0) | (re.M if "m" in self.flags else 0))


@dataclass(frozen=True)
class _PropertyTest(_Test):
    """A property shape inside sh:or/sh:not: every constraint holds on the values of its path."""

    path: URIRef
    min_count: int
    max_count: int | None
    unique_lang: bool
    has_values: tuple[URIRef, ...]
    tests: tuple[_Test, ...]

    def passes(self, x: str, run: _Run) -> str:
        p = self.path.n3()
        parts = []
        if self.min_count > 0:
            parts.append(f"EXISTS {{ {_distinct_values(x, p, self.min_count, run)} }}")
        if self.max_count is not None:
            parts.append(f"NOT EXISTS {{ {_distinct_values(x, p, self.max_count + 1, run)} }}")
        if self.unique_lang:
            a, b = run.fresh(), run.fresh()
            parts.append(f"NOT EXISTS {{ {x} {p} {a}, {b} FILTER(isLiteral({a}) && isLiteral({b}) && LANG({a}) != \"\" "
                         f"&& LCASE(LANG({a})) = LCASE(LANG({b})) && !sameTerm({a}, {b})) }}")
        parts += [f"EXISTS {{ {x} {p} {value.n3()} }}" for value in self.has_values]
        for test in self.tests:
            y = run.fresh()
            parts.append(f"NOT EXISTS {{ {x} {p} {y} FILTER(!({test.passes(y, run)})) }}")
        return "(" + " && ".join(parts or ["true"]) + ")"


@dataclass(frozen=True)
class _ShapeTest(_Test):
    """A node shape inside sh:or/sh:not: all its tests hold (a deactivated shape has none)."""

    tests: tuple[_Test, ...]

    def passes(self, x: str, run: _Run) -> str:
        return "(" + " && ".join([t.passes(x, run) for t in self.tests] or ["true"]) + ")"


@dataclass(frozen=True)
class _NotTest(_Test):
    shape: _Test
    component = "NotConstraintComponent"

    def passes(self, x: str, run: _Run) -> str:
        return f"!({self.shape.passes(x, run)})"


@dataclass(frozen=True)
class _OrTest(_Test):
    shapes: tuple[_Test, ...]
    component = "OrConstraintComponent"

    def passes(self, x: str, run: _Run) -> str:
        return "(" + " || ".join(s.passes(x, run) for s in self.shapes) + ")"


def _distinct_values(x: str, p: str, n: int, run: _Run) -> str:
    """A pattern matching when ``x`` has at least ``n`` distinct values of ``p``."""
    names = [run.fresh() for _ in range(n)]
    different = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(names, 2)]
    return f"{x} {p} {', '.join(names)} ." + (f" FILTER({' && '.join(different)})" if different else "")


def _has_python_type(value: object, datatype: URIRef) -> bool:
    expected = PYTHON_TYPES.get(datatype)
    return expected is None or isinstance(value, expected)


def _string_of(value: Node) -> str:
    """The string pySHACL matches a pattern against."""
    if isinstance(value, Literal) and value.value is not None and value.datatype in (None, RDF.langString, XSD.string):
        return str(value.value)
    return str(value)


def _string(text: str) -> str:
    """A SPARQL string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


# --------------------------------------------------------------------------- focus nodes


@dataclass(frozen=True)
class _Focus:
    """The focus nodes of a shape: instances of its target classes (and their subclasses), subjects of its predicates."""

    classes: tuple[URIRef, ...]
    subjects_of: tuple[URIRef, ...]

    def enumerate(self, run: _Run) -> str:
        """A group binding ?this to each focus node once."""
        parts = [f"{{ ?this {p.n3()} ?_o }}" for p in self.subjects_of]
        if self.classes:
            parts.insert(0, f"{{ VALUES ?_t {{ {' '.join(self._types(run))} }} ?this {TYPE} ?_t }}")
        return f"{{ SELECT DISTINCT ?this WHERE {{ {' UNION '.join(parts)} }} }}"

    def contains(self, x: str, run: _Run) -> str:
        """An expression true when ``x`` is a focus node (cheaper than enumerating them when few rows are tested)."""
        parts = [f"EXISTS {{ {x} {p.n3()} ?_o }}" for p in self.subjects_of]
        if self.classes:
            parts.insert(0, f"EXISTS {{ {x} {TYPE} ?_t FILTER(?_t IN ({', '.join(self._types(run))})) }}")
        return "(" + " || ".join(parts) + ")"

    def is_empty(self, run: _Run) -> bool:
        return not (set(self._types(run)) & run.instantiated or {p.n3() for p in self.subjects_of} & run.used)

    def _types(self, run: _Run) -> list[str]:
        return sorted({t for c in self.classes for t in run.subclasses[c]})


# --------------------------------------------------------------------------- constraints that report results


@dataclass(frozen=True)
class _Source:
    """How the results of one shape are reported: the fields of kg.build.validate._violation."""

    shape: Node
    severity: str
    name: str | None
    description: str | None
    message: str
    path: URIRef | None

    def violation(self, component: str, focus: ox.Term, value: ox.Term | None, message: str | None = None,
                  path: ox.Term | None = None) -> Violation:
        short = "sh:" + component
        result_path = _text(path) if path is not None else (str(self.path) if self.path is not None else None)
        return Violation(
            severity=self.severity,
            rule=self.name or self.description or short,
            message=self.message if message is None else message,
            focus=f"_:{focus.value}" if isinstance(focus, ox.BlankNode) else _text(focus),
            path=result_path,
            value=None if value is None else _text(value),
            component=short,
            shape=None if isinstance(self.shape, BNode) else str(self.shape),
        )


def _text(term: ox.Term) -> str:
    """A term as pySHACL's report gives it to kg.build.validate (rdflib's str of it)."""
    return str(to_rdflib(term))


class _Constraint:
    """One constraint of a shape with targets: one query, whose rows are its results."""

    source: _Source
    focus: _Focus
    #: Whether a result needs a value of the path (sh:minCount and sh:hasValue report missing ones).
    needs_values = True

    def may_fail(self, run: _Run) -> bool:
        """False when the store has no focus node, or no value of the path where one is needed."""
        path = self.source.path
        return not self.focus.is_empty(run) and not (self.needs_values and path is not None and path.n3() not in run.used)

    def violations(self, run: _Run) -> Iterator[Violation]:
        raise NotImplementedError


@dataclass(frozen=True)
class _ValueConstraint(_Constraint):
    """A test on each value node: the focus node itself (no path) or the values of the path."""

    source: _Source
    focus: _Focus
    test: _Test

    def query(self, run: _Run) -> str:
        if self.source.path is None:
            return f"SELECT ?this WHERE {{ {self.focus.enumerate(run)} FILTER(!({self.test.passes('?this', run)})) }}"
        # The failing values first, in a subquery; only then is each one's subject tested for being a
        # focus node. In one FILTER, Oxigraph evaluated the focus test (an EXISTS over the subject's
        # types) on every row, even though the value test had already failed: 12x slower at 10^6.
        return (f"SELECT DISTINCT ?this ?value WHERE {{ {{ SELECT ?this ?value WHERE {{ "
                f"?this {self.source.path.n3()} ?value FILTER(!({self.test.passes('?value', run)})) }} }} "
                f"FILTER({self.focus.contains('?this', run)}) }}")

    def violations(self, run: _Run) -> Iterator[Violation]:
        value = "this" if self.source.path is None else "value"
        for row in run.query(self.query(run)):
            yield self.source.violation(self.test.component, row["this"], row[value])


@dataclass(frozen=True)
class _CountConstraint(_Constraint):
    """sh:minCount (``at_most`` False) or sh:maxCount: the number of distinct values of the path."""

    source: _Source
    focus: _Focus
    count: int
    at_most: bool

    @property
    def needs_values(self) -> bool:
        return self.at_most

    def query(self, run: _Run) -> str:
        p = self.source.path.n3()
        if self.at_most:
            return (f"SELECT ?this WHERE {{ {{ SELECT ?this WHERE {{ ?this {p} ?v }} GROUP BY ?this "
                    f"HAVING (COUNT(DISTINCT ?v) > {self.count}) }} FILTER({self.focus.contains('?this', run)}) }}")
        if self.count == 1:
            return f"SELECT ?this WHERE {{ {self.focus.enumerate(run)} FILTER NOT EXISTS {{ ?this {p} ?v }} }}"
        return (f"SELECT ?this WHERE {{ {self.focus.enumerate(run)} OPTIONAL {{ ?this {p} ?v }} }} "
                f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) < {self.count})")

    def violations(self, run: _Run) -> Iterator[Violation]:
        component = "MaxCountConstraintComponent" if self.at_most else "MinCountConstraintComponent"
        for row in run.query(self.query(run)):
            yield self.source.violation(component, row["this"], None)


@dataclass(frozen=True)
class _UniqueLangConstraint(_Constraint):
    """sh:uniqueLang true: one result per language tag (case ignored) used by two values."""

    source: _Source
    focus: _Focus

    def query(self, run: _Run) -> str:
        return (f"SELECT ?this ?lang WHERE {{ {{ SELECT ?this ?lang WHERE {{ ?this {self.source.path.n3()} ?v "
                f"FILTER(isLiteral(?v) && LANG(?v) != \"\") BIND(LCASE(LANG(?v)) AS ?lang) }} GROUP BY ?this ?lang "
                f"HAVING (COUNT(DISTINCT ?v) > 1) }} FILTER({self.focus.contains('?this', run)}) }}")

    def violations(self, run: _Run) -> Iterator[Violation]:
        for row in run.query(self.query(run)):
            yield self.source.violation("UniqueLangConstraintComponent", row["this"], None)


@dataclass(frozen=True)
class _HasValueConstraint(_Constraint):
    """sh:hasValue: the path has that value (without a path: the focus node is it)."""

    source: _Source
    focus: _Focus
    value: URIRef
    needs_values = False

    def query(self, run: _Run) -> str:
        if self.source.path is None:
            missing = f"FILTER(!sameTerm(?this, {self.value.n3()}))"
        else:
            missing = f"FILTER NOT EXISTS {{ ?this {self.source.path.n3()} {self.value.n3()} }}"
        return f"SELECT ?this WHERE {{ {self.focus.enumerate(run)} {missing} }}"

    def violations(self, run: _Run) -> Iterator[Violation]:
        for row in run.query(self.query(run)):
            yield self.source.violation("HasValueConstraintComponent", row["this"], None)


@dataclass(frozen=True)
class _SparqlConstraint(_Constraint):
    """sh:sparql: the select query with the focus nodes joined first; one result per distinct row."""

    source: _Source
    focus: _Focus
    prefixes: str
    before: str  # the query up to and including the opening brace of its WHERE clause
    after: str

    def query(self, run: _Run) -> str:
        return self.render(self.focus.enumerate(run))

    def render(self, focus: str) -> str:
        return f"{self.prefixes}{self.before} {focus} {self.after}"

    def violations(self, run: _Run) -> Iterator[Violation]:
        solutions = run.query(self.query(run))
        names = [v.value for v in solutions.variables]
        seen = set()
        for row in solutions:
            bound = tuple((name, row[name]) for name in names if row[name] is not None)
            if bound in seen:
                continue
            seen.add(bound)
            values = dict(bound)
            this, path = values["this"], values.get("path")
            value = values.get("value", this)  # pySHACL reports the focus node when ?value is not bound
            bindings = [(n, t) for n, t in bound if n not in ("this", "path", "value")] + [("this", this)]
            bindings += [("path", path)] if path is not None else []
            filled = _fill(self.source.message, bindings + [("value", value)])
            yield self.source.violation("SPARQLConstraintComponent", this, value, message=filled, path=path)


def _fill(message: str, bindings: list[tuple[str, ox.Term]]) -> str:
    """pySHACL's filling of {?var}/{$var} in a SPARQL constraint's message (re.sub, in its order)."""
    for name, term in bindings:
        message = re.sub("{{[?$]{}}}".format(name), str(to_rdflib(term)), message)
    return message


# --------------------------------------------------------------------------- compiling a shapes graph


class _Compiler:
    """Reads a shapes graph into constraints; refuses what it cannot compile faithfully."""

    def __init__(self, shapes: Graph) -> None:
        self.g = shapes
        self.constraints: list[_Constraint] = []
        self.classes: set[URIRef] = set()
        self.predicates: set[URIRef] = set()
        self.uncertain: dict[_UncertainTest, set[URIRef]] = {}
        self._inside: list[Node] = []
        self._check_vocabulary()
        for shape in sorted({s for t in TARGETS for s in shapes.subjects(t, None)}, key=str):
            self._top_level(shape)

    # ---- reading

    def _one(self, node: Node, predicate: URIRef) -> Node | None:
        values = set(self.g.objects(node, predicate))
        if len(values) > 1:
            raise UnsupportedShape(f"more than one {_qname(predicate)}", node)
        return next(iter(values), None)

    def _all(self, node: Node, predicate: URIRef) -> list[Node]:
        return sorted(set(self.g.objects(node, predicate)), key=lambda n: n.n3())

    def _deactivated(self, node: Node) -> bool:
        flag = self._one(node, SH.deactivated)
        return isinstance(flag, Literal) and bool(flag.value)

    def _check_vocabulary(self) -> None:
        """Every sh: predicate and sh: class in the graph must be one this engine compiles."""
        for predicate in sorted(set(self.g.predicates()), key=str):
            if str(predicate).startswith(str(SH)) and predicate not in SUPPORTED_PREDICATES:
                raise UnsupportedShape(_qname(predicate))
        for cls in sorted(set(self.g.objects(None, RDF.type)), key=str):
            if str(cls).startswith(str(SH)) and cls not in SUPPORTED_TYPES:
                raise UnsupportedShape(_qname(cls))

    def _check_parameters(self, node: Node, allowed: set[URIRef], kind: str) -> None:
        for predicate in set(self.g.predicates(node, None)):
            if str(predicate).startswith(str(SH)) and predicate not in allowed | COMMON_PREDICATES:
                raise UnsupportedShape(f"{_qname(predicate)} on a {kind}", node)

    # ---- shapes with targets

    def _top_level(self, shape: Node) -> None:
        if self._deactivated(shape):
            return
        types = set(self.g.objects(shape, RDF.type))
        if types & ({RDFS.Class, OWL.Class} | set(self.g.subjects(RDFS.subClassOf, RDFS.Class))):
            raise UnsupportedShape("a shape that is also a class (implicit class target)", shape)
        focus = _Focus(tuple(self._all(shape, SH.targetClass)), tuple(self._all(shape, SH.targetSubjectsOf)))
        self.classes.update(focus.classes)
        self.predicates.update(focus.subjects_of)
        if self._one(shape, SH.path) is not None:
            self._property_shape(shape, focus)
            return
        self._check_parameters(shape, NODE_PARAMETERS, "node shape")
        for test in self._value_tests(shape, frozenset()):
            self.constraints.append(_ValueConstraint(self._source(shape, None), focus, test))
        for value in self._has_values(shape):
            self.constraints.append(_HasValueConstraint(self._source(shape, None), focus, value))
        for prop in self._all(shape, SH.property):
            if not self._deactivated(prop):
                self._property_shape(prop, focus)
        for sparql in self._all(shape, SH.sparql):
            if not self._deactivated(sparql):
                self.constraints.append(self._sparql(shape, sparql, focus))

    def _property_shape(self, shape: Node, focus: _Focus) -> None:
        self._check_parameters(shape, PROPERTY_PARAMETERS, "property shape")
        path = self._path(shape)
        self.predicates.add(path)
        if not set(self.g.predicates(shape, None)) & (PROPERTY_PARAMETERS - {SH.path}):
            return  # no constraint: no result, no message needed
        source = self._source(shape, path)
        low, high = self._count(shape, SH.minCount), self._count(shape, SH.maxCount)
        if low:
            self.constraints.append(_CountConstraint(source, focus, low, at_most=False))
        if high is not None:
            self.constraints.append(_CountConstraint(source, focus, high, at_most=True))
        if self._unique_lang(shape):
            self.constraints.append(_UniqueLangConstraint(source, focus))
        self.constraints += [_HasValueConstraint(source, focus, value) for value in self._has_values(shape)]
        self.constraints += [_ValueConstraint(source, focus, test) for test in self._value_tests(shape, frozenset({path}))]

    def _source(self, shape: Node, path: URIRef | None, message: Node | None = None) -> _Source:
        """The report fields of a shape's results; ``message``: a SPARQL constraint's own, reported first."""
        messages = [message] if message is not None else list(self.g.objects(shape, SH.message))
        if len(messages) != 1:
            raise UnsupportedShape(f"{len(messages)} sh:message on a shape with constraints "
                                   "(pySHACL's generic or multiple messages are not reproduced)", shape)
        severity = self._one(shape, SH.severity) or SH.Violation
        name, description = self.g.value(shape, SH.name), self.g.value(shape, SH.description)
        return _Source(shape, FROM_SHACL.get(str(severity).rsplit("#", 1)[-1], "error"),
                       None if name is None else str(name), None if description is None else str(description),
                       str(messages[0]), path)

    def _path(self, shape: Node) -> URIRef:
        path = self._one(shape, SH.path)
        if not isinstance(path, URIRef):
            raise UnsupportedShape("a sh:path that is not an IRI (inverse, sequence, alternative, … paths)", shape)
        return path

    def _count(self, shape: Node, predicate: URIRef) -> int | None:
        value = self._one(shape, predicate)
        if value is None:
            return None
        if not isinstance(value, Literal) or not isinstance(value.value, int):
            raise UnsupportedShape(f"{_qname(predicate)} that is not an integer", shape)
        return value.value

    def _unique_lang(self, shape: Node) -> bool:
        value = self._one(shape, SH.uniqueLang)
        if value is not None and not (isinstance(value, Literal) and isinstance(value.value, bool)):
            raise UnsupportedShape("sh:uniqueLang that is not a boolean", shape)
        return value is not None and value.value

    def _has_values(self, shape: Node) -> list[URIRef]:
        values = self._all(shape, SH.hasValue)
        if any(not isinstance(v, URIRef) for v in values):
            raise UnsupportedShape("sh:hasValue with a literal or blank node", shape)
        return values

    # ---- tests of value nodes

    def _value_tests(self, shape: Node, context: frozenset[URIRef]) -> list[_Test]:
        """The tests a shape applies to each value node; ``context``: the predicates the values are objects of."""
        tests: list[_Test] = []
        for cls in self._all(shape, SH["class"]):
            if not isinstance(cls, URIRef):
                raise UnsupportedShape("sh:class that is not an IRI", shape)
            self.classes.add(cls)
            tests.append(_ClassTest(cls))
        datatype = self._one(shape, SH.datatype)
        if datatype is not None:
            if datatype in (RDFS.Literal, RDFS.Datatype) or not isinstance(datatype, URIRef):
                raise UnsupportedShape(f"sh:datatype {datatype.n3()}", shape)
            tests.append(_DatatypeTest(datatype))
        flags = self._flags(shape)
        tests += [_PatternTest(_portable_pattern(p, flags, shape), flags) for p in self._all(shape, SH.pattern)]
        for bound in self._all(shape, SH.minInclusive):
            if not isinstance(bound, Literal):
                raise UnsupportedShape("sh:minInclusive that is not a literal", shape)
            tests.append(_MinInclusiveTest(bound))
        languages = self._one(shape, SH.languageIn)
        if languages is not None:
            tests.append(_LanguageInTest(tuple(str(lang).lower() for lang in self.g.items(languages))))
        kind = self._one(shape, SH.nodeKind)
        if kind is not None:
            if kind not in NODE_KINDS:
                raise UnsupportedShape(f"sh:nodeKind {kind.n3()}", shape)
            tests.append(_NodeKindTest(kind))
        tests += [_NotTest(self._inner(member, context)) for member in self._all(shape, SH["not"])]
        for members in self._all(shape, SH["or"]):
            shapes = sorted(set(self.g.items(members)), key=lambda n: n.n3())
            if not shapes:
                raise UnsupportedShape("an empty sh:or list", shape)
            tests.append(_OrTest(tuple(self._inner(member, context) for member in shapes)))
        for test in tests:
            if isinstance(test, _UncertainTest) and test.needs_lookup and context:
                self.uncertain.setdefault(test, set()).update(context)
        return tests

    def _flags(self, shape: Node) -> str:
        flags = self._one(shape, SH.flags)
        text = "" if flags is None else str(flags).lower()
        if set(text) - {"i", "m"}:
            raise UnsupportedShape(f"sh:flags {text!r} (pySHACL applies only 'i' and 'm')", shape)
        return "".join(sorted(set(text)))

    def _inner(self, shape: Node, context: frozenset[URIRef]) -> _Test:
        """A shape inside sh:or/sh:not, as a test of the value node it is applied to."""
        if shape in self._inside:
            raise UnsupportedShape("recursive shapes", shape)
        if self._one(shape, SH.severity) is not None:
            raise UnsupportedShape("sh:severity on a shape inside sh:or/sh:not", shape)
        if self._deactivated(shape):
            return _ShapeTest(())
        self._inside.append(shape)
        try:
            if self._one(shape, SH.path) is not None:
                return self._inner_property(shape)
            self._check_parameters(shape, NODE_PARAMETERS - {SH.sparql}, "shape inside sh:or/sh:not")
            tests = self._value_tests(shape, context) + [_SameTermTest(v) for v in self._has_values(shape)]
            tests += [self._inner_property(p) for p in self._all(shape, SH.property) if not self._deactivated(p)]
            return _ShapeTest(tuple(tests))
        finally:
            self._inside.pop()

    def _inner_property(self, shape: Node) -> _PropertyTest:
        self._check_parameters(shape, PROPERTY_PARAMETERS, "property shape inside sh:or/sh:not")
        path = self._path(shape)
        return _PropertyTest(path, self._count(shape, SH.minCount) or 0, self._count(shape, SH.maxCount),
                             self._unique_lang(shape), tuple(self._has_values(shape)),
                             tuple(self._value_tests(shape, frozenset({path}))))

    # ---- SPARQL-based constraints

    def _sparql(self, shape: Node, node: Node, focus: _Focus) -> _SparqlConstraint:
        select = self._one(node, SH.select)
        if not isinstance(select, Literal):
            raise UnsupportedShape("sh:sparql without one sh:select (e.g. sh:ask)", node)
        text = str(select)
        _check_select(text, node)
        start = _outer_group_start(text, node)
        source = self._source(shape, None, self._one(node, SH.message))
        constraint = _SparqlConstraint(source, focus, self._prefixes(node), text[:start + 1], text[start + 1:])
        probe = ox.Store().query(constraint.render("{ SELECT DISTINCT ?this WHERE { ?this ?_p ?_o } }"))
        if "this" not in {v.value for v in probe.variables}:
            raise UnsupportedShape("a sh:select that does not project $this", node)
        return constraint

    def _prefixes(self, node: Node) -> str:
        """PREFIX lines as pySHACL builds them: rdf, rdfs, owl, then the sh:declare of sh:prefixes."""
        prefixes = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL)}
        ontologies = set(self.g.subjects(RDF.type, OWL.Ontology))
        everywhere = {d for o in ontologies for d in self.g.objects(o, SH.declare)}
        for holder in self._all(node, SH.prefixes):
            own = set(self.g.objects(holder, SH.declare))
            for declaration in (own if own and holder in ontologies else own | everywhere):
                prefix, namespace = self._one(declaration, SH.prefix), self._one(declaration, SH.namespace)
                if prefix is None or namespace is None:
                    raise UnsupportedShape("a sh:declare without sh:prefix and sh:namespace", declaration)
                prefixes[str(prefix)] = str(namespace)
        return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes.items())


def _qname(iri: Node) -> str:
    return "sh:" + str(iri)[len(str(SH)):] if str(iri).startswith(str(SH)) else iri.n3()


#: What a SHACL-SPARQL query may not use here: pySHACL refuses the first three, the rest are pre-bound or special.
_REFUSED_IN_SELECT = [
    (re.compile(r"(?<![\w:?$-])MINUS\b", re.I), "MINUS in sh:select"),
    (re.compile(r"(?<![\w:?$-])VALUES\b", re.I), "VALUES in sh:select"),
    (re.compile(r"(?<![\w:?$-])SERVICE\b", re.I), "SERVICE in sh:select"),
    (re.compile(r"(?<![\w:?$-])SELECT\b[\s\S]*(?<![\w:?$-])SELECT\b", re.I), "a subquery in sh:select"),
    (re.compile(r"[?$](PATH|shapesGraph|currentShape|failure)\b"), "$PATH, $shapesGraph, $currentShape or ?failure in sh:select"),
]


def _check_select(text: str, node: Node) -> None:
    code = _without_comments_and_strings(text)
    for pattern, feature in _REFUSED_IN_SELECT:
        if pattern.search(code):
            raise UnsupportedShape(feature, node)
    if not re.search(r"[?$]this\b", code):
        raise UnsupportedShape("a sh:select that does not use $this", node)


def _without_comments_and_strings(text: str) -> str:
    """The query with comments and string literals blanked out (same length), for keyword checks."""
    token = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*')
    return token.sub(lambda m: " " * len(m.group(0)), text)


def _outer_group_start(text: str, node: Node) -> int:
    """Where the WHERE clause's group opens: the first brace outside comments and strings."""
    start = _without_comments_and_strings(text).find("{")
    if start < 0:
        raise UnsupportedShape("a sh:select without a WHERE clause", node)
    return start


def _portable_pattern(pattern: Node, flags: str, shape: Node) -> str:
    """The pattern, if Python's re and Oxigraph's regex read it alike; else UnsupportedShape.

    Refused: escapes other than of punctuation and \\d \\D \\n \\t \\r (\\w, \\s, \\b differ on
    non-ASCII text), class set operations and POSIX classes ("[[", "&&", "--", "~~"), groups other
    than (...) and (?:...), and non-ASCII characters under the "i" flag.
    """
    text = str(pattern)
    for escape in re.findall(r"\\(.)", text):
        if escape.isalnum() and escape not in PORTABLE_ESCAPES:
            raise UnsupportedShape(f"the escape \\{escape} in sh:pattern {text!r}", shape)
    if any(op in text for op in ("[[", "&&", "--", "~~")) or re.search(r"(?<!\\)\(\?(?!:)", text):
        raise UnsupportedShape(f"sh:pattern {text!r}: class set operations, POSIX classes or special groups", shape)
    if "i" in flags and not text.isascii():
        raise UnsupportedShape(f"sh:pattern {text!r}: non-ASCII characters with the 'i' flag", shape)
    try:
        re.compile(text)
    except re.error as error:
        raise UnsupportedShape(f"sh:pattern {text!r} is not a Python regular expression ({error})", shape) from None
    probe = next(iter(ox.Store().query(f"SELECT (REGEX(\"\", {_string(text)}, {_string(flags)}) AS ?ok) WHERE {{}}")))
    if probe["ok"] is None:
        raise UnsupportedShape(f"sh:pattern {text!r} is not a regular expression Oxigraph reads", shape)
    return text
