"""What a SPARQL request asks for, decided before any engine sees it.

The endpoint faces the public internet, and both rdflib's and Oxigraph's engines will make outbound
requests (SERVICE, LOAD) or resolve FROM IRIs if asked. So every query is first read by a small
lexer that knows SPARQL's strings, IRIs and comments, and refused when it is an update, calls a
SERVICE that is not allow-listed, names a graph we do not publish, or nests deeper than a parser
should be asked to recurse. The engine then runs with an explicit dataset (our graphs only).
https://www.w3.org/TR/sparql11-protocol/#query-operation
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kg.namespaces import PREFIXES

#: Keywords that only occur in SPARQL Update. https://www.w3.org/TR/sparql11-update/#grammar
UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"})
QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][\w\u00B7\u0300-\u036F\u203F-\u2040]+)
  | (?P<pname>[A-Za-z][\w.-]*?:[^\s{}()\[\];,.]*(?<!\.)|:[^\s{}()\[\];,]*(?<!\.))
  | (?P<word>[A-Za-z_][\w-]*)
  | (?P<open>[{(\[])
  | (?P<close>[})\]])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class QueryRefused(Exception):
    """A request we will not run; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class QueryPlan:
    """The facts about a query text the endpoint needs before running it."""

    form: str | None = None
    updates: list[str] = field(default_factory=list)
    from_graphs: list[str] = field(default_factory=list)
    from_named: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    max_depth: int = 0


def analyse(text: str) -> QueryPlan:
    """Read a query's tokens; syntax errors are left to the engine, which reports them precisely."""
    plan = QueryPlan()
    prefixes = dict(PREFIXES)
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text) if m.lastgroup not in ("ws", "comment")]
    depth = 0
    for i, (kind, value) in enumerate(tokens):
        if kind == "open":
            depth += 1
            plan.max_depth = max(plan.max_depth, depth)
        elif kind == "close":
            depth -= 1
        elif kind == "word":
            keyword = value.upper()
            if keyword in UPDATE_KEYWORDS:
                plan.updates.append(keyword)
            elif keyword in QUERY_FORMS and plan.form is None:
                plan.form = keyword
            elif keyword == "PREFIX" and i + 2 < len(tokens) and tokens[i + 2][0] == "iri":
                prefixes[tokens[i + 1][1].rstrip(":")] = tokens[i + 2][1][1:-1]
            elif keyword == "FROM":
                named = i + 1 < len(tokens) and tokens[i + 1][1].upper() == "NAMED"
                target = _resolve(tokens, i + (2 if named else 1), prefixes)
                (plan.from_named if named else plan.from_graphs).append(target)
            elif keyword == "SERVICE":
                silent = i + 1 < len(tokens) and tokens[i + 1][1].upper() == "SILENT"
                plan.services.append(_resolve(tokens, i + (2 if silent else 1), prefixes))
    return plan


def _resolve(tokens: list[tuple[str | None, str]], index: int, prefixes: dict[str, str]) -> str:
    """The IRI at ``tokens[index]`` (an IRI or a prefixed name), or the token itself (a variable)."""
    if index >= len(tokens):
        return ""
    kind, value = tokens[index]
    if kind == "iri":
        return value[1:-1]
    if kind == "pname":
        prefix, _, local = value.partition(":")
        return prefixes.get(prefix, value.split(":", 1)[0] + ":") + local
    return value


def check(plan: QueryPlan, published_graphs: set[str], service_allowlist: frozenset[str], max_depth: int) -> None:
    """Raise QueryRefused for anything a read-only public endpoint must not run."""
    if plan.updates:
        raise QueryRefused(403, f"This endpoint is read-only: SPARQL Update ({', '.join(sorted(set(plan.updates)))}) is not accepted.")
    if plan.max_depth > max_depth:
        raise QueryRefused(400, f"The query nests groups {plan.max_depth} deep; at most {max_depth} levels are accepted.")
    blocked = [s for s in plan.services if s not in service_allowlist]
    if blocked:
        raise QueryRefused(403, f"SERVICE {blocked[0]} is not allowed: this endpoint does not send queries to other services"
                           + (" outside its allow-list." if service_allowlist else "."))
    for iri in plan.from_graphs + plan.from_named:
        if iri not in published_graphs:
            raise QueryRefused(400, f"Unknown graph <{iri}> in FROM: FROM and FROM NAMED only select graphs of this dataset, "
                               "listed in the service description (GET /sparql); nothing is fetched or read.")
