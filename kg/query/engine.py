"""Queries answered by a SPARQL engine of its own (``KG_ENGINE_URL``) instead of our query workers.

`kg publish` loads a release into an engine (Virtuoso, the Oxigraph server) and checks it; `kg serve` with
``KG_ENGINE_URL`` then stays the front of the service: every request still passes our guard, the clients'
budgets, the row cap, our result writers and the cache, and only evaluation moves to the engine. So the
engine is asked for one machine-readable form per query form (SPARQL JSON results, or N-Triples), and our
writers give the client the format it negotiated, exactly as with the embedded store.

Which release the engine holds is the engine's to say: `kg publish` loads the graph :data:`ENGINE_RELEASE_GRAPH`
naming it (``dcterms:identifier``), and :meth:`EngineClient.release` reads it, so ``KG-Release``, ETags
and the pages always name the release the answers come from.
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import socket
import threading
import time
import urllib.parse

import pyoxigraph as ox

from kg.formats import BY_NAME
from kg.query.executor import EngineCrashed, QueryJob, QueryOutcome, QuerySyntaxError, QueryTimeout
from kg.query.result_formats import write
from kg.query.store import QueryUnsupported, run_query
from kg.namespaces import PREFIXES
from kg.snapshot import (ENGINE_EMPTY_GRAPH, ENGINE_RELEASE_GRAPH, ENGINE_RELEASE_PROPERTY, ENGINE_UNION_GRAPH,
                         virtuoso_dataset)

RESULTS = "application/sparql-results+json"
#: N-Triples under the names engines give it (Virtuoso 7.2 answers text/plain); all are parsed as Turtle, their superset.
TRIPLES = "application/n-triples, text/plain;q=0.9, text/turtle;q=0.8"
TRIPLE_MEDIA_TYPES = {"application/n-triples", "text/plain", "text/turtle", "application/x-turtle", "text/ntriples"}
#: Virtuoso's answer to a query its own time limit cut short is a *partial* result marked only by this header.
PARTIAL_STATE = "S1TAT"
#: How Virtuoso says (in a 500) that its own time limit (MaxQueryExecutionTime) stopped a query.
TIMED_OUT = ("S1T00", "SR171")


#: Parses a query without evaluating it: pyoxigraph's query() parses at once and evaluates as it is iterated.
_PARSER = ox.Store()


class EngineUnavailable(Exception):
    """The engine did not answer, or failed on a query for a reason that is not the client's."""


