"""OpenLink Virtuoso as a third endpoint for the benchmarks: a private instance over a snapshot's dataset.nq.

    python benchmarks/virtuoso.py [--snapshot build/current] [--compare] [--queries benchmarks/synth_queries]

``with Virtuoso(dataset) as url:`` starts Debian's Virtuoso 7.2 (``apt-get install virtuoso-opensource``)
on a database of its own in a temporary folder, with a virtuoso.ini written for the run: HTTP and SQL
(isql) ports chosen free and bound to 127.0.0.1 only, ~2 GB of page buffers, no query time or cost
limit, a result-row limit far above any answer of our queries, no automatic checkpoints (one is made
after loading, so none interrupts a measurement). It bulk-loads the N-Quads file with
``ld_dir``/``rdf_loader_run()`` (Virtuoso's loader reads ``.nq`` as N-Quads: each quad lands in its
named graph), waits until ``/sparql`` answers, and yields its URL; on exit it shuts the server down
and removes the folder.

The default graph. Without ``default-graph-uri`` Virtuoso's ``/sparql`` queries every graph it holds
as a bag: a triple stated in k named graphs is matched k times (``COUNT(*)`` counts it k times), and
Virtuoso's own graphs (its RDF views' metadata, ~2,500 triples) are in it too. SPARQL's default graph
as our endpoint and rdflib-endpoint have it is the RDF merge of the named graphs, a set. So by default
(``set_union=True``) the distinct triples of the loaded graphs are copied into one more graph,
:data:`UNION_GRAPH`, and ``DB.DBA.SYS_SPARQL_HOST`` makes it the default graph of ``/sparql`` requests
that name none — the same materialisation kg/snapshot.py makes in Oxigraph. ``GRAPH ?g`` still ranges
over every graph Virtuoso holds, the union and its own graphs included: our queries reach named
graphs through their description (``?g ic:graphSource ?s``), which leaves those out.
``set_union=False`` keeps Virtuoso's native default graph; the command line reports which one it
measured (``--native-default-graph``).

Send queries by GET or as a form POST (as endpoint.Client does): Virtuoso 7.2.5 never answers a POST
of ``Content-Type: application/sparql-query`` (the request hangs until the client gives up).

The command line loads a snapshot, prints the load times and how often a triple stated in several
graphs is matched, and with ``--compare`` runs every query of ``--queries`` on Virtuoso, on our
endpoint (``kg serve``) and on rdflib-endpoint over the same snapshot, and checks that the answers
agree (as sets of rows; numbers compared by value).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT  # noqa: E402
from endpoint import Client, Server, Side, _timed, free_port, normalise, ours_server, rdflib_server  # noqa: E402

SERVER, ISQL = "virtuoso-t", "isql-vt"
APT_INSTALL = "apt-get update && apt-get install -y virtuoso-opensource"
#: The graph holding the distinct triples of all loaded graphs: the default graph when ``set_union``.
UNION_GRAPH = "urn:x-kg:union"
XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC = {XSD + t for t in ("integer", "decimal", "double", "float", "int", "long", "short", "byte",
                             "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
                             "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}


#: A term as :func:`endpoint.normalise` gives it: (kind, value, datatype, language).
Term = tuple[str, str, str | None, str | None]


class VirtuosoMissing(RuntimeError):
    """Virtuoso's server or isql is not on PATH."""


def ensure_installed() -> tuple[str, str]:
    """The paths of ``virtuoso-t`` and ``isql-vt``; never installs them (that takes root and apt)."""
    found = shutil.which(SERVER), shutil.which(ISQL)
    if None in found:
        missing = [name for name, path in zip((SERVER, ISQL), found) if path is None]
        raise VirtuosoMissing(f"{' and '.join(missing)} not found: install OpenLink Virtuoso with `{APT_INSTALL}` "
                              "(Debian's package; the benchmark starts its own private instance, not the system service)")
    return found[0], found[1]


@dataclass(frozen=True)
class Tuning:
    """The virtuoso.ini settings a benchmark may want to change; the defaults suit a 2-core, 24 GB machine."""

    buffers_gb: float = 2.0  # page cache; our largest dataset (10^6 triples, ~2.5M quads) needs a few hundred MB
    query_mem: str = "4G"  # per-query memory for hash joins and GROUP BY over every quad
    http_threads: int = 16  # as KG_HTTP_THREADS, and enough for a concurrency-16 throughput run
    threads_per_query: int = os.cpu_count() or 2
    max_rows: int = 10_000_000  # ResultSetMaxRows: no answer of ours comes close, so none is cut


