"""Value range constraint components, https://www.w3.org/TR/shacl/#core-components-range.

sh:minInclusive, a test of one value node (the other bounds are refused). It is an UncertainTest:
SPARQL compares the integers and decimals written plainly with a numeric bound, and rdflib compares
the other literals, as pySHACL does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from rdflib import Literal
from rdflib.namespace import XSD
from rdflib.term import Node

from kg.build.shacl.base import UncertainTest, string


@dataclass(frozen=True)
class MinInclusiveTest(UncertainTest):
    bound: Literal
    component = "MinInclusiveConstraintComponent"

    def known(self, x: str) -> str:
        if not isinstance(self.bound.value, (int, Decimal)) or isinstance(self.bound.value, bool):
            return f"!isLiteral({x})"
        number = string(r"^[+-]?[0-9]+([.][0-9]+)?$")
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
