"""The `kg` command: exit codes, output formats other tools can read."""

from __future__ import annotations

import csv
import io
import json

import pytest

from kg.cli import main


@pytest.fixture
def built(shipped, snapshot, monkeypatch):
    """The shipped project, with `kg` pointed at the session's snapshot so no test rebuilds it."""
    monkeypatch.setenv("KG_BUILD_DIR_NAME", str(shipped.build_dir))
    return shipped


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_shipped_data_conforms(shipped, capsys):
    code, out, _ = run(capsys, "--root", str(shipped.root), "validate")
    assert code == 0 and out.startswith("Conforms")


def test_validate_json_lists_results(project, capsys):
    path = project.data_dir / "integrating-cities-home.ttl"
    path.write_text(path.read_text(encoding="utf-8") + "\ncity:berlin ic:locaton city:berlin .\n", encoding="utf-8")
    code, out, _ = run(capsys, "--root", str(project.root), "validate", "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["conforms"] is False
    [typo] = [r for r in report["results"] if r["component"] == "kg:undefined-term"]
    assert typo["path"].endswith("def/locaton")
    assert (typo["file"], typo["line"]) == ("data/integrating-cities-home.ttl", len(path.read_text().splitlines()))


def test_query_json_is_standard_sparql_results(built, capsys):
    query = "SELECT ?city WHERE { event:integrating-cities-iii ic:location ?city }"
    code, out, _ = run(capsys, "--root", str(built.root), "query", query, "--format", "json")
    results = json.loads(out)
    assert code == 0
    assert results["head"]["vars"] == ["city"]
    assert results["results"]["bindings"] == [{"city": {"type": "uri", "value": "https://w3id.org/integrating-cities/id/city/berlin"}}]


def test_query_csv_and_table(built, capsys):
    query = "SELECT ?n WHERE { event:integrating-cities-iv ic:editionNumber ?n }"
    _, out, _ = run(capsys, "--root", str(built.root), "query", query, "--format", "csv")
    assert list(csv.reader(io.StringIO(out))) == [["n"], ["4"]]
    _, out, _ = run(capsys, "--root", str(built.root), "query", query)
    assert out.splitlines()[0].strip() == "n" and "(1 row)" in out


def test_query_scopes_asserted_and_inferred(built, capsys):
    query = "ASK { city:berlin a schema:City }"
    assert run(capsys, "--root", str(built.root), "query", query, "--graphs", "inferred")[1] == "true\n"
    assert run(capsys, "--root", str(built.root), "query", query, "--graphs", "asserted")[1] == "false\n"


def test_invalid_query_exits_2_with_position(built, capsys):
    code, out, err = run(capsys, "--root", str(built.root), "query", "SELECT ?x WHERE { ?x")
    assert code == 2 and out == ""
    assert "error: invalid SPARQL: error at 1:21:" in err and "Traceback" not in err


@pytest.mark.parametrize("query, fmt, message", [
    ("SELECT * { FILTER(<http://example.org/f>(1)) }", "json", "The custom function <http://example.org/f> is not supported"),
    ('SELECT ?x { BIND("bell \\u0007" AS ?x) }', "xml", "U+0007"),
])
def test_a_query_the_engine_or_the_format_cannot_answer_exits_2_with_why(built, capsys, query, fmt, message):
    code, out, err = run(capsys, "--root", str(built.root), "query", query, "--format", fmt)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_stats_counts_graphs_and_classes(built, capsys):
    code, out, _ = run(capsys, "--root", str(built.root), "stats")
    assert code == 0
    assert "graph/inferred" in out and "Conference" in out


def test_an_environment_variable_that_names_no_setting_is_an_error(monkeypatch, capsys):
    """KG_BASE_IRI once half worked; now the base is fixed by the sources, and a variable left set says so."""
    monkeypatch.setenv("KG_BASE_IRI", "https://example.org/kg/")
    assert main(["stats"]) == 2
    assert "KG_BASE_IRI is not a setting: the base IRI is not configurable" in capsys.readouterr().err
    monkeypatch.delenv("KG_BASE_IRI")
    monkeypatch.setenv("KG_QUERY_TIMOUT_S", "5")  # a typo
    assert main(["stats"]) == 2
    assert "KG_QUERY_TIMOUT_S is not a setting: the settings are KG_ROOT" in capsys.readouterr().err


def test_a_setting_with_a_value_of_the_wrong_kind_is_an_error(monkeypatch, capsys):
    monkeypatch.setenv("KG_PORT", "eighty")
    assert main(["stats"]) == 2
    assert "KG_PORT='eighty' is not a valid int" in capsys.readouterr().err
