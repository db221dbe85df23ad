"""The W3C SPARQL 1.0 and 1.1 query tests through our endpoint, against bare Oxigraph on the same dataset.

Every layer between a user and pyoxigraph runs: the Flask app's /sparql (protocol, guard, format negotiation,
worker pool, result writers, error answers) over a release written by the build's own writer
(:func:`kg.build.writer.write_snapshot`). Its answers must equal bare pyoxigraph's on the same dataset, in
each format of :data:`FORMATS` (parsed back, as multisets of rows, blank nodes compared up to renaming, in
order when a SELECT has ORDER BY): our layers add refusals, never different answers.

The suite (tests/w3c/rdf-tests, vendored by scripts/vendor_w3c_query_tests.py) has query evaluation tests,
each with a query, default graph files (qt:data) and named graph files (qt:graphData), and positive syntax
tests, run here over an empty dataset: an answer, or the engine's error, must come through as bare
Oxigraph gives it (a 400 with its message).

One release holds every test's data: each qt:data file as a graph of its own (``urn:x-w3c-default:<file>``),
loaded apart from the same file as a named graph ``<file>``, so that their blank nodes differ as in two loads;
a request names its test's dataset with default-graph-uri and named-graph-uri (SPARQL 1.1 Protocol §2.1.4),
unless the query has its own FROM, which then names the graphs; so the release's own default graph (left
empty) is never read, and every query goes to a query worker (a bounded query is answered inline only over
the default dataset, by the same kg.query.executor.evaluate a worker runs). Queries are read against the base of their
file, as the suite intends, by a ``BASE`` before their text, for both sides; both also get the prefixes the
endpoint declares (kg.namespaces.PREFIXES).

Tests that need data we refuse by design are listed in :data:`REFUSED`, each with the status the endpoint
answers, which the test checks: SERVICE (403) and FROM of a graph the release does not hold (400).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from kg.build.dumps import write_dumps
from kg.build.writer import write_snapshot
from kg.config import Settings
from kg.formats import JSON, JSONLD, NTRIPLES, RDFXML, TSV, TURTLE, XML
from kg.namespaces import PREFIXES
from kg.snapshot import Snapshot

SUITE = Path(__file__).parent / "w3c" / "rdf-tests"
#: Where the vendored files are read from, so that the suite's relative IRIs resolve as in its repository.
ROOT = "https://w3c.github.io/rdf-tests/"
MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
QT = "http://www.w3.org/2001/sw/DataAccess/tests/test-query#"
#: The graph of a qt:data file, as part of a test's default graph.
DEFAULT_ROLE = "urn:x-w3c-default:"
#: The release's inferred graph: empty here, the default graph of a test without data.
EMPTY = "urn:x-w3c:empty"

SERVICE = "SERVICE: this endpoint sends no query to other services (403)"
FOREIGN_FROM = "FROM of a graph the release does not hold: nothing is fetched (400)"
#: The formats each answer is compared in: all the endpoint offers, except CSV (it keeps no kinds of term, so
#: cannot be compared term by term) and the two that keep named graphs (a CONSTRUCT has none).
FORMATS = {"SELECT": (JSON, XML, TSV), "ASK": (JSON, XML, TSV), "CONSTRUCT": (TURTLE, NTRIPLES, JSONLD, RDFXML)}
FORMATS["DESCRIBE"] = FORMATS["CONSTRUCT"]
#: Tests the endpoint refuses by design, with why; each is checked to get exactly that refusal.
REFUSED = {
    **{f"sparql11/service/manifest#{name}": (403, SERVICE)
       for name in ("service1", "service2", "service3", "service4a", "service5", "service6", "service7")},
    **{f"sparql11/syntax-fed/manifest#test_{n}": (403, SERVICE) for n in (1, 2, 3)},
    **{f"sparql10/dataset/manifest#dawg-dataset-{n}": (400, FOREIGN_FROM)
       for n in ("01", "02", "03", "04", "05", "06", "07", "08", "09b", "10b", "11", "12b")},
    **{f"sparql10/syntax-sparql2/manifest#syntax-dataset-0{n}": (400, FOREIGN_FROM) for n in (1, 2, 3, 4)},
    "sparql11/syntax-query/manifest#test_42": (400, FOREIGN_FROM),
}


@dataclass(frozen=True)
class Case:
    """One test of the suite: its query file and dataset, as IRIs of vendored files."""

    id: str  # the test's folder, below sparql/, and the name its IRI ends with: sparql10/basic/manifest#base-prefix-1
    kind: str  # the test's class, without the mf: namespace
    query: str
    data: tuple[str, ...] = ()
    graph_data: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return f"BASE <{self.query}>\n" + _path(self.query).read_text(encoding="utf-8")


def _path(iri: str) -> Path:
    return SUITE / iri[len(ROOT):]


def _iris(joined: ox.Literal | None) -> tuple[str, ...]:
    return tuple(joined.value.split()) if joined is not None else ()


def _cases() -> list[Case]:
    cases = []
    for manifest in sorted(SUITE.rglob("manifest.ttl")):
        graph = ox.Store()
        graph.load(path=str(manifest), format=ox.RdfFormat.TURTLE, base_iri=ROOT + manifest.relative_to(SUITE).as_posix())
        prefixes = f"PREFIX mf: <{MF}> PREFIX qt: <{QT}>"
        for row in graph.query(prefixes + """SELECT ?test ?kind ?query
                (GROUP_CONCAT(DISTINCT STR(?data)) AS ?datas) (GROUP_CONCAT(DISTINCT STR(?named)) AS ?nameds) {
                  { ?test a ?kind ; mf:action ?action . ?action qt:query ?query  VALUES ?kind { mf:QueryEvaluationTest }
                    OPTIONAL { ?action qt:data ?data } OPTIONAL { ?action qt:graphData ?named } }
                  UNION { VALUES ?kind { mf:PositiveSyntaxTest mf:PositiveSyntaxTest11 } ?test a ?kind ; mf:action ?query }
                } GROUP BY ?test ?kind ?query"""):
            name = f"{manifest.parent.relative_to(SUITE / 'sparql').as_posix()}/manifest#{row['test'].value.rsplit('#', 1)[-1]}"
            cases.append(Case(name, row["kind"].value[len(MF):], row["query"].value,
                              _iris(row["datas"]), _iris(row["nameds"])))
    return sorted(cases, key=lambda case: case.id)


CASES = _cases()


def _load(store: ox.Store, iri: str, graph: ox.NamedNode | ox.DefaultGraph) -> None:
    store.load(path=str(_path(iri)), format=ox.RdfFormat.from_extension(iri.rsplit(".", 1)[1]), base_iri=iri,
               to_graph=graph)


def _bare_store(case: Case) -> ox.Store:
    """The test's dataset as the suite defines it, in a store of its own."""
    store = ox.Store()
    for iri in case.data:
        _load(store, iri, ox.DefaultGraph())
    for iri in case.graph_data:
        _load(store, iri, ox.NamedNode(iri))
    return store


