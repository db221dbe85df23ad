"""Compiling a shapes graph: its shapes read into constraints, what cannot be compiled faithfully refused.

The compiler checks every sh: term of the graph against what is supported, reads the shapes with
targets, and hands each parameter to the test or constraint of its family (the *_constraints
modules); :class:`CompiledShapes` runs the constraints on a store.
"""

from __future__ import annotations

import weakref

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from kg.build.report import FROM_SHACL, Violation
from kg.build.shacl.base import (Constraint, Focus, Run, Source, Test, UncertainTest, UnsupportedShape, ValueConstraint,
                                 ValuesFocus, written_literals)
from kg.build.shacl.cardinality_constraints import CountConstraint
from kg.build.shacl.logical_constraints import AndTest, NotTest, OrTest, XoneTest
from kg.build.shacl.paths import SparqlPath, read_path
from kg.build.shacl.other_constraints import ClosedConstraint, HasValueConstraint, InTest, SameTermTest
from kg.build.shacl.property_pair_constraints import OrderConstraint, PairConstraint
from kg.build.shacl.shape_based_constraints import NodeTest, PropertyTest, QualifiedCountConstraint, ShapeTest
from kg.build.shacl.sparql_constraints import SparqlConstraint, check_select, outer_group_start
from kg.build.shacl.string_based_constraints import (LanguageInTest, LengthTest, PatternTest, UniqueLangConstraint,
                                                     portable_pattern)
from kg.build.shacl.value_constraints import NODE_KINDS, ClassTest, DatatypeTest, NodeKindTest
from kg.build.shacl.value_range_constraints import BOUNDS, RangeTest
from kg.namespaces import SH

# --------------------------------------------------------------------------- what is supported

#: Parameters of sh:qualifiedValueShape's component: without it they activate nothing (SHACL 2.1 and pySHACL).
UNREAD_WITHOUT_SHAPE = ("qualifiedMinCount", "qualifiedMaxCount", "qualifiedValueShapesDisjoint")
#: Parameters a node shape may have (besides the common ones).
NODE_PARAMETERS = {SH[p] for p in ("class", "datatype", "pattern", "flags", "minInclusive", "maxInclusive",
                                   "minExclusive", "maxExclusive", "languageIn", "minLength", "maxLength",
                                   "nodeKind", "hasValue", "in", "not", "and", "or", "xone", "node",
                                   "equals", "disjoint", "closed", "ignoredProperties", "property", "sparql",
                                   *UNREAD_WITHOUT_SHAPE)}
#: Parameters a property shape may have (besides the common ones).
PROPERTY_PARAMETERS = {SH[p] for p in ("path", "class", "datatype", "pattern", "flags", "minInclusive",
                                       "maxInclusive", "minExclusive", "maxExclusive",
                                       "languageIn", "minLength", "maxLength", "nodeKind", "hasValue", "in",
                                       "not", "and", "or", "xone", "node", "equals", "disjoint", "minCount",
                                       "maxCount", "uniqueLang", "lessThan", "lessThanOrEquals",
                                       "qualifiedValueShape", "qualifiedMinCount",
                                       "qualifiedMaxCount", "qualifiedValueShapesDisjoint")}
#: Parameters compiled as constraints of shapes with targets only, never as tests inside other shapes.
TOP_LEVEL_ONLY = {SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals, SH.closed, SH.ignoredProperties,
                  SH.qualifiedValueShape,
                  SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.qualifiedValueShapesDisjoint}
#: Predicates any shape may have: targets, and what only describes or switches it.
COMMON_PREDICATES = {SH[p] for p in ("targetClass", "targetSubjectsOf", "targetObjectsOf", "targetNode", "name", "description", "message",
                                     "severity", "deactivated", "order", "group")}
#: sh: predicates of SPARQL constraints and prefix declarations.
SPARQL_PREDICATES = {SH[p] for p in ("select", "prefixes", "declare", "prefix", "namespace")}
#: The vocabulary of validation reports: a shapes graph may hold one (the W3C tests do), never read.
REPORT_PREDICATES = {SH[p] for p in ("conforms", "result", "focusNode", "resultPath", "value", "sourceShape",
                                     "sourceConstraintComponent", "resultSeverity", "resultMessage", "detail")}
