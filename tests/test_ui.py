"""The query editor page: served for browsers on /sparql and /, self-contained, and safe with any query text."""

from __future__ import annotations

import dataclasses
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kg.namespaces import PREFIXES
from kg.site.competency import questions
from kg.web import create_app
from kg.web.ui import ONE_YEAR, default_query

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


class Page(HTMLParser):
    """The parts of the editor page the tests look at."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.resources: list[str] = []  # script src and link href
        self.json_scripts: dict[str, str] = {}
        self.forms: list[dict[str, str]] = []
        self._json_id: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.resources.append(attributes["src"] or "")
        if tag == "link" and attributes.get("href"):
            self.resources.append(attributes["href"] or "")
        if tag == "script" and attributes.get("type") == "application/json":
            self._json_id = attributes.get("id")
            self.json_scripts[self._json_id or ""] = ""
        if tag == "form":
            self.forms.append({k: v or "" for k, v in attributes.items()})

    def handle_data(self, data: str) -> None:
        if self._json_id is not None:
            self.json_scripts[self._json_id] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._json_id = None


@pytest.fixture(scope="module")
def app(shipped, snapshot) -> Flask:
    application = create_app(shipped, snapshot)
    yield application
    application.extensions["kg.releases"].close()


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def editor_html(client: FlaskClient) -> str:
    response = client.get("/sparql", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/sparql"])
def test_browsers_get_the_editor_page(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Accept" in response.headers.get("Vary", "")
    page = response.get_data(as_text=True)
    assert "<title>SPARQL query editor · Integrating Cities Knowledge Graph</title>" in page
    assert 'id="yasgui"' in page
    assert "knowledge graph of how European cities cooperate on migrant integration" in page


@pytest.mark.parametrize("accept", ["text/turtle", "application/ld+json", "*/*", None])
def test_rdf_clients_still_get_the_service_description(client: FlaskClient, accept: str | None) -> None:
    response = client.get("/sparql", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.mimetype == (accept if accept and accept != "*/*" else "text/turtle")
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "http://www.w3.org/ns/sparql-service-description#" in body


def test_every_competency_question_is_an_example(app: Flask, editor_html: str) -> None:
    cqs = questions(app.extensions["kg.settings"].queries_dir)  # the snapshot's copies are these files
    assert len(cqs) >= 20
    examples = json.loads(Page(editor_html).json_scripts["examples"])
    assert [e["name"] for e in examples] == [q.name for q in cqs]
    for example, cq in zip(examples, cqs):
        assert cq.name in editor_html
        assert example["query"] == cq.text
        assert example["question"] and example["question"] in cq.question


def test_page_declares_our_prefixes_and_endpoint(editor_html: str) -> None:
    config = json.loads(Page(editor_html).json_scripts["kg-editor-config"])
    assert config["endpoint"] == "/sparql"
    assert config["prefixes"] == PREFIXES
    for prefix, iri in PREFIXES.items():
        assert f"<{iri}>" in config["defaultQuery"]
        assert f"PREFIX {prefix}:" in config["defaultQuery"]


def test_default_query_runs(client: FlaskClient) -> None:
    response = client.post("/sparql", data={"query": default_query()},
                           headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    names = [b["name"]["value"] for b in response.get_json()["results"]["bindings"]]
    assert "Berlin" in names


def test_page_works_without_javascript(editor_html: str) -> None:
    """A <noscript> form posts a query (an example, or a typed one) to the endpoint."""
    noscript = editor_html[editor_html.index("<noscript>\n"):]
    noscript = noscript[:noscript.index("</noscript>")]
    page = Page(noscript)
    assert [f.get("action") for f in page.forms] == ["/sparql", "/sparql"]
    assert all(f.get("method") == "post" for f in page.forms)
    assert '<textarea id="plain-query" name="query"' in noscript
    assert '<select id="plain-example" name="query">' in noscript


def test_page_only_loads_our_own_files(client: FlaskClient, editor_html: str) -> None:
    resources = Page(editor_html).resources
    local = [url for url in resources if not url.startswith("data:")]
    assert any("yasgui/yasgui.min.js" in url for url in local)
    assert any("yasgui/yasgui.min.css" in url for url in local)
    for url in local:
        assert url.startswith("/") and not url.startswith("//"), f"not a local URL: {url}"
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("name, media_type", [("yasgui/yasgui.min.js", "javascript"), ("yasgui/yasgui.min.css", "text/css"),
                                              ("editor.js", "javascript"), ("editor.css", "text/css")])
def test_static_files_are_served_and_cached(client: FlaskClient, editor_html: str, name: str, media_type: str) -> None:
    versioned = next(url for url in Page(editor_html).resources if f"/{name}?v=" in url)
    response = client.get(versioned)
    assert response.status_code == 200
    assert media_type in response.mimetype
    assert response.cache_control.max_age == ONE_YEAR
    assert response.cache_control.immutable
    path, _, _ = versioned.partition("?")
    assert client.get(path).cache_control.max_age is None  # unversioned: revalidate
    assert client.get(path + "?v=stale").cache_control.max_age is None
    if name.startswith("yasgui/"):
        vendored = Path(__file__).resolve().parent.parent / "kg" / "web" / "static" / name
        assert response.get_data() == vendored.read_bytes()


def test_vendored_yasgui_has_its_licence(client: FlaskClient) -> None:
    licence = client.get("/assets/yasgui/LICENSE").get_data(as_text=True)
    assert "@zazuko/yasgui" in licence and "MIT" in licence


@pytest.mark.parametrize("path", ["/assets/../ui.py?v=x", "/assets/..%2fui.py?v=x", "/assets/nothing.js?v=x"])
def test_static_files_stay_in_their_folder(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_examples_are_embedded_safely(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Query text that looks like markup neither ends the JSON script early nor becomes HTML."""
    (tmp_path / "queries").mkdir()
    nasty_question = 'Does </script><script>alert("q")</script> & <b>bold</b> survive?'
    nasty_query = f'# Question: {nasty_question}\nSELECT * WHERE {{ ?s ?p "</script><!--<script>" }} LIMIT 1\n'
    (tmp_path / "queries" / "cq99-nasty.rq").write_text(nasty_query, encoding="utf-8")
    monkeypatch.setattr(app.extensions["kg.releases"].current, "questions", questions(tmp_path / "queries"))
    page = app.test_client().get("/sparql", headers={"Accept": BROWSER_ACCEPT}).get_data(as_text=True)
    assert "<script>alert" not in page
    assert "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    examples = json.loads(Page(page).json_scripts["examples"])
    assert examples[0]["query"] == nasty_query
    assert examples[0]["question"] == nasty_question


def test_the_examples_are_those_of_the_release_served_not_of_the_working_tree(project) -> None:
    """The examples are copied into the snapshot at build time: a question edited or added after the build
    is not offered against data it was not written for, until the next build."""
    from kg.build.pipeline import build, up_to_date
    from kg.web import create_app

    snapshot, _ = build(project)
    assert sorted(p.name for p in snapshot.questions_dir.iterdir()) == sorted(
        p.name for p in project.queries_dir.iterdir() if p.suffix in (".rq", ".tsv"))
    built = [q.name for q in questions(project.queries_dir)]
    (project.queries_dir / "cq99-added-later.rq").write_text("# Question: added after the build?\nASK {}\n")
    app = create_app(dataclasses.replace(project, query_workers=1), snapshot)
    try:
        page = app.test_client().get("/sparql", headers={"Accept": BROWSER_ACCEPT}).get_data(as_text=True)
    finally:
        app.extensions["kg.releases"].close()
    assert [e["name"] for e in json.loads(Page(page).json_scripts["examples"])] == built
    assert up_to_date(project) is None  # the questions are inputs of the build: the next build takes the new one
