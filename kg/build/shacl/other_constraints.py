"""Other constraint components, https://www.w3.org/TR/shacl/#core-components-others.

sh:hasValue (an IRI or a literal): a constraint of a shape with targets, and a test of one value node
inside sh:or/sh:not; sh:in, a test of one value node; sh:closed with sh:ignoredProperties, a constraint
of a node shape with targets. Values compare as terms (sameTerm), as pySHACL compares rdflib terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from rdflib import Literal, URIRef
from rdflib.term import Node

from kg.build.report import Violation
from kg.build.shacl.base import Constraint, Focus, Run, Source, Test
from kg.terms import to_rdflib


@dataclass(frozen=True)
class HasValueConstraint(Constraint):
    """sh:hasValue: the path has that value (without a path: the focus node is it)."""

    source: Source
    focus: Focus
    value: URIRef | Literal
    needs_values = False

    def query(self, run: Run) -> str:
        if self.source.path is None:
            missing = f"FILTER(!sameTerm(?this, {self.value.n3()}))"
        else:
            missing = f"FILTER NOT EXISTS {{ ?this {self.source.path.n3()} {self.value.n3()} }}"
        return f"SELECT ?this WHERE {{ {self.focus.enumerate(run)} {missing} }}"

    def violations(self, run: Run) -> Iterator[Violation]:
        for row in run.query(self.query(run)):
            yield self.source.violation("HasValueConstraintComponent", row["this"], None)


@dataclass(frozen=True)
class SameTermTest(Test):
    """sh:hasValue on a shape inside sh:or/sh:not: the value node is that term."""

    value: URIRef | Literal
    component = "HasValueConstraintComponent"

    def passes(self, x: str, run: Run) -> str:
        return f"sameTerm({x}, {self.value.n3()})"


@dataclass(frozen=True)
class InTest(Test):
    """sh:in: the value node is one of the listed terms (an empty list: none is)."""

    values: tuple[URIRef | Literal, ...]
    component = "InConstraintComponent"

    def passes(self, x: str, run: Run) -> str:
        return "(" + " || ".join([f"sameTerm({x}, {v.n3()})" for v in self.values] or ["false"]) + ")"


@dataclass(frozen=True)
class ClosedConstraint(Constraint):
    """sh:closed true: a result per triple of a focus node whose predicate is neither the IRI sh:path of one
    of the shape's sh:property shapes (deactivated ones included, as in pySHACL) nor sh:ignoredProperties."""

    source: Source
    focus: Focus
    allowed: tuple[URIRef, ...]
    needs_values = False

    def query(self, run: Run) -> str:
        allowed = f"FILTER(?p NOT IN ({', '.join(p.n3() for p in self.allowed)}))" if self.allowed else ""
        return f"SELECT ?this ?p ?value WHERE {{ {self.focus.enumerate(run)} ?this ?p ?value {allowed} }}"

    def violations(self, run: Run) -> Iterator[Violation]:
        seen: set[tuple[Node, ...]] = set()
        for row in run.query(self.query(run)):
            read = (to_rdflib(row["this"]), to_rdflib(row["p"]), to_rdflib(row["value"]))
            if read not in seen:  # as for value tests: terms rdflib reads as one are one triple to pySHACL
                seen.add(read)
                yield self.source.violation("ClosedConstraintComponent", row["this"], row["value"], path=row["p"])
