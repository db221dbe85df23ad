"""Scale: the build, the server and three endpoints at 10^4, 10^5 and 10^6 triples, side by side.

    python benchmarks/scale.py [--sizes 10000,100000,1000000] [--peers rdflib-endpoint,virtuoso]

For each size it generates a synthetic graph (`kg synth`, seed 1), builds it (`kg build --timings`:
time and peak memory of each stage, measured inside the build process), starts our server on the
snapshot (start-up = until it first answers; memory = resident set of its whole process group after
the latency runs), and runs the competency questions adapted to synthetic data
(benchmarks/synth_queries/) on

* the bare store: `pyoxigraph.Store.read_only(snapshot/store).query()` in this process over the
  snapshot's union (its default graph, the asserted triples, and the inferred graph), answered in
  SPARQL JSON by Oxigraph's own serialiser (no HTTP, no safety checks, no writer of ours) -- the floor
  our endpoint is compared with;
* ours (`kg serve`), rdflib-endpoint (benchmarks/rdflib_server.py over the snapshot's dataset.nq) and
  OpenLink Virtuoso (benchmarks/virtuoso.py: loopback, the same quads, the set union of the graphs
  as default graph), over HTTP with SPARQL JSON results;

checks that the endpoints agree (rows as sets; numbers by value), times our linked-data pages of two
resources (the first city, and the resource with the most asserted inbound links) as HTML and Turtle,
and measures the throughput of the simple lookup (benchmarks/synth_queries/lookup.rq) with wrk at each
concurrency. A query an
endpoint does not answer within --timeout is recorded as such. Results go to the "scale" section of
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlparse

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, command_line, machine, machine_markdown, ratio, versions, write_section  # noqa: E402
from endpoint import Client, Load, Server, Side, _timed, normalise, ours_server, rdflib_server, wrk_series  # noqa: E402
from virtuoso import Virtuoso, answer_set  # noqa: E402
from kg.namespaces import PREFIXES  # noqa: E402
from kg.snapshot import Snapshot  # noqa: E402

QUERIES = ROOT / "benchmarks" / "synth_queries"
PEERS = ("rdflib-endpoint", "virtuoso")
LIBRARIES = ["pyoxigraph", "reasonable", "pyshacl", "owlrl", "rdflib", "rdflib-endpoint", "granian", "flask"]
STAGES = ("parse", "validate", "reason", "snapshot")


@dataclass
class Endpoint:
    """One endpoint's figures at one size."""

    name: str
    startup_s: float | None = None
    rss_mb: float | None = None
    latency: dict[str, Side] = field(default_factory=dict)
    throughput: dict[int, Load] = field(default_factory=dict)
    pages: dict[str, Side] = field(default_factory=dict)  # "<resource> as <format>" -> its timings


@dataclass
class SizeRun:
    triples: int
    synth_s: float = 0.0
    build_s: float = 0.0
    stages: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # stage -> (s, CPU s, peak MB so far)
    quads: int = 0
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    disagreements: list[str] = field(default_factory=list)
    failure: str = ""  # why a stages-only run did not finish (say, killed for want of memory)


# --------------------------------------------------------------------------- build


def synth_and_build(size: int, work: Path, env: dict[str, str]) -> tuple[SizeRun, Path]:
    run = SizeRun(size)
    folder = work / f"n{size}"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kg.cli", "synth", str(folder), "--triples", str(size), "--seed", "1",
                    "--force"], check=True, env=env, stdout=subprocess.DEVNULL)
    run.synth_s = time.perf_counter() - started
    shutil.rmtree(folder / "build", ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kg.cli", "--root", str(folder), "build", "--timings"],
                          env=env, capture_output=True, text=True)
    run.build_s = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"kg build failed at {size} triples:\n{done.stderr[-3000:]}")
    for line in done.stderr.splitlines():
        if m := re.match(r"(\w+)\s+([\d.]+) s\s+cpu\s+([\d.]+) s\s+peak\s+(\d+) MB", line):
            run.stages[m.group(1)] = (float(m.group(2)), float(m.group(3)), float(m.group(4)))
    snapshot = (folder / "build" / "current").resolve()
    run.quads = json.loads((snapshot / "manifest.json").read_text())["total_triples"]
    print(f"{size}: built in {run.build_s:.1f} s ({run.quads} quads) {run.stages}", file=sys.stderr, flush=True)
    return run, snapshot


