"""The package layout: two wings that meet at the snapshot (README, "How the code is laid out").

The import-linter contracts in pyproject.toml say which package may import which; these tests run them on
the code as it is, and on a copy with one forbidden import planted, so a contract that could never fail
would show here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """import-linter on the ``kg`` package found in ``project``, with the contracts of ``project``'s pyproject.toml."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")
    return subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True,
                          env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"})


def test_every_import_contract_is_kept():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 kept, 0 broken" in run.stdout


@pytest.mark.parametrize("importer, imported, contract", [
    ("kg/build/load.py", "kg.query.store", "The build wing never imports the serving side"),
    ("kg/web/dataset.py", "kg.build.dumps", "The serving side never imports the build wing"),
    ("kg/query/store.py", "kg.site.describe", "The serving side reads downwards"),
    ("kg/snapshot.py", "kg.build.writer", "The build wing stands on the shared modules only"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path, importer, imported, contract):
    shutil.copytree(ROOT / "kg", tmp_path / "kg", ignore=shutil.ignore_patterns("static", "templates", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / importer, "a", encoding="utf-8") as module:
        module.write(f"\nimport {imported}  # planted by the test\n")
    run = lint_imports(tmp_path)
    assert run.returncode != 0
    assert any(name.startswith(contract) for name in broken_contracts(run.stdout)), run.stdout
    assert f"-> {imported} (l." in run.stdout  # the report names the planted import


def broken_contracts(report: str) -> list[str]:
    """The names of the contracts import-linter reports BROKEN (it wraps long names over lines)."""
    summary = report.split("Analyzed ", 1)[1].split("\nContracts:", 1)[0]
    lines = [line for line in summary.splitlines()[1:] if line.strip() and set(line.strip()) != {"-"}]
    parts = re.split(r" (KEPT|BROKEN)(?:\n|$)", "\n".join(lines))
    return [" ".join(name.split()) for name, status in zip(parts[::2], parts[1::2]) if status == "BROKEN"]