class EngineClient:
    """The SPARQL 1.1 Protocol endpoint of one engine, queried by form POST (Virtuoso 7.2 never answers a POST
    of ``application/sparql-query``)."""

    def __init__(self, url: str, graphs: tuple[str, ...]) -> None:
        self.url = url
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"KG_ENGINE_URL must be an http:// URL of a SPARQL endpoint, not {url!r}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._local = threading.local()
        #: The release's graphs: the named graphs of a query that names no dataset.
        self.graphs = graphs

    def release(self, timeout_s: float = 10) -> str:
        """The id of the release the engine holds, as `kg publish` recorded it in :data:`ENGINE_RELEASE_GRAPH`."""
        query = f"SELECT ?id WHERE {{ GRAPH <{ENGINE_RELEASE_GRAPH}> {{ <{ENGINE_RELEASE_GRAPH}> <{ENGINE_RELEASE_PROPERTY}> ?id }} }}"
        body, _ = self._post(_for_engine(query, ((ENGINE_EMPTY_GRAPH,), (ENGINE_RELEASE_GRAPH,))), RESULTS, timeout_s)
        ids = sorted({row["id"].value for row in ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)})
        if len(ids) != 1:
            raise EngineUnavailable(f"the engine at {self.url} names {len(ids)} releases in <{ENGINE_RELEASE_GRAPH}> "
                                    "(load one with `kg publish`)")
        return ids[0]

    def run(self, job: QueryJob, timeout_s: float) -> QueryOutcome:
        """Evaluate ``job`` on the engine within ``timeout_s`` and write its answer as ours would be written."""
        fmt = BY_NAME[job.format_name]
        started = time.perf_counter()
        try:  # parsed (not evaluated) by Oxigraph, so a syntax error reads as on the embedded store
            parsed = run_query(_PARSER, job.query)  # a function Oxigraph lacks is a 400 as on the embedded store
        except SyntaxError as error:
            raise QuerySyntaxError(str(error)) from None
        columns = [v.value for v in parsed.variables] if isinstance(parsed, ox.QuerySolutions) else None
        query = _bounded(job.query, job.max_rows + 1) if fmt.results is not None else job.query
        body, media_type = self._post(_for_engine(query, self._dataset(job)),
                                      RESULTS if fmt.results is not None else TRIPLES, timeout_s, max_rows=job.max_rows + 1)
        if fmt.results is None and media_type not in TRIPLE_MEDIA_TYPES:
            raise EngineUnavailable(f"the engine answered a graph query as {media_type or 'nothing'}")
        try:  # results are parsed as they are written: a term no parser takes may surface in either
            written = write(_parsed(body, columns) if fmt.results is not None else
                            [quad.triple for quad in ox.parse(body, format=ox.RdfFormat.TURTLE)],
                            fmt, job.max_rows, prefixes=PREFIXES)
        except SyntaxError as error:
            raise EngineCrashed(f"the SPARQL engine behind this endpoint answered what cannot be read: {error}") from None
        return QueryOutcome(written.body, written.rows, written.truncated, time.perf_counter() - started)

    def _dataset(self, job: QueryJob) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The dataset, named to the engine as the embedded store is given it (kg.query.protocol): by default the
        release's union and its graphs; else the graphs the request or the query's FROM named, a default graph
        or named graphs left unnamed being empty (as on the embedded store)."""
        if job.default_graph is None and job.named_graphs is None:
            return (ENGINE_UNION_GRAPH,), self.graphs
        return job.default_graph or (ENGINE_EMPTY_GRAPH,), job.named_graphs or (ENGINE_EMPTY_GRAPH,)

    def _post(self, query: str, accept: str, timeout_s: float, max_rows: int | None = None) -> tuple[bytes, str]:
        fields = [("query", query)]
        if max_rows is not None:
            # Virtuoso's own cap: it stops at one row past ours, as the embedded store's streaming does, so that a
            # cartesian product is cut, not computed whole (then `KG-Result-Truncated` says it was cut).
            fields.append(("maxrows", str(max_rows)))
        body = urllib.parse.urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
        try:
            status, response_headers, answer = self._exchange(body, headers, timeout_s)
        except (socket.timeout, TimeoutError):
            self._drop()
            raise QueryTimeout(f"the query ran longer than {timeout_s:g} s and was stopped") from None
        except (OSError, http.client.HTTPException) as error:
            self._drop()
            raise EngineUnavailable(f"the engine at {self.url} did not answer: {error}") from None
        if status == 200:
            if response_headers.get("X-SQL-State") == PARTIAL_STATE:
                raise QueryTimeout("the engine's own time limit cut the query short")
            return answer, response_headers.get_content_type()
        message = answer[:2000].decode("utf-8", "replace").strip()
        if any(code in message for code in TIMED_OUT):
            raise QueryTimeout("the engine's own time limit stopped the query")
        if status == 400:  # a valid query (Oxigraph parsed it) that the engine cannot run
            raise QueryUnsupported(f"the SPARQL engine behind this endpoint cannot run it: {message} "
                                   "(its line numbers count one line of ours, the dataset and prefixes)")
        if status == 500:  # the engine failed on this query (a limit of its own): not to be sent elsewhere again
            raise EngineCrashed(f"the SPARQL engine behind this endpoint failed on it: {message[:500]}")
        raise EngineUnavailable(f"the engine answered {status}: {message[:500]}")

    def _exchange(self, body: bytes, headers: dict[str, str], timeout_s: float) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One POST on this thread's keep-alive connection (a new connection costs a millisecond a query); a
        connection the engine closed while idle is opened again once (queries only read: sending twice is safe)."""
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = self._local.connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout_s)
            connection.timeout = timeout_s
            if connection.sock is not None:
                connection.sock.settimeout(timeout_s)
            try:
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop()
                if attempt == 2:
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self._drop()
            return response.status, response.headers, answer
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


