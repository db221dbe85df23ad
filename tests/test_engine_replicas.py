"""Two replicas, each `kg serve --engine` in front of its own Virtuoso, behind HAProxy: a release rolled out
one replica at a time, as docs/deploy.md ("Virtuoso behind each replica") tells an operator, fails no request.

On loopback, with the shipped deploy/haproxy.cfg (its ports replaced by free ones), Debian's Virtuoso and
HAProxy (.ci/run installs both; skipped where either is missing, except in CI). Per replica: `kg publish
virtuoso` of the new release (loaded and checked by a private Virtuoso while the served one answers), then
Virtuoso restarted on it; the replica's /healthz fails while its engine is away, a request it still gets is
answered 502, which HAProxy sends to the other replica, and the replica follows its engine to the new release.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import realserver
from realserver import Clients

from kg.build.publish import VirtuosoEngine, publish
from kg.build.virtuoso import free_port
from kg.config import PROJECT_ROOT
from kg.snapshot import Snapshot

pytestmark = pytest.mark.skipif((shutil.which("virtuoso-t") is None or shutil.which("haproxy") is None)
                                and not os.environ.get("CI"),
                                reason="Debian's virtuoso-opensource and haproxy are not both installed (.ci/run installs them)")

LOAD_S = 2.0


def user_paths() -> list[str]:
    """What users ask (not /healthz: that is the balancer's probe, and a replica without its engine fails it
    on purpose): a query the engine answers (distinct each time, so no cache does), a page, a lookup."""
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } LIMIT "
    return ["/sparql?format=csv&query=" + urllib.parse.quote(count) + "{i}", "/id/city/helsinki",
            "/sparql?query=" + urllib.parse.quote("ASK { ?s ?p ?o }")]


def next_release(snapshot: Snapshot, build_dir: Path) -> Snapshot:
    """The same release under a new id in ``build_dir``, as the next build would be (a copy: the data need not differ)."""
    manifest = dict(snapshot.manifest, build_id=snapshot.manifest["build_id"] + "-next")
    folder = build_dir / manifest["build_id"]
    shutil.copytree(snapshot.path, folder, symlinks=True, ignore=shutil.ignore_patterns(".lease"))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return Snapshot.open(folder)


class Replica:
    """One machine: a Virtuoso database folder, the Virtuoso serving it, and `kg serve --engine` in front."""

    def __init__(self, name: str, snapshot: Snapshot, folder: Path, build_dir: Path) -> None:
        self.name, self.folder, self.build_dir = name, folder, build_dir
        self.http_port, self.sql_port = free_port(), free_port()
        publish(snapshot, self.engine(), accept_disagreements=True)
        self.virtuoso = realserver.ServedVirtuoso(folder / "virtuoso", self.http_port)
        env = {"KG_BUILD_DIR_NAME": str(build_dir), "KG_ROOT": str(PROJECT_ROOT), "KG_HTTP_WORKERS": "1",
               "KG_RELEASE_POLL_S": "0.2", "KG_STATE_DIR": str(folder / "state"), "KG_TRUSTED_PROXIES": "127.0.0.1",
               "KG_ENGINE_URL": self.virtuoso.url}
        self.front = realserver.start(env, folder / "front.log", new_session=True)

    def engine(self) -> VirtuosoEngine:
        return VirtuosoEngine(self.folder / "virtuoso", http_port=self.http_port, sql_port=self.sql_port)

    def release(self, snapshot: Snapshot) -> None:
        """docs/deploy.md's steps 1 and 2: publish beside the served Virtuoso, then restart Virtuoso on it."""
        publish(snapshot, self.engine(), accept_disagreements=True)
        self.virtuoso.stop()
        self.virtuoso = realserver.ServedVirtuoso(self.folder / "virtuoso", self.http_port)

    def serves(self, release: str, timeout_s: float = 30) -> None:
        """docs/deploy.md's step 3: until /healthz names the release (the front follows its engine)."""
        deadline = time.monotonic() + timeout_s
        while True:
            status, _, body = self.front.request("GET", "/healthz", timeout=5)
            if status == 200 and body.decode().split()[1] == release and b"switching" not in body:
                return
            assert time.monotonic() < deadline, f"{self.name} did not come to serve {release}: {status} {body!r}"
            time.sleep(0.2)

    def stop(self) -> None:
        self.front.stop()
        self.virtuoso.stop()


@pytest.fixture
def replicas(shipped, snapshot: Snapshot, tmp_path: Path):
    machines: list[Replica] = []
    try:
        for n in (1, 2):
            build_dir = tmp_path / f"build{n}"  # each machine's build folder holds the releases its engine may name
            build_dir.mkdir()
            shutil.copytree(snapshot.path, build_dir / snapshot.path.name, symlinks=True,
                            ignore=shutil.ignore_patterns(".lease"))
            machines.append(Replica(f"replica{n}", Snapshot.open(build_dir / snapshot.path.name),
                                    tmp_path / f"machine{n}", build_dir))
        front_port = free_port()
        config = (PROJECT_ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
        config = (config.replace("127.0.0.1:8000", f"127.0.0.1:{front_port}")
                  .replace("127.0.0.1:8001", f"127.0.0.1:{machines[0].front.port}")
                  .replace("127.0.0.1:8002", f"127.0.0.1:{machines[1].front.port}"))
        (tmp_path / "haproxy.cfg").write_text(config, encoding="utf-8")
        haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")],
                                   stdout=subprocess.DEVNULL, stderr=(tmp_path / "haproxy.log").open("wb"))
        try:
            front = realserver.Server(front_port)
            deadline = time.monotonic() + 30
            while True:
                try:
                    if {front.request("GET", "/healthz")[1].get("KG-Replica") for _ in range(10)} == {"replica1", "replica2"}:
                        break
                except OSError:  # HAProxy not listening yet
                    pass
                assert time.monotonic() < deadline, "HAProxy did not put both replicas in rotation"
                time.sleep(0.2)
            yield machines, front
        finally:
            haproxy.terminate()
            haproxy.wait(10)
    finally:
        for machine in machines:
            machine.stop()


def test_a_release_rolled_out_to_engine_replicas_one_at_a_time_fails_no_request(replicas, snapshot: Snapshot) -> None:
    machines, front = replicas
    releases = [next_release(snapshot, machine.build_dir) for machine in machines]  # copied to each machine first
    new = releases[0].manifest["build_id"]
    with Clients(front, user_paths(), count=4) as clients:
        time.sleep(LOAD_S)
        for machine, release in zip(machines, releases):
            machine.release(release)
            machine.serves(new)
            time.sleep(LOAD_S / 2)
        time.sleep(LOAD_S)
    assert clients.failed() == []
    assert len(clients.answers) > 40, "too little load to prove anything"
    served = [release for path, _, release in clients.answers[-8:]]
    assert set(served) == {new}, "both replicas end on the new release"
