"""Validation results as named objects, independent of how they were found (SHACL or checks)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: Our severities, ordered; SHACL's sh:Violation / sh:Warning / sh:Info map onto them.
SEVERITIES = ("info", "warning", "error")
FROM_SHACL = {"Violation": "error", "Warning": "warning", "Info": "info"}


@dataclass(frozen=True)
class Violation:
    """One problem: which rule, on which node and path, with which value, written where."""

    severity: str  # error | warning | info
    rule: str  # the rule in words
    message: str
    focus: str
    path: str | None
    value: str | None
    component: str  # the SHACL constraint component or our check's name, e.g. "sh:MinCountConstraintComponent", "kg:dangling-reference"
    shape: str | None = None
    focus_label: str | None = None
    origin: str = "asserted"  # asserted | inferred (found only in the closure after reasoning)
    file: str | None = None
    line: int | None = None

    def located(self, file: str | None, line: int | None) -> "Violation":
        return replace(self, file=file, line=line)

    def located_as(self, original: "Violation") -> "Violation":
        """``original`` with this violation's location."""
        return replace(original, file=self.file, line=self.line)


@dataclass
class ValidationReport:
    results: list[Violation] = field(default_factory=list)

    def at_least(self, severity: str) -> list[Violation]:
        floor = SEVERITIES.index(severity)
        return [r for r in self.results if SEVERITIES.index(r.severity) >= floor]

    @property
    def conforms(self) -> bool:
        return not self.at_least("error")

    def only_files(self, files: set[str]) -> "ValidationReport":
        """The problems located in the given files (the graph is still validated whole)."""
        return ValidationReport([r for r in self.results if r.file in files])
