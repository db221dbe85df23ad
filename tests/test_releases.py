"""Releases, faults and a running server (issue: a service people can depend on).

Proved against the real `kg serve`: a new build is served without a restart, no request fails while
releases switch and old ones are pruned, and query workers killed outright cost no request an error.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import realserver
from realserver import kg, query_workers, served_releases, wait_for_release

from kg.build.pipeline import build

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"  # not a bounded lookup: a query worker answers it


@pytest.fixture
def serving(project, tmp_path):
    """`kg serve` (two HTTP processes) on a private project whose builds keep one snapshot."""
    first, _ = build(project)
    env = {"KG_ROOT": str(project.root), "KG_KEEP_RELEASES": "1", "KG_HTTP_WORKERS": "2", "KG_QUERY_WORKERS": "1",
           "KG_STATE_DIR": str(tmp_path / "state"), "KG_RELEASE_POLL_S": "0.2"}
    server = realserver.start(env, tmp_path / "serve.log")
    server.env, server.first = env, first
    yield server
    server.stop()


def test_a_new_build_is_served_without_a_restart(serving):
    """Every HTTP process switches to the new release; each answer names its release, and ETags change with it."""
    first = serving.first.path.name
    assert served_releases(serving) == {first}
    _, headers, _ = serving.query(COUNT, format="csv")
    assert headers["KG-Release"] == first
    etag = headers["ETag"]
    done = kg("build", "--force", env=serving.env)
    assert done.returncode == 0, done.stderr
    second = os.readlink(Path(serving.env["KG_ROOT"]) / "build" / "current")
    assert second != first
    wait_for_release(serving, second)
    status, headers, _ = serving.query(COUNT, format="csv")
    assert status == 200 and headers["KG-Release"] == second and headers["ETag"] != etag
    status, _, body = serving.request("GET", "/healthz")
    assert body.decode().split() == ["ok", second]
    assert serving.process.poll() is None  # the same server, not restarted


def test_no_request_fails_while_releases_come_and_go(serving):
    """Builds that switch and prune (one snapshot kept) while clients query, read pages and download:
    every answer is a 200 from a release that was built, and old releases go once nothing serves them."""
    failures: list[tuple[str, int]] = []
    answered: set[str] = set()
    stop = threading.Event()
    paths = ["/sparql?query=" + urllib.parse.quote(COUNT) + "&format=csv", "/id/city/helsinki", "/.well-known/void",
             "/downloads/integrating-cities.ttl", "/sparql?query=" + urllib.parse.quote("ASK { ?s ?p ?o }")]

    def client(offset: int) -> None:
        i = offset
        while not stop.is_set():
            path = paths[i % len(paths)]
            i += 1
            status, headers, _ = serving.request("GET", path, client=f"127.0.0.{offset + 2}")
            answered.add(headers.get("KG-Release", "?"))
            if status != 200:
                failures.append((path, status))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(3)]
    for thread in threads:
        thread.start()
    built = [serving.first.path.name]
    try:
        for _ in range(4):
            done = kg("build", "--force", env=serving.env)
            assert done.returncode == 0, done.stderr
            built.append(os.readlink(Path(serving.env["KG_ROOT"]) / "build" / "current"))
            wait_for_release(serving, built[-1])
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert failures == []
    assert answered <= set(built) and len(answered) >= 2
    assert kg("build", "--force", env=serving.env).returncode == 0  # nothing serves the older ones any more: they go
    wait_for_release(serving, os.readlink(Path(serving.env["KG_ROOT"]) / "build" / "current"))
    assert not any((Path(serving.env["KG_ROOT"]) / "build" / name).exists() for name in built[:-1])


def test_query_workers_killed_outright_cost_no_request_an_error(serving):
    """What the OOM killer does: the very next queries, on either HTTP process, are answered by replacements."""
    workers = query_workers(serving)
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    answers = [serving.query(f"{COUNT} LIMIT {n + 1}", format="csv") for n in range(6)]  # distinct: none is cached
    assert [(status, headers["KG-Cache"]) for status, headers, _ in answers] == [(200, "miss")] * 6
    deadline = time.monotonic() + 30
    while len(query_workers(serving)) < len(workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(query_workers(serving)) == len(workers)
