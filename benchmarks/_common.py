"""Shared by the benchmark scripts: a description of the machine, and refreshing one section of BENCHMARKS.md.

Each benchmark owns one section of BENCHMARKS.md, delimited by ``<!-- BEGIN name -->`` and
``<!-- END name -->``; a run replaces only its own section and leaves the others as they are.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

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
