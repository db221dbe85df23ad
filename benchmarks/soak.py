"""Soak and faults: the real `kg serve` under well-behaved clients, an abuser, new releases and killed processes.

    python benchmarks/soak.py                       # about 3 minutes (plus ~20 s of set-up)
    python benchmarks/soak.py --minutes 10          # the full run
    python benchmarks/soak.py --env KG_CLIENT_QUERY_BUDGET_S=20 --env KG_CLIENT_MAX_QUERIES=2

It generates a synthetic project (`kg synth`, --triples, default 10^5), builds it (`kg build`), serves it
with `kg serve` (its own session, KG_KEEP_RELEASES=2 so that pruning really happens) and then, for
--minutes in all:

* **well-behaved clients**, each from its own loopback address (127.0.0.2, 127.0.0.3, …; the server sees
  it as REMOTE_ADDR), each one request at a time with a pause between requests: ``lookup`` (one-pattern
  lookups of IRIs of the data, and of the marker below), ``competency`` (the synthetic competency
  queries, benchmarks/synth_queries/s*.rq), ``page`` (linked-data pages of entities as HTML and Turtle,
  and the home page), ``download`` (the dumps, the downloads page, the VoID description), and ``health``
  (/healthz ten times a second, which also shows when a process prepares a switch);
* a **baseline** phase (15 % of the run, 10–60 s) with the well-behaved clients alone, then the **soak**
  phase, in which one **abusive client** (127.0.0.66, --abuser-connections connections at once, in a
  process of its own so that its pace does not steal this process's time) sends a query that runs long
  on any data without pause, and these faults happen on a schedule of slots (30 s each at full scale,
  shrunk for short runs so that each fault happens at least once): a query worker killed (SIGKILL) at
  1/6 of every slot; a new release (one data file changed: the definition of scheme:themes gets a new
  revision number, then `kg build`) at 1/2 of every even slot, i.e. every minute; the one failing build
  (a malformed Turtle file added, `kg build` must fail, the file removed) at 1/2 of slot 1; an HTTP
  process killed (SIGKILL; granian starts another) at 1/2 of slot 3 and every 4 slots after, i.e. every
  2 minutes. When the soak phase ends the abuser stops, and the well-behaved clients go on (the "drain")
  until the last build has finished and its release is served.

What it watches, from outside the server: build/current and the snapshot folders (every 20 ms, with
timestamps: when each release became current, when it was replaced, when its folder was deleted), the
memory of the server's process group (resident set of every process in it, every second) and the
processes in it (HTTP processes, query workers).

What it reports: per client class and phase, requests by status and p50/p95/p99 latency; the
well-behaved latency of the soak phase beside the baseline's (p95 and p99, with the ratio; also over the
"undisturbed" part of the soak, outside the windows around builds and kills, which isolates the abuser);
for SPARQL answers the time spent waiting rather than running (latency minus the server's
``KG-Query-Time``); the fault and switch events with timestamps and how long the server took to
recover; how long after build/current changed the old release still answered (the switch lag); memory
over time; then the checks, PASS or FAIL, and the exit code is 1 if any fails:

* ``no-5xx``: no well-behaved request got a 5xx (nor a client time-out);
* ``release-current``: every answer names (``KG-Release``) a release that was build/current at some
  moment of [start − allowance, end] of its request (allowance: --stale-allowance, 10 s, for the server's
  poll of build/current, 1 s, and the preparation of the new release, which takes 0.1–4 s on two busy
  cores; the lag itself is measured and reported: how many answers came more than 2 s late, and the
  latest); every
  answer of the marker lookup holds the revision of the release it names;
* ``not-deleted``: no answer names a release whose folder had already been deleted when it was asked;
* ``abuser-429``: the abuser got at least one 429 (fair use);
* ``not-waited``: well-behaved requests did not wait on the abuser: no SPARQL answer spent more than
  --wait-limit (5 s) waiting (latency − KG-Query-Time), and each class's p99 in the soak phase is under
  --p99-limit (5 s) (both generous: an answer queued behind the abuser waits for its time limit, 30 s);
* ``no-429-well-behaved``: no well-behaved request was refused with 429;
* ``conn-errors-explained``: every connection error of a well-behaved client happened on a connection
  that was open when an HTTP process was killed;
* ``failed-build``: the failing build exited non-zero and build/current did not change;
* ``releases``: every new release built and became build/current;
* ``recovered``: every kill found a process to kill; after each killed HTTP process a new one (with its
  query workers) within 30 s, and the killed one's query workers gone within 10 s. How long killed query
  workers took to be replaced is reported, not checked: one killed while idle is replaced only when its
  HTTP process next needs a worker;
* ``server-alive``: `kg serve` itself never exited.

--json FILE writes the summary (everything above, and the memory series), --plot FILE a PNG (default
benchmarks/results/soak.png, ignored by git; --plot '' for none: latency
over time per class with the release switches, the failing build and the kills; memory below),
--samples FILE every request as CSV. tests/test_soak.py runs a one-minute version with hard assertions.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import math
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, command_line, machine, versions  # noqa: E402

BASE = "https://w3id.org/integrating-cities/"
QUERY_DIR = ROOT / "benchmarks" / "synth_queries"
JSON_RESULTS = "application/sparql-results+json"
FORM = "application/x-www-form-urlencoded"
#: Runs until the time limit on any data: the product of every triple with every triple, twice.
EXPENSIVE = "SELECT (COUNT(*) AS ?n{i}) WHERE {{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }}"
#: The one triple each new release changes (in data/vocabulary.ttl), and the lookup that reads it back.
MARKER_IRI = BASE + "id/scheme/themes"
MARKER_LOOKUP = f"SELECT ?o WHERE {{ <{MARKER_IRI}> <http://www.w3.org/2004/02/skos/core#definition> ?o }}"
MARKER_LINE = re.compile(r'"Policy themes of migrant integration \(synthetic[^"]*\)\."@en')
MARKER_REVISION = re.compile(r"soak revision (\d+)")
WELL_BEHAVED = ("lookup", "competency", "page", "download", "health")
ABUSER = "abuser"
ABUSER_ADDRESS = "127.0.0.66"
HEALTH_ADDRESS = "127.0.0.99"
#: Mean pause between two requests of one well-behaved client (s), exponentially distributed.
THINK_S = {"lookup": 0.05, "competency": 0.5, "page": 0.2, "download": 1.0, "health": 0.1}
CLIENT_TIMEOUT_S = 150.0  # longer than the server's queue (60 s) and query (30 s) limits together
#: Around each disturbance, the window in which a well-behaved request counts as "disturbed" (s after).
DISTURBANCE_S = {"build": 3.0, "kill-worker": 3.0, "kill-http": 10.0}
LIBRARIES = ["pyoxigraph", "flask", "granian", "psutil", "matplotlib"]


# --------------------------------------------------------------------------- options and schedule


@dataclass
class Options:
    minutes: float = 3.0
    triples: int = 100_000
    seed: int = 1
    clients: int = 8  # well-behaved clients besides the health probe, spread over lookup, competency, page, download
    abuser_connections: int = 4
    abuser_pause_after_429_s: float = 0.05
    baseline_s: float | None = None  # default: 15 % of the run, 10 to 60 s
    slot_s: float | None = None  # default: 30 s, less for short runs
    keep_snapshots: int = 2
    http_workers: int | None = None  # KG_HTTP_WORKERS; None: the server's default
    query_workers: int | None = None  # KG_QUERY_WORKERS; None: the server's default
    env: dict[str, str] = field(default_factory=dict)  # extra KG_* settings for `kg serve`
    stale_allowance_s: float = 10.0
    wait_limit_s: float = 5.0
    p99_limit_s: float = 5.0
    work: Path | None = None  # kept when given; a temporary folder otherwise
    plot: Path | None = None
    json: Path | None = None
    samples: Path | None = None
    verbose: bool = True

    @property
    def total_s(self) -> float:
        return self.minutes * 60.0

    @property
    def baseline(self) -> float:
        return self.baseline_s if self.baseline_s is not None else min(60.0, max(10.0, 0.15 * self.total_s))

    @property
    def soak_s(self) -> float:
        return max(0.0, self.total_s - self.baseline)

    @property
    def slot(self) -> float:
        """30 s at full scale; shorter when the soak phase cannot hold four slots and a tail of 10 s."""
        return self.slot_s if self.slot_s is not None else max(2.0, min(30.0, (self.soak_s - 10.0) / 4))


def schedule(options: Options) -> list[tuple[float, str]]:
    """(seconds after the soak phase starts, what) for every fault, in order."""
    slot, length = options.slot, options.soak_s
    events: list[tuple[float, str]] = []
    k = 0
    while k * slot < length:
        start = k * slot
        events.append((start + slot / 6, "kill-worker"))
        if k % 2 == 0:
            events.append((start + slot / 2, "release"))
        elif k == 1:
            events.append((start + slot / 2, "failed-build"))
        elif k % 4 == 3:
            events.append((start + slot / 2, "kill-http"))
        k += 1
    return sorted((t, what) for t, what in events if t < length - 1.0)


# --------------------------------------------------------------------------- what is recorded


@dataclass(slots=True)
class Sample:
    cls: str
    client: str
    label: str
    start: float  # seconds since the soak's clock started
    end: float
    status: int | str  # an HTTP status, or "conn-error", "timeout", "aborted"
    release: str | None = None
    query_time: float | None = None  # the server's KG-Query-Time
    cache: str | None = None
    nbytes: int = 0
    opened: float = 0.0  # when the connection it went over was opened
    note: str = ""

    @property
    def latency(self) -> float:
        return self.end - self.start

    @property
    def answered(self) -> bool:
        return isinstance(self.status, int)


@dataclass
class Event:
    t: float
    kind: str  # phase, build-start, build, current, deleted, kill-worker, kill-http, recovered, switching, note
    detail: str
    data: dict = field(default_factory=dict)


class Clock:
    def __init__(self) -> None:
        self.zero = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.zero


# --------------------------------------------------------------------------- clients


class Connection:
    """One keep-alive connection from a given loopback address; reopened after any failure."""

    def __init__(self, port: int, source: str, clock: Clock) -> None:
        self.port, self.source, self.clock = port, source, clock
        self.conn: http.client.HTTPConnection | None = None
        self.opened = 0.0

    def request(self, cls: str, label: str, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None, timeout: float = CLIENT_TIMEOUT_S) -> tuple[Sample, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                                   source_address=(self.source, 0))
            self.opened = self.clock.now()
        start = self.clock.now()
        sample = Sample(cls, self.source, label, start, start, "conn-error", opened=self.opened)
        data = b""
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
            sample.status = response.status
            sample.release = response.getheader("KG-Release")
            sample.cache = response.getheader("KG-Cache")
            query_time = response.getheader("KG-Query-Time")
            sample.query_time = float(query_time) if query_time else None
            sample.nbytes = len(data)
            if response.status >= 400 and response.status != 404:
                sample.note = data[:160].decode("utf-8", "replace").strip().replace("\n", " ")
            if response.getheader("Connection", "").lower() == "close":
                self.close()
        except socket.timeout:
            sample.status, sample.note = "timeout", f"no answer in {timeout:g} s"
            self.close()
        except (OSError, http.client.HTTPException) as error:
            sample.status, sample.note = "conn-error", type(error).__name__
            self.close()
        sample.end = self.clock.now()
        return sample, data

    def abort(self) -> None:
        """From another thread: break a request in flight."""
        conn = self.conn
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class Targets:
    """What the well-behaved clients ask for, picked from the data once the server answers."""

    iris: list[str]
    queries: list[tuple[str, str]]  # (name, text)
    downloads: list[str]


def sparql_get(query: str) -> str:
    return "/sparql?" + urlencode({"query": query})


def next_request(cls: str, targets: Targets, rng: random.Random, i: int) -> tuple[str, str, str, bytes | None, dict]:
    """(label, method, path, body, headers) of a well-behaved client's ``i``-th request."""
    accept_json = {"Accept": JSON_RESULTS}
    if cls == "lookup":
        if i % 5 == 0:
            return "marker", "GET", sparql_get(MARKER_LOOKUP), None, accept_json
        iri = rng.choice(targets.iris)
        return "lookup", "GET", sparql_get(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}"), None, accept_json
    if cls == "competency":
        name, text = targets.queries[i % len(targets.queries)]
        body = urlencode({"query": text}).encode()
        return name, "POST", "/sparql", body, {"Content-Type": FORM, **accept_json}
    if cls == "page":
        if i % 20 == 0:
            return "home", "GET", "/", None, {"Accept": "text/html"}
        path = "/" + quote(rng.choice(targets.iris)[len(BASE):], safe="/-._~")
        if i % 3 == 0:
            return "page-ttl", "GET", path, None, {"Accept": "text/turtle"}
        return "page-html", "GET", path, None, {"Accept": "text/html"}
    if cls == "download":
        paths = [*targets.downloads, "/downloads/", "/.well-known/void"]
        path = paths[i % len(paths)]
        return path.rsplit("/", 1)[-1] or "downloads", "GET", path, None, {"Accept": "*/*"}
    if cls == "health":
        return "healthz", "GET", "/healthz", None, {}
    raise ValueError(cls)