REPORT_TYPES = {SH.ValidationReport, SH.ValidationResult}
#: Predicates of path expressions (kg.build.shacl.paths reads them, refusing the zero-length ones).
PATH_PREDICATES = {SH[p] for p in ("inversePath", "alternativePath", "oneOrMorePath", "zeroOrMorePath", "zeroOrOnePath")}
SUPPORTED_PREDICATES = (NODE_PARAMETERS | PROPERTY_PARAMETERS | COMMON_PREDICATES | SPARQL_PREDICATES | REPORT_PREDICATES
                        | PATH_PREDICATES)
SUPPORTED_TYPES = {SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint, SH.PrefixDeclaration} | REPORT_TYPES

TARGETS = (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode)

# --------------------------------------------------------------------------- public API


def validate_store(store: ox.Store, shapes: Graph) -> list[Violation]:
    """The Violations pySHACL reports for the store's default graph (see the docstring of kg.build.shacl)."""
    return compile_shapes(shapes).validate(store)


_compiled: dict[tuple[int, bool], tuple[weakref.ref, int, "CompiledShapes"]] = {}


def compile_shapes(shapes: Graph, full_report: bool = True) -> "CompiledShapes":
    """Compile once per shapes graph: the graph object (and its size) is the cache key.

    ``full_report``: the Violations are all those kg.build.validate.run_shacl reads from pySHACL's
    report, messages included and the results pySHACL nests under sh:detail too. The compiler reproduces
    only a shape's own single sh:message and no nested result, so it refuses shapes without one and
    sh:node. With False (callers that need only the top-level results of the report and no messages,
    such as the W3C suite), those compile; messages are then "".
    """
    key = (id(shapes), full_report)
    hit = _compiled.get(key)
    if hit is not None and hit[0]() is shapes and hit[1] == len(shapes):
        return hit[2]
    for stale in [k for k, (ref, _, _) in _compiled.items() if ref() is None]:
        del _compiled[stale]
    compiled = CompiledShapes(shapes, full_report)
    _compiled[key] = (weakref.ref(shapes), len(shapes), compiled)
    return compiled


class CompiledShapes:
    """The constraints of a shapes graph, ready to be run against any store."""

    def __init__(self, shapes: Graph, full_report: bool = True) -> None:
        compiler = _Compiler(shapes, full_report)
        self.constraints: list[Constraint] = compiler.constraints
        self.classes: set[URIRef] = compiler.classes
        self.predicates: set[URIRef] = compiler.predicates
        self.uncertain: dict[UncertainTest, set[Node]] = compiler.uncertain
        #: Target nodes that must be in the data, as the shapes have a zero-length path (kg.build.shacl.paths).
        self.present: tuple[Node, ...] = compiler.present

    def validate(self, store: ox.Store) -> list[Violation]:
        run = Run(store, self.classes, self.predicates, self.uncertain, self.present)
        found = []
        for constraint in self.constraints:
            if constraint.may_fail(run):
                times = constraint.focus.multiplicity(run)
                found += [v for v in constraint.violations(run) for _ in range(1 if times is None else times.get(v.focus, 1))]
        return found


# --------------------------------------------------------------------------- compiling a shapes graph


