"""Shared by the benchmark scripts: a description of the machine, refreshing one section of BENCHMARKS.md,
a synthetic project built once and reused, and a client of the real server from one loopback address.

Each benchmark owns one section of BENCHMARKS.md, delimited by ``<!-- BEGIN name -->`` and
``<!-- END name -->``; a run replaces only its own section and leaves the others as they are.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"

HEADER = """# Benchmarks

Speed is measured here, not asserted in timed tests. Each section below is written by a script in
`benchmarks/` and holds the latest figures, the command that produced them and the machine they were
measured on. The machines are shared and noisy: compare within one section (one run, side by side),
and quote the ratios rather than the absolute times.

"""


def machine() -> dict[str, str]:
    """CPU count, memory, CPU model, OS and Python version, and the time of the run."""
    info: dict[str, str] = {}
    info["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info["nproc"] = _run(["nproc"]) or str(len(os.sched_getaffinity(0)))
    free = _run(["free", "-h"])
    match = re.search(r"^Mem:\s+(\S+)", free or "", re.MULTILINE)
    info["memory"] = match.group(1) if match else "?"
    info["cpu"] = _cpu_model()
    info["os"] = f"{platform.system()} {platform.release()} {platform.machine()}"
    info["python"] = platform.python_version()
    try:
        info["loadavg"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        info["loadavg"] = "?"
    return info


def versions(distributions: list[str]) -> dict[str, str]:
    found = {}
    for name in distributions:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def ratio(a: float | None, b: float | None) -> str:
    """``a / b`` as "2.3×", or "–" when either is missing."""
    return f"{a / b:.1f}×" if a and b else "–"


def machine_markdown(info: dict[str, str], libs: dict[str, str]) -> str:
    lines = [
        f"- Date: {info['date']}",
        f"- Machine: {info['nproc']} CPUs (`nproc`), {info['memory']} memory (`free -h`), {info['cpu']}; {info['os']}; "
        f"load average {info['loadavg']} when the run started",
        f"- Python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in libs.items()),
    ]
    return "\n".join(lines)


def command_line(script: str, argv: list[str] | None) -> str:
    """How to run ``script`` again as it was run (``argv``: main()'s own, or None for the real command line)."""
    args = sys.argv[1:] if argv is None else argv
    return f"python benchmarks/{script}" + (" " + shlex.join(args) if args else "")


def write_section(name: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) the section ``name`` of BENCHMARKS.md with ``body``."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.strip()}\n{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        rest_of_file = tail.lstrip("\n")
        text = head + block + ("\n" + rest_of_file if rest_of_file else "")  # a blank line before the next heading
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def synthetic_snapshot(triples: int, work: Path, seed: int = 1, env: dict[str, str] | None = None) -> Path:
    """The snapshot of a `kg synth` project of about ``triples`` triples in ``work``, generated and built only
    if it is not there yet: at 10^6 triples `kg build` takes about a minute and 3 GB, which a benchmark run
    need not pay again. `kg build` itself does nothing when the snapshot is up to date (input hash)."""
    folder = work / f"n{triples}-seed{seed}"
    env = {**os.environ, **(env or {})}
    manifest = folder / "synth-manifest.json"
    try:
        made = json.loads(manifest.read_text())
        fresh = (made["target_triples"], made["seed"], made["violations_per_kind"]) == (triples, seed, 0)
    except (OSError, ValueError, KeyError):
        fresh = False
    if not fresh:
        print(f"generating {triples:,} synthetic triples in {folder}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "kg.cli", "synth", str(folder), "--triples", str(triples), "--seed",
                        str(seed), "--force"], check=True, env=env, stdout=subprocess.DEVNULL)
    print(f"kg build --root {folder} (does nothing if up to date)", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "kg.cli", "--root", str(folder), "build"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return (folder / "build" / "current").resolve()


JSON_RESULTS = "application/sparql-results+json"


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float  # client-side, from sending the request to the last byte of the body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class LoopbackClient:
    """HTTP/1.1 from one loopback address (any of 127.0.0.0/8), which the server's fair use counts as one client.

    ``keep_alive``: one connection for every request, so every request reaches the same HTTP process of
    `kg serve` (each has its own answer cache); else a new connection per request, as a client without
    keep-alive, which the kernel hands to either process. No Accept-Encoding: answers are not compressed.
    """

    def __init__(self, port: int, address: str = "127.0.0.1", keep_alive: bool = True, timeout: float = 60) -> None:
        self.port, self.address, self.keep_alive, self.timeout = port, address, keep_alive, timeout
        self._conn: http.client.HTTPConnection | None = None

    def sparql(self, query: str, accept: str = JSON_RESULTS, timeout: float | None = None) -> Reply:
        return self.get("/sparql?" + urlencode({"query": query}), accept, timeout)

    def get(self, path: str, accept: str = "*/*", timeout: float | None = None) -> Reply:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout or self.timeout,
                                                        source_address=(self.address, 0))
            self._conn.timeout = timeout or self.timeout
            started = time.perf_counter()
            try:
                self._conn.request("GET", path, headers={"Accept": accept})
                response = self._conn.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # the server closed an idle keep-alive connection: once more on a new one
                if attempt == 2 or not self.keep_alive:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            reply = Reply(response.status, response.headers, body, time.perf_counter() - started)
            if not self.keep_alive or (response.getheader("Connection") or "").lower() == "close":
                self.close()
            return reply
        raise AssertionError("unreachable")

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """/metrics as {(sample name, sorted labels): value}."""
        from prometheus_client.parser import text_string_to_metric_families

        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(self.get("/metrics").text) for s in family.samples}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _run(cmd: list[str]) -> str | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
