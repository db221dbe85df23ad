"""Lookup throughput of one `kg serve` replica and of two behind HAProxy (deploy/haproxy.cfg), side by side.

    python benchmarks/replicas.py [--seconds 10] [--connections 16]

Each replica runs one HTTP process (KG_HTTP_WORKERS=1) pinned to a core of its own with `taskset`
(replica 1 on CPU 0, replica 2 on CPU 1); HAProxy and wrk (Debian's) are not pinned, so on a machine with
only two cores they compete with the replicas for them — the figures say how much that costs. Three
configurations, in one run: one replica direct, one replica behind HAProxy (the proxy's own cost), two
replicas behind HAProxy. The lookup is a bounded one (answered inline, no worker), the cheapest request
we serve, so the ratio shows the HTTP layers' ceiling rather than the engine's.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, command_line, machine, machine_markdown, versions, write_section  # noqa: E402

LOOKUP = "/sparql?query=" + urllib.parse.quote("SELECT ?p ?o WHERE { <https://w3id.org/integrating-cities/id/city/helsinki> ?p ?o } LIMIT 20")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


def replica(cpu: int, work: Path, n: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "KG_ROOT": str(ROOT), "KG_PORT": str(port), "KG_HTTP_WORKERS": "1", "KG_QUERY_WORKERS": "1",
           "KG_STATE_DIR": str(work / f"state{n}"), "KG_TRUSTED_PROXIES": "127.0.0.1"}
    log = (work / f"replica{n}.log").open("wb")
    process = subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, "-m", "kg.cli", "serve"], env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(port)
    return process, port


def haproxy(ports: list[int], work: Path) -> tuple[subprocess.Popen, int]:
    front = free_port()
    config = (ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8").replace("127.0.0.1:8000", f"127.0.0.1:{front}")
    servers = "".join(f"    server replica{i} 127.0.0.1:{port} check\n" for i, port in enumerate(ports, 1))
    config = re.sub(r"    server replica1 .*\n    server replica2 .*\n", servers, config)
    (work / "haproxy.cfg").write_text(config, encoding="utf-8")
    process = subprocess.Popen(["haproxy", "-db", "-f", str(work / "haproxy.cfg")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_for(front)
    time.sleep(2)  # two health checks: every replica in rotation
    return process, front


def wrk(port: int, seconds: int, connections: int) -> tuple[float, str]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}{LOOKUP}"],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    return rate, f"p99 {p99}" + (f", {errors.group(0)}" if errors else "")


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, 15)
    except (ProcessLookupError, PermissionError):
        process.terminate()
    process.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    for tool in ("wrk", "haproxy", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install wrk haproxy util-linux)")
    subprocess.run([sys.executable, "-m", "kg.cli", "build"], check=True, stdout=subprocess.DEVNULL)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        first, port1 = replica(0, work, 1)
        second, port2 = replica(1, work, 2)
        try:
            rows.append(("one replica, direct", *wrk(port1, args.seconds, args.connections)))
            proxy, front = haproxy([port1], work)
            rows.append(("one replica behind HAProxy", *wrk(front, args.seconds, args.connections)))
            stop(proxy)
            proxy, front = haproxy([port1, port2], work)
            rows.append(("two replicas behind HAProxy", *wrk(front, args.seconds, args.connections)))
            stop(proxy)
        finally:
            stop(first)
            stop(second)
    base = rows[0][1]
    table = ["| configuration | lookups/s | vs one replica direct | latency |", "|---|---|---|---|"]
    table += [f"| {name} | {rate:,.0f} | {rate / base:.2f}× | {extra} |" for name, rate, extra in rows]
    body = f"""## Read replicas behind HAProxy

`{command_line("replicas.py", argv)}` — {args.connections} connections of wrk for {args.seconds} s per
configuration, one bounded lookup (`{urllib.parse.unquote(LOOKUP)}`), each replica one HTTP process
pinned to a core of its own; HAProxy and wrk unpinned.

{chr(10).join(table)}

Two replicas behind HAProxy against one behind HAProxy: {rows[2][1] / rows[1][1]:.2f}×.

{machine_markdown(machine(), versions(["granian", "pyoxigraph"]))}
"""
    print(body)
    write_section("replicas", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
