"""`kg publish`: a release loaded into the Oxigraph server's own databases, checked, switched, and served.

Against the real `oxigraph` command (PyPI's Oxigraph server, a test dependency) and its HTTP server on
loopback: nothing here is mocked.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.build.publish import OxigraphEngine, PublishFailed, publish, served_release, write_qlever_input
from kg.cli import main
from kg.snapshot import Snapshot



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sparql(port: int, query: str) -> ox.QuerySolutions | ox.QueryBoolean:
    url = f"http://127.0.0.1:{port}/query?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return ox.parse_query_results(response.read(), format=ox.QueryResultsFormat.JSON)


def test_a_published_release_is_served_by_the_oxigraph_server(snapshot, tmp_path: Path) -> None:
    root = tmp_path / "oxigraph"
    done = publish(snapshot, OxigraphEngine(root))
    assert done is not None and done.check.questions >= 30 and not done.check.disagreements and done.graphs == len(
        [g for g in snapshot.manifest["graphs"].values() if g["triples"]])
    assert served_release(root)["build_id"] == snapshot.manifest["build_id"]

    port = free_port()
    server = subprocess.Popen(["oxigraph", "serve-read-only", "--location", str(root / "current"),
                               "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                answer = sparql(port, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the oxigraph server did not answer: " + server.stderr.read1().decode())
        union = snapshot.manifest["dumps"]["integrating-cities.nt.gz"]["triples"]
        assert int(next(iter(answer))["n"].value) == union
        # A fact two sources state is one triple of the default graph, as on our endpoint.
        charter = sparql(port, "SELECT ?d WHERE { <https://w3id.org/integrating-cities/id/work/integrating-cities-charter> "
                               "<https://w3id.org/integrating-cities/def/launchDate> ?d }")
        assert len(list(charter)) == 1
    finally:
        server.terminate()
        server.wait(10)


def test_publishing_again_changes_nothing(snapshot, tmp_path: Path, capsys) -> None:
    root = tmp_path / "oxigraph"
    assert publish(snapshot, OxigraphEngine(root)) is not None
    before = (root / "current").resolve()
    assert publish(snapshot, OxigraphEngine(root)) is None
    assert (root / "current").resolve() == before


def test_a_release_that_fails_its_check_is_discarded_and_the_served_one_stays(snapshot, tmp_path: Path) -> None:
    root = tmp_path / "oxigraph"
    publish(snapshot, OxigraphEngine(root))
    served = (root / "current").resolve()
    # A release whose manifest counts one triple more than its dumps hold: the engine's count disagrees.
    broken_dir = tmp_path / "broken"
    shutil.copytree(snapshot.path, broken_dir, symlinks=True)
    manifest = json.loads((broken_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["build_id"] += "-broken"
    graph = next(iter(g for g, e in manifest["graphs"].items() if e["triples"]))
    manifest["graphs"][graph]["triples"] += 1
    broken = Snapshot(broken_dir, manifest)
    with pytest.raises(PublishFailed, match=f"{graph}: .* in oxigraph, .* in the release"):
        publish(broken, OxigraphEngine(root))
    assert (root / "current").resolve() == served
    assert not (root / "releases" / manifest["build_id"]).exists()


def test_kg_publish_reports_and_exits_as_documented(shipped, snapshot, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("KG_BUILD_DIR_NAME", str(shipped.build_dir))  # the session's release, not the checkout's build/
    root = tmp_path / "oxigraph"
    assert main(["--root", str(shipped.root), "publish", "oxigraph", str(root)]) == 0
    out = capsys.readouterr().out
    questions = len(list(snapshot.questions_dir.glob("*.rq")))
    assert f"{questions} of {questions} competency questions answer alike" in out and "serve-read-only" in out
    assert main(["--root", str(shipped.root), "publish", "oxigraph", str(root)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_qlever_input_is_the_named_graphs_and_a_qleverfile(snapshot, tmp_path: Path) -> None:
    target = write_qlever_input(snapshot, tmp_path / "qlever")
    import gzip

    quads = list(ox.parse(gzip.decompress((target / "integrating-cities.nq.gz").read_bytes()), format=ox.RdfFormat.N_QUADS))
    assert len(quads) == sum(g["triples"] for g in snapshot.manifest["graphs"].values())
    qleverfile = (target / "Qleverfile").read_text(encoding="utf-8")
    assert "INPUT_FILES = integrating-cities.nq.gz" in qleverfile and snapshot.manifest["build_id"] in qleverfile
