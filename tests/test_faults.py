"""Faults with the real `kg serve` running (issue: a service people can depend on).

* A build that fails — bad data, a full disk, killed half-way — leaves the served release as it was, and no
  request fails meanwhile; the next good build is served and clears the debris.
* SIGTERM, to `kg serve` or to all its processes (systemd), or Ctrl-C (SIGINT to the process group), lets
  the running request finish, refuses new connections, exits 0, and leaves no process of the server
  behind; also when it comes while the HTTP processes are still starting, and when a request outlasts
  the grace period.
* An HTTP process killed outright is replaced by one serving the same release; its query workers go with it.
  What clients see (measured): only the requests that process had in flight fail, as a closed connection,
  and each succeeds when sent again.

What granian does underneath, and what kg/web/serving.py adds to it, is in that module's docstring.
"""

from __future__ import annotations

import errno
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import psutil
import pytest
import realserver
from realserver import DROPPED, WORKER_ENTRY, Clients, alive, kg, served_releases, wait_for_release, wait_until_gone

from kg.build.pipeline import build

#: A query that keeps a query worker busy for about 2.5 s on the shipped data (a cross product of 4,000 and
#: 8,000 triples, twice); it reads everything, so no bounded shortcut answers it.
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { VALUES ?k { 1 2 } ?s a ?o . ?a ?b ?c }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
#: Long enough for SLOW to finish on a slow machine; a stop signal that got lost would cost all of it.
GRACE_S = 20.0


def attempt(request) -> int | str:
    """The status of ``request()``, or the name of the error that stopped it."""
    try:
        return request()[0]
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__


def paths() -> list[str]:
    """A query a worker answers (a distinct one each time: the cache does not answer it), a page, a bounded lookup."""
    return ["/sparql?format=csv&query=" + urllib.parse.quote(COUNT + " LIMIT ") + "{i}", "/id/city/helsinki",
            "/sparql?query=" + urllib.parse.quote("ASK { ?s ?p ?o }"), "/healthz"]


def project_processes(root: Path) -> list[psutil.Process]:
    """Processes that serve ``root``: started with KG_ROOT set to it, or reading one of its snapshots."""
    found = []
    for process in psutil.process_iter():
        try:
            if str(root) in " ".join(process.cmdline()) or process.environ().get("KG_ROOT") == str(root):
                found.append(process)
        except psutil.Error:
            pass
    return alive(found)


def busy_worker(server: realserver.Server, timeout_s: float = 30) -> tuple[psutil.Process, psutil.Process]:
    """The HTTP process, and its query worker, that is running a query (burning CPU) now."""
    workers = [(parent, worker) for parent in server.http_processes() for worker in parent.children()]
    baseline = {worker.pid: worker.cpu_times().user for _, worker in workers}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for parent, worker in workers:
            try:
                if worker.cpu_times().user - baseline[worker.pid] > 0.3:
                    return parent, worker
            except psutil.Error:
                pass
        time.sleep(0.02)
    raise AssertionError(f"no query worker got busy within {timeout_s} s")


def current(root: Path) -> str:
    return os.readlink(root / "build" / "current")


def debris(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "build").iterdir() if p.name.startswith("."))


@pytest.fixture
def project_env(project, tmp_path):
    """A private project with one build, and the environment `kg serve` runs on it with."""
    first, _ = build(project)
    env = {"KG_ROOT": str(project.root), "KG_KEEP_RELEASES": "1", "KG_HTTP_WORKERS": "2", "KG_QUERY_WORKERS": "1",
           "KG_STATE_DIR": str(tmp_path / "state"), "KG_RELEASE_POLL_S": "0.2", "KG_SHUTDOWN_GRACE_S": str(GRACE_S)}
    return env, first.path.name


@pytest.fixture
def serving(project_env, tmp_path):
    env, first = project_env
    server = realserver.start(env, tmp_path / "serve.log")
    server.env, server.root, server.first = env, Path(env["KG_ROOT"]), first
    server.wait_started(2)
    yield server
    server.stop()


