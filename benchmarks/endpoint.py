"""Our SPARQL endpoint against rdflib-endpoint, side by side in one run on the same snapshot and queries.

    python benchmarks/endpoint.py [--repeat 20] [--duration 10]

Starts both servers on loopback ports over the same snapshot (``build/current`` unless --snapshot):

* ours: ``kg serve`` (granian + Oxigraph query workers; KG_HTTP_WORKERS / KG_HTTP_THREADS /
  KG_QUERY_WORKERS from --http-workers / --http-threads / --query-workers, defaults as in kg/config.py);
* rdflib-endpoint: its ``SparqlEndpoint`` app over an in-memory rdflib ``Dataset(default_union=True)``
  loaded from the snapshot's dataset.nq, run by uvicorn (benchmarks/rdflib_server.py).

Both have the union of all named graphs as the default graph. Then it measures

1. latency: every queries/*.rq, --warmup times then --repeat times per endpoint (the two endpoints
   interleaved, one request at a time), POST form, ``Accept: application/sparql-results+json``, no
   compression, keep-alive; median and p95 (nearest rank) in ms, and the ratio rdflib-endpoint / ours.
   The answers of the two endpoints are compared (as multisets of rows) and differences reported;
2. throughput: a one-triple-pattern lookup by GET for --duration seconds at each --concurrency, with
   ``wrk`` if it is installed (else a Python load generator); requests/s and the ratio ours / rdflib-endpoint.

It prints the Markdown and refreshes the ``endpoint-comparison`` section of BENCHMARKS.md (unless --no-write).
Needs the ``bench`` extra: ``pip install -e '.[bench]'`` (and ``apt-get install wrk`` for throughput).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCHMARKS_MD, ROOT, command_line, machine, machine_markdown, versions, write_section  # noqa: E402
from kg.config import Settings  # noqa: E402  (its defaults are the ones `kg serve` uses)

SECTION = "endpoint-comparison"
JSON_RESULTS = "application/sparql-results+json"
FORM = "application/x-www-form-urlencoded"
LOOKUP = ("SELECT ?label WHERE { <https://w3id.org/integrating-cities/id/city/berlin> "
          "<http://www.w3.org/2000/01/rdf-schema#label> ?label }")
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
LIBRARIES = ["pyoxigraph", "rdflib", "rdflib-endpoint", "flask", "granian", "fastapi", "uvicorn"]


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    cmd: list[str]
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    cwd: Path = ROOT

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "wb") as log:
            # A session of its own, so that stopping it also stops the query workers it forks.
            self.process = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _, _ = Client(self.port).post("ASK {}", timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)  # the process group we created for this server
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ours_server(snapshot: Path, logs: Path, env: dict[str, str]) -> Server:
    """`kg serve` on a free loopback port, serving ``snapshot`` (wherever it is) through a build folder in ``logs``."""
    build = logs / "build"
    build.mkdir()
    (build / "current").symlink_to(snapshot)
    port = free_port()
    return Server("ours", [sys.executable, "-m", "kg.cli", "--root", str(ROOT), "serve", "--host", "127.0.0.1",
                           "--port", str(port)], port, {**env, "KG_BUILD_DIR_NAME": str(build)}, logs / "ours.log")


def rdflib_server(dataset: Path, logs: Path, env: dict[str, str]) -> Server:
    """rdflib-endpoint (benchmarks/rdflib_server.py) on a free loopback port, over the N-Quads file ``dataset``."""
    port = free_port()
    return Server("rdflib-endpoint", [sys.executable, str(Path(__file__).with_name("rdflib_server.py")), str(dataset),
                                      "--port", str(port)], port, env, logs / "rdflib-endpoint.log")


# --------------------------------------------------------------------------- client


class Client:
    """One keep-alive HTTP/1.1 connection; no Accept-Encoding, so neither server compresses."""

    def __init__(self, port: int, path: str = "/sparql") -> None:
        self.port, self.path = port, path
        self.conn: http.client.HTTPConnection | None = None

    def post(self, query: str, timeout: float = 300) -> tuple[int, bytes, float]:
        body = urlencode({"query": query}).encode("utf-8")
        headers = {"Content-Type": FORM, "Accept": JSON_RESULTS}
        return self._request("POST", self.path, body, headers, timeout)

    def get(self, query: str, timeout: float = 300) -> tuple[int, bytes, float]:
        return self._request("GET", f"{self.path}?query={quote(query)}", None, {"Accept": JSON_RESULTS}, timeout)

    def fetch(self, path: str, accept: str, timeout: float = 300) -> tuple[int, bytes, float]:
        """GET any path of the server (a linked-data page, say)."""
        return self._request("GET", path, None, {"Accept": accept}, timeout)

    def _request(self, method, url, body, headers, timeout) -> tuple[int, bytes, float]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            self.conn.timeout = timeout
            started = time.perf_counter()
            try:
                self.conn.request(method, url, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # the server closed an idle keep-alive connection: retry once on a new one
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - started
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, data, elapsed
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --------------------------------------------------------------------------- latency


@dataclass
class Side:
    times: list[float] = field(default_factory=list)
    rows: int | None = None
    answer: list | None = None
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) * 1000 if self.times else None

    @property
    def p95(self) -> float | None:
        return percentile(self.times, 95) * 1000 if self.times else None


@dataclass
class QueryResult:
    name: str
    ours: Side
    rdflib: Side
    agree: bool | None = None

    def ratio(self, stat: str) -> float | None:
        a, b = getattr(self.rdflib, stat), getattr(self.ours, stat)
        return a / b if a and b else None


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least pct % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def normalise(body: bytes) -> list:
    """The rows of a SPARQL JSON result as a sorted list (a multiset), blank-node labels and xsd:string erased."""
    doc = json.loads(body)
    if "boolean" in doc:
        return [doc["boolean"]]
    variables = doc["head"].get("vars", [])
    rows = []
    for binding in doc["results"]["bindings"]:
        row = []
        for var in variables:
            term = binding.get(var)
            if term is None:
                row.append(None)
                continue
            kind = "literal" if term["type"] == "typed-literal" else term["type"]
            value = "_:" if kind == "bnode" else term["value"]
            datatype = term.get("datatype")
            row.append((kind, value, None if datatype == XSD_STRING else datatype, term.get("xml:lang")))
        rows.append(row)
    return sorted(rows, key=repr)


def measure_latency(queries: list[Path], ours: Client, baseline: Client, repeat: int, warmup: int,
                    timeout: float) -> list[QueryResult]:
    results = []
    for path in queries:
        text = path.read_text(encoding="utf-8")
        result = QueryResult(path.stem, Side(), Side())
        sides = [(ours, result.ours), (baseline, result.rdflib)]
        for client, side in sides:
            for i in range(max(warmup, 1)):
                status, body, _ = _timed(client, text, timeout, side)
                if side.error:
                    break
                if i == 0:
                    try:
                        side.answer = normalise(body)
                        side.rows = len(side.answer)
                    except (ValueError, KeyError) as error:
                        side.error = f"unreadable answer: {error}"
                        break
        for i in range(repeat):
            # Alternate which endpoint goes first, so that neither always runs on a just-woken machine.
            for client, side in (sides if i % 2 == 0 else sides[::-1]):
                if side.error is None:
                    status, _, seconds = _timed(client, text, timeout, side)
                    if side.error is None:
                        side.times.append(seconds)
        if result.ours.answer is not None and result.rdflib.answer is not None:
            result.agree = result.ours.answer == result.rdflib.answer
        results.append(result)
        print(f"  {path.stem}: ours {_fmt(result.ours.median)} ms, rdflib-endpoint "
              f"{_fmt(result.rdflib.median) if not result.rdflib.error else result.rdflib.error}", file=sys.stderr, flush=True)
    return results


def _timed(client: Client, text: str, timeout: float, side: Side) -> tuple[int, bytes, float]:
    try:
        status, body, seconds = client.post(text, timeout=timeout)
    except (OSError, http.client.HTTPException) as error:
        client.close()
        side.error = f"{type(error).__name__}: {error}"
        return 0, b"", 0.0
    if status != 200:
        message = body.decode("utf-8", "replace").strip()
        try:
            message = json.loads(message).get("message", message)
        except (ValueError, AttributeError):
            pass
        side.error = f"HTTP {status}: {' '.join(message.split())[:160]}"
    return status, body, seconds


# --------------------------------------------------------------------------- throughput


@dataclass
class Load:
    tool: str
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    note: str = ""


def wrk_series(name: str, base: str, path: str, concurrencies: list[int], duration: float) -> dict[int, Load]:
    """One wrk run per concurrency, each after a second's rest and 2 s of untimed load."""
    loads = {}
    for c in concurrencies:
        time.sleep(1)
        wrk_load(base, path, c, 2)  # warm-up, not recorded
        loads[c] = load = wrk_load(base, path, c, duration)
        print(f"  {name} c={c}: {load.rps:,.0f} req/s ({load.errors} errors)", file=sys.stderr, flush=True)
    return loads