def stages_only(size: int, work: Path, env: dict[str, str]) -> SizeRun:
    """Generate, then parse, validate and reason in memory (benchmarks/build_stages.py): no snapshot."""
    run = SizeRun(size)
    folder = work / f"n{size}"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kg.cli", "synth", str(folder), "--triples", str(size), "--seed", "1",
                    "--force"], check=True, env=env, stdout=subprocess.DEVNULL)
    run.synth_s = time.perf_counter() - started
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("build_stages.py")), str(folder)],
                          env=env, capture_output=True, text=True)
    run.build_s = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        run.failure = f"exit status {done.returncode}" + (" (SIGKILL: out of memory?)" if done.returncode == -9 else
                                                           f": {last}")
        print(f"{size}: stages failed, {run.failure}", file=sys.stderr, flush=True)
        return run
    result = json.loads(done.stdout.splitlines()[-1])
    run.stages = {name: tuple(figures) for name, figures in result["stages"].items()}
    print(f"{size}: stages {run.stages}", file=sys.stderr, flush=True)
    return run


# --------------------------------------------------------------------------- measuring


def bare_store(snapshot: Path, queries: dict[str, str], repeat: int, warmup: int) -> Endpoint:
    """Each query on the snapshot's store in this process, answered in SPARQL JSON by Oxigraph's own
    serialiser: the engine alone, without HTTP, safety checks or our result writers."""
    opened = Snapshot.open(snapshot)
    store = ox.Store.read_only(str(opened.store_dir))
    bare = Endpoint("bare store")
    for name, text in queries.items():
        side = bare.latency[name] = Side()
        for i in range(warmup + repeat):
            started = time.perf_counter()
            body = store.query(text, default_graph=opened.union).serialize(format=ox.QueryResultsFormat.JSON)
            if i >= warmup:
                side.times.append(time.perf_counter() - started)
        side.rows = len(normalise(body))
    del store
    return bare


def over_http(endpoint: Endpoint, port: int, path: str, queries: dict[str, str], repeat: int, warmup: int,
              timeout: float, restart: Callable[[], None] | None = None) -> None:
    """Latency of each query, one request at a time; a query that fails or times out is not repeated.

    ``restart`` is called after a query the client gave up on: a server that cannot cancel it (rdflib-
    endpoint evaluates a query to the end, holding its only event loop) would otherwise make the
    following queries wait behind it and time out too.
    """
    client = Client(port, path)
    for name, text in queries.items():
        side = endpoint.latency[name] = Side()
        for i in range(warmup + repeat):
            _, body, seconds = _timed(client, text, timeout, side)
            if side.error:
                if restart and "timed out" in side.error:
                    client.close()
                    restart()
                break
            if i == 0:
                side.answer = normalise(body)
                side.rows = len(side.answer)
            if i >= warmup:
                side.times.append(seconds)
        print(f"  {endpoint.name} {name}: {side.error or f'{side.median:.1f} ms'}", file=sys.stderr, flush=True)
    client.close()


#: The formats a page is timed in: what a browser asks for, and what a linked-data client does.
PAGE_FORMATS = {"HTML": "text/html", "Turtle": "text/turtle"}


def page_resources(snapshot: Path) -> dict[str, str]:
    """The paths of the pages timed, by what they show: a city (the first by IRI), and the most linked-to
    resource, whose page has to pick its first links out of the most."""
    opened = Snapshot.open(snapshot)
    store = ox.Store.read_only(str(opened.store_dir))
    ids = opened.manifest["base_iri"] + "id/"
    city = next(iter(store.query("SELECT ?c WHERE { ?c a ic:City } ORDER BY ?c LIMIT 1", prefixes=PREFIXES)))["c"]
    hub = next(iter(store.query(
        f'SELECT ?o (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?o), "{ids}")) }} '
        "GROUP BY ?o ORDER BY DESC(?n) ?o LIMIT 1")))
    base = opened.manifest["base_iri"]
    return {"a city": "/" + city.value[len(base):],
            f"most linked ({int(hub['n'].value):,} links)": "/" + hub["o"].value[len(base):]}


