"""Other constraint components, https://www.w3.org/TR/shacl/#core-components-others.

sh:hasValue (an IRI or a literal): a constraint of a shape with targets, and a test of one value node
inside sh:or/sh:not; sh:in, a test of one value node (sh:closed is refused). Values compare as terms
(sameTerm), as pySHACL compares rdflib terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from rdflib import Literal, URIRef

from kg.build.report import Violation
from kg.build.shacl.base import Constraint, Focus, Run, Source, Test


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
