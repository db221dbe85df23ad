"""Property pair constraint components, https://www.w3.org/TR/shacl/#core-components-property-pairs.

sh:equals and sh:disjoint: the value nodes (the focus node itself on a node shape, the values of the
path on a property shape) against the values of another predicate at the focus node, compared as
terms, as pySHACL compares rdflib terms. sh:lessThan and sh:lessThanOrEquals are refused: pySHACL
orders literals of different datatypes in ways of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from rdflib import URIRef

from kg.build.report import Violation
from kg.build.shacl.base import Constraint, Focus, Run, Source, path_used


@dataclass(frozen=True)
class PairConstraint(Constraint):
    """sh:equals (``equals`` True: a result per value on one side only) or sh:disjoint (a result per
    value node that is also a value of ``other``)."""

    source: Source
    focus: Focus
    other: URIRef
    equals: bool
    needs_values = False  # sh:equals reports values of the other predicate when the path has none

    def query(self, run: Run) -> str:
        q = self.other.n3()
        if self.source.path is None:
            if self.equals:
                return (f"SELECT ?this ?value WHERE {{ {{ SELECT ?this (?this AS ?value) WHERE {{ {self.focus.enumerate(run)} "
                        f"FILTER NOT EXISTS {{ ?this {q} ?this }} }} }} UNION {{ SELECT ?this ?value WHERE {{ "
                        f"{self.focus.enumerate(run)} ?this {q} ?value FILTER(!sameTerm(?value, ?this)) }} }} }}")
            return (f"SELECT ?this (?this AS ?value) WHERE {{ {self.focus.enumerate(run)} "
                    f"FILTER EXISTS {{ ?this {q} ?this }} }}")
        p = self.source.path.n3()
        if self.equals:
            pairs = (f"{{ ?this {p} ?value FILTER NOT EXISTS {{ ?this {q} ?value }} }} UNION "
                     f"{{ ?this {q} ?value FILTER NOT EXISTS {{ ?this {p} ?value }} }}")
        else:
            pairs = f"?this {p} ?value . ?this {q} ?value"
        return f"SELECT DISTINCT ?this ?value WHERE {{ {pairs} FILTER({self.focus.contains('?this', run)}) }}"

    def may_fail(self, run: Run) -> bool:
        """Without a value of either predicate, neither component reports anything on a property shape."""
        used = self.other.n3() in run.used or (self.source.path is not None and path_used(self.source.path, run))
        return not self.focus.is_empty(run) and (self.source.path is None or used)

    def violations(self, run: Run) -> Iterator[Violation]:
        component = "EqualsConstraintComponent" if self.equals else "DisjointConstraintComponent"
        for row in run.query(self.query(run)):
            yield self.source.violation(component, row["this"], row["value"])