#: A BASE declaration (after blanks and comments). Virtuoso 7.2 takes one, and only before any PREFIX.
_BASE = re.compile(r"(?:[ \t\r\n]|#[^\r\n]*)*BASE[ \t\r\n]*<([^>]*)>", re.IGNORECASE)
#: An OFFSET keyword, maybe of the query's solution modifiers (:func:`_bounded` checks by parsing).
_OFFSET = re.compile(r"\bOFFSET\b", re.IGNORECASE)
_OUR_PREFIXES = " ".join(f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items())


def _for_engine(query: str, dataset: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    """The query as the engine is sent it, on one line of ours before the client's text: the dataset as
    Virtuoso's pragmas (:func:`kg.snapshot.virtuoso_dataset`: they override a FROM in the query, which is
    right, the dataset named being the query's FROM or the request's parameters that override it), then
    (after the query's opening BASE, which Virtuoso takes only first, and only one) our prefixes, as /sparql
    predeclares them; the client's lines keep their numbers, plus one."""
    bases, cut = [], 0
    while (declaration := _BASE.match(query, cut)) is not None:
        bases.append(declaration.group(1))
        cut = declaration.end()
    # Several BASEs opening a query are one: each resolved against the one before (as Oxigraph reads them).
    head = f"BASE <{functools.reduce(urllib.parse.urljoin, bases)}>" if bases else ""
    lines = "\n" * query[:cut].count("\n")
    return f"{virtuoso_dataset(*dataset)} {head} {_OUR_PREFIXES}{lines}\n{query[cut:]}"


def _bounded(query: str, limit: int) -> str:
    """The query with ``LIMIT limit`` after an OFFSET that has none: Virtuoso 7.2.5 crashes (the whole server)
    on ``ORDER BY … OFFSET n`` without LIMIT over a non-empty result, and answers an OFFSET without LIMIT or
    ORDER BY by a 500 (SR350 "TOP parameter < 0"). Our row cap cuts at ``limit`` rows anyway, so the answer is
    the same; the LIMIT is added only where Oxigraph parses the query with it (it then had none, and nothing
    follows its solution modifiers)."""
    if not _OFFSET.search(query):
        return query
    candidate = f"{query}\nLIMIT {limit}"
    try:
        _PARSER.query(candidate, prefixes=PREFIXES)
    except SyntaxError:
        return query
    return candidate


def _parsed(body: bytes, columns: list[str] | None) -> ox.QuerySolutions | ox.QueryBoolean:
    """The engine's JSON results, made ours (:func:`_as_ours`) where they need it."""
    result = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    if b'"bnode"' in body or (isinstance(result, ox.QuerySolutions) and [v.value for v in result.variables] != columns):
        result = ox.parse_query_results(_as_ours(body, columns), format=ox.QueryResultsFormat.JSON)
    return result


def _as_ours(body: bytes, columns: list[str] | None) -> bytes:
    """The JSON results with every blank node relabelled ``b0``, ``b1``, … (the same label for the same node):
    labels only identify nodes within one answer, and Virtuoso's (``nodeID://b10006``) are not valid ones;
    and a SELECT's columns as Oxigraph reads them from the query (``columns``), so that ``SELECT *`` has the
    columns of the embedded store (Virtuoso orders them otherwise, and over no variable answers one it
    invents, ``_star_fake``)."""
    answer = json.loads(body)
    if columns is not None:
        answer.setdefault("head", {})["vars"] = columns
    labels: dict[str, str] = {}
    for row in answer.get("results", {}).get("bindings", ()):
        if columns is not None:
            for name in set(row) - set(columns):
                del row[name]
        for term in row.values():
            _relabel(term, labels)
    return json.dumps(answer).encode()


def _relabel(term: dict, labels: dict[str, str]) -> None:
    if term.get("type") == "bnode":
        term["value"] = labels.setdefault(term["value"], f"b{len(labels)}")
    elif term.get("type") == "triple":  # SPARQL 1.2's triple terms hold terms
        for part in term.get("value", {}).values():
            _relabel(part, labels)
