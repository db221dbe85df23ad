"""Property pair constraint components, https://www.w3.org/TR/shacl/#core-components-property-pairs.

sh:equals and sh:disjoint: the value nodes (the focus node itself on a node shape, the values of the
path on a property shape) against the values of another predicate at the focus node, compared as
terms, as pySHACL compares rdflib terms. sh:lessThan and sh:lessThanOrEquals (property shapes): the
store finds the pairs of values, and Python orders each pair as pySHACL does, with rdflib's ordering
of terms (IRIs and strings as strings, a string never comparable with anything else; SPARQL's "<"
differs on literals of different datatypes); a result per failing pair, as pySHACL reports them. A
blank node in a pair is refused when the shapes run (pySHACL stops with an error on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.build.report import Violation
from kg.build.shacl.base import Constraint, Focus, Run, Source, UnsupportedShape, path_used
from kg.terms import to_rdflib


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


@dataclass(frozen=True)
class OrderConstraint(Constraint):
    """sh:lessThan (``or_equal`` False) or sh:lessThanOrEquals: each value of the path against each value
    of ``other`` at the focus node."""

    source: Source
    focus: Focus
    other: URIRef
    or_equal: bool

    def query(self, run: Run) -> str:
        return (f"SELECT ?this ?value ?other WHERE {{ ?this {self.source.path.n3()} ?value . ?this {self.other.n3()} ?other "
                f"FILTER({self.focus.contains('?this', run)}) }}")

    def may_fail(self, run: Run) -> bool:
        return super().may_fail(run) and self.other.n3() in run.used

    def violations(self, run: Run) -> Iterator[Violation]:
        component = "LessThanOrEqualsConstraintComponent" if self.or_equal else "LessThanConstraintComponent"
        seen: set[tuple[Node, ...]] = set()
        for row in run.query(self.query(run)):
            read = (to_rdflib(row["this"]), to_rdflib(row["value"]), to_rdflib(row["other"]))
            if read in seen:  # terms rdflib reads as one are one pair to pySHACL
                continue
            seen.add(read)
            if not _ordered(read[1], read[2], self.or_equal):
                yield self.source.violation(component, row["this"], row["value"])


def _ordered(value: Node, other: Node, or_equal: bool) -> bool:
    """pySHACL's LessThan(OrEquals)ConstraintComponent on one pair of rdflib terms."""
    if isinstance(value, BNode) or isinstance(other, BNode):
        raise UnsupportedShape("sh:lessThan or sh:lessThanOrEquals comparing a blank node")
    a, a_string = _comparable(value)
    b, b_string = _comparable(other)
    if a_string != b_string:
        return False
    return bool(a <= b) if or_equal else bool(a < b)


def _comparable(term: Node) -> tuple[object, bool]:
    """What pySHACL compares: the string of an IRI or of a string literal, else the rdflib literal itself."""
    if isinstance(term, URIRef):
        return str(term), True
    if isinstance(term, Literal) and isinstance(term.value, str):
        return term.value, True
    return term, False
