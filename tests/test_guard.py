"""The request guard's one reading of a query: its tokens, the IRIs it resolves, what it refuses,
and whether the query is bounded; checked against rdflib's parser and against what Oxigraph does."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pyoxigraph as ox
import pytest
from rdflib import Variable
from rdflib.plugins.sparql.algebra import translateQuery, traverse
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from kg.query.guard import QueryRefused, Token, analyse, check, tokenize

EX = "http://example.org/"
G = "https://w3id.org/integrating-cities/graph/"
PUBLISHED = {G + "ontology", G + "inferred"}


def refusal(text: str, services: frozenset[str] = frozenset(), graphs: set[str] = PUBLISHED) -> int | None:
    """The status check() answers, or None when the query passes."""
    try:
        check(analyse(text), graphs, services, 64)
    except QueryRefused as refused:
        return refused.status
    return None


# --- the review's regression: a local name with a dot ---------------------------------------------

def test_service_reads_the_whole_local_name():
    text = f"PREFIX ex: <{EX}> SELECT * WHERE {{ SERVICE ex:a.b {{ ?s ?p ?o }} }}"
    assert analyse(text).services == [EX + "a.b"]
    assert refusal(text, frozenset({EX + "a"})) == 403
    assert refusal(text, frozenset({EX + "a.b"})) is None


def test_from_reads_the_whole_local_name():
    text = f"PREFIX ex: <{EX}> SELECT * FROM ex:graph.x FROM NAMED ex:graph.y WHERE {{ ?s ?p ?o }}"
    plan = analyse(text)
    assert (plan.from_graphs, plan.from_named) == ([EX + "graph.x"], [EX + "graph.y"])
    assert refusal(text, graphs={EX + "graph"}) == 400
    assert refusal(text, graphs={EX + "graph.x", EX + "graph.y"}) is None


# --- terminals (SPARQL 1.1 §19.8) ---------------------------------------------------------------

@pytest.mark.parametrize("text, tokens", [
    ("ex:a.b", [("pname", "ex:a.b")]),
    ("ex:a.", [("pname", "ex:a"), ("punct", ".")]),              # a local name does not end with a dot
    ("ex:a..b", [("pname", "ex:a..b")]),
    ("ex:1a", [("pname", "ex:1a")]),                             # it may start with a digit
    ("ex::a:", [("pname", "ex::a:")]),                           # or a colon, and hold colons
    (r"ex:a\.b\~\,", [("pname", r"ex:a\.b\~\,")]),               # PN_LOCAL_ESC
    ("ex:%41b", [("pname", "ex:%41b")]),                         # PERCENT
    ("ex:a%4", [("pname", "ex:a"), ("punct", "%"), ("number", "4")]),
    ("ex:a·b", [("pname", "ex:a·b")]),
    ("ex:·a", [("pname", "ex:"), ("punct", "·"), ("word", "a")]),  # U+00B7 is PN_CHARS, not PN_CHARS_U
    ("é.x:ü", [("pname", "é.x:ü")]),                             # PN_CHARS_BASE, dots inside a prefix
    ("ex:a×b", [("pname", "ex:a"), ("punct", "×"), ("word", "b")]),  # U+00D7 is outside PN_CHARS_BASE
    ("ex:\U00010000", [("pname", "ex:\U00010000")]),             # [#x10000-#xEFFFF]
    (":", [("pname", ":")]),
    ("_:b.c ?1a $x·", [("blank", "_:b.c"), ("var", "?1a"), ("var", "$x·")]),
    ('"x"@en-GB-1', [("string", '"x"'), ("langtag", "@en-GB-1")]),
    ('"x"@drop', [("string", '"x"'), ("langtag", "@drop")]),
    ("\"a\\\"b\" 'c\\'d' '''e''f''' \"\"\"g\"\"h\"\"\"",
     [("string", '"a\\"b"'), ("string", "'c\\'d'"), ("string", "'''e''f'''"), ('string', '"""g""h"""')]),
    ('"\\u0022 }"', [("string", '"\\u0022 }"')]),
    ("+1.5e3 -.5 1. 7E-2", [("number", "+1.5e3"), ("number", "-.5"), ("number", "1"), ("punct", "."),
                            ("number", "7E-2")]),
    ("( \n) [\t] ^^", [("nil", "( \n)"), ("anon", "[\t]"), ("punct", "^^")]),
    ("<http://x/\\u0041> <a b>", [("iri", "<http://x/\\u0041>"), ("punct", "<"), ("word", "a"),
                                  ("word", "b"), ("punct", ">")]),
    ("SELECT#c }\n?x\x0c", [("word", "SELECT"), ("var", "?x"), ("punct", "\x0c")]),  # WS is four characters
])
def test_tokens(text, tokens):
    assert tokenize(text) == [Token(*t) for t in tokens]


# --- prefixed names and IRIs, as Oxigraph resolves them ------------------------------------------

LOCAL_NAMES = ["a.b", "a..b", r"a\.b", r"\~\,\;", "1:2", ":a", "a%41", r"a\%41", "é·", "a\u200c", r"a\/b\?c\#d",
               r"\_x", "a-b_c", "A.1"]


@pytest.mark.parametrize("local", LOCAL_NAMES)
def test_prefixed_names_resolve_as_in_oxigraph(local):
    query = f"PREFIX ex: <{EX}> SELECT ?x WHERE {{ BIND(ex:{local} AS ?x) }}"
    (row,) = ox.Store().query(query)
    assert analyse(f"PREFIX ex: <{EX}> SELECT * FROM ex:{local} {{}}").from_graphs == [row["x"].value]


def test_predeclared_prefixes_and_redeclarations():
    assert analyse("SELECT * FROM graph:ontology {}").from_graphs == [G + "ontology"]
    text = "PREFIX graph: <http://evil/> PREFIX graph: <http://evil2/> SELECT * FROM graph:ontology {}"
    assert analyse(text).from_graphs == ["http://evil2/ontology"]  # the last declaration wins, as in Oxigraph


BASES = ["http://a/b/c", "http://a/b/", "http://a", "http://a?q", "http://a/b/c?q#f", "HTTP://A/B/c",
         "urn:x:y", "file:///x/y", "http://a/b/./c", "http://a/b/../c", "http://u@a:8080/b;p/c"]
REFERENCES = ["", "#f", "?q", "?q#f", "g", "g/h", "g?q#f", "/g", "//h/g", "//h", "./g", "../g", "g/./h", "..",
              "http://x/y", "http://x/./y", "HTTP://X/../Y", "urn:z", ";x", "g;x=1", "%41", "é", ":g", "a:b/c",
              "1a:b", "\\u0067", "g\\u002Fh", "~x", "@x", "g#h#i"]


def _oxigraph_iri(query: str) -> str | None:
    try:
        (row,) = ox.Store().query(query)
    except SyntaxError:
        return None
    return row["x"].value


def test_relative_iris_resolve_as_in_oxigraph_or_are_refused():
    """Every BASE/reference pair, alone, nested under a second BASE, and through a PREFIX: the guard's
    IRI is Oxigraph's, or the guard says it could not resolve it (and check() refuses)."""
    resolved = 0
    for base in BASES:
        for reference in REFERENCES:
            for prologue, term in [(f"BASE <{base}>", f"<{reference}>"),
                                   (f"BASE <http://o/p/> BASE <{base}>", f"<{reference}>"),
                                   (f"BASE <{base}> PREFIX p: <{reference}>", "p:z")]:
                engine = _oxigraph_iri(f"{prologue} SELECT ?x WHERE {{ BIND({term} AS ?x) }}")
                plan = analyse(f"{prologue} SELECT * FROM {term} {{}}")
                if plan.unresolved:
                    assert refusal(f"{prologue} SELECT * FROM {term} {{}}", graphs={engine}) == 400
                    continue
                assert engine is None or plan.from_graphs == [engine], (prologue, term)
                resolved += engine is not None
    assert resolved > 500  # most pairs resolve; the rest are refused, never guessed


