"""`kg synth`: deterministic, sized as asked, valid, and its planted violations are exactly what validation reports."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.build.pipeline import Pipeline
from kg.cli import main
from kg.config import load_settings
from kg.dev.synth import MANIFEST, VIOLATION_KINDS, SynthError, synthesize


def contents(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def parsed_triples(root: Path) -> int:
    """Triples summed over the named graphs (one per data file), as `kg build` counts them."""
    return sum(len(set(ox.parse(path=str(p), format=ox.RdfFormat.TURTLE))) for p in (root / "data").glob("*.ttl"))


def validate(root: Path):
    return Pipeline.load(load_settings({"root": root}, environ={})).validate(closure=False)


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    synthesize(tmp_path / "a", 5000, seed=7, violations=1)
    synthesize(tmp_path / "b", 5000, seed=7, violations=1)
    synthesize(tmp_path / "c", 5000, seed=8, violations=1)
    first = contents(tmp_path / "a")
    assert first == contents(tmp_path / "b")
    assert contents(tmp_path / "a" / "data") != contents(tmp_path / "c" / "data")


@pytest.mark.parametrize("target", [5000, 20000])
def test_size_is_within_ten_percent_of_the_target(tmp_path, target):
    result = synthesize(tmp_path, target, seed=3)
    assert parsed_triples(tmp_path) == result.triples
    assert abs(result.triples - target) <= target / 10
    assert {"sources.ttl", "vocabulary.ttl", "common-knowledge.ttl"} <= {p.name for p in (tmp_path / "data").iterdir()}
    assert all((tmp_path / folder).is_dir() for folder in ("ontology", "shapes", "checks"))


def test_generated_graph_without_planted_violations_validates_clean(tmp_path):
    synthesize(tmp_path, 5000, seed=1)
    report = validate(tmp_path)
    assert report.conforms
    assert report.results == []  # no error, and no warning or info either


def test_every_planted_violation_is_reported_and_nothing_else(tmp_path):
    synthesize(tmp_path, 6000, seed=2, violations=2)
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    assert Counter(v["kind"] for v in manifest["violations"]) == {kind: 2 for kind in VIOLATION_KINDS}
    expected = Counter((r["focus"], r["component"]) for v in manifest["violations"] for r in v["reports"])
    report = validate(tmp_path)
    assert Counter((v.focus, v.component) for v in report.results) == expected


def test_too_small_a_graph_for_the_violations_asked_is_refused(tmp_path):
    with pytest.raises(SynthError, match="too few triples"):
        synthesize(tmp_path, 1000, seed=1, violations=5)


def test_kg_synth_command(tmp_path, capsys):
    out = tmp_path / "synthetic"
    assert main(["synth", str(out), "--triples", "3000", "--seed", "5"]) == 0
    assert "triples" in capsys.readouterr().out
    assert json.loads((out / MANIFEST).read_text(encoding="utf-8"))["violations"] == []
    assert main(["synth", str(out), "--triples", "3000"]) == 2  # data/ not empty: refused without --force
    assert main(["synth", str(out), "--triples", "3000", "--seed", "6", "--force"]) == 0
