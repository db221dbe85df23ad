"""Hostile requests against the real server (`kg serve` on a loopback port).

Each attack is sent, its answer checked, and then the server must still answer ``ASK {}`` quickly
with the data unchanged. Network-reaching attacks aim at a listener on loopback that must see no
connection; file-reaching ones at a file that must not be read. The server's /metrics, which its
two HTTP processes pool, are checked last, since that ends by killing one of the processes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import socket
import threading
import time
import urllib.parse

import pytest
import realserver
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

G = "https://w3id.org/integrating-cities/graph/"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


class Listener:
    """A loopback TCP listener that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def server(shipped, snapshot, tmp_path_factory):
    metrics_dir = tmp_path_factory.mktemp("metrics")
    (metrics_dir / "counter_4194305.db").write_bytes(b"left by an earlier run")  # `kg serve` must clear it
    env = {"KG_BUILD_DIR_NAME": str(shipped.build_dir), "KG_QUERY_TIMEOUT_S": "2", "KG_HTTP_WORKERS": "2",
           "KG_QUERY_WORKERS": "2", "KG_MAX_ROWS": "1000", "KG_ROOT": str(shipped.root), "KG_STATE_DIR": str(metrics_dir)}
    try:
        srv = realserver.start(env, tmp_path_factory.mktemp("serve") / "serve.log")
    except RuntimeError as error:
        pytest.fail(str(error))
    srv.metrics_dir = metrics_dir
    srv.triples = srv.query(COUNT, format="csv")[2]
    yield srv
    srv.stop()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


def assert_healthy(server: realserver.Server) -> None:
    started = time.monotonic()
    status, _, body = server.query("ASK {}")
    assert status == 200 and b"true" in body
    assert time.monotonic() - started < 2.0, "ASK {} was slow after the attack"
    assert server.query(COUNT, format="csv")[2] == server.triples, "the data changed"


def form(**params) -> bytes:
    return urllib.parse.urlencode(params).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}
UPDATE = {"Content-Type": "application/sparql-update"}

UPDATE_ATTACKS = {
    "update-param-get": ("GET", "/sparql?" + urllib.parse.urlencode({"update": "CLEAR ALL"}), None, {}),
    "update-param-post": ("POST", "/sparql", form(update="DROP ALL"), FORM),
    "update-in-query-insert-data": ("GET", "/sparql?" + urllib.parse.urlencode({"query": "INSERT DATA { <http://a> <http://b> <http://c> }"}), None, {}),
    "update-in-query-delete-where": ("POST", "/sparql", form(query="DELETE WHERE { ?s ?p ?o }"), FORM),
    "direct-update-body": ("POST", "/sparql", b"DELETE WHERE { ?s ?p ?o }", UPDATE),
    "direct-body-insert-as-query": ("POST", "/sparql", b"INSERT DATA { <http://a> <http://b> <http://c> }", DIRECT),
    "load": ("POST", "/sparql", form(query="LOAD <http://example.org/x.ttl>"), FORM),
    "clear": ("POST", "/sparql", b"CLEAR ALL", UPDATE),
    "drop": ("GET", "/sparql?" + urllib.parse.urlencode({"query": f"DROP GRAPH <{G}ontology>"}), None, {}),
}


@pytest.mark.parametrize("method, path, body, headers", UPDATE_ATTACKS.values(), ids=UPDATE_ATTACKS.keys())
def test_updates_are_refused(server, method, path, body, headers):
    status, _, message = server.request(method, path, body, headers)
    assert status in (400, 403, 405, 415), message
    assert_healthy(server)


@pytest.mark.parametrize("template", [
    "SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICE SILENT <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
    "SELECT * FROM <http://127.0.0.1:{port}/data.ttl> WHERE {{ ?s ?p ?o }}",
    "SELECT * FROM NAMED <http://127.0.0.1:{port}/data.ttl> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    "LOAD <http://127.0.0.1:{port}/data.ttl>",
], ids=["service", "service-silent", "from", "from-named", "load"])
def test_no_outbound_requests(server, listener, template):
    status, _, _ = server.query(template.format(port=listener.port))
    assert status in (400, 403)
    time.sleep(0.3)
    assert listener.connections == 0
    assert_healthy(server)