def test_relative_iri_without_base_is_unresolved():
    plan = analyse("SELECT * FROM <g> WHERE { SERVICE <s> {} }")
    assert plan.unresolved == ["<g>", "<s>"]
    assert _oxigraph_iri("SELECT ?x WHERE { BIND(<g> AS ?x) }") is None  # the engine refuses it too


# --- generated queries, against rdflib's parser ---------------------------------------------------

PREFIX_NAMES = ["ex", "e.x", "é", "a1-b", "", "Ωmega", "x_y"]
IRI_CHARS = ["a", "Z", "0", "-", ".", "_", "~", "%20", "(", ")", "!", "$", "&", "'", "*", "+", ",", ";", "=", ":",
             "@", "/", "é", "中", "#", "?", "SERVICE", "INSERT", "FROM"]
LOCAL_FIRST = ["a", "Z", "_", "0", "7", ":", "%41", r"\~", r"\.", "é", "中", "Ω"]
LOCAL_MIDDLE = ["b", "9", "-", "_", ".", "..", ":", "%7e", r"\,", r"\.", r"\~", r"\/", r"\?", r"\#", r"\&", r"\'",
                "·", "é", "\u0301", "\u203f", "\U00010000"]
LOCAL_LAST = ["c", "5", "-", "_", ":", "%2F", r"\!", r"\.", "é", "·"]
KEYWORDS_IN_NAMES = ["insert", "drop", "service", "from", "delete", "load", "clear", "SERVICE", "From"]
STRING_BODIES = ["INSERT DATA { <http://a> <http://b> <http://c> }", "} SERVICE <http://evil/> {", "FROM <http://x>",
                 "# not a comment", "DROP ALL", "{ { {", "a\\\"b", "tab\\tnew\\nline", "<http://y>", "ex:a.b", "é"]
