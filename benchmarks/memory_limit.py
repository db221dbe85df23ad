"""A sort over every triple: bare Oxigraph against `kg serve` with KG_QUERY_MAX_MEMORY, side by side.

    python benchmarks/memory_limit.py [--triples 1000000] [--work /tmp/kg-bench-synth] [--json FILE]

Why: Oxigraph materialises a whole sort before it applies LIMIT, and upstream users report an ORDER BY
that grew to 9 GB and took its host down. This proves, on a synthetic graph (`kg synth`, built once with
`kg build` and reused from --work), what that query costs on the bare store and that our server stops it
at its memory limit and goes on serving:

1. bare pyoxigraph, in a subprocess of its own: the snapshot's store opened read-only, the query over the
   snapshot's union (every triple once); its resident memory sampled every 50 ms with psutil (and its
   own peak, ``ru_maxrss``, at the end), killed past --cap;
2. the real `kg serve` on the same snapshot, once per limit: with KG_QUERY_MAX_MEMORY below the bare
   peak (--limit; default the shipped 1G if the bare peak passes it, else half the bare peak), with the
   shipped defaults (1G, 30 s) when that is another limit, and with the limit raised past the bare peak
   (--raised, and KG_QUERY_TIMEOUT_S long enough) so that the same query completes. The other settings
   are the shipped ones. For each: the answer (503 and its message, or 200), how long until it came,
   the resident memory of the whole server process tree and of the largest query worker, sampled every
   50 ms (overshoot over the limit; the worker's VmHWM), and while the query runs another client's
   lookups and cheap queries every 0.25 s; after it, a cheap query (to a worker) and a lookup (inline),
   the worker processes counted again, and /metrics (``kg_queries_stopped_total``, ``kg_query_workers``).

The sampler runs beside the server's own watch (also every 50 ms, kg/query/executor.py), so the peak it
sees may miss up to one period of growth; the worker's VmHWM, read at each sample, is the kernel's
high-water mark up to the last sample before the worker was killed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (ROOT, LoopbackClient, Reply, command_line, machine, machine_markdown, synthetic_snapshot,  # noqa: E402
                     versions, write_section)
from endpoint import ours_server  # noqa: E402
from kg.config import Settings, parse_bytes  # noqa: E402

SECTION = "memory-limit"
LIBRARIES = ["pyoxigraph", "granian", "psutil"]
MIB = 2**20
#: The sorts: every triple of the store, ordered, one row kept.
QUERIES = {
    "order-by-o": "SELECT * WHERE { ?s ?p ?o } ORDER BY ?o LIMIT 1",
    "order-by-desc-o-s-p": "SELECT * WHERE { ?s ?p ?o } ORDER BY DESC(?o) ?s ?p LIMIT 1",
}
SYNTH_QUERIES = ROOT / "benchmarks" / "synth_queries"
#: A query that goes to a worker and takes milliseconds at 10^6 triples; a comment makes each a cache miss.
CHEAP = (SYNTH_QUERIES / "s08-std-organisations-by-class.rq").read_text(encoding="utf-8")
#: A one-pattern lookup, answered in the HTTP process.
LOOKUP = (SYNTH_QUERIES / "lookup.rq").read_text(encoding="utf-8")
HEAVY_CLIENT, PROBE_CLIENT = "127.0.0.2", "127.0.0.3"
SAMPLE_S = 0.05
PROBE_S = 0.25


# --------------------------------------------------------------------------- sampling


@dataclass
class Sample:
    t: float  # seconds since the watch started
    tree: int  # resident bytes of the root process and every descendant
    worker: int  # resident bytes of the largest query worker (0: none, or not a server)
    workers: int  # query worker processes alive


class TreeWatch(threading.Thread):
    """Samples the resident memory of a process tree every ``period`` seconds; past ``cap`` bytes calls ``on_cap``
    (once), so that a run that would take the machine down is stopped and said so."""

    def __init__(self, root: int, period: float = SAMPLE_S, cap: int | None = None, on_cap=None) -> None:
        super().__init__(daemon=True, name="rss-watch")
        self.root, self.period, self.cap, self.on_cap = psutil.Process(root), period, cap, on_cap
        self.samples: list[Sample] = []
        self.worker_hwm = 0  # the largest VmHWM any query worker had at a sample
        self.capped = False
        self.started = time.monotonic()
        self._done = threading.Event()
        self._kinds: dict[int, bool] = {}  # pid -> is a query worker

    def now(self) -> float:
        return time.monotonic() - self.started

    def run(self) -> None:
        while not self._done.is_set():
            tree = worker = workers = 0
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            for process in processes:
                try:
                    if process.status() == psutil.STATUS_ZOMBIE:  # killed, not yet reaped: holds no memory
                        continue
                    rss = process.memory_info().rss
                    if self._is_worker(process):
                        workers += 1
                        worker = max(worker, rss)
                        self.worker_hwm = max(self.worker_hwm, _hwm(process.pid))
                except psutil.Error:
                    continue  # it ended between the listing and the reading
                tree += rss
            self.samples.append(Sample(self.now(), tree, worker, workers))
            if self.cap and tree > self.cap and not self.capped:
                self.capped = True
                if self.on_cap:
                    self.on_cap()
            self._done.wait(self.period)

    def _is_worker(self, process: psutil.Process) -> bool:
        if process.pid not in self._kinds:
            self._kinds[process.pid] = "worker_entry" in " ".join(process.cmdline())
        return self._kinds[process.pid]

    def stop(self) -> None:
        self._done.set()
        self.join(5)

    def peak(self, attr: str, since: float = 0.0, until: float = float("inf")) -> int:
        return max((getattr(s, attr) for s in self.samples if since <= s.t <= until), default=0)

    def workers_at(self, t: float) -> int:
        """Query worker processes at the last sample at or before ``t``."""
        before = [s for s in self.samples if s.t <= t]
        return before[-1].workers if before else 0


def _hwm(pid: int) -> int:
    """The kernel's high-water mark of a process's resident memory (VmHWM), in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# --------------------------------------------------------------------------- bare pyoxigraph