def _holds_triples(iri: str) -> bool:
    store = ox.Store()
    _load(store, iri, ox.DefaultGraph())
    return len(store) > 0


#: The suite's data files that hold no triple.
EMPTY_FILES = frozenset(iri for iri in {iri for case in CASES for iri in case.data + case.graph_data}
                        if not _holds_triples(iri))


def write_release(build_dir: Path) -> Snapshot:
    """One release in ``build_dir`` holding every test's graphs (see the module docstring)."""
    dataset = ox.Store()
    for iri in sorted({iri for case in CASES for iri in case.data}):
        _load(dataset, iri, ox.NamedNode(DEFAULT_ROLE + iri))
    for iri in sorted({iri for case in CASES for iri in case.graph_data}):
        _load(dataset, iri, ox.NamedNode(iri))
    return write_snapshot(build_dir, dataset, {"input_hash": "0" * 64, "inferred_graph": EMPTY}, keep=1,
                          artefacts=(write_dumps,))  # what `kg publish` loads into an engine


def suite_settings(shipped: Settings) -> Settings:
    """The endpoint's settings for the suite: no row cap, cache or client budget in the way of its answers."""
    return replace(shipped, max_rows=100_000, query_timeout_s=30.0, client_query_budget_s=0.0, cache_bytes=0)


@pytest.fixture(scope="module")
def w3c_client(tmp_path_factory, shipped):
    """The app over the suite's release (:func:`write_release`)."""
    from kg.web import create_app

    app = create_app(suite_settings(shipped), write_release(tmp_path_factory.mktemp("w3c-build")))
    yield app.test_client()
    app.extensions["kg.releases"].close()


# --- comparing answers ---

_HIDDEN = re.compile(r"""<[^<>"{}|^`\\\s]*>|'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|#[^\n]*""",
                     re.DOTALL)