def abuser_main(port: int, connections: int, until: float, out: str, pause_after_429_s: float) -> None:
    """The abusive client, in a process of its own: expensive queries back to back on ``connections``
    connections from ABUSER_ADDRESS until time.monotonic() reaches ``until``; samples as JSON lines."""
    clock = Clock()
    clock.zero = 0.0  # absolute monotonic times (the same clock in every process), rebased by the parent
    lock = threading.Lock()
    conns = [Connection(port, ABUSER_ADDRESS, clock) for _ in range(connections)]
    counter = iter(range(10**9))
    with open(out, "w", encoding="utf-8") as sink:
        def run(conn: Connection) -> None:
            while time.monotonic() < until:
                with lock:
                    n = next(counter)
                body = urlencode({"query": EXPENSIVE.format(i=n)}).encode()
                sample, _ = conn.request(ABUSER, "expensive", "POST", "/sparql", body,
                                         {"Content-Type": FORM, "Accept": JSON_RESULTS})
                if time.monotonic() >= until and not sample.answered:
                    sample.status = "aborted"
                with lock:
                    sink.write(json.dumps(asdict(sample)) + "\n")
                    sink.flush()
                if sample.status == 429 and pause_after_429_s > 0:
                    time.sleep(pause_after_429_s)
                elif not sample.answered:
                    time.sleep(0.05)  # a broken connection: reconnect, but do not spin

        threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in conns]
        for thread in threads:
            thread.start()
        while time.monotonic() < until:
            time.sleep(0.1)
        for conn in conns:
            conn.abort()
        for thread in threads:
            thread.join(10)


# --------------------------------------------------------------------------- the server's processes


