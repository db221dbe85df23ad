"""SPARQL results on the command line: an aligned table for people, the W3C formats for programs."""

from __future__ import annotations

import sys

import pyoxigraph as ox

from kg.namespaces import PREFIXES
from kg.formats import BY_NAME, RESULT_FORMATS, TURTLE
from kg.query.result_formats import write
from kg.query.store import QueryResult

#: ``kg query --format`` choices besides ``table``: the SELECT/ASK formats of the endpoint.
FORMAT_NAMES = [f.name for f in RESULT_FORMATS]


def serialize(result: QueryResult, fmt: str) -> bytes:
    """The whole result (no row cap); CONSTRUCT/DESCRIBE results are Turtle whatever ``fmt`` says."""
    if isinstance(result, ox.QueryTriples):
        return write(result, TURTLE, sys.maxsize, prefixes=PREFIXES).body
    if fmt == "table":
        return to_table(result).encode()
    return write(result, BY_NAME[fmt], sys.maxsize).body


def shorten(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> str:
    """A term as a person reads it: prefixed names, plain values for literals."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        for prefix, namespace in PREFIXES.items():
            if term.value.startswith(namespace) and "/" not in term.value[len(namespace):]:
                return f"{prefix}:{term.value[len(namespace):]}"
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value + (f"@{term.language}" if term.language else "")


def to_table(result: ox.QuerySolutions | ox.QueryBoolean) -> str:
    if isinstance(result, ox.QueryBoolean):
        return ("true" if bool(result) else "false") + "\n"
    names = [v.value for v in result.variables]
    rows = [[shorten(solution[name]) for name in names] for solution in result]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(names), line(["-" * w for w in widths])] + [line(r) for r in rows]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out) + "\n"
