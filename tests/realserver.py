"""The real `kg serve` on a loopback port, for the tests that prove what a running service does."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path


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


def start(env: dict[str, str], log: Path, timeout_s: float = 60) -> Server:
    """`python -m kg.cli serve` with ``env`` (over this process's environment), once /healthz answers.

    Its output goes to ``log``: a pipe nobody reads fills up (an access-log line per request) and stalls it."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve"], env={**os.environ, **env, "KG_PORT": str(port)},
                                   stdout=output, stderr=subprocess.STDOUT)
    server = Server(port, process, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if server.request("GET", "/healthz", timeout=2)[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start: " + log.read_text(errors="replace")[-2000:])
