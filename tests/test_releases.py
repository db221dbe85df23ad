"""Releases, faults and a running server (issue: a service people can depend on).

Proved against the real `kg serve`: builds that prune old snapshots never delete the one it serves, and
query workers killed outright cost no request an error.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import realserver

from kg.build.pipeline import build

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"  # not a bounded lookup: a query worker answers it


def kg(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120)


def query_workers(server: realserver.Server) -> list[int]:
    """The query worker processes of this server (children of its HTTP processes)."""
    out = subprocess.run(["pgrep", "-f", "kg.query.executor import worker_entry"], capture_output=True, text=True)
    http = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in out.stdout.split() if _parent(int(pid)) in {int(p) for p in http}]


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def test_builds_that_prune_never_delete_the_served_snapshot(project, tmp_path):
    """Four forced builds with one snapshot kept: the served one stays, whole, and every route still
    answers from it, a replaced query worker included; once the server stops, the next build prunes it."""
    served, _ = build(project)
    env = {"KG_ROOT": str(project.root), "KG_KEEP_SNAPSHOTS": "1", "KG_HTTP_WORKERS": "2", "KG_QUERY_WORKERS": "1",
           "KG_METRICS_DIR": str(tmp_path / "metrics")}
    server = realserver.start(env, tmp_path / "serve.log")
    try:
        assert server.request("GET", "/healthz")[2].decode().split() == ["ok", served.path.name]
        for _ in range(4):
            done = kg("build", "--force", env=env)
            assert done.returncode == 0, done.stderr
        builds = sorted(p.name for p in project.build_dir.iterdir() if p.is_dir() and not p.is_symlink())
        assert served.path.name in builds and len(builds) == 2  # the served one, and the newest
        for path in ("/downloads/integrating-cities.ttl", "/.well-known/void", "/id/city/helsinki", "/downloads/"):
            assert server.request("GET", path)[0] == 200, path
        status, _, body = server.query(COUNT, format="csv")
        assert status == 200 and int(body.split()[1]) == served.manifest["dumps"]["integrating-cities.ttl"]["triples"]
        workers = query_workers(server)
        assert workers
        for pid in workers:  # what the OOM killer does
            os.kill(pid, signal.SIGKILL)
        # The very next queries, on either HTTP process, are answered: by replacements, started on the served
        # snapshot, which is still there.
        assert [server.query(COUNT, format="csv")[0] for _ in range(6)] == [200] * 6
        deadline = time.monotonic() + 30
        while len(query_workers(server)) < len(workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(query_workers(server)) == len(workers)
    finally:
        server.stop()
    assert kg("build", "--force", env=env).returncode == 0
    assert not served.path.exists()  # nothing serves it any more
