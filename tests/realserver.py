"""The real `kg serve` on a loopback port, for the tests that prove what a running service does."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import psutil

#: What the query worker processes run (kg/query/executor.py).
WORKER_ENTRY = "kg.query.executor import worker_entry"


#: Connection failures a client sees from a server process that went away: the ones it may retry.
DROPPED = {"RemoteDisconnected", "ConnectionResetError", "ConnectionRefusedError", "BrokenPipeError",
           "IncompleteRead"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A client of one `kg serve` process group."""

    def __init__(self, port: int, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
        self.port, self.process, self.log = port, process, log

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 30, client: str = "127.0.0.1") -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request on a new connection from ``client``: any address of 127.0.0.0/8 is a client of its own."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout, source_address=(client, 0))
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def query(self, text: str, client: str = "127.0.0.1", timeout: float = 30,
              **params) -> tuple[int, http.client.HTTPMessage, bytes]:
        return self.request("GET", "/sparql?" + urllib.parse.urlencode({"query": text, **params}, doseq=True),
                            client=client, timeout=timeout)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    # --- its processes, as psutil sees them ---

    def http_processes(self) -> list[psutil.Process]:
        """granian's HTTP processes (the children of `kg serve`)."""
        return _children(psutil.Process(self.process.pid))

    def tree(self) -> list[psutil.Process]:
        """Every process of the server: `kg serve`, its HTTP processes and their query workers."""
        main = psutil.Process(self.process.pid)
        return [main, *_children(main, recursive=True)]

    def started(self) -> int:
        """How many HTTP processes have started serving so far (granian logs each, replacements too)."""
        return self.log.read_text(errors="replace").count("Started worker-")

    def wait_started(self, count: int, timeout_s: float = 60) -> None:
        """Until ``count`` HTTP processes have started (each has built its app and listens)."""
        deadline = time.monotonic() + timeout_s
        while self.started() < count:
            assert self.process.poll() is None, "the server stopped: " + self.log.read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, f"{count} HTTP processes did not start within {timeout_s} s"
            time.sleep(0.05)


def _children(process: psutil.Process, recursive: bool = False) -> list[psutil.Process]:
    try:
        return process.children(recursive=recursive)
    except psutil.Error:
        return []


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running: gone, or exited and waiting to be reaped (a zombie), they are not."""
    found = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            pass
    return found


def wait_until_gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Wait up to ``timeout_s`` for ``processes`` to end; those still running then."""
    deadline = time.monotonic() + timeout_s
    while (left := alive(processes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def query_workers(server: Server) -> list[int]:
    """The query worker processes of this server (children of its HTTP processes)."""
    return [worker.pid for process in server.http_processes() for worker in _children(process)
            if _runs(worker, WORKER_ENTRY)]


def _runs(process: psutil.Process, text: str) -> bool:
    try:
        return text in " ".join(process.cmdline())
    except psutil.Error:
        return False


def served_releases(server: Server, requests: int = 20) -> set[str]:
    """The releases that answer the next ``requests`` requests (spread over the HTTP processes)."""
    return {server.request("GET", "/healthz")[1]["KG-Release"] for _ in range(requests)}


def wait_for_release(server: Server, release: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while served_releases(server) != {release}:
        assert time.monotonic() < deadline, f"still not serving {release} alone after {timeout_s} s"
        time.sleep(0.2)


def kg(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -m kg.cli ARGS` with ``env`` over this process's environment."""
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120)


def start(env: dict[str, str], log: Path, timeout_s: float = 60, new_session: bool = False) -> Server:
    """`python -m kg.cli serve` with ``env`` (over this process's environment), once /healthz answers.

    Its output goes to ``log``: a pipe nobody reads fills up (an access-log line per request) and stalls it.
    ``new_session``: in a process group of its own, as a terminal would run it, for a Ctrl-C to the group."""
    server = launch(env, log, new_session)
    process = server.process
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if server.request("GET", "/healthz", timeout=2)[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start: " + log.read_text(errors="replace")[-2000:])


def launch(env: dict[str, str], log: Path, new_session: bool = False) -> Server:
    """`python -m kg.cli serve` as :func:`start` runs it, without waiting for it to answer."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve"], env={**os.environ, **env, "KG_PORT": str(port)},
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=new_session)
    return Server(port, process, log)


class Clients:
    """``count`` clients, each from an address of its own, requesting ``paths`` in turn until stopped (at most
    two minutes). With ``retry``, a request whose connection was refused or dropped is sent again after a
    tenth of a second, twice at most, as HTTP clients do for idempotent requests; ``attempts`` has every try,
    ``answers`` the last of each request."""

    def __init__(self, server: Server, paths: list[str], count: int = 3, retry: bool = False) -> None:
        self.server, self.paths, self.retry = server, paths, retry
        self.attempts: list[tuple[str, int | str]] = []
        self.answers: list[tuple[str, int | str, str | None]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(count)]

    def _run(self, n: int) -> None:
        deadline = time.monotonic() + 120
        i = n
        while not self._stop.is_set() and time.monotonic() < deadline:
            path = self.paths[i % len(self.paths)].replace("{i}", str(i))
            i += 1
            for tries in range(3 if self.retry else 1):
                if tries:
                    time.sleep(0.1)
                try:
                    status, headers, _ = self.server.request("GET", path, client=f"127.0.0.{20 + n}", timeout=30)
                    outcome, release = status, headers.get("KG-Release")
                except (OSError, http.client.HTTPException) as error:
                    outcome, release = type(error).__name__, None
                self.attempts.append((path, outcome))
                if outcome not in DROPPED:
                    break
            self.answers.append((path, outcome, release))

    def __enter__(self) -> "Clients":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def failed(self) -> list[tuple[str, int | str]]:
        return [(path, outcome) for path, outcome, _ in self.answers if outcome != 200]


class ServedVirtuoso:
    """`virtuoso-t +foreground +configfile <root>/current/virtuoso.ini`, as `kg publish virtuoso` tells an
    operator to run it: the release ``current`` names when started, on the ports the publish was given."""

    def __init__(self, root: Path, http_port: int) -> None:
        from kg.build.virtuoso import VirtuosoError, sparql_form

        self.root, self.url = root, f"http://127.0.0.1:{http_port}/sparql"
        self.ini = (root / "current" / "virtuoso.ini").resolve()
        self.process = subprocess.Popen(["virtuoso-t", "+foreground", "+configfile", str(self.ini)], cwd=self.ini.parent,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(600):
            try:
                sparql_form(self.url, "ASK {}", timeout=5)
                return
            except VirtuosoError:
                assert self.process.poll() is None, "virtuoso-t exited"
                time.sleep(0.1)
        raise AssertionError("the published Virtuoso did not answer")

    def stop(self) -> None:
        """SIGTERM, as systemd stops it: Virtuoso checkpoints and exits."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)