def test_default_graph_uri_to_a_url_is_not_fetched(server, listener):
    status, _, _ = server.query("ASK { ?s ?p ?o }", **{"default-graph-uri": f"http://127.0.0.1:{listener.port}/g"})
    assert status == 400
    time.sleep(0.3)
    assert listener.connections == 0
    assert_healthy(server)


@pytest.mark.parametrize("clause", ["FROM", "FROM NAMED"])
def test_no_file_is_read(server, tmp_path, clause):
    secret = tmp_path / "secret.ttl"
    secret.write_text('<http://x/s> <http://x/p> "SECRET-CONTENT" .\n')
    before = secret.stat().st_atime_ns
    status, _, body = server.query(f"SELECT * {clause} <{secret.as_uri()}> WHERE {{ ?s ?p ?o }}")
    assert status == 400 and b"SECRET-CONTENT" not in body
    assert secret.stat().st_atime_ns == before
    assert_healthy(server)


def test_cartesian_product_is_capped(server):
    status, headers, _ = server.query("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }")
    assert status == 200 and headers.get("KG-Result-Truncated") == "max-rows=1000"
    assert_healthy(server)


def test_cartesian_product_that_must_be_sorted_times_out(server):
    started = time.monotonic()
    status, _, body = server.query("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i")
    assert status == 503 and b"stopped" in body
    assert time.monotonic() - started < 10
    assert_healthy(server)


def test_catastrophic_regex_on_long_strings(server):
    long = "a" * 20000 + "!"
    query = f'SELECT ?s WHERE {{ VALUES ?s {{ "{long}" "{long}b" }} FILTER(REGEX(?s, "^(a+)+$")) }}'
    status, _, _ = server.request("POST", "/sparql", form(query=query), FORM)
    assert status in (200, 503)
    assert_healthy(server)


def test_regex_over_every_literal(server):
    status, _, _ = server.query('SELECT ?o WHERE { ?s ?p ?o FILTER(REGEX(STR(?o), "(.*a){12}$")) }')
    assert status in (200, 503)
    assert_healthy(server)


@pytest.mark.parametrize("opening, closing", [("{", "}"), ("(", ")")], ids=["groups", "parentheses"])
def test_absurd_nesting(server, opening, closing):
    inner = "?s ?p ?o" if opening == "{" else "1"
    query = ("SELECT * WHERE " + opening * 1000 + inner + closing * 1000) if opening == "{" else \
        ("SELECT * WHERE { ?s ?p ?o FILTER(" + opening * 1000 + inner + closing * 1000 + ") }")
    status, _, body = server.request("POST", "/sparql", form(query=query), FORM)
    assert status == 400 and b"nests" in body
    assert_healthy(server)


def test_twenty_megabyte_body(server):
    body = b"query=" + b"%20" * (7 * 1024 * 1024)
    try:
        status, _, _ = server.request("POST", "/sparql", body, FORM)
        assert status == 413
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server may close the connection once it has answered 413 to a body it will not read
    assert_healthy(server)


@pytest.mark.parametrize("method, path, body, headers", [
    ("GET", "/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%22%C3%28%22%20%7D", None, {}),
    ("POST", "/sparql", b"query=ASK%20%7B%20%3Fs%20%3Fp%20%22%FF%FE%22%20%7D", FORM),
    ("POST", "/sparql", b'ASK { ?s ?p "\xff\xfe" }', DIRECT),
], ids=["get", "form", "direct"])
def test_invalid_utf8(server, method, path, body, headers):
    status, _, _ = server.request(method, path, body, headers)
    assert status == 400
    assert_healthy(server)


def test_unknown_parameters(server):
    status, _, _ = server.request("GET", "/sparql?query=ASK%20%7B%7D&timeout=0&debug=1")
    assert status == 400
    assert_healthy(server)


