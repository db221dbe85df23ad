"""Value range constraint components, https://www.w3.org/TR/shacl/#core-components-range.

sh:minInclusive, sh:maxInclusive, sh:minExclusive and sh:maxExclusive, tests of one value node. Each is
an UncertainTest: SPARQL compares the integers and decimals written plainly with a numeric bound, and
rdflib compares the other literals, as pySHACL does.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Callable

from rdflib import Literal
from rdflib.namespace import SH, XSD
from rdflib.term import Node

from kg.build.shacl.base import UncertainTest, string


@dataclass(frozen=True)
class Bound:
    """One kind of bound: its SPARQL operator, and whether a value equal to the bound passes."""
    component: str
    sparql: str
    compare: Callable[[object, object], bool]
    inclusive: bool


#: The bound parameters of SHACL 4.3, each with how a value must compare to it.
BOUNDS = {
    SH.minInclusive: Bound("MinInclusiveConstraintComponent", ">=", operator.gt, True),
    SH.maxInclusive: Bound("MaxInclusiveConstraintComponent", "<=", operator.lt, True),
    SH.minExclusive: Bound("MinExclusiveConstraintComponent", ">", operator.gt, False),
    SH.maxExclusive: Bound("MaxExclusiveConstraintComponent", "<", operator.lt, False),
}


@dataclass(frozen=True)
class RangeTest(UncertainTest):
    bound: Literal
    kind: Bound

    @property
    def component(self) -> str:  # type: ignore[override]
        return self.kind.component

    def known(self, x: str) -> str:
        if not isinstance(self.bound.value, (int, Decimal)) or isinstance(self.bound.value, bool):
            return f"!isLiteral({x})"
        number = string(r"^[+-]?[0-9]+([.][0-9]+)?$")
        return (f"!isLiteral({x}) || (DATATYPE({x}) IN ({XSD.integer.n3()}, {XSD.decimal.n3()}) "
                f"&& REGEX(STR({x}), {number}))")

    def verdict(self, x: str) -> str:
        return f"isLiteral({x}) && {x} {self.kind.sparql} {self.bound.n3()}"

    def decide(self, value: Node) -> bool:
        """pySHACL's constraint component on one value (its compare_literal against the bound)."""
        if not isinstance(value, Literal) or isinstance(value.value, str) != isinstance(self.bound.value, str):
            return False
        try:
            if value.eq(self.bound):
                return self.kind.inclusive
            if type(value.value) in (datetime, time):
                return self.kind.compare(value.value, self.bound.value) or (
                    self.kind.inclusive and value.value == self.bound.value)
            return bool(self.kind.compare(value, self.bound))
        except (TypeError, NotImplementedError):
            return False
