"""Fair use (issue: a service people can depend on): budgets and caps per client, a lane for long queries,
a memory limit per query, and a cache keyed by release.

The ledger and the client's address are tested as units; what they are for is proved against the real
`kg serve`, whose clients are loopback addresses (any address in 127.0.0.0/8 is a client of its own).
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import signal
import subprocess
import sys
import time

import pytest
import realserver
from prometheus_client.parser import text_string_to_metric_families

from kg.query.cache import ResultCache
from kg.query.executor import QueryJob, QueryOutcome, QueryPool, QueryTimeout, SecondLongQuery
from kg.query.fair_use import Ledger, OverLimit
from kg.web.clients import ClientAddress

#: Runs until stopped on any data: a count over the cube of all triples.
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
#: Needs gigabytes on the shipped data: Oxigraph sorts every pair of triples before LIMIT.
HUGE_SORT = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"
#: Not a bounded lookup, so a query worker answers it, in milliseconds.
CHEAP = "SELECT (COUNT(?city) AS ?n) WHERE {{ ?city a ic:City }} LIMIT {n}"
ABUSER, OTHER = "127.0.0.66", "127.0.0.2"
BERLIN = "https://w3id.org/integrating-cities/id/city/berlin"


# --- the ledger --------------------------------------------------------------------------------------

def test_a_client_over_its_budget_waits_as_long_as_it_takes_to_refill(tmp_path):
    ledger = Ledger(tmp_path, budget_s=6.0, max_running=0)
    ledger.settle(ledger.admit("a"), 4.0)
    ledger.settle(ledger.admit("a"), 5.0)  # admitted with 2 s left: one query may overdraw the budget
    with pytest.raises(OverLimit) as over:
        ledger.admit("a")
    assert over.value.reason == "budget"
    assert 30 <= over.value.retry_after_s <= 32  # 3 s overdrawn, refilled at 6 s per minute
    assert "6 s of query time" in over.value.message
    ledger.settle(ledger.admit("b"), 1.0)  # another client is not affected


def test_the_budget_refills_with_time(tmp_path, monkeypatch):
    ledger = Ledger(tmp_path, budget_s=60.0, max_running=0)
    ledger.settle(ledger.admit("a"), 61.0)
    with pytest.raises(OverLimit):
        ledger.admit("a")
    later = time.time() + 2.0
    monkeypatch.setattr(time, "time", lambda: later)
    ledger.admit("a")  # 1 s a second back: above zero again


def test_the_cap_on_running_queries_is_shared_by_processes(tmp_path):
    """Two HTTP processes, one ledger file: a client's third running query is refused, wherever it lands."""
    first, second = Ledger(tmp_path, 0, 2), Ledger(tmp_path, 0, 2)
    held = [first.admit("a"), second.admit("a")]
    with pytest.raises(OverLimit) as over:
        first.admit("a")
    assert over.value.reason == "concurrency" and over.value.retry_after_s >= 1
    second.admit("b")
    first.settle(held[0], 0.1)
    second.admit("a")


def test_places_held_by_a_killed_process_are_given_back(tmp_path):
    """A process killed with its queries running (granian replaces it) leaves its places behind in the file;
    they are the client's again as soon as the ledger needs them."""
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from pathlib import Path; from kg.query.fair_use import Ledger; "
                               "ledger = Ledger(Path(sys.argv[1]), 0, 2); ledger.admit('a'); ledger.admit('a'); "
                               "print('held', flush=True); time.sleep(60)", str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        ledger = Ledger(tmp_path, 0, 2)
        with pytest.raises(OverLimit):
            ledger.admit("a")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    ledger.admit("a")
    ledger.admit("a")


def test_no_limits_means_no_bookkeeping():
    ledger = Ledger(None, 0, 0)
    assert not ledger.enabled
    for _ in range(100):
        ledger.admit("a")


def test_a_client_holds_one_place_in_the_long_lane_and_others_keep_theirs(snapshot):
    """Two places in the long lane: the abuser's second long query is stopped (its own to wait for), not
    another client's, which becomes long beside the abuser's first."""
    pool = QueryPool(snapshot, workers=2, queue_timeout_s=10, long_after_s=0.3, long_lane=2)
    job = QueryJob(ENDLESS, None, None, "csv", 10)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as threads:
            first = threads.submit(pool.run, job, 3.0, ABUSER)
            time.sleep(0.6)  # long by now, and its worker replaced
            second = threads.submit(pool.run, job, 3.0, ABUSER)
            with pytest.raises(SecondLongQuery, match="another long query of yours"):
                second.result()
            other = threads.submit(pool.run, job, 3.0, OTHER)
            time.sleep(0.6)
            assert pool.long_running == 2  # the abuser's first and the other client's
            for future in (first, other):
                with pytest.raises(QueryTimeout):
                    future.result()
        assert pool.long_running == 0
    finally:
        pool.close()


