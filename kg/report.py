"""Validation results as named objects, independent of how they were found (SHACL or checks)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

SEVERITY_ORDER = {"Info": 0, "Warning": 1, "Violation": 2}


@dataclass(frozen=True)
class Violation:
    """One problem: what rule, on which node and path, with which value."""

    severity: str
    message: str
    focus: str
    path: str | None
    value: str | None
    component: str
    shape: str | None
    focus_label: str | None = None


@dataclass
class ValidationReport:
    results: list[Violation] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return not any(r.severity == "Violation" for r in self.results)

    def at_least(self, severity: str) -> list[Violation]:
        floor = SEVERITY_ORDER[severity]
        return [r for r in self.results if SEVERITY_ORDER.get(r.severity, 2) >= floor]

    def to_text(self) -> str:
        if not self.results:
            return "Conforms: no violations.\n"
        lines = []
        for r in self.results:
            who = f"{r.focus_label} <{r.focus}>" if r.focus_label else f"<{r.focus}>"
            lines.append(f"{r.severity}: {who}")
            if r.path:
                lines.append(f"  path:  {r.path}")
            if r.value is not None:
                lines.append(f"  value: {r.value}")
            lines.append(f"  rule:  {r.component}" + (f" (shape {r.shape})" if r.shape else ""))
            lines.append(f"  {r.message}")
        counts = {s: sum(r.severity == s for r in self.results) for s in ("Violation", "Warning", "Info")}
        lines.append(", ".join(f"{n} {s.lower()}(s)" for s, n in counts.items() if n))
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        return json.dumps({"conforms": self.conforms, "results": [asdict(r) for r in self.results]}, indent=2)