def virtuoso_ini(folder: Path, http_port: int, sql_port: int, dirs_allowed: list[Path], tuning: Tuning) -> str:
    """A virtuoso.ini keeping every file in ``folder`` and listening on loopback only."""
    buffers = int(tuning.buffers_gb * 2**30 / 8192)  # Virtuoso pages are 8 KiB
    db = folder / "db"
    return f"""\
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
MaxClientConnections = {tuning.http_threads + 4}
; no automatic checkpoint: one is made after loading, so none falls into a measurement
CheckpointInterval = 0
DirsAllowed = {", ".join(str(d) for d in [folder, *dirs_allowed])}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {buffers * 3 // 4}
MaxQueryMem = {tuning.query_mem}
ThreadsPerQuery = {tuning.threads_per_query}
AsyncQueueMaxThreads = {tuning.http_threads}
MaxSortedTopRows = {tuning.max_rows}
CaseMode = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder}
ServerThreads = {tuning.http_threads}
MaxClientConnections = {tuning.http_threads}
MaxKeepAlives = {tuning.http_threads}
KeepAliveTimeout = 10
EnabledGzipContent = 0
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = {tuning.max_rows}
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime = 0
"""


class Virtuoso:
    """A private Virtuoso loaded from one N-Quads file; ``with Virtuoso(path) as url`` gives its SPARQL endpoint.

    After entering, ``load_seconds`` (bulk load and checkpoint), ``union_seconds`` (copying the distinct
    triples into :data:`UNION_GRAPH`, 0 without ``set_union``), ``quads`` (quads of the loaded graphs
    Virtuoso holds: checked against the file) and ``graphs`` (their names) describe the load.
    """

    def __init__(self, dataset: Path, set_union: bool = True, tuning: Tuning = Tuning(), start_timeout: float = 180,
                 load_timeout: float = 3600) -> None:
        self.dataset = Path(dataset).resolve()
        self.set_union = set_union
        self.tuning = tuning
        self.start_timeout, self.load_timeout = start_timeout, load_timeout
        self.folder: Path | None = None
        self.server: Server | None = None
        self.sql_port = 0
        self.load_seconds = self.union_seconds = 0.0
        self.quads = 0
        self.graphs: list[str] = []

    @property
    def url(self) -> str:
        assert self.server is not None, "not started"
        return f"{self.server.base}/sparql"

    def __enter__(self) -> str:
        server_binary, _ = ensure_installed()
        self.folder = Path(tempfile.mkdtemp(prefix="kg-virtuoso-"))
        (self.folder / "db").mkdir()
        http_port, self.sql_port = free_port(), free_port()
        ini = self.folder / "virtuoso.ini"
        ini.write_text(virtuoso_ini(self.folder, http_port, self.sql_port, [self.dataset.parent], self.tuning))
        self.server = Server("virtuoso", [server_binary, "+foreground", "+configfile", str(ini)], http_port,
                             dict(os.environ), self.folder / "virtuoso-stdout.log", cwd=self.folder)
        try:
            self.server.start()
            self.server.wait_ready(self.start_timeout)
            self._load()
        except BaseException:
            self._stop(keep_folder=True)
            raise
        return self.url

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._stop(keep_folder=kind is not None)

    def isql(self, script: str, timeout: float = 600) -> str:
        """Run SQL statements (one per line, each ending in ``;``) as dba; raise on the first error isql reports."""
        _, isql_binary = ensure_installed()
        done = subprocess.run([isql_binary, f"127.0.0.1:{self.sql_port}", "dba", "dba", "VERBOSE=OFF", "BANNER=OFF",
                               "PROMPT=OFF"], input=script, capture_output=True, text=True, timeout=timeout)
        # isql goes on after a failed statement and exits 0: its "*** Error" lines are the only sign.
        if done.returncode != 0 or "*** Error" in done.stderr:
            raise RuntimeError(f"isql failed:\n{done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def _load(self) -> None:
        own_graphs = set(self._graph_names())
        started = time.perf_counter()
        # ld_dir's graph argument only receives triples without a graph name; dataset.nq has none, and
        # a default-graph triple belongs in the default graph: the union graph.
        self.isql(f"ld_dir('{_sql(self.dataset.parent)}', '{_sql(self.dataset.name)}', '{UNION_GRAPH}');\n"
                  "rdf_loader_run();\ncheckpoint;\n", timeout=self.load_timeout)
        self.load_seconds = time.perf_counter() - started
        errors = self.isql("SELECT ll_file, ll_error FROM DB.DBA.LOAD_LIST WHERE ll_error IS NOT NULL;")
        if errors.strip():
            raise RuntimeError(f"Virtuoso's loader failed on {self.dataset}:\n{errors.strip()}")
        self.graphs = sorted(set(self._graph_names()) - own_graphs - {UNION_GRAPH})
        graph_ids = ", ".join(f"iri_to_id('{_sql(g)}')" for g in self.graphs)
        self.quads = int(self.isql(f"SELECT COUNT(*) FROM DB.DBA.RDF_QUAD WHERE G IN ({graph_ids});").strip())
        expected = _quads_in(self.dataset)
        if self.quads != expected:
            raise RuntimeError(f"Virtuoso holds {self.quads} quads in the loaded graphs, {self.dataset} has {expected}")
        if self.set_union:
            started = time.perf_counter()
            # INSERT SOFT skips a row whose key (G, S, P, O) is already there: each triple lands once.
            self.isql("log_enable(2, 1);\n"
                      f"INSERT SOFT DB.DBA.RDF_QUAD (G, S, P, O) SELECT iri_to_id('{UNION_GRAPH}'), S, P, O "
                      f"FROM DB.DBA.RDF_QUAD WHERE G IN ({graph_ids});\n"
                      "checkpoint;\n"
                      f"INSERT INTO DB.DBA.SYS_SPARQL_HOST (SH_HOST, SH_GRAPH_URI) VALUES ('*', '{UNION_GRAPH}');\n",
                      timeout=self.load_timeout)
            self.union_seconds = time.perf_counter() - started

    def _graph_names(self) -> list[str]:
        # In SQL: SPARQL's `SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }` takes Virtuoso 7.2 minutes
        # on 2*10^5 quads, while the distinct keys of the quad table's G column take milliseconds.
        return self.isql("SELECT DISTINCT id_to_iri(G) FROM DB.DBA.RDF_QUAD;").split()

    def select(self, query: str, timeout: float = 600) -> list[list[Term | None]]:
        """The rows of a SELECT on this instance, as :func:`endpoint.normalise` gives them."""
        assert self.server is not None, "not started"
        client = Client(self.server.port)
        try:
            status, body, _ = client.post(query, timeout=timeout)
        finally:
            client.close()
        if status != 200:
            raise RuntimeError(f"Virtuoso answered {status} to {query!r}: {body[:300]!r}")
        return normalise(body)

    def _stop(self, keep_folder: bool) -> None:
        if self.server is not None and self.server.process is not None and self.server.process.poll() is None:
            try:
                self.isql("shutdown;\n", timeout=60)  # a clean shutdown: the server checkpoints and exits
                self.server.process.wait(60)
            except (RuntimeError, subprocess.SubprocessError):
                pass  # not answering: Server.stop below signals it
            self.server.stop()
        if self.folder is not None:
            if keep_folder:
                print(f"Virtuoso's folder (database, virtuoso.ini, logs) is kept in {self.folder}", file=sys.stderr)
            else:
                shutil.rmtree(self.folder, ignore_errors=True)


def _sql(text: object) -> str:
    return str(text).replace("'", "''")


def _iris(iris: list[str]) -> str:
    return " ".join(f"<{iri}>" for iri in iris)


def _quads_in(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip() and not line.startswith(b"#"))


# --------------------------------------------------------------------------- answers compared


def answer_set(rows: list[list[Term | None]]) -> frozenset[tuple]:
    """Rows (as :func:`endpoint.normalise` gives them) as a set, numeric literals by value.

    Engines differ in the datatype of an aggregate (``COUNT`` is xsd:integer on all three, but an AVG or
    SUM may be decimal on one and double on another) and in a number's lexical form; as sets, because
    the SPARQL result order and duplicates of non-DISTINCT answers are not what is compared.
    """
    def term(t: Term | None) -> tuple | None:
        if t is not None and t[0] == "literal" and t[2] in NUMERIC:
            try:
                return ("number", Decimal(t[1]).normalize())
            except InvalidOperation:
                return t
        return t

    return frozenset(tuple(term(t) for t in row) for row in rows)


def ask(client: Client, query: str, timeout: float) -> Side:
    """One run of ``query``: its rows and time, or the error (as the latency benchmark records them)."""
    side = Side()
    _, body, seconds = _timed(client, query, timeout, side)
    if side.error is None:
        side.answer, side.times = normalise(body), [seconds]
        side.rows = len(side.answer)
    return side


def compare(queries: list[Path], endpoints: dict[str, Client], timeout: float) -> list[str]:
    """Each query on each endpoint, once; Markdown lines: rows per endpoint, and whether the answers agree."""
    names = list(endpoints)
    lines = ["| query | " + " | ".join(f"{n} rows (s)" for n in names) + " | same answer |",
             "|---|" + "--:|" * len(names) + "---|"]
    notes = []
    for path in queries:
        text = path.read_text(encoding="utf-8")
        answers = {name: ask(client, text, timeout) for name, client in endpoints.items()}
        sets = {n: answer_set(a.answer) for n, a in answers.items() if a.answer is not None}
        cells = [a.error if a.error else f"{a.rows} ({a.times[0]:.2f})" for a in answers.values()]
        reference = sets.get(names[0])
        differ = [n for n, s in sets.items() if reference is not None and s != reference]
        verdict = "**no**: " + ", ".join(differ) if differ else "yes" if len(sets) == len(names) else "–"
        lines.append(f"| {path.stem} | " + " | ".join(cells) + f" | {verdict} |")
        for n in differ:
            only_ref, only_n = sorted(reference - sets[n], key=repr), sorted(sets[n] - reference, key=repr)
            notes.append(f"- {path.stem}: {len(only_ref)} row(s) only on {names[0]}, {len(only_n)} only on {n}; "
                         f"e.g. {only_ref[:1]} vs {only_n[:1]}")
        print(f"  {path.stem}: {verdict}", file=sys.stderr, flush=True)
    return lines + ([""] + notes if notes else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--snapshot", type=Path, default=ROOT / "build" / "current", help="the snapshot to load")
    parser.add_argument("--native-default-graph", action="store_true",
                        help="keep Virtuoso's own default graph (every graph, as a bag) instead of the set union")
    parser.add_argument("--compare", action="store_true",
                        help="also run --queries on Virtuoso, ours and rdflib-endpoint and compare the answers")
    parser.add_argument("--queries", type=Path, default=ROOT / "benchmarks" / "synth_queries", help="folder of *.rq")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a single request is given up")
    args = parser.parse_args(argv)

    snapshot = args.snapshot.resolve()
    dataset = snapshot / "dataset.nq"
    if not dataset.is_file():
        print(f"no {dataset}: run `kg build` first", file=sys.stderr)
        return 2
    try:
        ensure_installed()
    except VirtuosoMissing as error:
        print(error, file=sys.stderr)
        return 2
    manifest = json.loads((snapshot / "manifest.json").read_text())
    virtuoso = Virtuoso(dataset, set_union=not args.native_default_graph)
    servers: list[Server] = []
    logs = Path(tempfile.mkdtemp(prefix="kg-bench-"))
    try:
        with virtuoso as url:
            print(f"Virtuoso at {url}: {virtuoso.quads:,} quads in {len(virtuoso.graphs)} graphs "
                  f"(snapshot {manifest['build_id']}, {manifest['total_triples']:,} triples)")
            print(f"- bulk load (ld_dir + rdf_loader_run + checkpoint): {virtuoso.load_seconds:.1f} s "
                  f"({virtuoso.quads / virtuoso.load_seconds:,.0f} quads/s)")
            if virtuoso.set_union:
                print(f"- distinct union into <{UNION_GRAPH}> + checkpoint: {virtuoso.union_seconds:.1f} s")
            # A type stated by several documents (each declares what it mentions): how often is it matched?
            shared = virtuoso.select("SELECT ?s ?o (COUNT(?g) AS ?in) WHERE { GRAPH ?g { ?s a ?o } "
                                     f"VALUES ?g {{ {_iris(virtuoso.graphs)} }} }} GROUP BY ?s ?o "
                                     "HAVING (COUNT(?g) > 1) LIMIT 1")
            if shared:
                (_, s, *_), (_, o, *_), (_, k, *_) = shared[0]
                matched = virtuoso.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ <{s}> a <{o}> }}")[0][0][1]
                print(f"- default graph: <{s}> a <{o}>, stated in {k} named graphs, is matched {matched} time(s)")
            total = virtuoso.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0][0][1]
            print(f"- COUNT(*) over the default graph: {int(total):,}")
            if args.compare:
                env = {**os.environ, "KG_MAX_ROWS": str(virtuoso.tuning.max_rows),
                       "KG_QUERY_TIMEOUT_S": str(args.timeout), "PYTHONUNBUFFERED": "1"}
                servers = [ours_server(snapshot, logs, env), rdflib_server(dataset, logs, env)]
                for server in servers:
                    server.start()
                for server in servers:
                    server.wait_ready(timeout=600)
                endpoints = {"ours": Client(servers[0].port), "Virtuoso": Client(virtuoso.server.port),
                             "rdflib-endpoint": Client(servers[1].port)}
                queries = sorted(args.queries.glob("*.rq"))
                print(f"\nAnswers of {len(queries)} queries in {args.queries} (rows as sets; numbers by value):\n")
                print("\n".join(compare(queries, endpoints, args.timeout)))
                for client in endpoints.values():
                    client.close()
    except BaseException:
        print(f"failed; the server logs are kept in {logs}", file=sys.stderr)
        raise
    finally:
        for server in servers:
            server.stop()
    shutil.rmtree(logs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