def wrk_load(base: str, path: str, concurrency: int, duration: float) -> Load:
    threads = min(concurrency, 2)
    cmd = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(duration))}s", "--latency",
           "--timeout", "30s", "-H", f"Accept: {JSON_RESULTS}", base + path]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    load = Load(tool=f"wrk -t{threads} -c{concurrency}")
    if m := re.search(r"(\d+) requests in ([\d.]+)(\w+)", out):
        load.requests = int(m.group(1))
        load.seconds = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}.get(m.group(3), 1)
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        load.rps = float(m.group(1))
    load.p50_ms = _wrk_latency(out, "50%")
    load.p99_ms = _wrk_latency(out, "99%")
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        load.errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        load.errors += sum(int(g) for g in m.groups())
    if not load.rps:
        load.note = "wrk gave no figure: " + " ".join(out.split())[:200]
    return load


def _wrk_latency(out: str, label: str) -> float | None:
    m = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]


def python_load(port: int, query: str, concurrency: int, duration: float) -> Load:
    """Fallback without wrk: ``concurrency`` threads, each with a keep-alive connection, for ``duration`` s."""
    times: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    deadline = time.perf_counter() + duration

    def worker(i: int) -> None:
        client = Client(port)
        while time.perf_counter() < deadline:
            try:
                status, _, seconds = client.get(query, timeout=30)
            except (OSError, http.client.HTTPException):
                client.close()
                errors[i] += 1
                continue
            if status == 200:
                times[i].append(seconds)
            else:
                errors[i] += 1
        client.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    flat = [t for ts in times for t in ts]
    return Load(tool=f"python threads x{concurrency}", requests=len(flat), seconds=elapsed, rps=len(flat) / elapsed,
                p50_ms=statistics.median(flat) * 1000 if flat else None,
                p99_ms=percentile(flat, 99) * 1000 if flat else None, errors=sum(errors),
                note="client is Python threads (GIL-bound), install wrk for better figures")


