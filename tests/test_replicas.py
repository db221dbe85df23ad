"""Two `kg serve` replicas behind HAProxy (deploy/haproxy.cfg, Debian's haproxy), proved on loopback.

Releases are immutable, so reads scale by adding replicas that each hold the whole release. These tests
run the shipped HAProxy configuration (its ports replaced by free ones) in front of two real replicas,
each with its own build folder as on its own machine, under a steady load of well-behaved clients: a
replica killed outright, and a new release rolled out one replica at a time (copied, `kg verify`-ed and
`kg activate`-d), must fail no request.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import realserver
from realserver import Clients, kg, wait_for_release

from kg.build.pipeline import build
from kg.config import PROJECT_ROOT, load_settings

HAPROXY_CONFIG = PROJECT_ROOT / "deploy" / "haproxy.cfg"
LOAD_S = 3.0

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None and not os.environ.get("CI"),
                                reason="Debian's haproxy is not installed (.ci/run installs it)")


def paths() -> list[str]:
    """A query a worker answers (distinct each time, so no cache answers it), a page, a lookup, the health probe."""
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } LIMIT "
    return ["/sparql?format=csv&query=" + urllib.parse.quote(count) + "{i}", "/id/city/helsinki",
            "/sparql?query=" + urllib.parse.quote("ASK { ?s ?p ?o }"), "/healthz"]


class Deployment:
    def __init__(self, replicas: list[realserver.Server], roots: list[Path], front: realserver.Server,
                 haproxy: subprocess.Popen) -> None:
        self.replicas, self.roots, self.front, self.haproxy = replicas, roots, front, haproxy

    def answered_by(self, requests: int = 20) -> set[str]:
        return {self.front.request("GET", "/healthz")[1]["KG-Replica"] for _ in range(requests)}

    def wait_in_rotation(self, names: set[str], timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.answered_by() == names:
                    return
            except OSError:  # HAProxy not listening yet
                pass
            assert time.monotonic() < deadline, f"HAProxy did not settle on {names} within {timeout_s} s"
            time.sleep(0.2)


@pytest.fixture
def deployment(project, tmp_path):
    """Two replicas, each over its own copy of the project (as on two machines), and HAProxy in front."""
    replicas, roots = [], []
    first, _ = build(project)
    for n in (1, 2):
        root = tmp_path / f"machine{n}"
        shutil.copytree(project.root, root, symlinks=True)
        roots.append(root)
        env = {"KG_ROOT": str(root), "KG_HTTP_WORKERS": "1", "KG_QUERY_WORKERS": "1", "KG_RELEASE_POLL_S": "0.2",
               "KG_STATE_DIR": str(tmp_path / f"state{n}"), "KG_TRUSTED_PROXIES": "127.0.0.1", "KG_KEEP_RELEASES": "2"}
        replicas.append(realserver.start(env, tmp_path / f"replica{n}.log", new_session=True))
    front_port = realserver.free_port()
    config = (HAPROXY_CONFIG.read_text(encoding="utf-8")
              .replace("127.0.0.1:8000", f"127.0.0.1:{front_port}")
              .replace("127.0.0.1:8001", f"127.0.0.1:{replicas[0].port}")
              .replace("127.0.0.1:8002", f"127.0.0.1:{replicas[1].port}"))
    (tmp_path / "haproxy.cfg").write_text(config, encoding="utf-8")
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")],
                               stdout=subprocess.DEVNULL, stderr=(tmp_path / "haproxy.log").open("wb"))
    deployed = Deployment(replicas, roots, realserver.Server(front_port), haproxy)
    deployed.first = first.path.name
    try:
        deployed.wait_in_rotation({"replica1", "replica2"})
        yield deployed
    finally:
        haproxy.terminate()
        haproxy.wait(10)
        for replica in replicas:
            if replica.process.poll() is None:
                replica.stop()


def test_requests_are_spread_over_both_replicas(deployment) -> None:
    assert deployment.answered_by(40) == {"replica1", "replica2"}
    status, headers, _ = deployment.front.query("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1", client="127.0.0.9")
    assert status == 200 and headers["KG-Release"] == deployment.first


def test_a_replica_killed_under_load_fails_no_request(deployment) -> None:
    with Clients(deployment.front, paths(), count=4) as clients:
        time.sleep(LOAD_S)
        before = len(clients.answers)
        os.killpg(deployment.replicas[0].process.pid, signal.SIGKILL)  # the whole replica: HTTP processes and workers
        time.sleep(LOAD_S)
        assert deployment.answered_by() == {"replica2"}
        time.sleep(LOAD_S / 2)
    assert clients.failed() == []
    assert before > 10 and len(clients.answers) > before + 10, "too little load to prove anything"


def test_a_release_rolled_out_one_replica_at_a_time_fails_no_request(deployment, tmp_path) -> None:
    # A new release, built elsewhere (from the first machine's copy of the project, with a changed file).
    builder = load_settings({"root": str(deployment.roots[0]), "build_dir_name": str(tmp_path / "builder")})
    with (builder.data_dir / "common-knowledge.ttl").open("a", encoding="utf-8") as data:
        data.write("# changed, so that the build is a new release\n")
    new, _ = build(builder)
    release = new.path.name
    with Clients(deployment.front, paths(), count=4) as clients:
        time.sleep(LOAD_S)
        for n, (replica, root) in enumerate(zip(deployment.replicas, deployment.roots), 1):
            copy = root / "build" / release
            shutil.copytree(new.path, copy, symlinks=True, ignore=shutil.ignore_patterns(".lease"))
            done = kg("--root", str(root), "activate", str(copy), env={"KG_ROOT": str(root)})
            assert done.returncode == 0, done.stderr
            wait_for_release(replica, release)
            time.sleep(LOAD_S / 2)
    assert clients.failed() == []
    releases = [r for _, _, r in clients.answers]
    assert releases[-1] == release and deployment.first in releases, "the rollout happened under the load"


def test_a_damaged_copy_is_not_activated(deployment) -> None:
    root = deployment.roots[0]
    current = (root / "build" / "current").resolve()
    damaged = root / "build" / "damaged"
    shutil.copytree(current, damaged, symlinks=True, ignore=shutil.ignore_patterns(".lease"))
    dump = next((damaged / "dumps").iterdir())
    dump.write_bytes(dump.read_bytes()[:-10])
    done = kg("--root", str(root), "activate", str(damaged), env={"KG_ROOT": str(root)})
    assert done.returncode == 1 and "SHA-256 differs" in done.stderr and "not activated" in done.stderr
    assert (root / "build" / "current").resolve() == current
