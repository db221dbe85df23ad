"""Logical constraint components, https://www.w3.org/TR/shacl/#core-components-logical.

sh:not and sh:or (sh:and and sh:xone are refused): tests of one value node, made of the tests of
their member shapes (shape_based_constraints).
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