def _has(query: str, pattern: str) -> bool:
    """Whether ``pattern`` (a regular expression of keywords) occurs outside IRIs, strings and comments."""
    return re.search(pattern, _HIDDEN.sub(" ", query), re.IGNORECASE) is not None


def _rdflib(term):
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode("b" + term.value)
    if term.language:
        return Literal(term.value, lang=term.language, normalize=False)
    return Literal(term.value, datatype=URIRef(term.datatype.value), normalize=False)


def _same(ours: list[tuple], theirs: list[tuple], ordered: bool) -> bool:
    """Whether two lists of rows of terms (None: unbound) are equal as multisets (as lists if ``ordered``),
    blank nodes compared up to one renaming over all rows."""
    if not any(isinstance(t, ox.BlankNode) for row in ours + theirs for t in row):
        return ours == theirs if ordered else Counter(ours) == Counter(theirs)
    if len(ours) != len(theirs):
        return False

    def graph(rows: list[tuple]) -> Graph:
        """Each row a blank node with its terms by column (and its position), so isomorphism is row-multiset equality."""
        g = Graph()
        for i, row in enumerate(rows):
            node = BNode()
            if ordered:
                g.add((node, URIRef("urn:x:position"), Literal(i)))
            for column, term in enumerate(row):
                g.add((node, URIRef(f"urn:x:column{column}"), Literal("unbound") if term is None else _rdflib(term)))
        return g

    return isomorphic(graph(ours), graph(theirs))


def _rows(result) -> tuple[list[str], list[tuple]] | bool:
    """An answer as comparable values: a boolean, (variables, rows) of solutions, or ([], rows) of triples."""
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    if isinstance(result, ox.QuerySolutions):
        names = [v.value for v in result.variables]
        return names, [tuple(solution[n] for n in names) for solution in result]
    return [], [(t.subject, t.predicate, t.object) for t in result]


def _parsed(body: bytes, fmt) -> tuple[list[str], list[tuple]] | bool:
    if fmt.results is not None:
        return _rows(ox.parse_query_results(body, format=fmt.results))
    return [], [(q.subject, q.predicate, q.object) for q in ox.parse(body, format=fmt.rdf)]


def _request(client, case: Case, fmt: str | None):
    """POST the test's query, naming its dataset unless the query has FROM; graphs of no triple are in no
    release (nor in a bare store), so they are left out."""
    params: dict[str, object] = {"query": case.text} | ({} if fmt is None else {"format": fmt})
    if not _has(case.text, r"\bFROM\b"):
        default = [DEFAULT_ROLE + iri for iri in case.data if iri not in EMPTY_FILES]
        named = [iri for iri in case.graph_data if iri not in EMPTY_FILES]
        params["default-graph-uri"] = default or ([] if named else [EMPTY])
        params["named-graph-uri"] = named
    return client.post("/sparql", data=params)


def test_the_suite_is_all_there():
    """The vendored suite: its 593 evaluation and 215 positive syntax tests, and every refusal names one of them."""
    assert Counter(case.kind for case in CASES) == {"QueryEvaluationTest": 593, "PositiveSyntaxTest": 149,
                                                    "PositiveSyntaxTest11": 66}
    assert set(REFUSED) <= {case.id for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_our_endpoint_answers_as_bare_oxigraph(w3c_client, case: Case):
    text = case.text
    if case.id in REFUSED:
        status, reason = REFUSED[case.id]
        response = _request(w3c_client, case, "json")
        assert response.status_code == status, (reason, response.data)
        return
    try:
        result = _bare_store(case).query(text, prefixes=PREFIXES)
    except (SyntaxError, RuntimeError) as error:  # the engine's error must reach the client as it is
        response = _request(w3c_client, case, None)
        assert response.status_code == 400 and str(error) in response.get_data(as_text=True), response.data
        return
    form = {ox.QuerySolutions: "SELECT", ox.QueryBoolean: "ASK"}.get(type(result), "CONSTRUCT")
    expected = _rows(result)
    ordered = form == "SELECT" and _has(text, r"\bORDER\s+BY\b")  # a graph has no order
    for fmt in FORMATS[form]:
        response = _request(w3c_client, case, fmt.name)
        assert response.status_code == 200, (fmt.name, response.data)
        got = _parsed(response.data, fmt)
        if isinstance(expected, bool):
            assert got == expected, fmt.name
        else:
            assert got[0] == expected[0], fmt.name
            assert _same(got[1], expected[1], ordered), (fmt.name, got[1], expected[1])
