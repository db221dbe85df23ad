"""OpenLink Virtuoso databases of our own: one folder per database, a virtuoso.ini beside it, started on loopback.

Both `kg publish virtuoso` (one database per release) and the benchmarks (a throw-away database) need the
same three things Virtuoso leaves to its operator: an ini that keeps every file in one folder and listens on
loopback only; a private start on free ports, so a database can be loaded and checked while another one is
served; and the bulk loader (``ld_add`` + ``rdf_loader_run()`` through ``isql``, as Virtuoso's documentation
recommends above a few million triples), whose failures ``isql`` reports only as ``*** Error`` lines.

Two facts of Virtuoso 7.2 (Debian's ``virtuoso-opensource``) shape the rest:

- Without ``default-graph-uri`` its ``/sparql`` default graph is every graph it holds, as a bag, its own
  graphs (~2,500 triples of RDF-view metadata) included. Our default graph is the RDF merge of the named
  graphs, a set; so the release's union dump is loaded into :data:`UNION_GRAPH`, and each query names its
  dataset (in its text: :func:`kg.snapshot.virtuoso_dataset`): that graph as the default graph, the
  release's graphs as the named ones (so ``GRAPH ?g`` ranges over neither Virtuoso's own graphs nor the
  union graph). A server-wide default
  (``SYS_SPARQL_HOST``, :meth:`Virtuoso.set_dataset`) would spare that, but Virtuoso 7.2 then ignores a
  query's FROM and the request's ``default-graph-uri``: only the benchmarks, whose queries name no
  dataset, use it.
- It never answers a POST of ``Content-Type: application/sparql-query`` (the request hangs): queries go
  as a form POST (:func:`sparql_form`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kg.snapshot import ENGINE_UNION_GRAPH, virtuoso_dataset

SERVER, ISQL = "virtuoso-t", "isql-vt"
APT_INSTALL = "apt-get install virtuoso-opensource"
#: The graph of the release's union (each triple once): the default graph of requests that name none.
UNION_GRAPH = ENGINE_UNION_GRAPH
JSON_RESULTS = "application/sparql-results+json"


class VirtuosoError(RuntimeError):
    """Virtuoso is missing, did not start, or a statement or load failed; the message says which and why."""


def binaries() -> tuple[str, str]:
    """The paths of ``virtuoso-t`` and ``isql-vt``; never installs them (that takes root and apt)."""
    found = shutil.which(SERVER), shutil.which(ISQL)
    if None in found:
        missing = [name for name, path in zip((SERVER, ISQL), found) if path is None]
        raise VirtuosoError(f"{' and '.join(missing)} not found: install OpenLink Virtuoso with `{APT_INSTALL}`")
    return found[0], found[1]  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Tuning:
    """The virtuoso.ini settings a deployment may change; the defaults suit a 2-core, 24 GB machine."""

    buffers_gb: float = 2.0  # page cache; 10^6 triples (~2.5M quads) need a few hundred MB
    query_mem: str = "4G"  # per-query memory for hash joins and GROUP BY over every quad
    http_threads: int = 16  # as KG_HTTP_THREADS
    threads_per_query: int = os.cpu_count() or 2
    max_rows: int = 10_000_000  # ResultSetMaxRows: far above any answer, so Virtuoso cuts none (we cut at KG_MAX_ROWS)
    query_timeout_s: int = 0  # MaxQueryExecutionTime; 0: none (our layer sets its own per request)


def virtuoso_ini(folder: Path, http_port: int, sql_port: int, dirs_allowed: Iterable[Path], tuning: Tuning) -> str:
    """A virtuoso.ini keeping every file in ``folder/db`` and listening on 127.0.0.1 only."""
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
MaxQueryExecutionTime = {tuning.query_timeout_s}
"""


def sparql_form(url: str, query: str, timeout: float = 600, accept: str = JSON_RESULTS,
                default_graphs: Iterable[str] = (), named_graphs: Iterable[str] = ()) -> bytes:
    """The answer of ``query`` at the endpoint ``url`` over the dataset named (if any: Virtuoso's pragmas,
    :func:`kg.snapshot.virtuoso_dataset`), sent as a form POST; VirtuosoError unless 200."""
    body = urllib.parse.urlencode({"query": f"{virtuoso_dataset(default_graphs, named_graphs)} {query}"}).encode()
    request = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        raise VirtuosoError(f"Virtuoso answered {error.code}: {error.read()[:500].decode('utf-8', 'replace').strip()}") from None
    except OSError as error:
        raise VirtuosoError(f"Virtuoso at {url} did not answer: {error}") from None