class _Compiler:
    """Reads a shapes graph into constraints; refuses what it cannot compile faithfully."""

    def __init__(self, shapes: Graph, full_report: bool) -> None:
        self.g = shapes
        self.full_report = full_report
        self.constraints: list[Constraint] = []
        self.classes: set[URIRef] = set()
        self.predicates: set[URIRef] = set()
        self.uncertain: dict[UncertainTest, set[Node]] = {}
        self._inside: list[Node] = []
        self._nesting: list[Node] = []  # property shapes nested in property shapes, outermost first
        self._zero_length = False
        self._check_vocabulary()
        for shape in sorted({s for t in TARGETS for s in shapes.subjects(t, None)} | self._class_shapes(), key=str):
            self._top_level(shape)
        targets = sorted(set(shapes.objects(None, SH.targetNode)), key=lambda n: n.n3())
        self.present: tuple[Node, ...] = tuple(targets) if self._zero_length else ()

    # ---- reading

    def _one(self, node: Node, predicate: URIRef) -> Node | None:
        values = set(self.g.objects(node, predicate))
        if len(values) > 1:
            raise UnsupportedShape(f"more than one {_qname(predicate)}", node)
        return next(iter(values), None)

    def _all(self, node: Node, predicate: URIRef) -> list[Node]:
        return sorted(set(self.g.objects(node, predicate)), key=lambda n: n.n3())

    def _flag(self, node: Node, predicate: URIRef) -> bool:
        """A boolean parameter: only the literals "true" and "false" are read alike by pySHACL and the spec
        (the spec switches a parameter on with true alone; pySHACL with any literal rdflib reads as True)."""
        flag = self._one(node, predicate)
        if flag is None:
            return False
        if not (isinstance(flag, Literal) and flag.datatype == XSD.boolean and str(flag) in ("true", "false")):
            raise UnsupportedShape(f"{_qname(predicate)} other than \"true\" or \"false\"^^xsd:boolean", node)
        return str(flag) == "true"

    def _deactivated(self, node: Node) -> bool:
        return self._flag(node, SH.deactivated)

    def _check_vocabulary(self) -> None:
        """Every sh: predicate and sh: class in the graph must be one this engine compiles."""
        for predicate in sorted(set(self.g.predicates()), key=str):
            if str(predicate).startswith(str(SH)) and predicate not in SUPPORTED_PREDICATES:
                raise UnsupportedShape(_qname(predicate))
        for cls in sorted(set(self.g.objects(None, RDF.type)), key=str):
            if str(cls).startswith(str(SH)) and cls not in SUPPORTED_TYPES:
                raise UnsupportedShape(_qname(cls))

    def _check_parameters(self, node: Node, allowed: set[URIRef], kind: str) -> None:
        for predicate in sorted(set(self.g.predicates(node, None)), key=str):  # the same feature named every run
            if str(predicate).startswith(str(SH)) and predicate not in allowed | COMMON_PREDICATES:
                raise UnsupportedShape(f"{_qname(predicate)} on a {kind}", node)

    # ---- shapes with targets

    def _is_class(self, node: Node) -> bool:
        """pySHACL's implicit class target: typed rdfs:Class or a subclass of it the shapes graph states."""
        classes = {RDFS.Class} | set(self.g.subjects(RDFS.subClassOf, RDFS.Class))
        return bool(set(self.g.objects(node, RDF.type)) & classes)

    def _class_shapes(self) -> set[Node]:
        """The shapes that are also classes: they target their instances without sh:targetClass. Shapes as
        pySHACL finds them: typed, subjects of sh:property or sh:node, or values of a shape-expecting parameter."""
        g = self.g
        shapes = set(g.subjects(RDF.type, SH.NodeShape)) | set(g.subjects(RDF.type, SH.PropertyShape))
        shapes |= set(g.subjects(SH.property, None)) | set(g.subjects(SH.node, None))
        for parameter in (SH.property, SH.node, SH["not"], SH.qualifiedValueShape):
            shapes |= set(g.objects(None, parameter))
        for parameter in (SH["and"], SH["or"], SH.xone):
            shapes |= {member for members in g.objects(None, parameter) for member in g.items(members)}
        return {s for s in shapes if self._is_class(s)}

    def _top_level(self, shape: Node) -> None:
        if self._deactivated(shape):
            return
        classes = set(self._all(shape, SH.targetClass)) | ({shape} if self._is_class(shape) else set())
        if any(not isinstance(c, URIRef) for c in classes):
            raise UnsupportedShape("a target class that is a blank node", shape)
        nodes = self._all(shape, SH.targetNode)
        if any(isinstance(n, BNode) for n in nodes):
            raise UnsupportedShape("a sh:targetNode that is a blank node", shape)
        ends = [self._all(shape, t) for t in (SH.targetSubjectsOf, SH.targetObjectsOf)]
        if any(not isinstance(p, URIRef) for p in ends[0] + ends[1]):
            raise UnsupportedShape("sh:targetSubjectsOf/sh:targetObjectsOf that is not an IRI", shape)
        focus = Focus(tuple(sorted(classes, key=str)), tuple(ends[0]), tuple(ends[1]), tuple(nodes))
        self.classes.update(focus.classes)
        self.predicates.update(focus.subjects_of + focus.objects_of)
        if self._one(shape, SH.path) is not None:
            self._property_shape(shape, focus)
            return
        self._check_parameters(shape, NODE_PARAMETERS, "node shape")
        literal_focus = frozenset(focus.objects_of) | {n for n in focus.nodes if isinstance(n, Literal)}
        for test in self._value_tests(shape, literal_focus):
            self.constraints.append(ValueConstraint(self._source(shape, None, focus), focus, test))
        for value in self._has_values(shape):
            self.constraints.append(HasValueConstraint(self._source(shape, None, focus), focus, value))
        self.constraints += self._pairs(shape, None, focus)
        if self._flag(shape, SH.closed):
            self.constraints.append(ClosedConstraint(self._source(shape, None, focus), focus, self._allowed(shape)))
        elif self._one(shape, SH.ignoredProperties) is not None:
            raise UnsupportedShape("sh:ignoredProperties without sh:closed true", shape)
        for prop in self._all(shape, SH.property):
            if not self._deactivated(prop):
                self._property_shape(prop, focus)
        for sparql in self._all(shape, SH.sparql):
            if not self._deactivated(sparql):
                self.constraints.append(self._sparql(shape, sparql, focus))

    def _property_shape(self, shape: Node, focus: Focus) -> None:
        self._check_parameters(shape, PROPERTY_PARAMETERS | {SH.property}, "property shape")
        path = self._path(shape)
        self.predicates.update([path] if isinstance(path, URIRef) else path.predicates)
        for nested in self._all(shape, SH.property):
            if nested in self._nesting:
                raise UnsupportedShape("recursive shapes", nested)
            if not self._deactivated(nested):
                self._nesting.append(nested)
                self._property_shape(nested, ValuesFocus((), (), outer=focus, path=path))
                self._nesting.pop()
        if not set(self.g.predicates(shape, None)) & (PROPERTY_PARAMETERS - {SH.path}):
            return  # no constraint: no result, no message needed
        source = self._source(shape, path, focus)
        low, high = self._count(shape, SH.minCount), self._count(shape, SH.maxCount)
        if low:
            self.constraints.append(CountConstraint(source, focus, low, at_most=False))
        if high is not None:
            self.constraints.append(CountConstraint(source, focus, high, at_most=True))
        if self._unique_lang(shape):
            self.constraints.append(UniqueLangConstraint(source, focus))
        self.constraints += [HasValueConstraint(source, focus, value) for value in self._has_values(shape)]
        self.constraints += self._pairs(shape, path, focus)
        self.constraints += self._qualified(shape, source, focus, path)
        for parameter, or_equal in ((SH.lessThan, False), (SH.lessThanOrEquals, True)):
            for other in self._all(shape, parameter):
                if not isinstance(other, URIRef):
                    raise UnsupportedShape(f"{_qname(parameter)} that is not an IRI", shape)
                self.predicates.add(other)
                self.constraints.append(OrderConstraint(source, focus, other, or_equal))
        self.constraints += [ValueConstraint(source, focus, test) for test in self._value_tests(shape, frozenset({path}))]

    def _qualified(self, shape: Node, source: Source, focus: Focus, path: URIRef | SparqlPath) -> list[QualifiedCountConstraint]:
        """sh:qualifiedValueShape: one count constraint per qualified shape and bound (siblings as pySHACL finds
        them: the qualified shapes of the property shapes of every shape that has this one as sh:property)."""
        qualified = self._all(shape, SH.qualifiedValueShape)
        if not qualified:
            return []  # the counts alone activate no constraint component
        low, high = self._count(shape, SH.qualifiedMinCount), self._count(shape, SH.qualifiedMaxCount)
        if low is None and high is None:
            raise UnsupportedShape("sh:qualifiedValueShape without sh:qualifiedMinCount or sh:qualifiedMaxCount", shape)
        disjoint = self._flag(shape, SH.qualifiedValueShapesDisjoint)
        context = frozenset({path})
        found = []
        for value_shape in qualified:
            siblings = set()
            if disjoint:
                siblings = {q for parent in self.g.subjects(SH.property, shape) for s in self.g.objects(parent, SH.property)
                            for q in self.g.objects(s, SH.qualifiedValueShape) if q != value_shape}
            test = self._inner(value_shape, context)
            others = tuple(self._inner(q, context) for q in sorted(siblings, key=lambda n: n.n3()))
            for bound, at_most in ((high, True), (low, False)):
                if bound is not None:
                    found.append(QualifiedCountConstraint(source, focus, test, others, bound, at_most))
        return found

    def _allowed(self, shape: Node) -> tuple[URIRef, ...]:
        """The predicates a closed shape allows: its property shapes' IRI paths and sh:ignoredProperties."""
        allowed = {p for prop in self._all(shape, SH.property) for p in self.g.objects(prop, SH.path) if isinstance(p, URIRef)}
        for members in self._all(shape, SH.ignoredProperties):
            allowed.update(self.g.items(members))
        if any(not isinstance(p, URIRef) for p in allowed):
            raise UnsupportedShape("sh:ignoredProperties that are not IRIs", shape)
        return tuple(sorted(allowed, key=str))

    def _pairs(self, shape: Node, path: URIRef | SparqlPath | None, focus: Focus) -> list[PairConstraint]:
        """sh:equals and sh:disjoint of a shape with targets (inside another shape they are refused)."""
        pairs: list[PairConstraint] = []
        for parameter, equals in ((SH.equals, True), (SH.disjoint, False)):
            for other in self._all(shape, parameter):
                if not isinstance(other, URIRef):
                    raise UnsupportedShape(f"{_qname(parameter)} that is not an IRI", shape)
                self.predicates.add(other)
                pairs.append(PairConstraint(self._source(shape, path, focus), focus, other, equals))
        return pairs

    def _source(self, shape: Node, path: URIRef | SparqlPath | None, focus: Focus, message: Node | None = None) -> Source:
        """The report fields of a shape's results; ``message``: a SPARQL constraint's own, reported first."""
        messages = [message] if message is not None else list(self.g.objects(shape, SH.message))
        if not self.full_report and len(messages) != 1:
            messages = [Literal("")]
        if len(messages) != 1:
            raise UnsupportedShape(f"{len(messages)} sh:message on a shape with constraints "
                                   "(pySHACL's generic or multiple messages are not reproduced)", shape)
        severity = self._one(shape, SH.severity) or SH.Violation
        name, description = self.g.value(shape, SH.name), self.g.value(shape, SH.description)
        return Source(shape, FROM_SHACL.get(str(severity).rsplit("#", 1)[-1], "error"),
                      None if name is None else str(name), None if description is None else str(description),
                      str(messages[0]), path, written_literals(focus.nodes))

    def _path(self, shape: Node) -> URIRef | SparqlPath:
        path = read_path(self.g, self._one(shape, SH.path), shape)
        if isinstance(path, SparqlPath) and self.full_report:
            raise UnsupportedShape(f"the sh:path {path} (not an IRI) in a full report (pySHACL reports a copy of "
                                   "the path's blank nodes)", shape)
        self._zero_length |= isinstance(path, SparqlPath) and path.zero_length
        return path

    def _count(self, shape: Node, predicate: URIRef) -> int | None:
        value = self._one(shape, predicate)
        if value is None:
            return None
        if not isinstance(value, Literal) or not isinstance(value.value, int):
            raise UnsupportedShape(f"{_qname(predicate)} that is not an integer", shape)
        return value.value

    def _unique_lang(self, shape: Node) -> bool:
        return self._flag(shape, SH.uniqueLang)

    def _has_values(self, shape: Node) -> list[URIRef | Literal]:
        return self._terms(shape, SH.hasValue, self._all(shape, SH.hasValue))

    def _terms(self, shape: Node, parameter: URIRef, values: list[Node]) -> list[URIRef | Literal]:
        """Values of sh:hasValue or sh:in, compared as terms with the store's: no blank node (the shapes'
        are not the data's), no literal Oxigraph does not keep as written ("4.0"^^xsd:decimal is "4")."""
        if any(isinstance(v, BNode) for v in values):
            raise UnsupportedShape(f"{_qname(parameter)} with a blank node", shape)
        if written_literals(tuple(values)):
            raise UnsupportedShape(f"{_qname(parameter)} with a literal not in Oxigraph's canonical form", shape)
        return values

    # ---- tests of value nodes

    def _value_tests(self, shape: Node, context: frozenset[Node]) -> list[Test]:
        """The tests a shape applies to each value node; ``context``: where the literals among them come from,
        the predicates they are objects of and the literals that are focus nodes themselves."""
        tests: list[Test] = []
        for cls in self._all(shape, SH["class"]):
            if not isinstance(cls, URIRef):
                raise UnsupportedShape("sh:class that is not an IRI", shape)
            self.classes.add(cls)
            tests.append(ClassTest(cls))
        datatype = self._one(shape, SH.datatype)
        if datatype is not None:
            if datatype in (RDFS.Literal, RDFS.Datatype) or not isinstance(datatype, URIRef):
                raise UnsupportedShape(f"sh:datatype {datatype.n3()}", shape)
            tests.append(DatatypeTest(datatype))
        flags = self._flags(shape)
        tests += [PatternTest(portable_pattern(p, flags, shape), flags) for p in self._all(shape, SH.pattern)]
        for parameter, kind in BOUNDS.items():
            for bound in self._all(shape, parameter):
                if not isinstance(bound, Literal):
                    raise UnsupportedShape(f"{_qname(parameter)} that is not a literal", shape)
                tests.append(RangeTest(bound, kind))
        languages = self._one(shape, SH.languageIn)
        if languages is not None:
            tests.append(LanguageInTest(tuple(str(lang).lower() for lang in self.g.items(languages))))
        for parameter, at_most in ((SH.minLength, False), (SH.maxLength, True)):
            limit = self._count(shape, parameter)
            if limit is not None:
                tests.append(LengthTest(limit, at_most))
        for members in self._all(shape, SH["in"]):
            tests.append(InTest(tuple(self._terms(shape, SH["in"], list(self.g.items(members))))))
        kind = self._one(shape, SH.nodeKind)
        if kind is not None:
            if kind not in NODE_KINDS:
                raise UnsupportedShape(f"sh:nodeKind {kind.n3()}", shape)
            tests.append(NodeKindTest(kind))
        tests += [NotTest(self._inner(member, context)) for member in self._all(shape, SH["not"])]
        for member in self._all(shape, SH.node):
            if self.full_report:
                raise UnsupportedShape("sh:node in a full report (pySHACL nests the node's own results under "
                                       "sh:detail, which the build reports and the compiler does not reproduce)", shape)
            tests.append(NodeTest(self._inner(member, context)))
        for parameter, kind in ((SH["and"], AndTest), (SH["or"], OrTest), (SH.xone, XoneTest)):
            for members in self._all(shape, parameter):
                shapes = list(self.g.items(members))  # duplicates kept: sh:xone counts each member
                if not shapes:
                    raise UnsupportedShape(f"an empty {_qname(parameter)} list", shape)
                tests.append(kind(tuple(self._inner(member, context) for member in shapes)))
        for test in tests:
            if isinstance(test, UncertainTest) and test.needs_lookup and context:
                self.uncertain.setdefault(test, set()).update(context)
        return tests

    def _flags(self, shape: Node) -> str:
        flags = self._one(shape, SH.flags)
        text = "" if flags is None else str(flags).lower()
        if set(text) - {"i", "m"}:
            raise UnsupportedShape(f"sh:flags {text!r} (pySHACL applies only 'i' and 'm')", shape)
        return "".join(sorted(set(text)))

    def _inner(self, shape: Node, context: frozenset[Node]) -> Test:
        """A shape inside sh:node/sh:not/sh:and/sh:or/sh:xone, as a test of the value node it is applied to."""
        if shape in self._inside:
            raise UnsupportedShape("recursive shapes", shape)
        if self._one(shape, SH.severity) is not None:
            raise UnsupportedShape("sh:severity on a shape inside sh:node/sh:not/sh:and/sh:or/sh:xone", shape)
        if self._deactivated(shape):
            return ShapeTest(())
        self._inside.append(shape)
        try:
            if self._one(shape, SH.path) is not None:
                return self._inner_property(shape)
            self._check_parameters(shape, NODE_PARAMETERS - {SH.sparql} - TOP_LEVEL_ONLY, "shape inside sh:node/sh:not/sh:and/sh:or/sh:xone")
            tests = self._value_tests(shape, context) + [SameTermTest(v) for v in self._has_values(shape)]
            tests += [self._inner_property(p) for p in self._all(shape, SH.property) if not self._deactivated(p)]
            return ShapeTest(tuple(tests))
        finally:
            self._inside.pop()

    def _inner_property(self, shape: Node) -> PropertyTest:
        self._check_parameters(shape, PROPERTY_PARAMETERS - TOP_LEVEL_ONLY, "property shape inside sh:node/sh:not/sh:and/sh:or/sh:xone")
        path = self._path(shape)
        return PropertyTest(path, self._count(shape, SH.minCount) or 0, self._count(shape, SH.maxCount),
                            self._unique_lang(shape), tuple(self._has_values(shape)),
                            tuple(self._value_tests(shape, frozenset({path}))))

    # ---- SPARQL-based constraints

    def _sparql(self, shape: Node, node: Node, focus: Focus) -> SparqlConstraint:
        select = self._one(node, SH.select)
        if not isinstance(select, Literal):
            raise UnsupportedShape("sh:sparql without one sh:select (e.g. sh:ask)", node)
        text = str(select)
        check_select(text, node)
        start = outer_group_start(text, node)
        source = self._source(shape, None, focus, self._one(node, SH.message))
        constraint = SparqlConstraint(source, focus, self._prefixes(node), text[:start + 1], text[start + 1:])
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
