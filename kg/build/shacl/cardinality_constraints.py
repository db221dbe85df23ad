"""Cardinality constraint components, https://www.w3.org/TR/shacl/#core-components-count.

sh:minCount and sh:maxCount, on the distinct values of a property shape's path: a constraint of a
shape with targets, and (:func:`distinct_values`) a part of a property shape inside sh:or/sh:not.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterator

from kg.build.report import Violation
from kg.build.shacl.base import Constraint, Focus, Run, Source


@dataclass(frozen=True)
class CountConstraint(Constraint):
    """sh:minCount (``at_most`` False) or sh:maxCount: the number of distinct values of the path."""

    source: Source
    focus: Focus
    count: int
    at_most: bool

    @property
    def needs_values(self) -> bool:
        return self.at_most

    def query(self, run: Run) -> str:
        p = self.source.path.n3()
        if self.at_most:
            return (f"SELECT ?this WHERE {{ {{ SELECT ?this WHERE {{ ?this {p} ?v }} GROUP BY ?this "
                    f"HAVING (COUNT(DISTINCT ?v) > {self.count}) }} FILTER({self.focus.contains('?this', run)}) }}")
        if self.count == 1:
            return f"SELECT ?this WHERE {{ {self.focus.enumerate(run)} FILTER NOT EXISTS {{ ?this {p} ?v }} }}"
        return (f"SELECT ?this WHERE {{ {self.focus.enumerate(run)} OPTIONAL {{ ?this {p} ?v }} }} "
                f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) < {self.count})")

    def violations(self, run: Run) -> Iterator[Violation]:
        component = "MaxCountConstraintComponent" if self.at_most else "MinCountConstraintComponent"
        for row in run.query(self.query(run)):
            yield self.source.violation(component, row["this"], None)


def distinct_values(x: str, p: str, n: int, run: Run) -> str:
    """A pattern matching when ``x`` has at least ``n`` distinct values of ``p``."""
    names = [run.fresh() for _ in range(n)]
    different = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(names, 2)]
    return f"{x} {p} {', '.join(names)} ." + (f" FILTER({' && '.join(different)})" if different else "")