@dataclass
class BareRun:
    query: str
    rows: int | None = None
    open_s: float | None = None
    query_s: float | None = None
    rss_open: int = 0  # after opening the store, before the query
    maxrss: int = 0  # the child's own peak (ru_maxrss)
    sampled_peak: int = 0
    capped: bool = False
    error: str = ""


def bare_child(snapshot: Path, query: str) -> None:
    """In the subprocess: open the store as our workers do, run the query, print what it cost as JSON."""
    import pyoxigraph as ox

    from kg.snapshot import Snapshot

    started = time.perf_counter()
    opened = Snapshot.open(snapshot)
    store = ox.Store.read_only(str(opened.store_dir))
    open_s = time.perf_counter() - started
    rss_open = psutil.Process().memory_info().rss
    started = time.perf_counter()
    rows = sum(1 for _ in store.query(query, default_graph=opened.union))
    query_s = time.perf_counter() - started
    print(json.dumps({"rows": rows, "open_s": open_s, "query_s": query_s, "rss_open": rss_open,
                      "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def bare(snapshot: Path, name: str, cap: int, env: dict[str, str]) -> BareRun:
    run = BareRun(name)
    child = subprocess.Popen([sys.executable, __file__, "--bare-child", str(snapshot), QUERIES[name]], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = TreeWatch(child.pid, cap=cap, on_cap=child.kill)
    watch.start()
    out, err = child.communicate()
    watch.stop()
    run.sampled_peak, run.capped = watch.peak("tree"), watch.capped
    if child.returncode != 0:
        run.error = (f"killed past the {cap / MIB:,.0f} MiB cap after {watch.now():.1f} s" if watch.capped else
                     f"exit status {child.returncode}: {err.strip().splitlines()[-1:] or ''}")
    else:
        result = json.loads(out.strip().splitlines()[-1])
        run.rows, run.open_s, run.query_s = result["rows"], result["open_s"], result["query_s"]
        run.rss_open, run.maxrss = result["rss_open"], result["maxrss"]
    print(f"bare {name}: {run.error or f'{run.query_s:.1f} s, peak {run.maxrss / MIB:,.0f} MiB'}",
          file=sys.stderr, flush=True)
    return run


# --------------------------------------------------------------------------- the server


@dataclass
class Probe:
    t: float
    kind: str  # "lookup" (inline) or "cheap" (a worker)
    status: int
    ms: float


class Prober(threading.Thread):
    """Another client, asking a lookup and a cheap query every :data:`PROBE_S` while the sort runs: does the
    server go on answering everyone else?"""

    def __init__(self, port: int, clock: TreeWatch) -> None:
        super().__init__(daemon=True, name="prober")
        self.client, self.clock = LoopbackClient(port, PROBE_CLIENT, timeout=30), clock
        self.probes: list[Probe] = []
        self._done = threading.Event()

    def run(self) -> None:
        n = 0
        while not self._done.is_set():
            n += 1
            for kind, text in (("lookup", LOOKUP), ("cheap", f"{CHEAP}\n# probe {n}")):
                t = self.clock.now()
                try:
                    reply = self.client.sparql(text)
                    self.probes.append(Probe(t, kind, reply.status, reply.seconds * 1000))
                except OSError as error:
                    self.probes.append(Probe(t, kind, 0, (self.clock.now() - t) * 1000))
                    print(f"  probe {kind}: {error}", file=sys.stderr, flush=True)
            self._done.wait(PROBE_S)

    def stop(self) -> None:
        self._done.set()
        self.join(60)
        self.client.close()


@dataclass
class ServedRun:
    label: str
    query: str
    max_memory: int
    timeout_s: float
    status: int = 0
    message: str = ""
    seconds: float = 0.0  # until the answer, client-side
    baseline_tree: int = 0  # the server's tree, idle, before the query
    peak_tree: int = 0
    peak_worker: int = 0
    worker_hwm: int = 0
    crossed_at_s: float | None = None  # first sample with a worker past the limit, since the query was sent
    last_below_s: float | None = None  # the last sample before that (or before the answer) with every worker below it
    peak_at_s: float | None = None  # since the query was sent, until the largest worker had 95% of its peak
    growth_mib_s: float | None = None  # its mean growth until then
    capped: bool = False
    probes: int = 0
    probes_ok: int = 0
    probe_max_ms: dict[str, float] = field(default_factory=dict)
    after: dict[str, tuple[int, float]] = field(default_factory=dict)  # what -> (status, ms)
    workers_before: int = 0
    workers_during: int = 0
    workers_after: int = 0
    workers_back_s: float | None = None  # after the answer, until as many worker processes as before
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def overshoot(self) -> int:
        return self.peak_worker - self.max_memory


def served(snapshot: Path, name: str, label: str, max_memory: int, timeout_s: float, cap: int, env: dict[str, str],
           logs: Path) -> ServedRun:
    run = ServedRun(label, name, max_memory, timeout_s)
    folder = logs / f"{label}-{name}"
    folder.mkdir()
    server = ours_server(snapshot, folder, {**env, "KG_QUERY_MAX_MEMORY": str(max_memory),
                                             "KG_QUERY_TIMEOUT_S": str(timeout_s)})
    try:
        server.start()
        server.wait_ready(120)
        time.sleep(1.0)  # let the replaced workers of the readiness probe settle
        watch = TreeWatch(server.process.pid, cap=cap, on_cap=server.stop)
        watch.start()
        time.sleep(0.5)
        run.baseline_tree, run.workers_before = watch.peak("tree"), watch.workers_at(watch.now())
        prober = Prober(server.port, watch)
        prober.start()
        sent = watch.now()
        heavy = LoopbackClient(server.port, HEAVY_CLIENT, timeout=timeout_s + 120)
        try:
            reply: Reply | None = heavy.sparql(QUERIES[name])
        except OSError as error:
            reply = None
            run.message = f"{type(error).__name__}: {error}"
        answered = watch.now()
        prober.stop()
        if reply is not None:
            run.status, run.seconds = reply.status, reply.seconds
            run.message = reply.text.strip()[:300] if reply.status != 200 else f"{len(reply.body):,} bytes"
        run.after["the same client's next cheap query"] = _ask(heavy, f"{CHEAP}\n# after, same client")
        other = LoopbackClient(server.port, PROBE_CLIENT)
        run.after["another client's cheap query"] = _ask(other, f"{CHEAP}\n# after")
        run.after["another client's lookup"] = _ask(other, LOOKUP)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and watch.workers_at(watch.now()) < run.workers_before:
            time.sleep(SAMPLE_S)
        back = watch.now()
        run.workers_back_s = back - answered if watch.workers_at(back) >= run.workers_before else None
        run.metrics = _metrics(server.port, run.workers_before)
        run.workers_after = watch.workers_at(watch.now())
        other.close()
        heavy.close()
        watch.stop()
    finally:
        server.stop()
    _summarise(run, watch, prober.probes, sent, answered)
    print(f"{label} {name}: {run.status} after {run.seconds:.1f} s; worker peak {run.peak_worker / MIB:,.0f} MiB; "
          f"probes {run.probes_ok}/{run.probes}", file=sys.stderr, flush=True)
    return run


def _summarise(run: ServedRun, watch: TreeWatch, probes: list[Probe], sent: float, answered: float) -> None:
    """What the samples taken between sending the query and its answer say, and what the other client saw."""
    during = [s for s in watch.samples if sent <= s.t <= answered]
    run.peak_tree, run.peak_worker = max((s.tree for s in during), default=0), max((s.worker for s in during), default=0)
    run.workers_during = max((s.workers for s in during), default=0)
    run.worker_hwm, run.capped = watch.worker_hwm, watch.capped
    crossed = next((s for s in during if s.worker > run.max_memory), None)
    run.crossed_at_s = crossed.t - sent if crossed else None
    below = [s for s in during if s.worker <= run.max_memory and (crossed is None or s.t < crossed.t)]
    run.last_below_s = below[-1].t - sent if below else None
    if during:
        # The sort's rows are all in memory long before it ends: when did the worker reach (nearly) its peak?
        near = next(s for s in during if s.worker >= 0.95 * run.peak_worker)
        run.peak_at_s = near.t - sent
        if near.t > during[0].t:
            run.growth_mib_s = (near.worker - during[0].worker) / MIB / (near.t - during[0].t)
    run.probes = len(probes)
    run.probes_ok = sum(p.status == 200 for p in probes)
    for kind in ("lookup", "cheap"):
        run.probe_max_ms[kind] = max((p.ms for p in probes if p.kind == kind), default=0.0)


def _ask(client: LoopbackClient, query: str) -> tuple[int, float]:
    try:
        reply = client.sparql(query)
        return reply.status, reply.seconds * 1000
    except OSError:
        return 0, 0.0


def _metrics(port: int, workers: int) -> dict[str, float]:
    """The stop counters and the worker gauge of /metrics, asked on new connections (so of either HTTP process)
    for up to 5 s until the gauge says ``workers``: each process sets its share of it when it answers a request."""
    client = LoopbackClient(port, PROBE_CLIENT, keep_alive=False)
    deadline = time.monotonic() + 5
    while True:
        samples = client.metrics()
        if samples.get(("kg_query_workers", ())) == workers or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    wanted = {f"stopped: {reason}": ("kg_queries_stopped_total", (("reason", reason),))
              for reason in ("memory", "time", "long-lane-full")}
    wanted["kg_query_workers"] = ("kg_query_workers", ())
    return {label: samples.get(key, float("nan")) for label, key in wanted.items()}


# --------------------------------------------------------------------------- report


def _mib(n: int | float | None) -> str:
    return "–" if not n else f"{n / MIB:,.0f} MiB"


def _s(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.2f} s"


def _limit(n: int) -> str:
    return f"{n / 2**30:g}G" if n % 2**30 == 0 else f"{n / MIB:,.0f}M"


def render(args: argparse.Namespace, quads: int, bares: list[BareRun], runs: list[ServedRun], info: dict,
           libs: dict) -> str:
    defaults = Settings()
    out = [f"Command: `{args.command_line}`", "", machine_markdown(info, libs), "",
           f"- Snapshot: `kg synth --triples {args.triples} --seed 1`, {quads:,} triples in the store "
           "(the query reads the snapshot's union, every triple once)",
           f"- `kg serve` with the shipped settings (KG_HTTP_WORKERS={defaults.http_workers}, "
           f"{defaults.query_worker_count} query workers and {defaults.long_query_count} long lane per HTTP process, "
           f"KG_LONG_QUERY_S={defaults.long_query_s:g}, fair use on) except KG_QUERY_MAX_MEMORY and "
           "KG_QUERY_TIMEOUT_S as each column says; resident memory sampled every 50 ms (psutil)", ""]
    for bare_run in bares:
        query = bare_run.query
        columns = [r for r in runs if r.query == query]
        out += [f"**`{QUERIES[query]}`**", "",
                "| | bare pyoxigraph | " + " | ".join(f"ours, {r.label}" for r in columns) + " |",
                "|---|" + "---|" * (1 + len(columns))]

        def row(what: str, bare_cell: str, cells: list[str]) -> None:
            out.append(f"| {what} | {bare_cell} | " + " | ".join(cells) + " |")

        row("limit (KG_QUERY_MAX_MEMORY, KG_QUERY_TIMEOUT_S)", f"none (killed past {_mib(args.cap)})",
            [f"{_limit(r.max_memory)}, {r.timeout_s:g} s" for r in columns])
        row("answer", bare_run.error or f"{bare_run.rows} row", [_answer(r) for r in columns])
        row("time until the answer", _s(bare_run.query_s), [_s(r.seconds) for r in columns])
        row("peak resident memory of the query's process", f"{_mib(bare_run.maxrss)} (ru_maxrss)",
            [f"{_mib(r.peak_worker)} (VmHWM {_mib(r.worker_hwm)})" for r in columns])
        row("… over the limit", "–", [f"{r.overshoot / MIB:+,.0f} MiB ({r.overshoot / r.max_memory:+.0%})"
                                      if r.status == 503 and "memory" in r.message else "–" for r in columns])
        row("… at the start (store open)", _mib(bare_run.rss_open), ["–"] * len(columns))
        row("… 95% of it reached after (mean growth until then)", "–",
            ["–" if r.growth_mib_s is None else f"{_s(r.peak_at_s)} ({r.growth_mib_s:,.0f} MiB/s)" for r in columns])
        row("stopped: the limit first seen passed / answer that much later", "–", [_stop(r) for r in columns])
        row("server process tree: idle → peak", "–", [f"{_mib(r.baseline_tree)} → {_mib(r.peak_tree)}" for r in columns])
        row("another client meanwhile (every 0.25 s): answered 200", "–", [f"{r.probes_ok} of {r.probes}" for r in columns])
        row("… slowest lookup / cheap query", "–",
            [f"{r.probe_max_ms.get('lookup', 0):,.0f} / {r.probe_max_ms.get('cheap', 0):,.0f} ms" for r in columns])
        for what in columns[0].after if columns else ():
            row(f"after: {what}", "–", [f"{r.after[what][0]} in {r.after[what][1]:,.0f} ms" for r in columns])
        row("query worker processes: before / during / after", "–",
            [f"{r.workers_before} / {r.workers_during} / {r.workers_after}" for r in columns])
        row("… as many as before, after the answer", "–",
            ["at once" if r.workers_back_s is not None and r.workers_back_s < SAMPLE_S * 2 else _s(r.workers_back_s)
             for r in columns])
        for metric in ("stopped: memory", "stopped: time", "kg_query_workers"):
            label = f"/metrics `kg_queries_stopped_total{{reason=\"{metric.split(': ')[1]}\"}}`" if ":" in metric \
                else "/metrics `kg_query_workers`"
            row(label, "–", [f"{r.metrics.get(metric, float('nan')):g}" for r in columns])
        out.append("")
        capped = [r.label for r in columns if r.capped]
        if capped:
            out += [f"Stopped by this script past {_mib(args.cap)} of server memory: {', '.join(capped)}.", ""]
    return "\n".join(out) + "\n"


def _stop(run: ServedRun) -> str:
    """How soon after the worker passed its limit the client had its 503: the server watches every 50 ms too."""
    if not (run.status == 503 and "memory" in run.message):
        return "–"
    if run.crossed_at_s is not None:
        return f"{_s(run.crossed_at_s)} / {_s(run.seconds - run.crossed_at_s)}"
    if run.last_below_s is None:
        return "not seen"
    return f"between two samples / at most {_s(run.seconds - run.last_below_s)} after the last one below it"


def _answer(run: ServedRun) -> str:
    if run.status == 200:
        return f"200 ({run.message})"
    first = run.message.splitlines()[0] if run.message else ""
    return f"{run.status or 'no answer'}: “{first}”"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--triples", type=int, default=1_000_000, help="size of the synthetic graph (kg synth)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kg-bench-synth",
                        help="where the synthetic project is generated and built once, and reused")
    parser.add_argument("--queries", default="order-by-o", help="comma-separated, of: " + ", ".join(QUERIES))
    parser.add_argument("--limit", default="auto", help="KG_QUERY_MAX_MEMORY of the run meant to be stopped; auto: "
                        "the shipped value if the bare peak passes it, else half the bare peak")
    parser.add_argument("--raised", default="16G", help="KG_QUERY_MAX_MEMORY of the run meant to complete (empty: "
                        "no such run)")
    parser.add_argument("--raised-timeout", type=float, default=600.0, help="KG_QUERY_TIMEOUT_S of that run")
    parser.add_argument("--no-shipped", action="store_true", help="skip the run with the shipped limits")
    parser.add_argument("--cap", default="8G", help="kill the bare run (or a server) whose memory passes this")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--write", action="store_true", help=f"also refresh the {SECTION} section of BENCHMARKS.md")
    parser.add_argument("--bare-child", nargs=2, metavar=("SNAPSHOT", "QUERY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_child:
        bare_child(Path(args.bare_child[0]), args.bare_child[1])
        return 0
    args.command_line = command_line("memory_limit.py", argv)
    args.cap = parse_bytes(args.cap, "--cap")
    names = [q for q in args.queries.split(",") if q]
    if unknown := set(names) - set(QUERIES):
        parser.error(f"unknown queries: {', '.join(sorted(unknown))}")

    info, libs = machine(), versions(LIBRARIES)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    snapshot = synthetic_snapshot(args.triples, args.work, env=env)
    quads = json.loads((snapshot / "manifest.json").read_text())["total_triples"]
    shipped = Settings()
    logs = Path(tempfile.mkdtemp(prefix="kg-memory-limit-"))
    bares, runs = [], []
    for name in names:
        bare_run = bare(snapshot, name, args.cap, env)
        bares.append(bare_run)
        peak = bare_run.maxrss or bare_run.sampled_peak
        if args.limit != "auto":
            limit = parse_bytes(args.limit, "--limit")
        else:
            limit = shipped.query_max_memory_bytes if peak > shipped.query_max_memory_bytes else peak // 2 // MIB * MIB
        plan = [("below the bare peak" + (" (shipped)" if limit == shipped.query_max_memory_bytes else ""), limit,
                 shipped.query_timeout_s)]
        if not args.no_shipped and limit != shipped.query_max_memory_bytes:
            plan.append(("shipped limits", shipped.query_max_memory_bytes, shipped.query_timeout_s))
        if args.raised:
            plan.append(("raised", parse_bytes(args.raised, "--raised"), args.raised_timeout))
        for label, max_memory, timeout_s in plan:
            runs.append(served(snapshot, name, label, max_memory, timeout_s, args.cap, env, logs))
    markdown = render(args, quads, bares, runs, info, libs)
    print(markdown)
    if args.json:
        args.json.write_text(json.dumps({"command": args.command_line, "machine": info, "versions": libs,
                                         "triples": args.triples, "quads": quads,
                                         "bare": [asdict(b) for b in bares],
                                         "served": [{**asdict(r), "overshoot": r.overshoot} for r in runs]}, indent=2))
    if args.write:
        write_section(SECTION, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