def pages(endpoint: Endpoint, port: int, resources: dict[str, str], repeat: int, warmup: int, timeout: float) -> None:
    """Latency of each resource's page in each of :data:`PAGE_FORMATS`, one request at a time."""
    client = Client(port)
    for what, path in resources.items():
        for fmt, accept in PAGE_FORMATS.items():
            side = endpoint.pages[f"{what} as {fmt}"] = Side()
            for i in range(warmup + repeat):
                try:
                    status, _, seconds = client.fetch(path, accept, timeout)
                except (OSError, http.client.HTTPException) as error:
                    client.close()
                    side.error = f"{type(error).__name__}: {error}"
                    break
                if status != 200:
                    side.error = f"HTTP {status}"
                    break
                if i >= warmup:
                    side.times.append(seconds)
            print(f"  {endpoint.name} page of {what} as {fmt}: {side.error or f'{side.median:.1f} ms'}",
                  file=sys.stderr, flush=True)
    client.close()


def throughput(endpoint: Endpoint, port: int, path: str, lookup: str, concurrencies: list[int], duration: float) -> None:
    endpoint.throughput.update(wrk_series(endpoint.name, f"http://127.0.0.1:{port}", f"{path}?query={quote(lookup)}",
                                          concurrencies, duration))


def process_group_rss_mb(pid: int) -> float:
    """Resident memory of every process in ``pid``'s process group (the server and its workers)."""
    total_kb = 0
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pid:  # pgrp
                for line in (status.parent / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total_kb / 1024


def started(server: Server, timeout: float) -> float:
    """Start a server; seconds until it first answers a query."""
    began = time.perf_counter()
    server.start()
    server.wait_ready(timeout)
    return time.perf_counter() - began


def measure_size(run: SizeRun, snapshot: Path, args, env: dict[str, str], logs: Path) -> None:
    queries = {p.stem: p.read_text(encoding="utf-8") for p in sorted(args.queries.glob("s*.rq"))}
    lookup = (args.queries / "lookup.rq").read_text(encoding="utf-8")
    run.endpoints["bare store"] = bare_store(snapshot, queries, args.repeat, args.warmup)
    sizes_logs = logs / f"n{run.triples}"
    sizes_logs.mkdir()
    with ExitStack() as stack:
        ours = Endpoint("ours")
        server = ours_server(snapshot, sizes_logs, env)
        stack.callback(server.stop)
        ours.startup_s = started(server, 300)
        over_http(ours, server.port, "/sparql", queries, args.repeat, args.warmup, args.timeout)
        pages(ours, server.port, page_resources(snapshot), args.repeat, args.warmup, args.timeout)
        ours.rss_mb = process_group_rss_mb(server.process.pid)
        throughput(ours, server.port, "/sparql", lookup, args.concurrency, args.duration)
        server.stop()
        run.endpoints["ours"] = ours
    if "rdflib-endpoint" in args.peers:
        with ExitStack() as stack:
            peer = Endpoint("rdflib-endpoint")
            server = rdflib_server(snapshot / "dataset.nq", sizes_logs, env)
            stack.callback(server.stop)
            peer.startup_s = started(server, args.peer_start_timeout)

            def restart() -> None:
                server.stop()
                server.start()
                server.wait_ready(args.peer_start_timeout)

            over_http(peer, server.port, "/sparql", queries, args.peer_repeat, min(args.warmup, 1), args.timeout,
                      restart)
            peer.rss_mb = process_group_rss_mb(server.process.pid)
            throughput(peer, server.port, "/sparql", lookup, args.concurrency, args.duration)
            run.endpoints["rdflib-endpoint"] = peer
    if "virtuoso" in args.peers:
        peer = Endpoint("virtuoso")
        virtuoso = Virtuoso(snapshot)
        began = time.perf_counter()
        with virtuoso as url:
            peer.startup_s = time.perf_counter() - began  # start-up with loading and the union graph
            parsed = urlparse(url)
            over_http(peer, parsed.port, parsed.path, queries, args.repeat, args.warmup, args.timeout)
            peer.rss_mb = process_group_rss_mb(virtuoso.process.pid)
            throughput(peer, parsed.port, parsed.path, lookup, args.concurrency, args.duration)
        run.endpoints["virtuoso"] = peer
    ours = run.endpoints["ours"]
    for name in queries:
        reference = ours.latency[name].answer
        for peer in run.endpoints.values():
            side = peer.latency.get(name)
            if peer.name in ("ours", "bare store") or side is None or side.answer is None or reference is None:
                continue
            if answer_set(side.answer) != answer_set(reference):
                run.disagreements.append(f"{run.triples}: {name}: {peer.name} gives {side.rows} rows, ours {len(reference)}")


# --------------------------------------------------------------------------- report


def _ms(side: Side | None, stat: str = "median") -> str:
    if side is None:
        return "–"
    if side.error:
        return "timeout" if "timed out" in side.error.lower() or "Timeout" in side.error else "error"
    value = getattr(side, stat)
    return "–" if value is None else (f"{value:.1f}" if value < 100 else f"{value:,.0f}")


def _size(n: int) -> str:
    return f"10^{len(str(n)) - 1}" if str(n).strip("0") == "1" else f"{n:,}"


def render(runs: list[SizeRun], args, info: dict, libs: dict) -> str:
    out = [f"Command: `{args.command_line}`", "", machine_markdown(info, libs), ""]
    out += ["**Build** (`kg build --timings`): seconds of wall time (of CPU time) per stage, and the build process's "
            "peak resident memory:", "",
            "| triples | quads in the snapshot | " + " | ".join(STAGES) + " | whole build (wall) | peak memory |",
            "|--:|--:|" + "--:|" * len(STAGES) + "--:|--:|"]
    for run in runs:
        stages = [f"{run.stages[s][0]:.2f} ({run.stages[s][1]:.2f})" if s in run.stages else "–" for s in STAGES]
        peak = max((figures[2] for figures in run.stages.values()), default=0)
        quads = f"{run.quads:,}" if run.quads else "(no snapshot)"
        if run.failure:
            out.append(f"| {_size(run.triples)} | {quads} | did not finish after {run.build_s:.0f} s: {run.failure} |"
                       + " |" * (len(STAGES) + 1))
            continue
        out.append(f"| {_size(run.triples)} | {quads} | " + " | ".join(stages) +
                   f" | {run.build_s:.1f} | {peak:,.0f} MB |")
    out += ["", "**Serving**: start-up until the first answer, and resident memory of the whole process group "
            "after the latency runs and, for ours, the linked-data pages (Virtuoso's start-up includes loading the quads and building its union graph; "
            "rdflib-endpoint's includes parsing them):", "",
            "| triples | " + " | ".join(f"{n} start-up | {n} memory" for n in ("ours", *args.peers)) + " |",
            "|--:|" + "--:|--:|" * (1 + len(args.peers))]
    served = [run for run in runs if run.endpoints]
    for run in served:
        cells = []
        for name in ("ours", *args.peers):
            e = run.endpoints.get(name)
            cells += [f"{e.startup_s:.1f} s" if e and e.startup_s else "–", f"{e.rss_mb:,.0f} MB" if e and e.rss_mb else "–"]
        out.append(f"| {_size(run.triples)} | " + " | ".join(cells) + " |")
    names = ["bare store", "ours", *args.peers]
    for run in served:
        out += ["", f"**Latency at {_size(run.triples)} triples**, median (p95) in ms over {args.repeat} runs "
                f"({args.peer_repeat} for rdflib-endpoint); ratios of medians:", "",
                "| query | rows | " + " | ".join([*names, "ours / bare", *(f"{peer} / ours" for peer in args.peers)]) + " |",
                "|---|--:|" + "--:|" * len(names) + "--:|" * (1 + len(args.peers))]
        for query, bare in run.endpoints["bare store"].latency.items():
            sides = {n: run.endpoints[n].latency.get(query) if n in run.endpoints else None for n in names}
            med = {n: s.median if s and not s.error else None for n, s in sides.items()}
            cells = [f"{_ms(s)} ({_ms(s, 'p95')})" for s in sides.values()]
            ratios = [ratio(med['ours'], med['bare store'])] + [ratio(med[peer], med['ours']) for peer in args.peers]
            out.append(f"| {query} | {bare.rows} | " + " | ".join(cells + ratios) + " |")
    out += ["", f"**Linked-data pages** of ours (the peers have none), median (p95) in ms over {args.repeat} "
            "requests, one at a time:", "", "| triples | page | median (p95) |", "|--:|---|--:|"]
    for run in served:
        for page, side in run.endpoints["ours"].pages.items():
            out.append(f"| {_size(run.triples)} | {page} | {_ms(side)} ({_ms(side, 'p95')}) |")
    out += ["", f"**Throughput** of the simple lookup (wrk, {args.duration:g} s per run after a 2 s warm-up), "
            "requests per second:", "",
            "| triples | concurrency | " + " | ".join(["ours", *args.peers, *(f"ours / {peer}" for peer in args.peers)]) + " |",
            "|--:|--:|" + "--:|" * (1 + 2 * len(args.peers))]
    for run in served:
        for c in args.concurrency:
            rps = {n: (run.endpoints[n].throughput.get(c).rps if n in run.endpoints and c in run.endpoints[n].throughput
                       else None) for n in ("ours", *args.peers)}
            cells = [f"{v:,.0f}" if v else "–" for v in rps.values()] + [ratio(rps["ours"], rps[p]) for p in args.peers]
            out.append(f"| {_size(run.triples)} | {c} | " + " | ".join(cells) + " |")
    disagreements = [d for run in runs for d in run.disagreements]
    out += ["", "Answers: " + ("every endpoint gave the same rows as ours for every query." if not disagreements
                               else "**they differ**: " + "; ".join(disagreements))]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated triple counts")
    parser.add_argument("--stages-only", default="", help="comma-separated triple counts at which only the in-memory "
                        "build stages run (no snapshot, no endpoints): sizes whose snapshot would not fit")
    parser.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated, of: {', '.join(PEERS)}")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per query (bare store, ours, Virtuoso)")
    parser.add_argument("--peer-repeat", type=int, default=3, help="timed runs per query on rdflib-endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per query first")
    parser.add_argument("--timeout", type=float, default=120, help="seconds before a request is given up")
    parser.add_argument("--peer-start-timeout", type=float, default=1800, help="seconds a peer may take to load")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated connection counts for throughput")
    parser.add_argument("--duration", type=float, default=10, help="seconds per throughput run")
    parser.add_argument("--queries", type=Path, default=QUERIES, help="folder with s*.rq and lookup.rq")
    parser.add_argument("--work", type=Path, help="keep the generated graphs and builds here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    args.command_line = command_line("scale.py", argv)
    args.peers = [p for p in args.peers.split(",") if p]
    if unknown := set(args.peers) - set(PEERS):
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c]
    if shutil.which("wrk") is None:
        parser.error("wrk is needed for the throughput runs: apt-get install wrk")

    info = machine()
    libs = versions(LIBRARIES)
    work = args.work or Path(tempfile.mkdtemp(prefix="kg-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="kg-scale-logs-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    runs = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        run, snapshot = synth_and_build(size, work, env)
        measure_size(run, snapshot, args, env, logs)
        runs.append(run)
        if not args.work:
            shutil.rmtree(work / f"n{size}", ignore_errors=True)
    for size in [int(s) for s in args.stages_only.split(",") if s]:
        runs.append(stages_only(size, work, env))
        if not args.work:
            shutil.rmtree(work / f"n{size}", ignore_errors=True)
    markdown = render(runs, args, info, libs)
    print(markdown)
    if args.json:
        args.json.write_text(json.dumps([_as_json(r) for r in runs], indent=2))
    if not args.no_write:
        write_section("scale", markdown)
    shutil.rmtree(logs, ignore_errors=True)
    return 0


def _as_json(run: SizeRun) -> dict:
    return {
        "triples": run.triples, "quads": run.quads, "synth_s": run.synth_s, "build_s": run.build_s, "stages": run.stages,
        "endpoints": {n: {"startup_s": e.startup_s, "rss_mb": e.rss_mb,
                          "latency_ms": {q: {"median": s.median, "p95": s.p95, "rows": s.rows, "error": s.error}
                                         for q, s in e.latency.items()},
                          "throughput_rps": {c: load.rps for c, load in e.throughput.items()},
                          "pages_ms": {page: {"median": s.median, "p95": s.p95, "error": s.error}
                                       for page, s in e.pages.items()}}
                      for n, e in run.endpoints.items()},
        "disagreements": run.disagreements, "failure": run.failure,
    }


if __name__ == "__main__":
    sys.exit(main())
