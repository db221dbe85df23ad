"""What a SPARQL request asks for, decided before any engine sees it.

The endpoint faces the public internet, and both rdflib's and Oxigraph's engines will make outbound
requests (SERVICE, LOAD) or resolve FROM IRIs if asked. So every query is first read here, once, and
refused when it is an update, calls a SERVICE that is not allow-listed, names a graph we do not
publish, or nests deeper than a parser should be asked to recurse; the same reading tells whether its
cost is bounded whatever the data, so that the HTTP process may answer it itself (:func:`_is_bounded`).
The engine then runs with an explicit dataset (our graphs only).
https://www.w3.org/TR/sparql11-protocol/#query-operation

The tokenizer (:func:`tokenize`) follows the terminals of the SPARQL 1.1 grammar,
https://www.w3.org/TR/sparql11-query/#terminals (§19.8, productions [139]-[173]), plus the ``\\u``
escapes Oxigraph also reads inside IRIREF, as SPARQL 1.2 does. A prefixed name becomes its prefix's
IRI followed by the local name with each PLX backslash removed (§4.1.1.1); relative IRIs are resolved
against BASE by RFC 3986 §5.2 without normalisation (§19.5), and only where that result is certain:
an IRI the guard cannot resolve exactly is refused, never guessed.

The reading that runs is the engine's, and Oxigraph's parser reads more than the grammar's
tokenizer would: it matches keywords without a word boundary (``SERVICEex:s``, ``FROMex:g``,
``trueSERVICE``, ``PREFIXex:``, ``ASKFROM``), falls back from a prefixed name whose IRI is invalid to
its prefix alone, and ends a local name at its second run of dots (``ex:a.b.c`` is ``ex:a.b`` ``.c``).
So the prologue and the query form are read as the engine reads them, and inside any name the guard
looks for SERVICE and FROM wherever the engine could start reading one (:func:`_starts`): every
target any of those readings names must pass the checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from kg.namespaces import PREFIXES

#: Keywords that only occur in SPARQL Update. https://www.w3.org/TR/sparql11-update/#grammar
UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"})
QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")

# --------------------------------------------------------------------------- terminals (§19.8)

_PN_CHARS_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
                  "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + r"\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_PN_PREFIX = f"[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?"
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
_PN_LOCAL = f"(?:[{_PN_CHARS_U}:0-9]|{_PLX})(?:(?:[{_PN_CHARS}.:]|{_PLX})*(?:[{_PN_CHARS}:]|{_PLX}))?"
_VARNAME = f"[{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*"
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_ECHAR = r"""\\[tbnrf"'\\]"""
_EXPONENT = r"[eE][+-]?[0-9]+"
_WS = "[ \t\r\n]"  # [162] WS: not Python's \s, which also takes form feeds and non-ASCII spaces

_TOKEN = re.compile(
    rf"""
    (?P<ws>{_WS}+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<string>'''(?:(?:''|')?(?:[^'\\]|{_ECHAR}|{_UCHAR}))*'''
             | \"\"\"(?:(?:\"\"|\")?(?:[^"\\]|{_ECHAR}|{_UCHAR}))*\"\"\"
             | '(?:[^'\\\n\r]|{_ECHAR}|{_UCHAR})*'
             | "(?:[^"\\\n\r]|{_ECHAR}|{_UCHAR})*")
  | (?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]|{_UCHAR})*>)
  | (?P<blank>_:[{_PN_CHARS_U}0-9](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?)
  | (?P<pname>(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?)
  | (?P<var>[?$]{_VARNAME})
  | (?P<langtag>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
  | (?P<number>[+-]?(?:[0-9]+\.[0-9]*{_EXPONENT}|\.[0-9]+{_EXPONENT}|[0-9]+{_EXPONENT}|[0-9]*\.[0-9]+|[0-9]+))
  | (?P<nil>\({_WS}*\))
  | (?P<anon>\[{_WS}*\])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>\^\^|.)
    """,
    re.VERBOSE | re.DOTALL,
)


class Token(NamedTuple):
    """One terminal: ``kind`` is the name of its group in ``_TOKEN``; ``word`` covers keywords and
    function names, ``punct`` any single character no other terminal takes (and ``^^``)."""

    kind: str
    text: str


def tokenize(text: str) -> list[Token]:
    """The terminals of ``text`` without whitespace and comments; it never fails, since a character
    no terminal takes is a ``punct`` token, and the engine reports syntax errors precisely."""
    return [Token(m.lastgroup, m.group()) for m in _TOKEN.finditer(text) if m.lastgroup not in ("ws", "comment")]


def _is_keyword(text: str, keyword: str) -> bool:
    """Whether ``text`` begins with ``keyword`` in any case, as the engine compares: ASCII only
    (``str.upper`` would also turn a dotless ı into I)."""
    head = text[: len(keyword)]
    return head.isascii() and head.upper() == keyword


def _is_word(token: Token, keyword: str) -> bool:
    return token.kind == "word" and len(token.text) == len(keyword) and _is_keyword(token.text, keyword)


# --------------------------------------------------------------------------- IRIs (§4.1.1, §19.5)

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_PARTS = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.DOTALL)  # RFC 3986 App. B
_NOT_IN_IRIREF = re.compile(r'[<>"{}|^`\\\x00-\x20]')
_UCHAR_ESCAPE = re.compile(_UCHAR)