def assert_still_serving(server: realserver.Server, clients: Clients) -> None:
    """Every request while the build failed was answered 200 by the release that was served before it."""
    assert clients.failed() == []
    assert {release for _, _, release in clients.answers} == {server.first}
    assert len(clients.answers) > 10
    assert current(server.root) == server.first
    assert served_releases(server) == {server.first}
    assert server.process.poll() is None


# --- a build that fails ---


def test_a_build_of_bad_data_fails_naming_the_line_and_the_release_stays(serving):
    broken = serving.root / "data" / "zz-broken.ttl"
    broken.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e ex:f ex:g .\n', encoding="utf-8")
    with Clients(serving, paths()) as clients:
        done = kg("build", "--force", env=serving.env)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {broken}:3:") and done.stderr.count("\n") == 1, done.stderr
    assert debris(serving.root) == []
    assert_still_serving(serving, clients)


def test_a_build_on_a_full_disk_fails_in_one_line_and_the_release_stays(serving):
    """The disk fills for real: the build runs with a file size limit (RLIMIT_FSIZE) smaller than the
    snapshot's dataset file, so the write fails with EFBIG, as on a full disk it fails with ENOSPC. (Python
    ignores SIGXFSZ, which would otherwise kill it; the limit is set by a small launcher rather than in
    preexec_fn, which is unsafe while the client threads run.)"""
    limit = 1_000_000
    assert os.path.getsize(serving.root / "build" / serving.first / "dataset.nq") > limit
    launcher = ("import os, resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
                f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
                "os.execv(sys.executable, [sys.executable, '-m', 'kg.cli', 'build', '--force'])")
    with Clients(serving, paths()) as clients:
        done = subprocess.run([sys.executable, "-c", launcher], env={**os.environ, **serving.env}, capture_output=True,
                              text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert re.fullmatch(rf"error: could not write the snapshot: {os.strerror(errno.EFBIG)}: \S+/build/\.\S+\.tmp/\S+; "
                        rf"it was discarded, and \S+/build/current still names {serving.first}\n", done.stderr), done.stderr
    assert debris(serving.root) == []  # the staging folder went with the failed build
    assert_still_serving(serving, clients)


def test_a_build_killed_half_way_leaves_the_release_and_the_next_build_clears_up(serving):
    with Clients(serving, paths()) as clients:
        building = subprocess.Popen([sys.executable, "-m", "kg.cli", "build", "--force"],
                                    env={**os.environ, **serving.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not list((serving.root / "build").glob(".*.tmp/dataset.nq")):  # writing the snapshot has begun
            assert building.poll() is None, "the build ended before it could be killed half-way"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        building.kill()
        building.wait(10)
        left = debris(serving.root)
        time.sleep(1)  # a second of serving after the kill (five release polls): nothing may switch
    assert len(left) == 1 and left[0].endswith(".tmp")
    assert_still_serving(serving, clients)
    done = kg("build", "--force", env=serving.env)
    assert done.returncode == 0, done.stderr
    assert debris(serving.root) == []
    wait_for_release(serving, current(serving.root))
    assert current(serving.root) != serving.first


# --- stop signals ---


#: How `kg serve` is told to stop: SIGTERM to it (Docker, Kubernetes, kill), SIGINT to its process group (Ctrl-C
#: in a terminal), SIGTERM to every process of it (systemd's default KillMode=control-group).
STOPS = {"SIGTERM": (signal.SIGTERM, False), "Ctrl-C": (signal.SIGINT, True), "systemd": (signal.SIGTERM, True)}


@pytest.mark.parametrize("how", list(STOPS))
def test_a_stop_signal_lets_the_running_query_finish_and_leaves_no_process(project_env, tmp_path, how):
    env, _ = project_env
    log = tmp_path / "serve.log"
    sig, to_group = STOPS[how]
    server = realserver.start(env, log, new_session=to_group)
    try:
        server.wait_started(2)
        answer: dict[str, object] = {}

        def ask() -> None:
            answer["r"] = _answer(server.query, SLOW, client="127.0.0.9", format="csv", timeout=GRACE_S + 10)
            answer["at"] = time.monotonic()

        slow = threading.Thread(target=ask)
        slow.start()
        _, running = busy_worker(server)
        tree = server.tree()
        stopped = time.monotonic()
        if to_group:
            os.killpg(server.process.pid, sig)
        else:
            server.process.send_signal(sig)
        probes = []  # new connections while it stops
        while server.process.poll() is None and time.monotonic() - stopped < GRACE_S + 5:
            probes.append(attempt(lambda: server.request("GET", "/healthz", timeout=5)))
            if not alive([running]):
                answer.setdefault("worker ended", time.monotonic())
            time.sleep(0.1)
        status = server.process.wait(GRACE_S + 5)
        took = time.monotonic() - stopped
        slow.join(30)
    finally:
        server.stop()
    assert status == 0
    assert answer["r"][0] == 200 and answer["r"][1].split()[1].isdigit(), answer  # the running query finished
    # ... on the worker it was running on, not stopped by the signal and run again on another one
    assert answer.get("worker ended", answer["at"]) > answer["at"] - 0.5, "its query worker was stopped under it"
    # A lost signal costs the whole grace period: granian then kills the HTTP process that never heard it. (Its log
    # line for that, "Killing worker-N after it refused to gracefully stop", is no proof: granian also writes it
    # when a process it waited for has closed its files and is not yet reaped a millisecond later.)
    assert took < GRACE_S / 2, f"{took:.1f} s: an HTTP process did not stop until it was killed"
    # New connections while it stops: answered by a process not yet stopping, refused once none listens, or (one
    # that came as its process stopped listening) closed unanswered; none waits, and none gets an error page.
    assert set(probes) <= {200} | DROPPED, probes
    assert attempt(lambda: server.request("GET", "/healthz", timeout=5)) == "ConnectionRefusedError"
    assert alive(tree) == [] and project_processes(Path(env["KG_ROOT"])) == []


def _answer(query, *args, **kwargs) -> tuple[int | str, str]:
    try:
        status, _, body = query(*args, **kwargs)
        return status, body.decode()
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__, ""


def test_a_stop_signal_while_the_http_processes_start_is_not_lost(project_env, tmp_path):
    """granian's HTTP processes, until they have built the app, would swallow it and serve on until killed."""
    env, _ = project_env
    log = tmp_path / "serve.log"
    server = realserver.launch(env, log)
    try:
        deadline = time.monotonic() + 60
        while "Spawning worker-2" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline and server.process.poll() is None
            time.sleep(0.005)
        assert server.started() == 0  # both are still starting
        stopped = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        status = server.process.wait(GRACE_S + 5)
        took = time.monotonic() - stopped
    finally:
        server.stop()
    text = log.read_text(errors="replace")
    assert status == 0
    assert "the stop signal came while this HTTP process was starting" in text
    # A lost signal costs the whole grace period: granian then kills the HTTP process that never heard it. (Its log
    # line for that, "Killing worker-N after it refused to gracefully stop", is no proof: granian also writes it
    # when a process it waited for has closed its files and is not yet reaped a millisecond later.)
    assert took < GRACE_S / 2, f"{took:.1f} s: an HTTP process did not stop until it was killed"
    assert project_processes(Path(env["KG_ROOT"])) == []


def test_a_request_longer_than_the_grace_period_is_cut_and_nothing_is_left(project_env, tmp_path):
    env, _ = project_env
    log = tmp_path / "serve.log"
    server = realserver.start({**env, "KG_SHUTDOWN_GRACE_S": "0.5"}, log)
    try:
        server.wait_started(2)
        answer: dict[str, object] = {}
        slow = threading.Thread(target=lambda: answer.update(
            r=_answer(server.query, SLOW, client="127.0.0.9", format="csv", timeout=60)))
        slow.start()
        busy_worker(server)
        server.process.send_signal(signal.SIGTERM)
        status = server.process.wait(30)
        slow.join(30)
    finally:
        server.stop()
    assert status == 0
    assert answer["r"][0] in DROPPED, answer  # its HTTP process was killed under it
    assert "refused to gracefully stop" in log.read_text(errors="replace")
    # The killed process's query worker was still running the query: `kg serve` ended it before exiting.
    assert project_processes(Path(env["KG_ROOT"])) == []


# --- a killed HTTP process ---


def test_a_killed_http_process_is_replaced_serving_the_same_release(serving):
    """What a crash or the OOM killer does to an HTTP process, measured as clients see it."""
    http_pids = {p.pid for p in serving.http_processes()}
    answer: dict[str, object] = {}
    with Clients(serving, paths(), count=3, retry=True) as clients:
        slow = threading.Thread(target=lambda: answer.update(
            r=_answer(serving.query, SLOW, client="127.0.0.9", format="csv", timeout=60)))
        slow.start()
        victim, _ = busy_worker(serving)
        gone = [victim, *victim.children(recursive=True)]
        killed = time.monotonic()
        victim.kill()
        left = wait_until_gone(gone[1:], timeout_s=10)
        orphans_s = time.monotonic() - killed
        deadline = time.monotonic() + 60
        while len(fresh := [p for p in serving.http_processes() if p.pid not in http_pids]) < 1 or serving.started() < 3:
            assert time.monotonic() < deadline, "no replacement HTTP process started"
            time.sleep(0.02)
        replaced_s = time.monotonic() - killed
        slow.join(60)
        retried = _answer(serving.query, SLOW, client="127.0.0.9", format="csv", timeout=60)
    assert answer["r"][0] in DROPPED, answer  # the request in flight there: a closed connection, not an error page
    assert retried[0] == 200  # sent again, it is answered
    assert len(serving.http_processes()) == 2 and serving.process.poll() is None
    replacement = fresh[0]
    workers = [w for w in replacement.children() if WORKER_ENTRY in " ".join(w.cmdline())]
    assert workers and all(str(serving.root / "build" / serving.first) in " ".join(w.cmdline()) for w in workers)
    assert served_releases(serving) == {serving.first}
    assert left == [], f"query workers of the killed process still running {orphans_s:.1f} s later"
    # Every client request was answered 200 once sent again. Those that needed it had been in flight on the killed
    # process (the connection closes unanswered), or connected to it as it was being torn down (reset).
    dropped = [outcome for _, outcome in clients.attempts if outcome != 200]
    assert clients.failed() == [] and set(dropped) <= DROPPED, dropped
    assert len(dropped) <= 2 * 3, f"{len(dropped)} of {len(clients.attempts)} dropped: more than the kill explains"
    print(f"\nreplacement serving {replaced_s:.2f} s after the kill; its query workers gone after {orphans_s:.2f} s; "
          f"{len(dropped)} of {len(clients.attempts)} client attempts dropped ({dropped}); the running query: {answer['r'][0]}")


def test_an_http_process_killed_again_at_once_stops_the_server(serving):
    """granian's crash-loop guard: a replacement that dies within 5.5 s of starting stops the whole server,
    with status 1, for a supervisor to restart it; nothing is left behind."""
    first = {p.pid for p in serving.http_processes()}
    serving.http_processes()[0].kill()
    serving.wait_started(3)
    replacement = [p for p in serving.http_processes() if p.pid not in first]
    assert replacement
    replacement[0].kill()
    assert serving.process.wait(GRACE_S + 5) == 1
    assert "crash loop" in serving.log.read_text(errors="replace")
    assert wait_until_gone(project_processes(serving.root), timeout_s=5) == []
