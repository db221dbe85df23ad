"""OpenLink Virtuoso as a third endpoint for the benchmarks: a private instance over a snapshot's dumps.

    python benchmarks/virtuoso.py [--snapshot build/current] [--compare] [--queries benchmarks/synth_queries]

``with Virtuoso(snapshot) as url:`` starts Debian's Virtuoso 7.2 (``apt-get install virtuoso-opensource``)
on a database of its own in a temporary folder and loads the snapshot as `kg publish virtuoso` does
(kg/build/virtuoso.py: loopback ports chosen free, the bulk loader, the union dump as the default graph
and the release's graphs as the named graphs of every request); on exit it shuts the server down and
removes the folder. ``set_union=False`` (``--native-default-graph``) keeps Virtuoso's native default
graph instead, every graph it holds as a bag: a triple stated in k named graphs is matched k times.

The command line loads a snapshot, prints the load time and how often a triple stated in several
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
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT  # noqa: E402
from endpoint import Client, Server, Side, _timed, normalise, ours_server, rdflib_server  # noqa: E402
from kg.build.publish import DUMP, UNION_DUMP, expected_counts  # noqa: E402
from kg.build.virtuoso import (UNION_GRAPH, Tuning, VirtuosoDatabase, VirtuosoError, binaries,  # noqa: E402
                               sparql_form)
from kg.build.virtuoso import Virtuoso as Running  # noqa: E402
from kg.snapshot import Snapshot  # noqa: E402

XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC = {XSD + t for t in ("integer", "decimal", "double", "float", "int", "long", "short", "byte",
                             "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
                             "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}


#: A term as :func:`endpoint.normalise` gives it: (kind, value, datatype, language).
Term = tuple[str, str, str | None, str | None]


class Virtuoso:
    """A private Virtuoso loaded from a snapshot's dumps; ``with Virtuoso(snapshot) as url`` gives its endpoint.

    Loaded as `kg publish virtuoso` loads a release (kg/build/virtuoso.py), into a database in a temporary
    folder. After entering, ``load_seconds`` (bulk load and checkpoint, the union dump included unless
    ``set_union`` is off), ``quads`` (quads of the release's graphs Virtuoso holds: checked against the
    manifest) and ``graphs`` (their names) describe the load; ``process`` is the running ``virtuoso-t``.
    """

    def __init__(self, snapshot: Path, set_union: bool = True, tuning: Tuning = Tuning()) -> None:
        self.snapshot = Snapshot.open(snapshot)
        self.set_union = set_union
        self.tuning = tuning
        self.folder: Path | None = None
        self.running: Running | None = None
        self.load_seconds = 0.0
        self.quads = 0
        self.graphs: list[str] = []

    @property
    def url(self) -> str:
        assert self.running is not None, "not started"
        return self.running.url

    @property
    def process(self) -> subprocess.Popen:
        assert self.running is not None, "not started"
        return self.running.process

    def __enter__(self) -> str:
        binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="kg-virtuoso-"))
        nquads, union = self.snapshot.dump_file(DUMP), self.snapshot.dump_file(UNION_DUMP)
        try:
            self.running = VirtuosoDatabase(self.folder, self.tuning).start(dirs_allowed=[nquads.parent])
            own = set(self.running.graph_counts())
            started = time.perf_counter()
            self.running.bulk_load([(nquads, UNION_GRAPH), (union, UNION_GRAPH)] if self.set_union else [(nquads, UNION_GRAPH)])
            self.load_seconds = time.perf_counter() - started
            expected = expected_counts(self.snapshot)
            loaded = {g: n for g, n in self.running.graph_counts().items() if g not in own | {UNION_GRAPH}}
            self.graphs = sorted(loaded)
            self.quads = sum(loaded.values())
            if self.quads != sum(expected.values()):
                raise VirtuosoError(f"Virtuoso holds {self.quads} quads in the loaded graphs, the release {sum(expected.values())}")
            if self.set_union:
                self.running.set_dataset(UNION_GRAPH, expected)
        except BaseException:
            self._stop(keep_folder=True)
            raise
        return self.url

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._stop(keep_folder=kind is not None)

    def select(self, query: str, timeout: float = 600) -> list[list[Term | None]]:
        """The rows of a SELECT on this instance, as :func:`endpoint.normalise` gives them."""
        return normalise(sparql_form(self.url, query, timeout))

    def _stop(self, keep_folder: bool) -> None:
        if self.running is not None:
            self.running.stop()
        if self.folder is not None:
            if keep_folder:
                print(f"Virtuoso's folder (database, virtuoso.ini, logs) is kept in {self.folder}", file=sys.stderr)
            else:
                shutil.rmtree(self.folder, ignore_errors=True)


def _iris(iris: list[str]) -> str:
    return " ".join(f"<{iri}>" for iri in iris)


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
        binaries()
    except VirtuosoError as error:
        print(error, file=sys.stderr)
        return 2
    manifest = json.loads((snapshot / "manifest.json").read_text())
    virtuoso = Virtuoso(snapshot, set_union=not args.native_default_graph)
    servers: list[Server] = []
    logs = Path(tempfile.mkdtemp(prefix="kg-bench-"))
    try:
        with virtuoso as url:
            print(f"Virtuoso at {url}: {virtuoso.quads:,} quads in {len(virtuoso.graphs)} graphs "
                  f"(snapshot {manifest['build_id']}, {manifest['total_triples']:,} triples)")
            print(f"- bulk load (ld_add + rdf_loader_run + checkpoint{', the union dump included' if virtuoso.set_union else ''}): "
                  f"{virtuoso.load_seconds:.1f} s ({virtuoso.quads / virtuoso.load_seconds:,.0f} quads/s)")
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
                endpoints = {"ours": Client(servers[0].port), "Virtuoso": Client(virtuoso.running.http_port),
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
