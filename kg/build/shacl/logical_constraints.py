"""Logical constraint components, https://www.w3.org/TR/shacl/#core-components-logical.

sh:not, sh:and, sh:or and sh:xone: tests of one value node, made of the tests of their member shapes
(shape_based_constraints).
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.build.shacl.base import Run, Test


@dataclass(frozen=True)
class NotTest(Test):
    shape: Test
    component = "NotConstraintComponent"

    def passes(self, x: str, run: Run) -> str:
        return f"!({self.shape.passes(x, run)})"


@dataclass(frozen=True)
class OrTest(Test):
    shapes: tuple[Test, ...]
    component = "OrConstraintComponent"

    def passes(self, x: str, run: Run) -> str:
        return "(" + " || ".join(s.passes(x, run) for s in self.shapes) + ")"


@dataclass(frozen=True)
class AndTest(Test):
    shapes: tuple[Test, ...]
    component = "AndConstraintComponent"

    def passes(self, x: str, run: Run) -> str:
        return "(" + " && ".join(s.passes(x, run) for s in self.shapes) + ")"


@dataclass(frozen=True)
class XoneTest(Test):
    """Exactly one member shape holds (a member listed twice counts twice, as pySHACL counts it)."""

    shapes: tuple[Test, ...]
    component = "XoneConstraintComponent"

    def passes(self, x: str, run: Run) -> str:
        return "((" + " + ".join(f"IF({s.passes(x, run)}, 1, 0)" for s in self.shapes) + ") = 1)"