def _unescape_iriref(text: str) -> str | None:
    """The IRI reference an IRIREF token writes, or None when one of its ``\\u`` escapes stands for a
    character an IRI cannot hold (the engine refuses those)."""
    try:
        iri = _UCHAR_ESCAPE.sub(lambda m: chr(int(m.group()[2:], 16)), text[1:-1])
    except (ValueError, OverflowError):
        return None
    if _NOT_IN_IRIREF.search(iri) or any(0xD800 <= ord(c) <= 0xDFFF for c in iri):
        return None
    return iri


def _has_dot_segment(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


def _join(base: str, reference: str) -> str | None:
    """RFC 3986 §5.2.2 for a relative ``reference``, or None where the result is not certain.

    Oxigraph's IRI library removes dot segments in some places and not in others, and has changed
    which between versions; so a path with ``.`` or ``..`` segments is not resolved, nor is a
    reference against a base with no ``/`` in its path, which few would write."""
    scheme, authority, path, query = _PARTS.fullmatch(base).group(1, 2, 3, 4)
    r_scheme, r_authority, r_path, r_query, r_fragment = _PARTS.fullmatch(reference).groups()
    if scheme is None or r_scheme is not None or _has_dot_segment(path) or _has_dot_segment(r_path):
        return None
    if r_authority is not None:
        authority, path, query = r_authority, r_path, r_query
    elif not r_path:
        query = query if r_query is None else r_query
    elif r_path.startswith("/"):
        path, query = r_path, r_query
    elif authority is not None and not path:
        path, query = "/" + r_path, r_query
    elif "/" in path:
        path, query = path[: path.rindex("/") + 1] + r_path, r_query
    else:
        return None
    if authority is None and path.startswith("//"):
        return None
    return (f"{scheme}:" + ("" if authority is None else f"//{authority}") + path
            + ("" if query is None else f"?{query}") + ("" if r_fragment is None else f"#{r_fragment}"))


@dataclass
class _Scope:
    """What the prologue declared, which prefixed names and relative IRIs are read against."""

    prefixes: dict[str, str | None] = field(default_factory=lambda: dict(PREFIXES))  # None: not certain
    has_base: bool = False
    base: str | None = None  # None with has_base: a BASE the guard could not resolve with certainty
    only_prefixes: bool = True  # no BASE or VERSION: the prologue the bounded grammar accepts

    def resolve(self, reference: str) -> str | None:
        """The IRI the engine makes of ``reference``, or None if the guard cannot be sure of it."""
        if _SCHEME.match(reference):
            # Alone, an absolute IRI is taken as written; against a base, dot segments may be removed.
            return reference if not (self.has_base and _has_dot_segment(_PARTS.fullmatch(reference).group(3))) else None
        return None if self.base is None else _join(self.base, reference)

    def iri(self, token: Token) -> str | None:
        """The IRI an ``iri`` or ``pname`` token names, or None (a variable, an undeclared prefix,
        anything the guard cannot resolve with certainty)."""
        if token.kind == "iri":
            reference = _unescape_iriref(token.text)
            return None if reference is None else self.resolve(reference)
        if token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            namespace = self.prefixes.get(prefix)
            return None if namespace is None else namespace + local.replace("\\", "")
        return None


# --------------------------------------------------------------------------- the prologue and the form


def _prefix_name(token: Token) -> str | None:
    """The prefix a PNAME_NS token declares, without its colon; None for any other token."""
    if token.kind != "pname" or token.text.index(":") != len(token.text) - 1:
        return None
    return token.text[:-1]


def _glued_prefix(token: Token) -> str | None:
    """The prefix in ``PREFIXex:``, which the engine reads as ``PREFIX ex:``."""
    if token.kind != "pname" or not _is_keyword(token.text, "PREFIX"):
        return None
    rest = tokenize(token.text[len("PREFIX"):])
    return _prefix_name(rest[0]) if len(rest) == 1 else None


def _read_prologue(tokens: list[Token]) -> tuple[_Scope, int]:
    """Read BASE, PREFIX and VERSION declarations as the engine does (§4.1.1; a later PREFIX of the
    same name wins, as in Oxigraph); return the scope and the index of the first token after them."""
    scope = _Scope()
    i = 0
    tokens = tokens + [Token("end", "")] * 3
    while True:
        head, nxt, third = tokens[i : i + 3]
        if _is_word(head, "BASE") and nxt.kind == "iri":
            reference = _unescape_iriref(nxt.text)
            scope.base = None if reference is None else scope.resolve(reference)
            scope.has_base, scope.only_prefixes, i = True, False, i + 2
        elif _is_word(head, "PREFIX") and _prefix_name(nxt) is not None and third.kind == "iri":
            scope.prefixes[_prefix_name(nxt)] = scope.iri(third)
            i += 3
        elif _glued_prefix(head) is not None and nxt.kind == "iri":
            scope.prefixes[_glued_prefix(head)] = scope.iri(nxt)
            i += 2
        elif _is_word(head, "VERSION") and nxt.kind == "string":
            scope.only_prefixes, i = False, i + 2
        else:
            return scope, i


def _split_form(token: Token) -> list[Token] | None:
    """The query form keyword and what is glued to it (``ASKFROM<g>`` is ``ASK FROM <g>``), or None."""
    if token.kind not in ("word", "pname"):
        return None
    for form in QUERY_FORMS:
        if _is_keyword(token.text, form):
            return [Token("word", form)] + tokenize(token.text[len(form):])
    return None


# --------------------------------------------------------------------------- where the engine may read a keyword

#: Literals the engine reads without a word boundary that may end a triple right before a SERVICE.
_SERVICE_GLUE = ("TRUE", "FALSE")


def _starts(token: Token) -> Iterator[str]:
    """Each suffix of a name at which the engine may begin a new token: the start; after a colon
    (a PNAME_LN with an invalid IRI falls back to PNAME_NS and the rest is read anew); after a dot
    (the engine ends a local name at its second run of dots)."""
    if token.kind not in ("word", "pname"):
        return
    yield token.text
    for i, char in enumerate(token.text):
        if char in ":.":
            yield token.text[i + 1 :]


def _after_keyword(stream: list[Token], keyword: str, glue: tuple[str, ...] = ()) -> Iterator[list[Token]]:
    """For each place the engine could read ``keyword`` (after one of ``glue``) in ``stream[0]``, the
    tokens it would read next."""
    if not stream:
        return
    for text in _starts(stream[0]):
        for prefix in ("", *glue):
            if _is_keyword(text, prefix + keyword):
                yield tokenize(text[len(prefix) + len(keyword):]) + stream[1:]


def _service_targets(stream: list[Token]) -> Iterator[Token]:
    """The endpoints of each ``SERVICE [SILENT] VarOrIri {`` the engine could read at ``stream[0]``."""
    for after in _after_keyword(stream, "SERVICE", _SERVICE_GLUE):
        for rest in (after, *_after_keyword(after, "SILENT")):
            if len(rest) >= 2 and rest[0].kind in ("iri", "pname", "var") and rest[1] == Token("punct", "{"):
                yield rest[0]


def _from_targets(stream: list[Token]) -> Iterator[tuple[bool, Token]]:
    """(named, graph) for each ``FROM [NAMED] iri`` the engine could read at ``stream[0]``."""
    for after in _after_keyword(stream, "FROM"):
        for rest in _after_keyword(after, "NAMED"):
            if rest and rest[0].kind in ("iri", "pname"):
                yield True, rest[0]
        if after and after[0].kind in ("iri", "pname"):
            yield False, after[0]


# --------------------------------------------------------------------------- the plan


class QueryRefused(Exception):
    """A request we will not run; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class QueryPlan:
    """The facts about a query text the endpoint needs before running it.

    ``services``, ``from_graphs`` and ``from_named`` hold the IRIs the engine would use; a target the
    guard could not resolve with certainty is kept as written and also listed in ``unresolved``.
    ``bounded``: the query may run in the HTTP process (:func:`_is_bounded`).
    """

    form: str | None = None
    updates: list[str] = field(default_factory=list)
    from_graphs: list[str] = field(default_factory=list)
    from_named: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    max_depth: int = 0
    bounded: bool = False
    unresolved: list[str] = field(default_factory=list)

    def _add(self, targets: list[str], token: Token, scope: _Scope) -> None:
        iri = scope.iri(token)
        if iri is None:
            self.unresolved.append(token.text)
        targets.append(token.text if iri is None else iri)


def analyse(text: str) -> QueryPlan:
    """Read a query's tokens once; syntax errors are left to the engine, which reports them precisely."""
    tokens = tokenize(text)
    scope, start = _read_prologue(tokens)
    form = _split_form(tokens[start]) if start < len(tokens) else None
    if form is not None:
        tokens[start : start + 1] = form
    plan = QueryPlan(form=form[0].text if form else None, max_depth=_max_depth(tokens))
    plan.updates = [t.text.upper() for t in tokens if t.kind == "word" and t.text.upper() in UPDATE_KEYWORDS]
    braces = 0
    for i in range(start, len(tokens)):
        stream = tokens[i : i + 4]
        for target in _service_targets(stream):
            plan._add(plan.services, target, scope)
        if braces == 0:  # FROM belongs to the query, before its WHERE clause: never inside a group
            for named, graph in _from_targets(stream):
                plan._add(plan.from_named if named else plan.from_graphs, graph, scope)
        braces += {"{": 1, "}": -1}.get(tokens[i].text, 0) if tokens[i].kind == "punct" else 0
    plan.bounded = form is not None and scope.only_prefixes and _is_bounded(tokens[start:])
    return plan


def _max_depth(tokens: list[Token]) -> int:
    """How deep groups, brackets and parentheses nest, at most.

    Where the engine expects an operator it reads ``<`` as less-than, so ``1<((((1>0))))`` nests
    four deep though ``<((((1>`` is a lexical IRIREF: the brackets inside an IRI count too, as an
    upper bound (a real IRI holds few)."""
    depth = deepest = 0
    for token in tokens:
        if token.kind == "punct" and token.text in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif token.kind == "punct" and token.text in "})]":
            depth -= 1
        elif token.kind in ("nil", "anon"):
            deepest = max(deepest, depth + 1)
        elif token.kind == "iri":
            level = highest = 0
            for char in token.text:
                level += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
                highest = max(highest, level)
            deepest = max(deepest, depth + highest)
            depth += max(level, 0)
    return deepest


def check(plan: QueryPlan, published_graphs: set[str], service_allowlist: frozenset[str], max_depth: int,
          protocol_dataset: bool = False) -> None:
    """Raise QueryRefused for anything a read-only public endpoint must not run.

    With ``protocol_dataset`` (the request has ``default-graph-uri`` or ``named-graph-uri``) the query's
    FROM and FROM NAMED are not checked: the protocol's dataset replaces them (SPARQL 1.1 Protocol
    §2.1.4), the engine is given that dataset, and it never reads the graphs FROM names."""
    if plan.updates:
        raise QueryRefused(403, f"This endpoint is read-only: SPARQL Update ({', '.join(sorted(set(plan.updates)))}) is not accepted.")
    if plan.max_depth > max_depth:
        raise QueryRefused(400, f"The query nests groups {plan.max_depth} deep; at most {max_depth} levels are accepted.")
    blocked = [s for s in plan.services if s not in service_allowlist or s in plan.unresolved]
    if blocked:
        raise QueryRefused(403, f"SERVICE {blocked[0]} is not allowed: this endpoint does not send queries to other services"
                           + (" outside its allow-list." if service_allowlist else "."))
    for iri in [] if protocol_dataset else plan.from_graphs + plan.from_named:
        if iri not in published_graphs or iri in plan.unresolved:
            raise QueryRefused(400, f"Unknown graph <{iri}> in FROM: FROM and FROM NAMED only select graphs of this dataset, "
                               "listed in the service description (GET /sparql); nothing is fetched or read.")


# --------------------------------------------------------------------------- bounded queries, answered inline


def _is_bounded(tokens: list[Token]) -> bool:
    """True when the query's cost is bounded by the row cap, whatever the data: it may run inline.

    ``tokens`` start at the query form; the caller has checked that the prologue declares prefixes
    only. Accepted, and nothing else (keywords in any case; comments and whitespace anywhere)::

        PREFIX p: <iri> ...                      (no BASE)
        SELECT * | SELECT ?v ...                 (no DISTINCT/REDUCED, no expressions, no FROM)
        or ASK
        [WHERE] { }  or  [WHERE] { s p o [.] }   one triple pattern: s an IRI or variable, p an IRI,
                                                 variable or `a`, o an IRI, variable or literal;
                                                 no variable twice, no blank node, no path
        [LIMIT n]                                (SELECT only; no OFFSET, ORDER BY, GROUP BY, VALUES)

    Why that is bounded: Oxigraph answers one triple pattern over the snapshot's union (the
    protocol's dataset parameters and FROM are excluded by the caller and by this grammar) by
    one lazy range scan of one of its indexes per graph of the union (two), the range fixed by the
    pattern's bound terms: every step of a scan yields a solution, at O(1) cost. Nothing reads solutions it does not
    return: no FILTER, join, DISTINCT, ORDER BY, GROUP BY or aggregate, OFFSET, property path, or
    repeated variable (``?x ?p ?x`` would scan every triple to keep those whose subject is their
    object). The row cap stops the writer after ``max_rows + 1`` solutions, and ASK after the
    first. So the work is O(length of the query + max_rows) — milliseconds — on any data.

    The reading is deliberately stricter than SPARQL: anything it does not recognise (blank nodes,
    long strings, escapes other than ``\\t`` ``\\n``…, non-ASCII names, names with ``\\`` or ``%``
    escapes, signed numbers, `;` and `,` lists) makes it answer False, and the query goes to a
    killable worker like any other. A signed number matters: Oxigraph reads ``?s ex:p +1`` as the
    path ``ex:p+`` to the object 1. Otherwise a disagreement with the engine's reading can only turn
    a query we accepted into a syntax error (400), never into a different, unbounded query: ``{``,
    ``}`` and ``.`` outside IRIs and strings are read alike, and where the engine reads one of these
    names as two tokens (see the module docstring), its pattern has a term too many.
    """
    tokens = tokens + [Token("end", "")] * 4  # lookahead never runs off the end
    i = 0

    def word(index: int, *keywords: str) -> bool:
        return any(_is_word(tokens[index], keyword) for keyword in keywords)

    if word(i, "SELECT"):
        form = "SELECT"
        i += 1
        if tokens[i] == Token("punct", "*"):
            i += 1
        elif _plain(tokens[i], "var"):
            while _plain(tokens[i], "var"):
                i += 1
        else:
            return False
    elif word(i, "ASK"):
        form = "ASK"
        i += 1
    else:
        return False
    if word(i, "WHERE"):
        i += 1
    if tokens[i] != Token("punct", "{"):
        return False
    i += 1
    if tokens[i] != Token("punct", "}"):
        subject, predicate, obj = tokens[i : i + 3]
        if not _plain(subject, "iri", "pname", "var"):
            return False
        if not _plain(predicate, "iri", "pname", "var") and predicate != Token("word", "a"):
            return False
        i += 2
        if _plain(obj, "string"):
            if tokens[i + 1].kind == "langtag":
                i += 1
            elif tokens[i + 1] == Token("punct", "^^"):
                if not _plain(tokens[i + 2], "iri", "pname"):
                    return False
                i += 2
        elif not (_plain(obj, "iri", "pname", "var") or obj in (Token("word", "true"), Token("word", "false"))
                  or (obj.kind == "number" and obj.text[0] not in "+-")):
            return False
        i += 1
        variables = [t.text[1:] for t in (subject, predicate, obj) if t.kind == "var"]
        if len(set(variables)) != len(variables):
            return False
        if tokens[i] == Token("punct", "."):
            i += 1
        if tokens[i] != Token("punct", "}"):
            return False
    i += 1
    if form == "SELECT" and word(i, "LIMIT"):
        if tokens[i + 1].kind != "number" or not tokens[i + 1].text.isdigit():
            return False
        i += 2
    return tokens[i].kind == "end"


def _plain(token: Token, *kinds: str) -> bool:
    """A token of one of ``kinds`` in the plain form the bounded grammar accepts: ASCII names
    without PLX escapes, IRIs without ``\\u`` escapes, short strings with ECHAR escapes only."""
    if token.kind not in kinds or not token.text.isascii():
        return False
    if token.kind == "pname":
        return "\\" not in token.text and "%" not in token.text
    if token.kind in ("iri", "string"):
        return "\\u" not in token.text and "\\U" not in token.text and not token.text.startswith(('"""', "'''"))
    return True
