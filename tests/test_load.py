"""Bad Turtle is reported as file:line:col and never as a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kg.build.load import TurtleSyntaxError, load_sources, parse_turtle
from kg.cli import main


def test_shipped_files_parse_into_one_graph_per_data_file(shipped):
    loaded = load_sources(shipped)
    data_files = sorted(shipped.data_dir.glob("*.ttl"))
    assert set(loaded.graphs) == {shipped.ontology_graph} | {shipped.graph_iri(p.stem.split(".")[0]) for p in data_files}
    assert all(len(g) > 0 for g in loaded.graphs.values())


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ('@prefix ex: <http://e/> .\nex:a ex:b "unterminated ;\n', 2, 11, "end of file"),
        ("@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nnope:a ex:b ex:c .\n", 3, 1, "nope"),
        ("@prefix ex: <http://e/> .\nex:a ex:b ex:c ;\n  ex:d .\n", 3, 8, ""),
    ],
    ids=["unterminated-string", "unknown-prefix", "missing-object"],
)
def test_syntax_error_names_file_line_and_column(tmp_path, text, line, column, words):
    path = tmp_path / "broken.ttl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TurtleSyntaxError) as caught:
        parse_turtle(path)
    assert (caught.value.path, caught.value.line, caught.value.column) == (path, line, column)
    assert str(caught.value).startswith(f"{path}:{line}:{column}: ")
    assert words in caught.value.message


def test_file_that_is_not_utf8_is_a_syntax_error(tmp_path):
    path = tmp_path / "latin1.ttl"
    path.write_bytes('@prefix ex: <http://e/> .\nex:a ex:b "Liège" .\n'.encode("latin-1"))
    with pytest.raises(TurtleSyntaxError) as caught:
        parse_turtle(path)
    assert caught.value.path == path


def test_cli_reports_broken_data_file_with_exit_2(project, capsys):
    broken = project.data_dir / "helsinki-international-activities.ttl"
    broken.write_text(broken.read_text(encoding="utf-8") + "\ncity:oops ic:label \"x\n", encoding="utf-8")
    for command in ("validate", "build"):
        assert main(["--root", str(project.root), command]) == 2
        err = capsys.readouterr().err
        assert f"{broken}:" in err and "Traceback" not in err
    assert not project.current_snapshot.exists()


def test_installed_command_prints_no_traceback(project):
    broken = project.data_dir / "sources.ttl"
    broken.write_text("@prefix : <http://e/> .\n:a :b \n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "kg.cli", "--root", str(project.root), "validate"], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.startswith(f"error: {broken}:3:1: ") and "Traceback" not in run.stderr
