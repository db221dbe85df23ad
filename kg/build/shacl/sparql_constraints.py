"""SPARQL-based constraints, https://www.w3.org/TR/shacl/#sparql-constraints.

sh:sparql with a sh:select, on a node shape. The query runs once, the focus nodes joined at the
start of its WHERE clause (:func:`outer_group_start`); :func:`check_select` refuses what that would
change (MINUS, VALUES, SERVICE, subqueries, pre-bound variables other than $this). Messages are
filled from each result row as pySHACL fills them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import pyoxigraph as ox
from rdflib.term import Node

from kg.build.report import Violation
from kg.build.shacl.base import Constraint, Focus, Run, Source, UnsupportedShape
from kg.terms import to_rdflib


@dataclass(frozen=True)
class SparqlConstraint(Constraint):
    """sh:sparql: the select query with the focus nodes joined first; one result per distinct row."""

    source: Source
    focus: Focus
    prefixes: str
    before: str  # the query up to and including the opening brace of its WHERE clause
    after: str

    def query(self, run: Run) -> str:
        return self.render(self.focus.enumerate(run))

    def render(self, focus: str) -> str:
        return f"{self.prefixes}{self.before} {focus} {self.after}"

    def violations(self, run: Run) -> Iterator[Violation]:
        solutions = run.query(self.query(run))
        names = [v.value for v in solutions.variables]
        seen = set()
        for row in solutions:
            bound = tuple((name, row[name]) for name in names if row[name] is not None)
            if bound in seen:
                continue
            seen.add(bound)
            values = dict(bound)
            this, path = values["this"], values.get("path")
            value = values.get("value", this)  # pySHACL reports the focus node when ?value is not bound
            bindings = [(n, t) for n, t in bound if n not in ("this", "path", "value")] + [("this", this)]
            bindings += [("path", path)] if path is not None else []
            filled = _fill(self.source.message, bindings + [("value", value)])
            yield self.source.violation("SPARQLConstraintComponent", this, value, message=filled, path=path)


def _fill(message: str, bindings: list[tuple[str, ox.Term]]) -> str:
    """pySHACL's filling of {?var}/{$var} in a SPARQL constraint's message (re.sub, in its order)."""
    for name, term in bindings:
        message = re.sub("{{[?$]{}}}".format(name), str(to_rdflib(term)), message)
    return message


#: What a SHACL-SPARQL query may not use here: pySHACL refuses the first three, the rest are pre-bound or special.
_REFUSED_IN_SELECT = [
    (re.compile(r"(?<![\w:?$-])MINUS\b", re.I), "MINUS in sh:select"),
    (re.compile(r"(?<![\w:?$-])VALUES\b", re.I), "VALUES in sh:select"),
    (re.compile(r"(?<![\w:?$-])SERVICE\b", re.I), "SERVICE in sh:select"),
    (re.compile(r"(?<![\w:?$-])SELECT\b[\s\S]*(?<![\w:?$-])SELECT\b", re.I), "a subquery in sh:select"),
    (re.compile(r"[?$](PATH|shapesGraph|currentShape|failure)\b"), "$PATH, $shapesGraph, $currentShape or ?failure in sh:select"),
]


def check_select(text: str, node: Node) -> None:
    """UnsupportedShape if the query uses what cannot run here (_REFUSED_IN_SELECT) or does not use $this."""
    code = _without_comments_and_strings(text)
    for pattern, feature in _REFUSED_IN_SELECT:
        if pattern.search(code):
            raise UnsupportedShape(feature, node)
    if not re.search(r"[?$]this\b", code):
        raise UnsupportedShape("a sh:select that does not use $this", node)


def _without_comments_and_strings(text: str) -> str:
    """The query with comments and string literals blanked out (same length), for keyword checks."""
    token = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*')
    return token.sub(lambda m: " " * len(m.group(0)), text)


def outer_group_start(text: str, node: Node) -> int:
    """Where the WHERE clause's group opens: the first brace outside comments and strings."""
    start = _without_comments_and_strings(text).find("{")
    if start < 0:
        raise UnsupportedShape("a sh:select without a WHERE clause", node)
    return start