def group_processes(pgid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid:
                found.append(proc)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return found


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def _ppid(proc: psutil.Process) -> int:
    try:
        return proc.ppid()
    except psutil.Error:
        return -1


def http_processes(serve_pid: int) -> list[psutil.Process]:
    """granian's worker processes: the children of `kg serve`."""
    try:
        return [p for p in psutil.Process(serve_pid).children() if "worker_entry" not in _cmdline(p)]
    except psutil.Error:
        return []


def query_workers(serve_pid: int) -> dict[int, list[psutil.Process]]:
    """HTTP process pid -> its query workers (the processes running kg.query.executor.worker_entry)."""
    found: dict[int, list[psutil.Process]] = {}
    for http_proc in http_processes(serve_pid):
        try:
            found[http_proc.pid] = [c for c in http_proc.children() if "worker_entry" in _cmdline(c)]
        except psutil.Error:
            found[http_proc.pid] = []
    return found


# --------------------------------------------------------------------------- the soak


class Soak:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.clock = Clock()
        self.samples: list[Sample] = []
        self.events: list[Event] = []
        self.memory: list[dict] = []
        self.builds: list[dict] = []
        self.recoveries: list[dict] = []
        self.revision_of: dict[str, int] = {}  # release -> the marker revision its data holds
        self.current_since: list[tuple[float, str]] = []  # (t, release) each time build/current changed
        self.folders_seen: dict[str, float] = {}
        self.folders_deleted: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop_clients = threading.Event()
        self._stop_watch = threading.Event()
        self.t_baseline = self.t_soak = self.t_drain = self.t_end = 0.0
        self.server: subprocess.Popen | None = None
        self.server_exit: tuple[float, int] | None = None
        self.port = self.http_count = self.ready_workers = 0
        self.targets: Targets | None = None
        self.setup: dict = {}
        self.work: Path
        self._temporary = False

    # -- bookkeeping

    def log(self, message: str) -> None:
        if self.o.verbose:
            print(f"[{self.clock.now():7.1f} s] {message}", file=sys.stderr, flush=True)

    def event(self, kind: str, detail: str, t: float | None = None, **data) -> Event:
        event = Event(self.clock.now() if t is None else t, kind, detail, data)
        with self._lock:
            self.events.append(event)
        self.log(f"{kind}: {detail}")
        return event

    def record(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)

    # -- set-up

    @property
    def project(self) -> Path:
        return self.work / "project"

    @property
    def build_dir(self) -> Path:
        return self.project / "build"

    def server_settings(self) -> dict[str, str]:
        """The KG_* settings given to `kg serve` (beside KG_ROOT, KG_HOST, KG_PORT)."""
        given = {"KG_HTTP_WORKERS": self.o.http_workers, "KG_QUERY_WORKERS": self.o.query_workers}
        return {**{k: str(v) for k, v in given.items() if v is not None}, **self.o.env}

    def env(self, serve: bool) -> dict[str, str]:
        env = {**os.environ, "KG_ROOT": str(self.project), "KG_KEEP_RELEASES": str(self.o.keep_snapshots)}
        if serve:
            env.update({"KG_HOST": "127.0.0.1", "KG_PORT": str(self.port), **self.server_settings()})
        return env

    def prepare(self) -> None:
        from kg.dev.synth import synthesize

        if self.o.work is None:
            self.work, self._temporary = Path(tempfile.mkdtemp(prefix="kg-soak-")), True
        else:
            self.work = self.o.work
            self.work.mkdir(parents=True, exist_ok=True)
            if self.project.exists():
                shutil.rmtree(self.project)
        started = time.perf_counter()
        result = synthesize(self.project, self.o.triples, seed=self.o.seed)
        self.setup["synth_s"] = time.perf_counter() - started
        self.setup["synth_triples"] = result.triples
        vocabulary = self.project / "data" / "vocabulary.ttl"
        if not MARKER_LINE.search(vocabulary.read_text(encoding="utf-8")):
            raise RuntimeError(f"{vocabulary} lacks the definition of scheme:themes that each release changes")
        self.revision = 0
        build = self.run_build("initial build")
        if build["exit"] != 0:
            raise RuntimeError("the initial build failed:\n" + build["stderr"])
        self.setup["build"] = build
        self.log(f"synthetic project: {result.triples:,} triples written in {self.setup['synth_s']:.1f} s, "
                 f"built in {build['seconds']:.1f} s ({build.get('total_triples', '?')} triples with the inferred ones)")

    def run_build(self, why: str) -> dict:
        before = self._current()
        started_t, started = self.clock.now(), time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "kg.cli", "build", "--timings"], env=self.env(serve=False),
                              cwd=self.work, capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - started
        after = self._current()
        build = {"why": why, "t": started_t, "seconds": seconds, "exit": done.returncode, "before": before,
                 "after": after, "stderr": done.stderr[-3000:], "stages": {}}
        for line in done.stderr.splitlines():
            match = re.match(r"(\w+)\s+([\d.]+) s\s+cpu\s+([\d.]+) s\s+peak\s+(\d+) MB", line)
            if match:
                build["stages"][match[1]] = {"s": float(match[2]), "cpu_s": float(match[3]), "peak_mb": int(match[4])}
        match = re.search(r"\((\d+) triples in (\d+) graphs\)", done.stdout)
        if match:
            build["total_triples"] = int(match[1])
        if done.returncode == 0 and after:
            self.revision_of[after] = self.revision
        self.builds.append(build)
        return build

    def _current(self) -> str | None:
        try:
            return os.readlink(self.build_dir / "current").rstrip("/").rsplit("/", 1)[-1]
        except OSError:
            return None

    def start_server(self) -> None:
        self.port = free_port()
        log = (self.work / "serve.log").open("wb")
        self.server = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve"], env=self.env(serve=True), cwd=self.work,
                                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)  # its own process group: the group whose memory we watch
        log.close()
        started = time.perf_counter()
        probe = Connection(self.port, "127.0.0.1", self.clock)
        while time.perf_counter() - started < 120:
            if self.server.poll() is not None:
                raise RuntimeError(f"kg serve exited with {self.server.returncode}:\n{self.server_log_tail()}")
            sample, _ = probe.request("setup", "healthz", "GET", "/healthz", timeout=5)
            if sample.status == 200:
                self.setup["serve_start_s"] = time.perf_counter() - started
                probe.close()
                self._count_processes()
                return
            time.sleep(0.2)
        raise RuntimeError("kg serve did not answer within 120 s:\n" + self.server_log_tail())

    def _count_processes(self) -> None:
        """How many HTTP processes and query workers (ready, per HTTP process) the server runs at rest: what the
        recovery from a kill is measured against (the counts may come from the server's defaults)."""
        deadline = time.perf_counter() + 30
        while True:
            workers = query_workers(self.server.pid)
            counts = [len(ws) for ws in workers.values()]
            if (counts and min(counts) > 0 and len(set(counts)) == 1) or time.perf_counter() > deadline:
                break
            time.sleep(0.2)
        self.http_count, self.ready_workers = len(workers), min(counts, default=0)
        self.setup["processes"] = {"http": self.http_count, "query_workers_each": self.ready_workers}

    def server_log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join((self.work / "serve.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def pick_targets(self) -> Targets:
        """IRIs of entities (at most 25 of each kind), the synthetic competency queries, the downloads."""
        conn = Connection(self.port, "127.0.0.1", self.clock)
        sample, data = conn.request("setup", "types", "GET", sparql_get("SELECT ?s ?t WHERE { ?s a ?t }"),
                                    headers={"Accept": JSON_RESULTS}, timeout=60)
        if sample.status != 200:
            raise RuntimeError(f"could not list the entities: {sample.status} {sample.note}")
        by_kind: dict[str, list[str]] = {}
        for row in json.loads(data)["results"]["bindings"]:
            iri = row["s"]["value"]
            if row["s"]["type"] == "uri" and iri.startswith(BASE + "id/") and iri.count("/") >= 6:
                kind = iri[len(BASE) + 3:].split("/", 1)[0]
                if iri not in by_kind.setdefault(kind, []) and len(by_kind[kind]) < 25:
                    by_kind[kind].append(iri)
        iris = sorted(i for kind in by_kind.values() for i in kind)
        queries = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(QUERY_DIR.glob("s*.rq"))]
        sample, data = conn.request("setup", "downloads", "GET", "/downloads/", headers={"Accept": "text/html"})
        downloads = sorted(set(re.findall(r'href="(/downloads/[^"/?#]+)"', data.decode("utf-8", "replace"))))
        conn.close()
        if not iris or not queries or not downloads:
            raise RuntimeError(f"nothing to ask for: {len(iris)} IRIs, {len(queries)} queries, {len(downloads)} downloads")
        return Targets(iris, queries, downloads)

    def warm_up(self) -> None:
        """Each kind of request a few times, so that the baseline does not time first uses (page models)."""
        conn = Connection(self.port, "127.0.0.1", self.clock)
        rng = random.Random(0)
        for cls in ("lookup", "competency", "page", "download"):
            for i in range(len(self.targets.queries) if cls == "competency" else 8):
                label, method, path, body, headers = next_request(cls, self.targets, rng, i)
                conn.request("setup", label, method, path, body, headers)
        conn.close()

    # -- the run

    def run(self) -> "Report":
        self.prepare()
        try:
            self.start_server()
            self.targets = self.pick_targets()
            self.warm_up()
            self._run_phases()
        finally:
            self.stop_server()
            if self._temporary:
                shutil.rmtree(self.work, ignore_errors=True)
        return Report(self)

    def _run_phases(self) -> None:
        o = self.o
        watchers = [threading.Thread(target=self._watch_releases, name="soak-watch", daemon=True),
                    threading.Thread(target=self._watch_memory, name="soak-memory", daemon=True)]
        for thread in watchers:
            thread.start()
        self.t_baseline = self.event("phase", f"baseline: {o.clients} well-behaved clients and the health probe, "
                                              f"no abuser, no faults, for {o.baseline:.0f} s").t
        clients = self._start_clients()
        self._sleep_until(self.t_baseline + o.baseline)
        self.t_soak = self.event("phase", f"soak: the abuser ({o.abuser_connections} connections) and the faults, "
                                          f"for {o.soak_s:.0f} s (slot {o.slot:.1f} s)").t
        abuser, abuser_out = self._start_abuser(self.t_soak + o.soak_s)
        builds: queue.Queue = queue.Queue()
        builder = threading.Thread(target=self._builder, args=(builds,), name="soak-builder", daemon=True)
        builder.start()
        helpers: list[threading.Thread] = []
        for at, what in schedule(o):
            self._sleep_until(self.t_soak + at)
            if what in ("release", "failed-build"):
                builds.put(what)
            elif (helper := self._kill(what)) is not None:
                helpers.append(helper)
        self._sleep_until(self.t_soak + o.soak_s)
        self.t_drain = self.event("phase", "drain: the abuser stops; the well-behaved clients go on until the last build "
                                           "is done and served").t
        builds.put(None)
        abuser.join(60)
        if abuser.exitcode is None:
            abuser.kill()
        builder.join(600)
        if self.current_since:  # the last release switched to, and asked for, before the clients stop
            self._sleep_until(max(self.clock.now(), self.current_since[-1][0] + o.stale_allowance_s + 1.0))
        self.t_end = self.event("phase", "end: stopping the well-behaved clients").t
        self._stop_clients.set()
        for thread in clients:
            thread.join(CLIENT_TIMEOUT_S + 10)
        for thread in helpers:
            thread.join(60)
        self._read_abuser(abuser_out)
        self._stop_watch.set()
        for thread in watchers:
            thread.join(10)

    def _sleep_until(self, t: float) -> None:
        while (left := t - self.clock.now()) > 0:
            time.sleep(min(left, 0.5))
            if self.server is not None and self.server.poll() is not None and self.server_exit is None:
                self.server_exit = (self.clock.now(), self.server.returncode)
                self.event("note", f"kg serve exited with {self.server.returncode}")

    def _start_clients(self) -> list[threading.Thread]:
        classes = ("lookup", "competency", "page", "download")
        specs = [(classes[i % len(classes)], f"127.0.0.{2 + i}") for i in range(self.o.clients)]
        specs.append(("health", HEALTH_ADDRESS))
        threads = [threading.Thread(target=self._client, args=(cls, address, n), name=f"soak-{cls}-{address}", daemon=True)
                   for n, (cls, address) in enumerate(specs)]
        for thread in threads:
            thread.start()
        return threads

    def _client(self, cls: str, address: str, n: int) -> None:
        conn = Connection(self.port, address, self.clock)
        rng = random.Random(self.o.seed * 1000 + n)
        i = n  # clients of a class start at different points of their rotation
        while not self._stop_clients.is_set():
            label, method, path, body, headers = next_request(cls, self.targets, rng, i)
            i += 1
            sample, data = conn.request(cls, label, method, path, body, headers)
            if label == "marker" and sample.status == 200:
                match = MARKER_REVISION.search(data.decode("utf-8", "replace"))
                sample.note = f"revision {match[1] if match else 0}"
            elif label == "healthz" and sample.status == 200:
                text = data.decode("utf-8", "replace")
                if "switching to" in text:
                    sample.note = text.split("switching to", 1)[1].split()[0]
            self.record(sample)
            self._stop_clients.wait(rng.expovariate(1.0 / THINK_S[cls]))
        conn.close()

    def _start_abuser(self, until_t: float):
        import multiprocessing

        out = self.work / "abuser.jsonl"
        until = self.clock.zero + until_t
        process = multiprocessing.get_context("spawn").Process(
            target=abuser_main, args=(self.port, self.o.abuser_connections, until, str(out), self.o.abuser_pause_after_429_s),
            name="soak-abuser", daemon=True)
        process.start()
        return process, out

    def _read_abuser(self, out: Path) -> None:
        try:
            lines = out.read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                raw = json.loads(line)
            except ValueError:
                continue
            for key in ("start", "end", "opened"):
                raw[key] -= self.clock.zero
            self.record(Sample(**raw))

    # -- builds

    def _builder(self, jobs: queue.Queue) -> None:
        while (what := jobs.get()) is not None:
            if what == "release":
                self._new_release()
            else:
                self._failing_build()

    def _new_release(self) -> None:
        vocabulary = self.project / "data" / "vocabulary.ttl"
        self.revision += 1
        text = vocabulary.read_text(encoding="utf-8")
        vocabulary.write_text(MARKER_LINE.sub(
            f'"Policy themes of migrant integration (synthetic; soak revision {self.revision})."@en', text, count=1),
            encoding="utf-8")
        self.event("build-start", f"new release: revision {self.revision} of data/vocabulary.ttl")
        build = self.run_build(f"revision {self.revision}")
        outcome = "ok" if build["exit"] == 0 else f"FAILED (exit {build['exit']})"
        self.event("build", f"revision {self.revision} {outcome} in {build['seconds']:.1f} s: current {build['after']} "
                            f"(was {build['before']})", t=build["t"] + build["seconds"], ok=build["exit"] == 0,
                   release=build["after"], seconds=build["seconds"], start=build["t"])

    def _failing_build(self) -> None:
        broken = self.project / "data" / "soak-malformed.ttl"
        broken.write_text("@prefix ic: <https://w3id.org/integrating-cities/def/> .\n"
                          "ic:this-is not turtle at all ;; .\n", encoding="utf-8")
        self.event("build-start", "failing build: data/soak-malformed.ttl added")
        build = self.run_build("malformed Turtle")
        broken.unlink()
        build["failing"] = True
        unchanged = build["before"] == build["after"]
        self.event("failed-build", f"exit {build['exit']} in {build['seconds']:.1f} s; build/current "
                                   f"{'unchanged' if unchanged else 'CHANGED to ' + str(build['after'])}; "
                                   f"{build['stderr'].strip().splitlines()[-1] if build['stderr'].strip() else ''}",
                   t=build["t"] + build["seconds"], exit=build["exit"], unchanged=unchanged, start=build["t"],
                   seconds=build["seconds"])

    # -- faults

    def _kill(self, what: str) -> threading.Thread | None:
        serve_pid = self.server.pid
        if what == "kill-worker":
            workers = query_workers(serve_pid)
            choices = [(parent, w) for parent, ws in workers.items() for w in ws]
            if not choices:
                self.event("kill-worker", "no query worker found to kill", found=False)
                return None
            parent, victim = random.Random(len(self.events)).choice(choices)
            before = len(workers[parent])
            release = _cmdline(victim).split("worker_entry()", 1)[-1].split()[0].rstrip("/").rsplit("/", 1)[-1]
            try:
                victim.send_signal(signal.SIGKILL)
            except psutil.Error as error:
                self.event("kill-worker", f"could not kill {victim.pid}: {error}", found=False)
                return None
            event = self.event("kill-worker", f"SIGKILL query worker {victim.pid} (of HTTP process {parent}, "
                                              f"release {release}); that process had {before}", pid=victim.pid,
                               parent=parent, found=True)
            thread = threading.Thread(target=self._await_worker, args=(event, parent, victim.pid), daemon=True)
        else:
            procs = http_processes(serve_pid)
            if not procs:
                self.event("kill-http", "no HTTP process found to kill", found=False)
                return None
            victim = random.Random(len(self.events)).choice(procs)
            orphans = [w.pid for w in query_workers(serve_pid).get(victim.pid, [])]
            try:
                victim.send_signal(signal.SIGKILL)
            except psutil.Error as error:
                self.event("kill-http", f"could not kill {victim.pid}: {error}", found=False)
                return None
            event = self.event("kill-http", f"SIGKILL HTTP process {victim.pid} (its query workers {orphans})",
                               pid=victim.pid, workers=orphans, found=True)
            thread = threading.Thread(target=self._await_http, args=(event, {p.pid for p in procs}, victim.pid, orphans),
                                      daemon=True)
        thread.start()
        return thread

    def _await_worker(self, event: Event, parent: int, victim: int) -> None:
        """Until the HTTP process has its full count of query workers again (a worker killed while idle is only
        found dead, and replaced, when a query asks that process for one)."""
        deadline = event.t + 60
        while self.clock.now() < deadline:
            every = query_workers(self.server.pid)
            if parent not in every:
                self._recovered(event, "its HTTP process went away before the worker was replaced", None)
                return
            workers = [w.pid for w in every[parent]]
            if victim not in workers and len(workers) >= self.ready_workers:
                self._recovered(event, "query worker replaced", self.clock.now() - event.t)
                return
            time.sleep(0.1)
        self._recovered(event, "query worker not replaced within 60 s (no query needed one on that process)", None)

    def _await_http(self, event: Event, pids: set[int], victim: int, orphans: list[int]) -> None:
        deadline, respawned, orphans_gone = event.t + 60, None, None
        expected = self.http_count
        while self.clock.now() < deadline and (respawned is None or orphans_gone is None):
            now = self.clock.now()
            if orphans_gone is None and not any(psutil.pid_exists(pid) and _alive(pid) for pid in orphans):
                orphans_gone = now - event.t
            if respawned is None:
                workers = query_workers(self.server.pid)
                fresh = [pid for pid in workers if pid not in pids]
                if (len(workers) >= expected and victim not in workers and fresh
                        and all(len(workers[pid]) >= self.ready_workers for pid in fresh)):
                    respawned = now - event.t
            time.sleep(0.1)
        self._recovered(event, "a new HTTP process and its query workers started" if respawned is not None
                        else "NO new HTTP process within 60 s", respawned, orphans_exited_s=orphans_gone)

    def _recovered(self, event: Event, what: str, seconds: float | None, **extra) -> None:
        record = {"kind": event.kind, "t": event.t, "pid": event.data.get("pid"), "what": what, "seconds": seconds, **extra}
        with self._lock:
            self.recoveries.append(record)
        more = "".join(f"; {k.replace('_', ' ')} {v:.1f} s" if isinstance(v, float) else f"; {k.replace('_', ' ')} {v}"
                       for k, v in extra.items())
        self.log(f"recovered: {what}" + (f" after {seconds:.1f} s" if seconds is not None else "") + more)

    # -- watchers

    def _watch_releases(self) -> None:
        last = None
        while not self._stop_watch.is_set():
            now = self.clock.now()
            current = self._current()
            if current != last and current is not None:
                with self._lock:
                    self.current_since.append((now, current))
                if last is not None:
                    self.event("current", f"build/current -> {current} (was {last})", t=now, release=current)
                last = current
            try:
                names = {n for n in os.listdir(self.build_dir) if re.match(r"\d{8}T\d+Z-[0-9a-f]+$", n)}
            except OSError:
                names = set()
            with self._lock:
                for name in names - self.folders_seen.keys():
                    self.folders_seen[name] = now
                for name in self.folders_seen.keys() - names - self.folders_deleted.keys():
                    self.folders_deleted[name] = now
                    self.events.append(Event(now, "deleted", f"snapshot folder {name} deleted (pruned)", {"release": name}))
                    self.log(f"deleted: {name}")
            self._stop_watch.wait(0.02)

    def _watch_memory(self) -> None:
        pgid = self.server.pid
        psutil.cpu_percent(None)
        while not self._stop_watch.is_set():
            now = self.clock.now()
            rss = http = workers = other = http_rss = workers_rss = worker_max = 0
            for proc in group_processes(pgid):
                try:
                    one = proc.memory_info().rss
                except psutil.Error:
                    continue
                rss += one
                cmd = _cmdline(proc)
                if "worker_entry" in cmd:
                    workers += 1
                    workers_rss += one
                    worker_max = max(worker_max, one)
                elif proc.pid != pgid and _ppid(proc) == pgid:
                    http += 1
                    http_rss += one
                elif proc.pid != pgid:
                    other += 1
            with self._lock:
                self.memory.append({"t": now, "rss_mb": rss / 2**20, "http": http, "workers": workers, "other": other,
                                    "http_mb": http_rss / 2**20, "workers_mb": workers_rss / 2**20,
                                    "worker_max_mb": worker_max / 2**20,
                                    "cpu_percent": psutil.cpu_percent(None), "load1": os.getloadavg()[0]})
            self._stop_watch.wait(1.0)

    def stop_server(self) -> None:
        if self.server is None:
            return
        if self.server.poll() is not None:
            if self.server_exit is None:
                self.server_exit = (self.clock.now(), self.server.returncode)
            return
        started = time.perf_counter()
        try:
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(20)
            self.setup["stop"] = f"SIGTERM: stopped in {time.perf_counter() - started:.1f} s"
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(10)
            self.setup["stop"] = "SIGTERM: not stopped in 20 s, killed"
        except ProcessLookupError:
            pass
        try:  # anything of its group still there (a query worker of a killed HTTP process)
            os.killpg(self.server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.setup["log_errors"] = log_errors(self.work / "serve.log")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_errors(log: Path) -> dict:
    """Warnings, errors and tracebacks in the server's log, by their first line (access lines excluded)."""
    counts: Counter = Counter()
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        if " kg.access " in line:
            continue
        if re.search(r"\b(ERROR|WARNING|CRITICAL|Traceback|Exception|Error:)\b|\[WARNING\]|\[ERROR\]", line):
            key = re.sub(r"\d+", "N", line.split(" ", 2)[-1] if line[:4].isdigit() else line)[:160]
            counts[key] += 1
    return dict(counts.most_common(15))


# --------------------------------------------------------------------------- analysis


def waited(x: Sample) -> float | None:
    """How long a SPARQL request waited rather than ran: its latency less the server's KG-Query-Time; all of it
    for a 503 (stopped or never run); None for anything else."""
    if x.cls not in ("lookup", "competency", ABUSER) or not x.answered:
        return None
    if x.query_time is not None:
        return max(0.0, x.latency - x.query_time)
    return x.latency if x.status == 503 else None


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank, as benchmarks/endpoint.py."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def status_text(counts: Counter) -> str:
    def key(item):
        status = item[0]
        return (0, status) if isinstance(status, int) else (1, 0)
    return ", ".join(f"{status}: {n:,}" for status, n in sorted(counts.items(), key=key)) or "none"


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    value = seconds * 1000
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}×" if a and b else "–"


@dataclass
class Check:
    id: str
    name: str
    passed: bool
    detail: str


class Report:
    """Everything measured, the checks, and the text, JSON and plot made of them."""

    def __init__(self, soak: Soak) -> None:
        self.soak = s = soak
        self.o = soak.o
        self.machine = machine()
        self.samples = sorted(s.samples, key=lambda x: x.start)
        self.events = sorted(s.events, key=lambda e: e.t)
        self.windows = self._disturbances()
        self.intervals = self._release_intervals()
        self.judged = [self._judge(x) for x in self.samples]
        self.checks = self._checks()

    # -- helpers

    def phase(self, sample: Sample) -> str:
        if sample.start < self.soak.t_soak:
            return "baseline"
        return "soak" if sample.start < self.soak.t_drain else "drain"

    def of(self, cls: str | None = None, phase: str | None = None, well_behaved: bool | None = None,
           aborted: bool = False) -> list[Sample]:
        """Samples of a class and phase; without those the end of the run broke off (``aborted``) unless asked."""
        return [x for x in self.samples if (aborted or x.status != "aborted") and (cls is None or x.cls == cls)
                and (phase is None or self.phase(x) == phase)
                and (well_behaved is None or (x.cls in WELL_BEHAVED) == well_behaved)]

    def _disturbances(self) -> list[tuple[float, float, str]]:
        windows = []
        for e in self.events:
            if e.kind in ("build", "failed-build"):
                windows.append((e.data["start"], e.t + DISTURBANCE_S["build"], e.kind))
            elif e.kind in ("kill-worker", "kill-http") and e.data.get("found"):
                windows.append((e.t, e.t + DISTURBANCE_S[e.kind], e.kind))
        return windows

    def disturbed(self, sample: Sample) -> bool:
        return any(a <= sample.end and sample.start <= b for a, b, _ in self.windows)

    def _release_intervals(self) -> dict[str, tuple[float, float]]:
        """release -> (became current, replaced) as seen by the watcher; the first one current since before t = 0."""
        changes = self.soak.current_since
        out: dict[str, tuple[float, float]] = {}
        for i, (t, release) in enumerate(changes):
            begin = -math.inf if i == 0 else t
            end = changes[i + 1][0] if i + 1 < len(changes) else math.inf
            if release in out:  # current again (not expected): keep the widest span
                begin = min(begin, out[release][0])
            out[release] = (begin, end)
        return out

    def _judge(self, x: Sample) -> dict:
        """Whether an answer's release was current while it ran, how stale it was, whether it was deleted."""
        verdict = {"unknown": False, "stale_s": 0.0, "early": False, "deleted": False, "in_flight_deleted": False,
                   "wrong_revision": False}
        if not x.answered or x.cls == "setup":
            return verdict
        if x.release is None or x.release not in self.intervals:
            verdict["unknown"] = True
            return verdict
        begin, end = self.intervals[x.release]
        verdict["stale_s"] = max(0.0, x.start - end)
        verdict["early"] = x.end + 0.05 < begin  # served before build/current named it (watcher polls every 20 ms)
        deleted = self.soak.folders_deleted.get(x.release)
        if deleted is not None:
            verdict["deleted"] = deleted <= x.start
            verdict["in_flight_deleted"] = x.start < deleted <= x.end
        if x.label == "marker" and x.status == 200 and x.note.startswith("revision "):
            expected = self.soak.revision_of.get(x.release)
            verdict["wrong_revision"] = expected is not None and int(x.note.split()[1]) != expected
        return verdict

    # -- figures

    def class_table(self) -> list[dict]:
        rows = []
        s = self.soak
        spans = {"baseline": s.t_soak - s.t_baseline, "soak": s.t_drain - s.t_soak, "drain": s.t_end - s.t_drain}
        for cls in (*WELL_BEHAVED, ABUSER):
            for phase in ("baseline", "soak", "drain"):
                chosen = self.of(cls, phase, aborted=True)
                if not chosen and (cls == ABUSER or phase == "drain"):
                    continue
                answered = [x.latency for x in chosen if x.answered]
                clients = sorted({x.client for x in chosen})
                rows.append({"class": cls, "phase": phase, "clients": len(clients), "requests": len(chosen),
                             "statuses": Counter(x.status for x in chosen),
                             "p50": percentile(answered, 50), "p95": percentile(answered, 95), "p99": percentile(answered, 99),
                             "max": max(answered) if answered else None,
                             "per_s": len(chosen) / max(1e-9, spans[phase]),
                             "cache_hits": sum(1 for x in chosen if x.cache == "hit")})
        return rows

    def comparison(self) -> list[dict]:
        """Well-behaved latency, baseline vs soak (all, and outside the disturbance windows), 200s only."""
        rows = []
        for cls in WELL_BEHAVED:
            base = [x.latency for x in self.of(cls, "baseline") if x.status == 200]
            soak_all = [x for x in self.of(cls, "soak") if x.status == 200]
            quiet = [x.latency for x in soak_all if not self.disturbed(x)]
            everything = [x.latency for x in soak_all]
            rows.append({"class": cls, "n_baseline": len(base), "n_soak": len(everything), "n_quiet": len(quiet),
                         **{f"{name}_{p}": percentile(values, p) for name, values in
                            (("baseline", base), ("soak", everything), ("quiet", quiet)) for p in (50, 95, 99)}})
        return rows

    def waits(self) -> dict:
        """SPARQL answers of well-behaved clients in the soak phase: latency minus the server's query time."""
        out = {}
        for cls in ("lookup", "competency"):
            for phase in ("baseline", "soak"):
                values = [wait for x in self.of(cls, phase) if (wait := waited(x)) is not None]
                out[f"{cls}/{phase}"] = {"n": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99),
                                         "max": max(values) if values else None,
                                         "over_limit": sum(1 for v in values if v > self.o.wait_limit_s)}
        return out

    def switches(self) -> list[dict]:
        """Per change of build/current: when the new release was first served, when the old one last was."""
        rows = []
        changes = self.soak.current_since
        answered = [x for x in self.samples if x.answered and x.release and x.cls != "setup"]
        for i in range(1, len(changes)):
            t, new = changes[i]
            old = changes[i - 1][1]
            first_new = min((x.start for x in answered if x.release == new), default=None)
            last_old = max((x.start for x in answered if x.release == old), default=None)
            preparing = [x.start for x in self.samples if x.label == "healthz" and x.note == new]
            rows.append({"t": t, "old": old, "new": new,
                         "first_new_s": None if first_new is None else first_new - t,
                         "last_old_s": None if last_old is None else last_old - t,
                         "preparing_s": (min(preparing) - t, max(preparing) - t) if preparing else None,
                         "deleted_s": (self.soak.folders_deleted[old] - t) if old in self.soak.folders_deleted else None})
        return rows

    def memory_figures(self) -> dict:
        series = self.soak.memory
        if not series:
            return {}
        peak = max(series, key=lambda m: m["rss_mb"])

        def mean(key, a, b):
            chosen = [m[key] for m in series if a <= m["t"] < b]
            return sum(chosen) / len(chosen) if chosen else None

        s = self.soak
        tail = max(s.t_soak, s.t_drain - 30)
        return {"start_mb": series[0]["rss_mb"], "max_mb": peak["rss_mb"], "max_at": peak["t"], "end_mb": series[-1]["rss_mb"],
                "baseline_mean_mb": mean("rss_mb", s.t_baseline, s.t_soak),
                "soak_first_30s_mean_mb": mean("rss_mb", s.t_soak, s.t_soak + 30),
                "soak_last_30s_mean_mb": mean("rss_mb", tail, s.t_drain),
                "processes_min": min(m["http"] + m["workers"] + m["other"] + 1 for m in series),
                "processes_max": max(m["http"] + m["workers"] + m["other"] + 1 for m in series),
                "cpu_baseline": mean("cpu_percent", s.t_baseline, s.t_soak), "cpu_soak": mean("cpu_percent", s.t_soak, s.t_drain),
                "worker_max_mb": max(m["worker_max_mb"] for m in series), "workers_max_mb": max(m["workers_mb"] for m in series),
                "http_max_mb": max(m["http_mb"] for m in series)}

    # -- checks

    def _checks(self) -> list[Check]:
        s, o = self.soak, self.o
        checks = []
        well = self.of(well_behaved=True)
        bad = [x for x in well if (isinstance(x.status, int) and x.status >= 500) or x.status == "timeout"]
        checks.append(Check("no-5xx", "no well-behaved request got a 5xx or timed out", not bad,
                            f"{len(bad)} of {len(well):,}" + (": " + "; ".join(
                                f"{x.cls} {x.label} {x.status} at +{x.start:.1f} s ({x.note[:80]})" for x in bad[:5]) if bad else "")))

        judged = [(x, v) for x, v in zip(self.samples, self.judged) if x.answered and x.cls != "setup"]
        unknown = [x for x, v in judged if v["unknown"]]
        stale = [(x, v) for x, v in judged if v["stale_s"] > o.stale_allowance_s]
        early = [x for x, v in judged if v["early"]]
        wrong = [x for x, v in judged if v["wrong_revision"]]
        stalest = max((v["stale_s"] for _, v in judged), default=0.0)
        n_stale = sum(1 for _, v in judged if v["stale_s"] > 0)
        markers = sum(1 for x, _ in judged if x.label == "marker" and x.status == 200)
        late = sum(1 for _, v in judged if v["stale_s"] > 2.0)
        detail = (f"{len(judged):,} answers; {n_stale:,} from the previous release after build/current changed, "
                  f"{late:,} of them more than 2 s after (the poll, 1 s, and a second to prepare), the latest "
                  f"{stalest:.2f} s after (allowance {o.stale_allowance_s:g} s); {len(stale)} beyond the allowance; "
                  f"{len(unknown)} naming no release that was ever current; {len(early)} from a release before it was current; "
                  f"{markers:,} marker lookups, {len(wrong)} with the revision of another release")
        if unknown:
            detail += "; unknown: " + ", ".join(sorted({str(x.release) for x in unknown})[:3])
        checks.append(Check("release-current", "every answer came from a release that was current while it ran",
                            not (unknown or stale or early or wrong), detail))

        deleted = [x for x, v in judged if v["deleted"]]
        in_flight = [x for x, v in judged if v["in_flight_deleted"]]
        checks.append(Check("not-deleted", "no answer came from a deleted release", not deleted,
                            f"{len(s.folders_deleted)} snapshot folders deleted during the run; {len(deleted)} answers named a "
                            f"release whose folder was gone when the request started; {len(in_flight)} had it deleted "
                            f"while in flight (after the server let go of it)"))

        abuse = self.of(ABUSER)
        statuses = Counter(x.status for x in abuse)
        checks.append(Check("abuser-429", "the abuser got 429", statuses.get(429, 0) > 0,
                            f"{len(abuse):,} requests: {status_text(statuses)}"))

        waits = self.waits()
        long_waits = [x for x in self.of(phase="soak", well_behaved=True) if (waited(x) or 0) > o.wait_limit_s]
        p99s = {row["class"]: row["p99"] for row in self.class_table() if row["phase"] == "soak" and row["class"] in WELL_BEHAVED}
        slow = {cls: p for cls, p in p99s.items() if p is not None and p > o.p99_limit_s}
        checks.append(Check("not-waited", "well-behaved requests did not wait on the abuser", not long_waits and not slow,
                            f"{len(long_waits)} SPARQL answers waited more than {o.wait_limit_s:g} s (longest "
                            f"{max((waited(x) for x in long_waits), default=0):.1f} s); soak p99 per class "
                            + ", ".join(f"{cls} {ms(p)} ms" for cls, p in p99s.items())
                            + f" (limit {o.p99_limit_s * 1000:,.0f} ms)"
                            + (f"; waits (p99/max, ms): competency {ms(waits['competency/soak']['p99'])}/"
                               f"{ms(waits['competency/soak']['max'])}, lookup {ms(waits['lookup/soak']['p99'])}/"
                               f"{ms(waits['lookup/soak']['max'])}")))

        refused = [x for x in well if x.status == 429]
        checks.append(Check("no-429-well-behaved", "no well-behaved request was refused (429)", not refused,
                            f"{len(refused)} of {len(well):,}"))

        kills = [e.t for e in self.events if e.kind == "kill-http" and e.data.get("found")]
        errors = [x for x in well if x.status == "conn-error"]
        unexplained = [x for x in errors if not any(x.opened - 0.05 <= k <= x.end + 0.05 for k in kills)]
        checks.append(Check("conn-errors-explained", "well-behaved connection errors only on connections open when an "
                                                     "HTTP process was killed", not unexplained,
                            f"{len(errors)} connection errors ({len(kills)} HTTP processes killed), {len(unexplained)} unexplained"
                            + (": " + "; ".join(f"{x.cls} at +{x.start:.1f} s {x.note}" for x in unexplained[:5]) if unexplained else "")))

        failing = [b for b in s.builds if b.get("failing")]
        ok = bool(failing) and all(b["exit"] != 0 and b["before"] == b["after"] for b in failing)
        checks.append(Check("failed-build", "the failing build exited non-zero and left build/current as it was", ok,
                            "; ".join(f"exit {b['exit']}, current {'unchanged' if b['before'] == b['after'] else 'changed'}"
                                      for b in failing) or "no failing build ran"))

        releases = [b for b in s.builds if not b.get("failing") and b["why"] != "initial build"]
        checks.append(Check("releases", "every new release built and became current",
                            bool(releases) and all(b["exit"] == 0 and b["after"] != b["before"] for b in releases),
                            f"{sum(1 for b in releases if b['exit'] == 0)} of {len(releases)} new releases built; "
                            f"{len(s.current_since) - 1} changes of build/current seen"))

        kills_done = [e for e in self.events if e.kind in ("kill-worker", "kill-http")]
        found = [e for e in kills_done if e.data.get("found")]
        http_kills = [r for r in s.recoveries if r["kind"] == "kill-http"]
        respawned = [r for r in http_kills if r["seconds"] is not None and r["seconds"] <= 30]
        orphans_gone = [r for r in http_kills if r.get("orphans_exited_s") is not None and r["orphans_exited_s"] <= 10]
        worker_kills = [r for r in s.recoveries if r["kind"] == "kill-worker"]
        replaced = sorted(r["seconds"] for r in worker_kills if r["seconds"] is not None)
        checks.append(Check("recovered", "every kill found its process; after each HTTP process killed, a new one within "
                                         "30 s and the old one's query workers gone within 10 s",
                            bool(found) and len(found) == len(kills_done) and len(respawned) == len(http_kills)
                            and len(orphans_gone) == len(http_kills),
                            f"{len(found)} of {len(kills_done)} kills found a process; HTTP processes: "
                            + ("; ".join(f"+{r['t']:.0f} s {r['what']}" + (f" in {r['seconds']:.1f} s" if r["seconds"] is not None else "")
                                         + (f", its query workers exited in {r['orphans_exited_s']:.1f} s"
                                            if r.get("orphans_exited_s") is not None else ", its query workers did NOT exit")
                                         for r in sorted(http_kills, key=lambda r: r["t"])) or "none killed")
                            + f"; query workers: {len(replaced)} of {len(worker_kills)} replaced within 60 s"
                            + (f" (after {', '.join(f'{v:.1f}' for v in replaced)} s: a worker killed while idle is replaced "
                               f"when that process next needs one)" if replaced else "")))

        checks.append(Check("server-alive", "kg serve kept running to the end", s.server_exit is None,
                            "yes" if s.server_exit is None else f"exited with {s.server_exit[1]} at +{s.server_exit[0]:.1f} s"))
        return checks

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def check(self, id: str) -> Check:
        return next(c for c in self.checks if c.id == id)

    # -- output

    def text(self, command: str = "") -> str:
        s, o, m = self.soak, self.o, self.machine
        build = s.setup.get("build", {})
        lines = [f"Soak of `kg serve`: {command}" if command else "Soak of `kg serve`", ""]
        lines.append(f"- {m['date']}; {m['nproc']} CPUs, {m['memory']} memory, {m['cpu']}; load average {m['loadavg']} at the start")
        lines.append(f"- Synthetic project: {s.setup.get('synth_triples', 0):,} triples (`kg synth`, seed {o.seed}, "
                     f"{s.setup.get('synth_s', 0):.1f} s); first build {build.get('seconds', 0):.1f} s, "
                     f"{build.get('total_triples', 0):,} triples with the inferred ones, peak "
                     f"{max((v['peak_mb'] for v in build.get('stages', {}).values()), default=0)} MB; "
                     f"`kg serve` answered {s.setup.get('serve_start_s', 0):.1f} s after it started")
        env = {**s.server_settings(), "KG_KEEP_RELEASES": o.keep_snapshots}
        lines.append("- Server settings: " + ", ".join(f"{k}={v}" for k, v in env.items()) + "; the rest default; "
                     f"seen running: {s.http_count} HTTP processes with {s.ready_workers} query worker(s) each at rest")
        lines.append(f"- Phases: baseline {s.t_soak - s.t_baseline:.0f} s (well-behaved clients only), soak "
                     f"{s.t_drain - s.t_soak:.0f} s (abuser, {o.abuser_connections} connections, and faults; slot {o.slot:.1f} s), "
                     f"drain {s.t_end - s.t_drain:.0f} s (the last build finished and served, without the abuser); "
                     f"{o.clients} well-behaved clients (127.0.0.2–127.0.0.{1 + o.clients}) + the health probe "
                     f"({HEALTH_ADDRESS}); the abuser at {ABUSER_ADDRESS}")
        targets = s.targets
        if targets:
            lines.append(f"- Asked for: {len(targets.iris)} entity IRIs (lookups, pages), {len(targets.queries)} competency "
                         f"queries, {len(targets.downloads)} dumps")
        lines += ["", "Requests per client class (latency of answered requests, ms; nearest-rank percentiles; \"aborted\": "
                      "in flight when the run ended, broken off by the client):", "",
                  "| class | phase | clients | requests | req/s | statuses | p50 | p95 | p99 | max |",
                  "|---|---|--:|--:|--:|---|--:|--:|--:|--:|"]
        for row in self.class_table():
            cache = f" (KG-Cache hits {row['cache_hits']:,})" if row["cache_hits"] else ""
            lines.append(f"| {row['class']} | {row['phase']} | {row['clients']} | {row['requests']:,} | {row['per_s']:.1f} | "
                         f"{status_text(row['statuses'])}{cache} | {ms(row['p50'])} | {ms(row['p95'])} | {ms(row['p99'])} | "
                         f"{ms(row['max'])} |")
        lines += ["", "Well-behaved latency (200s), baseline vs soak: all of the soak, and its undisturbed part (outside "
                      f"builds + {DISTURBANCE_S['build']:g} s, worker kills + {DISTURBANCE_S['kill-worker']:g} s, HTTP kills + "
                      f"{DISTURBANCE_S['kill-http']:g} s). ms; ratio = soak / baseline:", "",
                  "| class | baseline p95 | soak p95 | ratio | undisturbed p95 | ratio | baseline p99 | soak p99 | ratio | "
                  "undisturbed p99 | ratio |", "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for r in self.comparison():
            lines.append(f"| {r['class']} | {ms(r['baseline_95'])} | {ms(r['soak_95'])} | {ratio(r['soak_95'], r['baseline_95'])} | "
                         f"{ms(r['quiet_95'])} | {ratio(r['quiet_95'], r['baseline_95'])} | {ms(r['baseline_99'])} | "
                         f"{ms(r['soak_99'])} | {ratio(r['soak_99'], r['baseline_99'])} | {ms(r['quiet_99'])} | "
                         f"{ratio(r['quiet_99'], r['baseline_99'])} |")
        lines += ["", "Waiting rather than running (latency − KG-Query-Time of SPARQL answers; the whole latency of a 503), ms:", ""]
        for key, w in self.waits().items():
            lines.append(f"- {key}: {w['n']:,} answers, p50 {ms(w['p50'])}, p99 {ms(w['p99'])}, max {ms(w['max'])}; "
                         f"{w['over_limit']} over {o.wait_limit_s:g} s")
        lines += ["", "Builds:", ""]
        for b in s.builds:
            stages = ", ".join(f"{k} {v['s']:.1f}" for k, v in b["stages"].items())
            peak = max((v["peak_mb"] for v in b["stages"].values()), default=0)
            lines.append(f"- +{b['t']:.1f} s {b['why']}: exit {b['exit']} in {b['seconds']:.1f} s"
                         + (f" ({stages} s; peak {peak} MB)" if stages else "") + f"; current {b['after']}")
        lines += ["", "Release switches (s after build/current changed; the watcher polls every 20 ms):", ""]
        for r in self.switches():
            prep = f"/healthz said 'switching' from +{r['preparing_s'][0]:.2f} to +{r['preparing_s'][1]:.2f} s; " if r["preparing_s"] else ""
            gone = f"old folder deleted at +{r['deleted_s']:.1f} s" if r["deleted_s"] is not None else "old folder kept"
            first = f"{r['first_new_s']:+.2f} s" if r["first_new_s"] is not None else "never"
            last = f"{r['last_old_s']:+.2f} s" if r["last_old_s"] is not None else "never"
            lines.append(f"- +{r['t']:.1f} s {r['old']} -> {r['new']}: {prep}new release first answered a request started at "
                         f"{first}, old one last at {last}; {gone}")
        lines += ["", "Events:", ""]
        for e in self.events:
            if e.kind in ("phase", "build", "failed-build", "kill-worker", "kill-http", "deleted", "note"):
                lines.append(f"- +{e.t:6.1f} s {e.kind}: {e.detail}")
        for r in sorted(s.recoveries, key=lambda r: r["t"]):
            extra = f"; its query workers exited {r['orphans_exited_s']:.1f} s after" if r.get("orphans_exited_s") is not None else ""
            lines.append(f"- recovery from {r['kind']} at +{r['t']:.1f} s: {r['what']}"
                         + (f" after {r['seconds']:.1f} s" if r["seconds"] is not None else "") + extra)
        mem = self.memory_figures()
        if mem:
            lines += ["", f"Memory of the server's process group (resident set, summed over its processes, sampled every "
                          f"second): {mem['start_mb']:,.0f} MB at the start, max {mem['max_mb']:,.0f} MB at +{mem['max_at']:.0f} s, "
                          f"{mem['end_mb']:,.0f} MB at the end; mean {mem['baseline_mean_mb'] or 0:,.0f} MB in the baseline, "
                          f"{mem['soak_first_30s_mean_mb'] or 0:,.0f} MB in the first 30 s of the soak and "
                          f"{mem['soak_last_30s_mean_mb'] or 0:,.0f} MB in its last 30 s; {mem['processes_min']}–"
                          f"{mem['processes_max']} processes; at most {mem['http_max_mb']:,.0f} MB in the HTTP processes, "
                          f"{mem['workers_max_mb']:,.0f} MB in the query workers, {mem['worker_max_mb']:,.0f} MB in one worker. "
                          f"Machine CPU: {mem['cpu_baseline'] or 0:.0f} % in the baseline, {mem['cpu_soak'] or 0:.0f} % in the soak."]
            step = max(1, len(s.memory) // 12)
            lines.append("")
            lines.append("Over time: " + ", ".join(f"+{m['t']:.0f} s {m['rss_mb']:,.0f} MB ({m['http']} HTTP "
                                                   f"{m['http_mb']:,.0f} MB, {m['workers']} workers {m['workers_mb']:,.0f} MB)"
                                                   for m in s.memory[::step]))
        errors = s.setup.get("log_errors") or {}
        if errors:
            lines += ["", "Server log, warnings and errors (digits as N):", ""]
            lines += [f"- {n} × {line}" for line, n in errors.items()]
        if s.setup.get("stop"):
            lines += ["", f"Stopping `kg serve`: {s.setup['stop']}"]
        lines += ["", "Checks:", ""]
        for c in self.checks:
            lines.append(f"- {'PASS' if c.passed else 'FAIL'} {c.id}: {c.name} — {c.detail}")
        lines.append("")
        lines.append("All checks passed." if self.passed else
                     "FAILED: " + ", ".join(c.id for c in self.checks if not c.passed))
        return "\n".join(lines) + "\n"

    def summary(self) -> dict:
        s = self.soak
        return {
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self.o).items()},
            "machine": self.machine, "libraries": versions(LIBRARIES), "setup": s.setup,
            "phases": {"baseline": s.t_baseline, "soak": s.t_soak, "drain": s.t_drain, "end": s.t_end},
            "classes": [{**row, "statuses": {str(k): v for k, v in row["statuses"].items()}} for row in self.class_table()],
            "comparison": self.comparison(), "waits": self.waits(), "builds": s.builds, "switches": self.switches(),
            "events": [asdict(e) for e in self.events], "recoveries": s.recoveries,
            "current": s.current_since, "deleted": s.folders_deleted, "memory": self.memory_figures(),
            "memory_series": s.memory, "checks": [asdict(c) for c in self.checks], "passed": self.passed,
        }

    def write_samples(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        names = list(Sample.__dataclass_fields__)
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow([*names, "latency"])
            for x in self.samples:
                writer.writerow([getattr(x, n) for n in names] + [f"{x.latency:.6f}"])

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        s = self.soak
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(16, 8.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
        colours = {"lookup": "tab:blue", "competency": "tab:green", "page": "tab:orange", "download": "tab:brown",
                   "health": "tab:gray", ABUSER: "tab:red"}
        for cls, colour in colours.items():
            chosen = [x for x in self.of(cls) if x.answered]
            if not chosen:
                continue
            if cls == ABUSER:
                refused = [x for x in chosen if x.status == 429]
                others = [x for x in chosen if x.status != 429]
                if refused:
                    top.scatter([x.start for x in refused], [max(x.latency, 1e-4) * 1000 for x in refused], s=4, alpha=0.3,
                                color=colour, linewidths=0, rasterized=True, label="abuser: 429")
                if others:
                    top.scatter([x.start for x in others], [x.latency * 1000 for x in others], s=40, marker="v",
                                color=colour, label="abuser: other answers (503, 200)")
                continue
            top.scatter([x.start for x in chosen], [max(x.latency, 1e-4) * 1000 for x in chosen], s=5, alpha=0.35,
                        color=colour, linewidths=0, rasterized=True)
            bins: dict[int, list[float]] = {}
            for x in chosen:
                bins.setdefault(int(x.start // 5), []).append(x.latency)
            keys = sorted(bins)
            top.plot([k * 5 + 2.5 for k in keys], [percentile(bins[k], 95) * 1000 for k in keys], color=colour, lw=1.5,
                     label=f"{cls} (p95 per 5 s)")
            failed = [x for x in self.of(cls) if not x.answered or (isinstance(x.status, int) and x.status >= 500)]
            if failed and cls != ABUSER:
                top.scatter([x.start for x in failed], [max(x.latency, 1e-4) * 1000 for x in failed], marker="x", s=30,
                            color=colour, label=f"{cls}: 5xx / connection errors")
        top.set_yscale("log")
        top.set_ylabel("latency (ms, log)")
        top.set_title(f"kg serve soak: {s.setup.get('synth_triples', 0):,} synthetic triples, {self.o.clients} well-behaved "
                      f"clients, abuser with {self.o.abuser_connections} connections")
        for axis in (top, bottom):
            axis.axvspan(s.t_baseline, s.t_soak, color="0.92", zorder=0)
            axis.axvspan(s.t_drain, s.t_end, color="0.96", zorder=0)
            marks = [("current", "tab:green", "-", "build/current changed"), ("failed-build", "tab:red", "--", "failing build"),
                     ("kill-worker", "tab:orange", ":", "query worker killed"), ("kill-http", "tab:purple", "-.", "HTTP process killed"),
                     ("deleted", "0.5", (0, (1, 3)), "snapshot folder deleted")]
            for kind, colour, style, label in marks:
                ts = [e.t for e in self.events if e.kind == kind]
                for i, t in enumerate(ts):
                    axis.axvline(t, color=colour, ls=style, lw=1.2, label=label if axis is top and i == 0 else None)
        top.text(s.t_baseline + 1, top.get_ylim()[1], "baseline", va="top", fontsize=8, color="0.4")
        top.legend(loc="upper left", bbox_to_anchor=(1.06, 1.0), fontsize=7, markerscale=2, borderaxespad=0)
        series = s.memory
        bottom.plot([m["t"] for m in series], [m["rss_mb"] for m in series], color="black", lw=1.2, label="RSS of the process group")
        bottom.plot([m["t"] for m in series], [m["workers_mb"] for m in series], color="tab:orange", lw=1, ls="--",
                    label="of which query workers")
        bottom.set_ylabel("RSS (MB)")
        bottom.set_xlabel("seconds since the run started (set-up before the grey baseline; x: 5xx and connection errors)")
        twin = bottom.twinx()
        twin.step([m["t"] for m in series], [m["workers"] for m in series], where="post", color="tab:olive", lw=0.8,
                  label="number of query workers")
        twin.step([m["t"] for m in series], [m["http"] for m in series], where="post", color="tab:purple", lw=0.8,
                  label="number of HTTP processes")
        twin.set_ylabel("processes")
        twin.set_ylim(0, max([m["workers"] + 1 for m in series] + [4]))
        handles = bottom.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        bottom.legend(handles, [h.get_label() for h in handles], loc="upper left", bbox_to_anchor=(1.06, 1.0), fontsize=7,
                      borderaxespad=0)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)


def run(options: Options) -> Report:
    """Set up, soak, analyse; the report holds the checks (nothing is written: see :func:`main`)."""
    return Soak(options).run()


# --------------------------------------------------------------------------- command line


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.startswith("KG_"):
        raise argparse.ArgumentTypeError(f"expected KG_NAME=VALUE, not {text!r}")
    return key, value


def parse(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=3.0, help="length of the run, baseline included (default 3; the full run: 10)")
    p.add_argument("--triples", type=int, default=100_000, help="size of the synthetic graph (default 100000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--clients", type=int, default=8, help="well-behaved clients besides the health probe (default 8: two each "
                                                          "of lookup, competency, page, download)")
    p.add_argument("--abuser-connections", type=int, default=4, help="concurrent connections of the abuser (default 4)")
    p.add_argument("--abuser-pause-after-429", type=float, default=0.05, metavar="S",
                   help="the abuser's pause after a 429 (default 0.05 s: abusive, not a flood)")
    p.add_argument("--baseline", type=float, help="seconds of baseline without the abuser (default: 15%% of the run, 10-60 s)")
    p.add_argument("--slot", type=float, help="seconds per slot of the fault schedule (default 30, less for short runs)")
    p.add_argument("--keep-snapshots", type=int, default=2, help="KG_KEEP_RELEASES of the builds (default 2)")
    p.add_argument("--http-workers", type=int, help="KG_HTTP_WORKERS (default: the server's)")
    p.add_argument("--query-workers", type=int, help="KG_QUERY_WORKERS (default: the server's)")
    p.add_argument("--env", type=_env_pair, action="append", default=[], metavar="KG_NAME=VALUE",
                   help="a further setting for `kg serve` (repeatable), e.g. KG_CLIENT_QUERY_BUDGET_S=20")
    p.add_argument("--stale-allowance", type=float, default=10.0, metavar="S",
                   help="how long after build/current changed the previous release may still answer (default 10 s: the "
                        "server's poll, 1 s, and the preparation of the new release, which took up to 4 s on a loaded "
                        "2-core machine; the lag itself is reported)")
    p.add_argument("--wait-limit", type=float, default=5.0, metavar="S",
                   help="longest a well-behaved SPARQL answer may wait rather than run (default 5 s)")
    p.add_argument("--p99-limit", type=float, default=5.0, metavar="S", help="highest well-behaved p99 in the soak (default 5 s)")
    p.add_argument("--work", type=Path, help="folder for the synthetic project and the logs (kept; default: a temporary one)")
    p.add_argument("--plot", type=Path, default=ROOT / "benchmarks" / "results" / "soak.png",
                   help="PNG to write (default benchmarks/results/soak.png); --plot '' for none")
    p.add_argument("--json", type=Path, help="JSON summary to write")
    p.add_argument("--samples", type=Path, help="CSV of every request to write")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    a = p.parse_args(argv)
    return Options(minutes=a.minutes, triples=a.triples, seed=a.seed, clients=a.clients, abuser_connections=a.abuser_connections,
                   abuser_pause_after_429_s=a.abuser_pause_after_429, baseline_s=a.baseline, slot_s=a.slot,
                   keep_snapshots=a.keep_snapshots, http_workers=a.http_workers, query_workers=a.query_workers, env=dict(a.env),
                   stale_allowance_s=a.stale_allowance, wait_limit_s=a.wait_limit, p99_limit_s=a.p99_limit, work=a.work,
                   plot=a.plot if a.plot and str(a.plot) else None, json=a.json, samples=a.samples, verbose=not a.quiet)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    try:
        report = run(options)
    except RuntimeError as error:  # the set-up failed (a build, or `kg serve` refusing a setting): nothing was soaked
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(report.text(command_line("soak.py", argv)))
    if options.plot:
        report.plot(options.plot)
        print(f"plot: {options.plot}")
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(report.summary(), indent=1, default=str), encoding="utf-8")
        print(f"summary: {options.json}")
    if options.samples:
        report.write_samples(options.samples)
        print(f"samples: {options.samples}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