class Virtuoso:
    """One running ``virtuoso-t`` over the database in ``folder`` (started by :meth:`VirtuosoDatabase.start`)."""

    def __init__(self, ini: Path, http_port: int, sql_port: int, process: subprocess.Popen) -> None:
        self.ini, self.http_port, self.sql_port, self.process = ini, http_port, sql_port, process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/sparql"

    def isql(self, script: str, timeout: float = 600) -> str:
        """Run SQL statements (one per line, each ending in ``;``) as dba; raise on the first error isql reports."""
        done = subprocess.run([binaries()[1], f"127.0.0.1:{self.sql_port}", "dba", "dba", "VERBOSE=OFF", "BANNER=OFF",
                               "PROMPT=OFF"], input=script, capture_output=True, text=True, timeout=timeout)
        # isql goes on after a failed statement and exits 0: its "*** Error" lines are the only sign.
        if done.returncode != 0 or "*** Error" in done.stderr:
            raise VirtuosoError(f"isql failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def query(self, sparql: str, timeout: float = 600, default_graphs: Iterable[str] = (),
              named_graphs: Iterable[str] = ()) -> bytes:
        """SPARQL JSON results of ``sparql`` over the dataset named (see the module's docstring)."""
        return sparql_form(self.url, sparql, timeout, default_graphs=default_graphs, named_graphs=named_graphs)

    def graph_counts(self) -> dict[str, int]:
        """Triples per graph Virtuoso holds, its own graphs included, in one pass over the quad table.

        In SQL: SPARQL's ``GRAPH ?g`` over every graph takes Virtuoso 7.2 minutes on 2*10^5 quads, while
        grouping the quad table's G column takes milliseconds."""
        out = self.isql("SELECT id_to_iri(G), COUNT(*) FROM DB.DBA.RDF_QUAD GROUP BY G;")
        return {graph: int(count) for graph, count in (line.split() for line in out.splitlines() if line.strip())}

    def bulk_load(self, files: Iterable[tuple[Path, str]], timeout: float = 3600) -> None:
        """Load N-Quads/N-Triples files (``.gz`` too) with Virtuoso's bulk loader, then checkpoint.

        Each file comes with the graph that receives its triples that name none (an N-Triples file's);
        each quad lands in its own.
        """
        adds = "".join(f"ld_add('{_sql(path.resolve())}', '{_sql(graph)}');\n" for path, graph in files)
        self.isql(adds + "rdf_loader_run();\ncheckpoint;\n", timeout=timeout)
        errors = self.isql("SELECT ll_file, ll_error FROM DB.DBA.LOAD_LIST WHERE ll_error IS NOT NULL;")
        if errors.strip():
            raise VirtuosoError(f"Virtuoso's loader failed: {errors.strip()}")

    def set_dataset(self, default_graph: str, named_graphs: Iterable[str]) -> None:
        """Make every ``/sparql`` request query this dataset: ``default_graph`` as the default graph and exactly
        ``named_graphs`` for ``GRAPH``. Virtuoso 7.2 then ignores a query's FROM and the request's
        ``default-graph-uri`` (see the module's docstring). (Setting only the default graph,
        ``SH_GRAPH_URI``, leaves no named graphs at all, as a query with FROM but no FROM NAMED has.)"""
        defines = " ".join([f"define input:default-graph-uri <{default_graph}>",
                            *(f"define input:named-graph-uri <{g}>" for g in named_graphs)])
        self.isql("DELETE FROM DB.DBA.SYS_SPARQL_HOST WHERE SH_HOST = '*';\n"
                  f"INSERT INTO DB.DBA.SYS_SPARQL_HOST (SH_HOST, SH_DEFINES) VALUES ('*', '{_sql(defines)}');\n"
                  "checkpoint;\n")

    def stop(self, timeout: float = 60) -> None:
        """A clean shutdown (Virtuoso checkpoints and exits); killed if it does not answer in ``timeout``.
        The private ini it was started with goes too: its ports mean nothing once it has stopped."""
        if self.process.poll() is None:
            try:
                self.isql("shutdown;\n", timeout=timeout)
            except (VirtuosoError, subprocess.SubprocessError):
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.ini.unlink(missing_ok=True)


class VirtuosoDatabase:
    """A Virtuoso database in ``folder/db``, with ``folder/virtuoso.ini`` for the ports it is served on."""

    INI = "virtuoso.ini"

    def __init__(self, folder: Path, tuning: Tuning = Tuning()) -> None:
        self.folder = folder.resolve()
        self.tuning = tuning

    def write_ini(self, http_port: int, sql_port: int, dirs_allowed: Iterable[Path] = ()) -> Path:
        """The ini an operator starts ``virtuoso-t +configfile`` with to serve this database."""
        (self.folder / "db").mkdir(parents=True, exist_ok=True)
        ini = self.folder / self.INI
        ini.write_text(virtuoso_ini(self.folder, http_port, sql_port, dirs_allowed, self.tuning), encoding="utf-8")
        return ini

    def start(self, dirs_allowed: Iterable[Path] = (), timeout: float = 180) -> Virtuoso:
        """Start Virtuoso over this database on free loopback ports of its own (a private ini beside the one
        that serves it), and wait until ``/sparql`` answers: the database can be loaded and checked while
        another Virtuoso serves the previous release."""
        server, _ = binaries()
        (self.folder / "db").mkdir(parents=True, exist_ok=True)
        http_port, sql_port = free_port(), free_port()
        ini = self.folder / "private.ini"
        ini.write_text(virtuoso_ini(self.folder, http_port, sql_port, dirs_allowed, self.tuning), encoding="utf-8")
        log = (self.folder / "virtuoso-stdout.log").open("ab")
        process = subprocess.Popen([server, "+foreground", "+configfile", str(ini)], cwd=self.folder, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        running = Virtuoso(ini, http_port, sql_port, process)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise VirtuosoError(f"virtuoso-t exited with {process.returncode}: {self._log_tail()}")
            try:
                running.query("ASK {}", timeout=5)
                return running
            except VirtuosoError:
                if time.monotonic() > deadline:
                    running.stop()
                    raise VirtuosoError(f"Virtuoso did not answer within {timeout:.0f} s: {self._log_tail()}") from None
                time.sleep(0.2)

    def _log_tail(self) -> str:
        log = self.folder / "db" / "virtuoso.log"
        return " / ".join(log.read_text(errors="replace").splitlines()[-5:]) if log.is_file() else "no log"


def _sql(text: object) -> str:
    return str(text).replace("'", "''")