LANGS = ["en", "drop", "insert", "en-GB", "service", "x-1a2"]


@dataclass
class Generated:
    text: str
    services: list[str]  # the endpoint each SERVICE names: an IRI, or ?name for a variable
    default: list[str]
    named: list[str]


class QueryGenerator:
    """Random queries rdflib can parse, from a fixed seed: prefixed names with dots, digits, escapes,
    percent escapes and non-ASCII, comments and strings that hold keywords and braces, language tags
    and IRIs with odd characters. Each knows the SERVICE and FROM IRIs it names."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.prefixes: dict[str, str] = {}

    def pick(self, options):
        return self.random.choice(options)

    def iri(self) -> str:
        path = "".join(self.pick(IRI_CHARS) for _ in range(self.random.randint(0, 6)))
        return self.pick(["http://example.org/", "https://h.example/x/", "urn:x:", "http://[::1]:9/"]) + path

    def local(self) -> str:
        parts = [self.pick(LOCAL_FIRST)] + [self.pick(LOCAL_MIDDLE) for _ in range(self.random.randint(0, 4))]
        if self.random.random() < 0.25:  # keywords inside a name, never where a glued reading could start
            parts.append("x" + self.pick(KEYWORDS_IN_NAMES) + "_1")
        parts.append(self.pick(LOCAL_LAST))
        return "".join(parts)

    def term(self, bare_prefix: bool = True) -> tuple[str, str]:
        """(written, IRI) for an IRI or a prefixed name (``ex:`` too, unless not ``bare_prefix``)."""
        if self.random.random() < 0.4:
            iri = self.iri()
            return f"<{iri}>", iri
        prefix = self.pick(list(self.prefixes))
        local = self.local() if self.random.random() < 0.9 or not bare_prefix else ""
        return f"{prefix}:{local}", self.prefixes[prefix] + local.replace("\\", "")

    def comment(self) -> str:
        return self.pick(["", "", f" # {self.pick(STRING_BODIES)} }} SERVICE <http://evil/> {{\n", " #\n"])

    def literal(self) -> str:
        body = self.pick(STRING_BODIES)
        quoted = self.pick([f'"{body}"', f"'{body}'".replace("\\\"", "\""), f'"""{body}"""',
                            f"'''{body}'''".replace("\\\"", "\"")])
        return quoted + self.pick(["", f"@{self.pick(LANGS)}", f"^^{self.term(bare_prefix=False)[0]}"])  # rdflib recurses forever on ^^ex:

    def node(self) -> str:
        kind = self.random.random()
        if kind < 0.3:
            return self.pick(["?s", "$o", "?é", "?1"])
        if kind < 0.45:
            return self.literal()
        if kind < 0.5:
            return self.pick(["1", "-2", ".5", "+3e2", "true", "[]", "_:b1"])
        return self.term()[0]

    def group(self, depth: int, services: list[str]) -> str:
        parts = []
        for _ in range(self.random.randint(0, 3)):
            kind = self.random.random()
            if kind < 0.45 or depth > 2:
                parts.append(f"{self.node()} {self.pick(['?p', 'a', self.term()[0]])} {self.node()} .")
            elif kind < 0.7:
                if self.random.random() < 0.2:
                    written, endpoint = "?svc", "?svc"
                else:
                    written, endpoint = self.term()
                services.append(endpoint)
                silent = self.pick(["", "SILENT ", "silent "])
                parts.append(f"SERVICE {silent}{written}{self.comment()} {self.group(depth + 1, services)}")
            elif kind < 0.8:
                parts.append(f"OPTIONAL {self.group(depth + 1, services)}")
            elif kind < 0.9:
                parts.append(f"FILTER(?s != {self.literal()})")
            else:
                parts.append(f"{self.group(depth + 1, services)} UNION {self.group(depth + 1, services)}")
        return "{ " + self.comment().join(parts) + " }"

    def query(self) -> Generated:
        self.prefixes = {name: self.iri() + f"/{i}/" for i, name in enumerate(
            self.random.sample(PREFIX_NAMES, self.random.randint(1, len(PREFIX_NAMES))))}
        prologue = "".join(f"PREFIX {name}: <{iri}>{self.comment()} " for name, iri in self.prefixes.items())
        default, named, dataset = [], [], []
        for _ in range(self.random.randint(0, 3)):
            written, iri = self.term()
            is_named = self.random.random() < 0.5
            (named if is_named else default).append(iri)
            dataset.append(f"FROM {'NAMED ' if is_named else ''}{written}{self.comment()}")
        services: list[str] = []
        where = self.group(0, services)
        form = self.pick(["SELECT *", "SELECT ?s", "ASK", "CONSTRUCT { ?s ?p ?o }", "DESCRIBE ?s"])
        text = f"{prologue}{form} {' '.join(dataset)} WHERE {where}" + self.pick(["", " LIMIT 5", " # end"])
        return Generated(text, services, default, named)


def rdflib_reading(text: str) -> tuple[list[str], list[str], list[str]]:
    """(SERVICE endpoints, FROM graphs, FROM NAMED graphs) as rdflib's parser reads ``text``.

    rdflib keeps a local name's PLX backslashes (``ex:a\\.b`` becomes ``…a\\.b``), where SPARQL 1.1
    §4.1.1.1 and Oxigraph drop them; a prefix IRI cannot hold a backslash, so removing them all
    gives the grammar's IRI."""
    query = translateQuery(parseQuery(text))
    services: list[str] = []

    def visit(node):
        if isinstance(node, CompValue) and node.name == "ServiceGraphPattern":
            term = node["term"]
            services.append(f"?{term}" if isinstance(term, Variable) else str(term).replace("\\", ""))

    traverse(query.algebra, visitPre=visit)
    default, named = [], []
    for clause in query.algebra.datasetClause or []:
        if "default" in clause:
            default.append(str(clause["default"]).replace("\\", ""))
        else:
            named.append(str(clause["named"]).replace("\\", ""))
    return services, default, named


GENERATED = [QueryGenerator(seed=20261207 + i).query() for i in range(400)]


def test_generated_queries_read_as_rdflib_reads_them():
    parsed = 0
    for generated in GENERATED:
        try:
            services, default, named = rdflib_reading(generated.text)
        except Exception:  # noqa: BLE001 - a query rdflib cannot parse is counted, not compared
            continue
        parsed += 1
        plan = analyse(generated.text)
        guard_services = ["?" + s[1:] if s.startswith("$") else s for s in plan.services]
        assert sorted(guard_services) == sorted(services) == sorted(generated.services), generated.text
        assert (plan.from_graphs, plan.from_named) == (default, named) == (generated.default, generated.named), \
            generated.text
        assert plan.updates == [], generated.text  # update words only inside strings, comments, IRIs, names
    assert parsed >= 300, parsed  # a few hundred compared (330 of the 400 with this seed: rdflib refuses some valid ones)
