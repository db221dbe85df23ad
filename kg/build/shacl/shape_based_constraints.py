"""Shape-based constraint components, https://www.w3.org/TR/shacl/#core-components-shape.

A shape inside sh:node, sh:not, sh:and, sh:or or sh:xone, as a test of the value node it is applied
to: a node shape holds when all its tests hold, a property shape (its sh:property) when each of its
constraints holds on the values of its path. sh:node is such a test of its own;
sh:qualifiedValueShape (with sh:qualifiedMinCount/MaxCount and sh:qualifiedValueShapesDisjoint) a
constraint of a property shape with targets, counting the values that conform.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Literal, URIRef

from typing import Iterator

from kg.build.report import Violation
from kg.build.shacl.base import Constraint, Focus, Run, Source, Test
from kg.build.shacl.cardinality_constraints import distinct_values
from kg.build.shacl.paths import SparqlPath


@dataclass(frozen=True)
class ShapeTest(Test):
    """A node shape inside sh:or/sh:not: all its tests hold (a deactivated shape has none)."""

    tests: tuple[Test, ...]

    def passes(self, x: str, run: Run) -> str:
        return "(" + " && ".join([t.passes(x, run) for t in self.tests] or ["true"]) + ")"


@dataclass(frozen=True)
class PropertyTest(Test):
    """A property shape inside sh:or/sh:not: every constraint holds on the values of its path."""

    path: URIRef | SparqlPath
    min_count: int
    max_count: int | None
    unique_lang: bool
    has_values: tuple[URIRef | Literal, ...]
    tests: tuple[Test, ...]

    def passes(self, x: str, run: Run) -> str:
        p = self.path.n3()
        parts = []
        if self.min_count > 0:
            parts.append(f"EXISTS {{ {distinct_values(x, p, self.min_count, run)} }}")
        if self.max_count is not None:
            parts.append(f"NOT EXISTS {{ {distinct_values(x, p, self.max_count + 1, run)} }}")
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
class NodeTest(Test):
    """sh:node: the value node conforms to the shape (only the sh:node result is reported, as pySHACL does)."""

    shape: Test
    component = "NodeConstraintComponent"

    def passes(self, x: str, run: Run) -> str:
        return self.shape.passes(x, run)


@dataclass(frozen=True)
class QualifiedCountConstraint(Constraint):
    """sh:qualifiedMinCount (``at_most`` False) or sh:qualifiedMaxCount: the number of distinct values that
    conform to the qualified value shape and, with sh:qualifiedValueShapesDisjoint, to none of its siblings."""

    source: Source
    focus: Focus
    shape: Test
    siblings: tuple[Test, ...]
    count: int
    at_most: bool

    @property
    def needs_values(self) -> bool:
        return self.at_most

    def query(self, run: Run) -> str:
        p = self.source.path.n3()
        counted = " && ".join([self.shape.passes("?v", run)] + [f"!({s.passes('?v', run)})" for s in self.siblings])
        if self.at_most:
            return (f"SELECT ?this WHERE {{ {{ SELECT ?this WHERE {{ ?this {p} ?v FILTER({counted}) }} GROUP BY ?this "
                    f"HAVING (COUNT(DISTINCT ?v) > {self.count}) }} FILTER({self.focus.contains('?this', run)}) }}")
        return (f"SELECT ?this WHERE {{ {self.focus.enumerate(run)} OPTIONAL {{ ?this {p} ?v FILTER({counted}) }} }} "
                f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) < {self.count})")

    def violations(self, run: Run) -> Iterator[Violation]:
        component = "QualifiedMaxCountConstraintComponent" if self.at_most else "QualifiedMinCountConstraintComponent"
        for row in run.query(self.query(run)):
            yield self.source.violation(component, row["this"], None)