# --------------------------------------------------------------------------- report


def _fmt(ms: float | None, digits: int = 1) -> str:
    if ms is None:
        return "–"
    if ms >= 100:
        return f"{ms:,.0f}"
    return f"{ms:.{digits}f}" if ms >= 1 else f"{ms:.2f}"


def _ratio(r: float | None) -> str:
    return "–" if r is None else (f"{r:,.0f}×" if r >= 100 else f"{r:.1f}×")


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def render(args, info, libs, setup: dict, latency: list[QueryResult], loads: dict[int, tuple[Load, Load]]) -> str:
    out = [f"Command: `{args.command_line}`", "", machine_markdown(info, libs), ""]
    out += [
        f"- Snapshot `{setup['snapshot']}`: {setup['quads']:,} quads in {setup['graphs']} named graphs; "
        f"rdflib-endpoint loaded it in {setup['rdflib_load']}",
        f"- Ours: `kg serve` (granian, KG_HTTP_WORKERS={args.http_workers}, KG_HTTP_THREADS={args.http_threads}, "
        f"KG_QUERY_WORKERS={args.query_workers}, "
        f"Oxigraph store). rdflib-endpoint: `SparqlEndpoint` over rdflib's in-memory `Dataset(default_union=True)`, "
        "uvicorn, one process. Both on 127.0.0.1, default graph = union of the named graphs.",
        "",
        f"### Latency per competency query ({args.repeat} timed runs per query and endpoint after {args.warmup} warm-up runs, one request at a time)",
        "",
        "POST form, `Accept: application/sparql-results+json`, keep-alive, no compression; the two endpoints "
        "interleaved. Times are client-side wall time in ms; p95 is nearest-rank. "
        "Ratio = rdflib-endpoint / ours (above 1: ours is faster).",
        "",
        "| query | rows | ours median | ours p95 | rdflib-endpoint median | rdflib-endpoint p95 | ratio median | ratio p95 | same answer |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in latency:
        rows = r.ours.rows if r.ours.rows is not None else r.rdflib.rows
        if r.rdflib.error:
            rd_med, rd_p95, same = "error", "error", f"rdflib-endpoint failed: {r.rdflib.error}"
        else:
            rd_med, rd_p95 = _fmt(r.rdflib.median), _fmt(r.rdflib.p95)
            same = "yes" if r.agree else ("–" if r.agree is None else f"**no** ({r.ours.rows} vs {r.rdflib.rows} rows)")
        if r.ours.error:
            same = f"ours failed: {r.ours.error}"
        out.append(f"| {r.name} | {'' if rows is None else rows} | {_fmt(r.ours.median)} | {_fmt(r.ours.p95)} | "
                   f"{rd_med} | {rd_p95} | {_ratio(r.ratio('median'))} | {_ratio(r.ratio('p95'))} | {same} |")
    both = [r for r in latency if r.ours.times and r.rdflib.times]
    ratios = sorted(((r.ratio("median"), r.name) for r in both), key=lambda x: x[0])
    if both:
        sum_ours = sum(r.ours.median for r in both)
        sum_rd = sum(r.rdflib.median for r in both)
        out.append(f"| **all {len(both)} answered by both** (sum of medians; geometric mean of ratios) | | "
                   f"**{_fmt(sum_ours)}** | | **{_fmt(sum_rd)}** | | **{_ratio(geomean([x for x, _ in ratios]))}** | "
                   f"**{_ratio(geomean([r.ratio('p95') for r in both]))}** | |")
        out += ["",
                f"- Median ratio ranges from {_ratio(ratios[0][0])} ({ratios[0][1]}) to {_ratio(ratios[-1][0])} "
                f"({ratios[-1][1]}); all {len(both)} queries once each take {_fmt(sum_ours)} ms on ours and "
                f"{_fmt(sum_rd)} ms on rdflib-endpoint ({_ratio(sum_rd / sum_ours)}).",
                "- Slowest on ours: " + ", ".join(f"{r.name} {_fmt(r.ours.median)} ms" for r in
                                                 sorted(both, key=lambda r: -r.ours.median)[:3]) + ".",
                "- Slowest on rdflib-endpoint: " + ", ".join(f"{r.name} {_fmt(r.rdflib.median)} ms" for r in
                                                            sorted(both, key=lambda r: -r.rdflib.median)[:3]) + "."]
    failed = [r for r in latency if r.rdflib.error or r.ours.error]
    differ = [r for r in latency if r.agree is False]
    out.append(f"- Failed: {', '.join(r.name for r in failed) if failed else 'none'}; "
               f"answers differ: {', '.join(r.name for r in differ) if differ else 'none'}.")
    if loads:
        tool = next(iter(loads.values()))[0].tool.split(" ")[0]
        out += ["", f"### Throughput ({args.duration:g} s per run after {args.load_warmup:g} s of untimed load; "
                f"one-triple-pattern lookup by GET; {tool})", "",
                f"`{LOOKUP}`", "",
                "Ratio = ours / rdflib-endpoint (above 1: ours serves more). Latency columns: p50 / p99 in ms as reported by the load tool.",
                "",
                "| concurrency | load tool | ours req/s | rdflib-endpoint req/s | ratio | ours p50 / p99 | rdflib-endpoint p50 / p99 | errors (ours / rdflib-endpoint) |",
                "|--:|---|--:|--:|--:|--:|--:|--:|"]
        for c, (o, b) in loads.items():
            ratio = o.rps / b.rps if o.rps and b.rps else None
            out.append(f"| {c} | `{o.tool}` | {o.rps:,.0f} | {b.rps:,.0f} | {_ratio(ratio)} | "
                       f"{_fmt(o.p50_ms)} / {_fmt(o.p99_ms)} | {_fmt(b.p50_ms)} / {_fmt(b.p99_ms)} | {o.errors} / {b.errors} |")
        notes = {x.note for pair in loads.values() for x in pair if x.note}
        out += [f"- {n}" for n in sorted(notes)]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per query and endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per query and endpoint first")
    parser.add_argument("--duration", type=float, default=10, help="seconds per throughput run")
    parser.add_argument("--load-warmup", type=float, default=2, help="untimed seconds of load before each throughput run")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated connection counts for throughput")
    parser.add_argument("--snapshot", type=Path, default=ROOT / "build" / "current", help="the snapshot both serve")
    parser.add_argument("--queries", type=Path, default=ROOT / "queries", help="folder of *.rq")
    parser.add_argument("--only", help="only the queries whose file name contains this")
    parser.add_argument("--http-workers", type=int, default=Settings.http_workers, help="KG_HTTP_WORKERS for ours")
    parser.add_argument("--http-threads", type=int, default=Settings.http_threads, help="KG_HTTP_THREADS for ours")
    parser.add_argument("--query-workers", type=int, default=Settings.query_workers, help="KG_QUERY_WORKERS for ours")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a single request is given up")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even if wrk is installed")
    parser.add_argument("--json", type=Path, help="also write the raw timings here")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    args.command_line = command_line("endpoint.py", argv)

    snapshot = args.snapshot.resolve()
    dataset = snapshot / "dataset.nq"
    if not dataset.is_file():
        print(f"no {dataset}: run `kg build` first", file=sys.stderr)
        return 2
    manifest = json.loads((snapshot / "manifest.json").read_text())
    queries = sorted(p for p in args.queries.glob("*.rq") if not args.only or args.only in p.name)
    if not queries:
        print(f"no queries in {args.queries}", file=sys.stderr)
        return 2
    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    use_wrk = shutil.which("wrk") is not None and not args.python_load

    info = machine()  # before the servers start, so the load average is the machine's, not ours
    logs = Path(tempfile.mkdtemp(prefix="kg-bench-"))
    env = {**os.environ, "KG_HTTP_WORKERS": str(args.http_workers), "KG_HTTP_THREADS": str(args.http_threads),
           "KG_QUERY_WORKERS": str(args.query_workers),
           "PYTHONUNBUFFERED": "1"}
    # Ours must serve the very snapshot rdflib-endpoint loads: point a throwaway build folder's `current` at it.
    ours_srv, rd_srv = ours_server(snapshot, logs, env), rdflib_server(dataset, logs, env)
    servers = [ours_srv, rd_srv]
    try:
        for s in servers:
            s.start()
        for s in servers:
            s.wait_ready(timeout=180)
        health = http.client.HTTPConnection("127.0.0.1", ours_srv.port, timeout=10)
        health.request("GET", "/healthz")
        served = health.getresponse().read().decode().split()[-1]
        health.close()
        if served != manifest["build_id"]:
            raise RuntimeError(f"ours serves {served}, not the snapshot {manifest['build_id']}")
        load_line = re.search(r"in ([\d.]+s)", rd_srv.log_tail(50))
        setup = {"snapshot": manifest["build_id"], "graphs": len(manifest.get("graphs", {})),
                 "quads": sum(1 for line in dataset.open(encoding="utf-8") if line.strip() and not line.startswith("#")),
                 "rdflib_load": load_line.group(1) if load_line else "?"}
        print(f"ours on :{ours_srv.port}, rdflib-endpoint on :{rd_srv.port}", file=sys.stderr)

        ours, baseline = Client(ours_srv.port), Client(rd_srv.port)
        print(f"latency: {len(queries)} queries x {args.repeat} (+{args.warmup} warm-up) per endpoint", file=sys.stderr)
        latency = measure_latency(queries, ours, baseline, args.repeat, args.warmup, args.timeout)
        ours.close()
        baseline.close()

        loads: dict[int, tuple[Load, Load]] = {}
        if args.duration > 0 and concurrencies:
            for client, name in ((Client(ours_srv.port), "ours"), (Client(rd_srv.port), "rdflib-endpoint")):
                status, body, _ = client.get(LOOKUP, timeout=30)
                client.close()
                if status != 200 or len(normalise(body)) != 1:
                    raise RuntimeError(f"the throughput lookup does not give one row on {name}: {status} {body[:200]!r}")
            for c in concurrencies:
                pair = []
                for port in (ours_srv.port, rd_srv.port):
                    time.sleep(1)
                    print(f"throughput: concurrency {c} on :{port} for {args.duration:g}s", file=sys.stderr, flush=True)
                    for seconds in (args.load_warmup, args.duration):  # an untimed warm-up run first
                        if seconds <= 0:
                            continue
                        if use_wrk:
                            load = wrk_load(f"http://127.0.0.1:{port}", f"/sparql?query={quote(LOOKUP)}", c, seconds)
                        else:
                            load = python_load(port, LOOKUP, c, seconds)
                    pair.append(load)
                loads[c] = (pair[0], pair[1])
    except BaseException:
        print(f"failed; the server logs are kept in {logs}", file=sys.stderr)
        raise
    finally:
        for s in servers:
            s.stop()
    shutil.rmtree(logs, ignore_errors=True)  # only after a successful run

    libs = versions(LIBRARIES)
    if use_wrk:
        libs["wrk"] = (subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split() or ["wrk", "?"])[1]
    markdown = render(args, info, libs, setup, latency, loads)
    print(markdown)
    if args.json:
        args.json.write_text(json.dumps({
            "command": args.command_line, "machine": info, "versions": libs, "setup": setup,
            "latency_seconds": {r.name: {"ours": r.ours.times, "rdflib-endpoint": r.rdflib.times,
                                         "errors": [r.ours.error, r.rdflib.error], "same_answer": r.agree} for r in latency},
            "throughput": {c: {"ours": vars(o), "rdflib-endpoint": vars(b)} for c, (o, b) in loads.items()},
        }, indent=1))
    if not args.no_write:
        write_section(SECTION, markdown, BENCHMARKS_MD)
        print(f"refreshed the {SECTION} section of {BENCHMARKS_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