def test_two_hundred_concurrent_clients(server):
    """Two hundred clients (each from its own loopback address) at once: every one is answered."""
    queries = ["ASK {}", "SELECT ?c WHERE { ?c a ic:City } LIMIT 5", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"]

    def one(i: int) -> int:
        return server.query(queries[i % len(queries)], client=f"127.0.1.{i + 1}", format="json")[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(one, range(200)))
    assert statuses == [200] * 200
    assert_healthy(server)


def _children() -> dict[int, list[int]]:
    """The processes started by each process (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    return children


def _tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children = _children()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return used


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
def test_a_runaway_query_holds_no_cpu_after_its_timeout(server):
    status, _, body = server.query("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i")
    assert status == 503 and b"stopped" in body
    pids = _tree(server.process.pid)
    before = _cpu_seconds(pids)
    time.sleep(1.0)
    after = _cpu_seconds(pids)
    busy = {pid: after[pid] - before[pid] for pid in after if pid in before and after[pid] - before[pid] > 0.5}
    assert not busy, f"still computing after the 503: {busy}"
    assert_healthy(server)


# --- /metrics of the whole server: the HTTP processes pool their counts in KG_METRICS_DIR ------------

REQUESTS = ("kg_http_requests_total", (("endpoint", "sparql.sparql"), ("status", "200")))
METRICS_REQUESTS = ("kg_http_requests_total", (("endpoint", "meta.metrics"), ("status", "200")))
PROCESSES, WORKERS = ("kg_http_processes", ()), ("kg_query_workers", ())


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of an exposition, by name and sorted labels (whose order the exposition does not fix)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _metrics(server: realserver.Server) -> dict[tuple[str, tuple], float]:
    return _samples(server.request("GET", "/metrics", timeout=10)[2].decode())


def _http_processes(server: realserver.Server) -> list[int]:
    return sorted(_children().get(server.process.pid, []))


def _counted_by(server: realserver.Server, sample: tuple[str, tuple]) -> dict[int, float]:
    """What each running HTTP process counted of ``sample``, from its own file in the metrics folder.

    A process still starting has no file yet: it counted nothing.
    """
    counted = {}
    for pid in _http_processes(server):
        path = server.metrics_dir / f"counter_{pid}.db"
        families = MultiProcessCollector.merge([str(path)]) if path.exists() else []
        counted[pid] = sum(s.value for family in families for s in family.samples
                           if (s.name, tuple(sorted(s.labels.items()))) == sample)
    return counted


def _grew(before: dict[int, float], after: dict[int, float]) -> set[int]:
    return {pid for pid, value in after.items() if value > before.get(pid, 0.0)}


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
def test_metrics_add_up_over_the_http_processes(server):
    assert not (server.metrics_dir / "counter_4194305.db").exists(), "a file of an earlier run was kept"
    before, by_process = _metrics(server), _counted_by(server, REQUESTS)
    assert len(by_process) == 2
    sent = 0
    # A new connection each time: both processes answer some (bounded, in case one keeps winning the accept).
    while sent < 40 or (len(_grew(by_process, _counted_by(server, REQUESTS))) < 2 and sent < 400):
        assert server.query("ASK { city:berlin ?p ?o }")[0] == 200
        sent += 1
    assert len(_grew(by_process, _counted_by(server, REQUESTS))) == 2, "one HTTP process answered every query"
    renderers = _counted_by(server, METRICS_REQUESTS)
    for _ in range(200):  # /metrics until each process has rendered it at least once
        after = _metrics(server)
        assert after[REQUESTS] - before[REQUESTS] == sent
        assert after[("kg_queries_inline_total", ())] - before[("kg_queries_inline_total", ())] == sent
        inline_count = ("kg_query_duration_seconds_count", (("runner", "inline"),))
        assert after[inline_count] - before[inline_count] == sent
        assert after[PROCESSES] == 2 and after[WORKERS] == 4
        if len(_grew(renderers, _counted_by(server, METRICS_REQUESTS))) == 2:
            break
    else:
        pytest.fail("one HTTP process rendered every /metrics")


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
def test_a_replaced_http_process_keeps_its_counts_not_its_gauges(server):
    """An HTTP process killed outright runs no code of ours: its counts stay, its gauges go, granian starts another."""
    before = _metrics(server)
    victim, survivor = _http_processes(server)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    # Until the replacement answers /metrics itself: granian ignores a stop while a process is starting.
    while not any(answers for pid, answers in _counted_by(server, METRICS_REQUESTS).items() if pid not in (victim, survivor)):
        assert time.monotonic() < deadline, f"not replaced: HTTP processes {_http_processes(server)}"
        with contextlib.suppress(OSError):  # the dying process had accepted the connection
            _metrics(server)
        time.sleep(0.1)
    assert victim not in _http_processes(server)
    after = _metrics(server)
    assert after[PROCESSES] == 2 and after[WORKERS] == 4
    assert after[REQUESTS] == before[REQUESTS]
    counters = [key for key in before if key[0].endswith("_total")]
    assert counters and all(after[key] >= before[key] for key in counters)
    assert_healthy(server)