# --- who the client is --------------------------------------------------------------------------------

TRUSTED = ClientAddress([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1")])


@pytest.mark.parametrize("environ, client", [
    ({"REMOTE_ADDR": "192.0.2.7"}, "192.0.2.7"),
    ({"REMOTE_ADDR": "192.0.2.7", "HTTP_X_FORWARDED_FOR": "203.0.113.1"}, "192.0.2.7"),  # not from our proxy: ignored
    ({"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "203.0.113.1"}, "203.0.113.1"),
    # A client that writes the header itself cannot choose who it is: our proxy appended its real address.
    ({"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "198.51.100.9, 203.0.113.1"}, "203.0.113.1"),
    ({"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "203.0.113.1, 10.9.9.9"}, "203.0.113.1"),  # two of our proxies
    ({"REMOTE_ADDR": "::1", "HTTP_X_FORWARDED_FOR": "2001:db8::5"}, "2001:db8::5"),
    ({"REMOTE_ADDR": "10.1.2.3"}, "10.1.2.3"),  # from inside, no header
])
def test_the_client_is_the_address_our_proxies_saw(environ, client):
    assert TRUSTED(environ) == client


def test_without_trusted_proxies_the_header_is_ignored():
    assert ClientAddress([])({"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "203.0.113.1"}) == "10.1.2.3"


# --- the cache ---------------------------------------------------------------------------------------

def _outcome(size: int) -> QueryOutcome:
    return QueryOutcome(body=b"x" * size, rows=1, truncated=False, seconds=0.1)


def test_the_cache_keeps_what_fits_and_forgets_the_least_recently_used():
    cache = ResultCache(800)
    for key in "abcd":
        cache.put(key, _outcome(100))
    assert cache.get("a") is not None  # now the most recently used
    for key in "efgh":
        cache.put(key, _outcome(100))
    cache.put("i", _outcome(100))
    assert cache.bytes <= 800
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("i") is not None
    cache.put("big", _outcome(101))  # more than an eighth of the cache: not kept
    assert cache.get("big") is None


# --- against the real server -------------------------------------------------------------------------

def _samples(server: realserver.Server) -> dict[tuple[str, tuple], float]:
    text = server.request("GET", "/metrics")[2].decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture(scope="module")
def fair(shipped, snapshot, tmp_path_factory):
    """`kg serve` on the shipped data, two HTTP processes with the default lanes, a short time limit and a
    small budget, so that an abuser meets every limit within seconds."""
    env = {"KG_BUILD_DIR_NAME": str(shipped.build_dir), "KG_ROOT": str(shipped.root), "KG_HTTP_WORKERS": "2",
           "KG_QUERY_WORKERS": "1", "KG_LONG_QUERIES": "1", "KG_QUERY_TIMEOUT_S": "4", "KG_CLIENT_QUERY_BUDGET_S": "6",
           "KG_CLIENT_MAX_QUERIES": "2", "KG_QUERY_MAX_MEMORY": "400M",
           "KG_STATE_DIR": str(tmp_path_factory.mktemp("state"))}
    server = realserver.start(env, tmp_path_factory.mktemp("serve") / "serve.log")
    yield server
    server.stop()


def test_one_client_cannot_stop_everyone(fair):
    """The issue's failure 3: six expensive queries at once from one client. Before, cheap queries of
    others waited up to 45 s behind them; now the abuser has two running at most (429 for the rest), those
    move to the long lane, and another client's cheap queries are answered at once, every one."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        abuse = [pool.submit(fair.query, ENDLESS, client=ABUSER, format="csv") for _ in range(6)]
        time.sleep(1.0)  # the admitted ones are running, past the long-query threshold
        waits = []
        for n in range(10):
            started = time.monotonic()
            status, headers, _ = fair.query(CHEAP.format(n=n + 1), client=OTHER, format="csv")
            waits.append(time.monotonic() - started)
            assert (status, headers["KG-Cache"]) == (200, "miss")
        statuses = sorted(future.result()[0] for future in abuse)
    # Each cheap query took milliseconds of work; allow for a worker starting when one moved to the long lane.
    assert max(waits) < 3.0, waits
    assert statuses.count(429) >= 4 and set(statuses) <= {429, 503}, statuses
    refusals = [future.result() for future in abuse if future.result()[0] == 429]
    assert all(int(headers["Retry-After"]) >= 1 for _, headers, _ in refusals)
    assert any(b"queries running" in body for _, _, body in refusals)  # its cap of two


def test_a_client_over_its_budget_gets_429_with_retry_after(fair):
    """Stopped queries cost the abuser their whole time: within a few it has spent its 6 s a minute."""
    for _ in range(4):
        status, headers, body = fair.query(ENDLESS, client=ABUSER, format="csv")
        if status == 429:
            break
    assert status == 429
    assert int(headers["Retry-After"]) > 1 and b"query time" in body
    assert fair.query(CHEAP.format(n=99), client=ABUSER, format="csv")[0] == 429  # even a cheap one, until refilled
    assert fair.query(f"ASK {{ <{BERLIN}> ?p ?o }}", client=ABUSER)[0] == 200  # lookups cost nothing
    metrics = _samples(fair)
    assert metrics[("kg_fair_use_refusals_total", (("reason", "budget"),))] >= 2
    assert metrics[("kg_fair_use_refusals_total", (("reason", "concurrency"),))] >= 4
    assert metrics[("kg_limit", (("setting", "client_query_budget_s"),))] == 6.0
    assert metrics[("kg_limit", (("setting", "client_max_queries"),))] == 2.0


def test_a_query_past_the_memory_limit_is_stopped_and_the_server_goes_on(fair):
    """Oxigraph sorts everything before LIMIT; past KG_QUERY_MAX_MEMORY the worker is stopped, not the host."""
    started = time.monotonic()
    status, _, body = fair.query(HUGE_SORT, client="127.0.0.7", format="csv")
    assert status == 503 and b"more than 400 MiB of memory" in body
    assert time.monotonic() - started < 4.0  # stopped for its memory, before the time limit
    assert fair.query(CHEAP.format(n=7), client="127.0.0.7", format="csv")[0] == 200
    assert _samples(fair)[("kg_queries_stopped_total", (("reason", "memory"),))] >= 1


def test_a_repeated_query_is_answered_from_the_cache_without_costing_budget(fair):
    query = CHEAP.format(n=1000)
    first = fair.query(query, client="127.0.0.8", format="csv")
    again = fair.query(query, client="127.0.0.8", format="csv")
    assert (first[0], first[1]["KG-Cache"]) == (200, "miss")
    assert first[2] == again[2]
    hits = 0
    for _ in range(6):  # one hit on each HTTP process, whichever answers
        hits += fair.query(query, client="127.0.0.8", format="csv")[1]["KG-Cache"] == "hit"
    assert hits >= 1
    assert first[1]["KG-Release"] == again[1]["KG-Release"]


def test_lookups_answered_inline_say_nothing_of_the_cache(fair):
    _, headers, _ = fair.query(f"SELECT ?p ?o WHERE {{ <{BERLIN}> ?p ?o }}", client="127.0.0.9")
    assert "KG-Cache" not in headers


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_cap(shipped, snapshot):
    """With KG_TRUSTED_PROXIES naming the proxy, the clients are the addresses it forwards for, not the proxy."""
    from dataclasses import replace

    from kg.web import create_app

    app = create_app(replace(shipped, trusted_proxies="127.0.0.1", client_max_queries=1, client_query_budget_s=0,
                             query_timeout_s=3.0, cache_bytes=0), snapshot)
    try:
        client = app.test_client()

        def ask(forwarded_for: str) -> int:
            return client.get("/sparql", query_string={"query": ENDLESS, "format": "csv"},
                              headers={"X-Forwarded-For": forwarded_for}).status_code

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(ask, "203.0.113.1")
            time.sleep(0.5)  # the first is running
            assert ask("203.0.113.1") == 429  # the same client, through the proxy: over its cap of one
            assert ask("198.51.100.9, 203.0.113.1") == 429  # what the client wrote itself does not count
            second = pool.submit(ask, "203.0.113.2")  # another client: its own cap
            assert first.result() == 503 and second.result() == 503  # both ran to the time limit
    finally:
        app.extensions["kg.releases"].close()
