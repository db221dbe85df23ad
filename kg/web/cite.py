"""Releases you can cite: every kept release's endpoint, card and downloads, and permalinks of queries.

- ``GET|POST /release/<id>/sparql``: the SPARQL endpoint of that release, the very view of ``/sparql``
  (same protocol, guard, budgets and formats) answered from the release ``<id>`` (:mod:`kg.web.kept`).
- ``GET /release/<id>/downloads/<file>``: the dumps of that release, as stored.
- ``GET /release/<id>``: the release card (HTML, or JSON by ``Accept``): counts per graph and class, the
  conformance summary, the engine and library versions, the dumps' checksums, the dataset's citation, and
  the diff against the previous kept release.
- ``POST /q`` (``query``, ``release``): makes the permalink of a query on a release; ``GET /q/<hash>``
  answers 303 to the editor with the query loaded, pinned to that release's endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
)

from kg.snapshot import Snapshot
from kg.web import dataset, sparql
from kg.web.kept import KeptReleases, UnknownRelease, kept_ids, previous_id
from kg.web.permalinks import Permalinks, PermalinksFull
from kg.web.release import Release, current_release
from kg.web.release_diff import diff
from kg.web.ui import asset_url

bp = Blueprint("cite", __name__, template_folder="templates")
DCT = "http://purl.org/dc/terms/"


def release_path(release_id: str) -> str:
    return f"/release/{quote(release_id, safe='')}"


def _kept() -> KeptReleases:
    return current_app.extensions["kg.kept"]


def _as(release_id: str, view: Callable[[], Response]) -> Response:
    """Answer this request with ``view`` from the release ``release_id`` instead of the current one."""
    try:
        release = _kept().enter(release_id)
    except UnknownRelease:
        return _no_release(release_id)
    g.release.leave()
    g.release = release  # left by the application's teardown, and named in KG-Release
    return view()


def _no_release(release_id: str) -> Response:
    kept = ", ".join(kept_ids(current_app.extensions["kg.settings"])) or "none"
    return Response(f"No kept release is called {release_id!r}; the kept releases are: {kept}.\n",
                    status=404, mimetype="text/plain")


@bp.route("/release/<release_id>/sparql", methods=["GET", "POST"])
def release_sparql(release_id: str) -> Response:
    return _as(release_id, sparql.sparql)


@bp.route("/release/<release_id>/downloads/<name>")
def release_download(release_id: str, name: str) -> Response:
    return _as(release_id, lambda: dataset.download(name))


@bp.route("/release/<release_id>")
def card(release_id: str) -> Response:
    return _as(release_id, _card)


def citation(snapshot: Snapshot) -> dict[str, str]:
    """Title, publisher, licence, landing page and dates of the dataset, from the release's VoID/DCAT."""
    store = ox.Store()
    try:
        store.load(snapshot.void_description(ox.RdfFormat.N_TRIPLES), format=ox.RdfFormat.N_TRIPLES)
    except FileNotFoundError:
        return {}
    found: dict[str, str] = {}
    identified = list(store.quads_for_pattern(None, ox.NamedNode(DCT + "identifier"), ox.Literal(snapshot.manifest["build_id"])))
    if not identified:
        return found
    dataset_node = identified[0].subject
    found["iri"] = dataset_node.value if isinstance(dataset_node, ox.NamedNode) else ""
    for key in ("title", "publisher", "creator", "license", "issued", "modified", "description"):
        for quad in store.quads_for_pattern(dataset_node, ox.NamedNode(DCT + key), None):
            value = quad.object
            if isinstance(value, ox.NamedNode):
                labels = list(store.quads_for_pattern(value, ox.NamedNode("http://xmlns.com/foaf/0.1/name"), None))
                found[key] = labels[0].object.value if labels else value.value
            else:
                found[key] = value.value
            break
    return found


def card_data(release: Release) -> dict[str, Any]:
    """What the release card shows, as data (the JSON of the card, and the page's model)."""
    settings = current_app.extensions["kg.settings"]
    manifest = release.snapshot.manifest
    classes = {row["c"].value: int(row["n"].value) for row in release.store.query(
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER isIRI(?c) } GROUP BY ?c")}
    dumps = [{"file": fmt.file, "sha256": entry["sha256"], "bytes": entry["bytes"],
              "url": f"{release_path(release.id)}/downloads/{fmt.file}"} for fmt, entry in release.snapshot.dumps()]
    data: dict[str, Any] = {
        "id": release.id, "built_at": manifest["built_at"], "current": release.id == current_app.extensions["kg.releases"].current.id,
        "sparql": f"{release_path(release.id)}/sparql",
        "triples": manifest["total_triples"],
        "graphs": {iri: entry["triples"] for iri, entry in sorted(manifest["graphs"].items())},
        "classes": dict(sorted(classes.items())),
        "validation": manifest.get("validation", {}),
        "engines": {"reasoner": manifest.get("reasoner"), "shacl_engine": manifest.get("shacl_engine")},
        "versions": manifest.get("versions", {}),
        "dumps": dumps,
        "citation": citation(release.snapshot),
        "previous": None, "diff": None,
    }
    previous = previous_id(settings, release.id)
    if previous is not None:
        changes = diff(settings.build_dir / previous, release.snapshot.path)
        data["previous"] = previous
        data["diff"] = {"added_by_graph": changes.added_by_graph, "removed_by_graph": changes.removed_by_graph,
                        "added_by_class": changes.added_by_class, "removed_by_class": changes.removed_by_class,
                        "entities": [{"iri": iri, "page": current_app.extensions["kg.urls"].resource(iri)}
                                     for iri in changes.entities]}
    return data


def _card() -> Response:
    data = card_data(current_release())
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        response = jsonify(data)
    else:
        response = Response(render_template("release.html", card=data, asset=asset_url), mimetype="text/html")
    response.headers["Vary"] = "Accept"
    return response


def _permalinks() -> Permalinks:
    settings = current_app.extensions["kg.settings"]
    return Permalinks(settings.build_dir, settings.permalink_max_bytes)


@bp.route("/q", methods=["POST"])
def make_permalink() -> Response:
    """A form POST of ``query`` (and ``release``, default the current one): 201 with the permalink as JSON."""
    query = request.form.get("query", "")
    release_id = request.form.get("release") or current_release().id
    if not query.strip():
        return Response("The POST carries no query.\n", status=400, mimetype="text/plain")
    if release_id not in kept_ids(current_app.extensions["kg.settings"]):
        return _no_release(release_id)
    try:
        link = _permalinks().add(query, release_id)
    except PermalinksFull as full:
        return Response(f"No new permalink can be stored: {full}.\n", status=507, mimetype="text/plain")
    response = jsonify({"permalink": f"/q/{link.hash}", "hash": link.hash, "release": link.release, "day": link.day,
                        "endpoint": f"{release_path(link.release)}/sparql"})
    response.status_code = 201
    response.headers["Location"] = f"/q/{link.hash}"
    return response


@bp.route("/q/<key>")
def permalink(key: str) -> Response:
    """303 to the release's editor with the query in the fragment (YASGUI reads it)."""
    link = _permalinks().find(key)
    if link is None:
        return Response(f"No query has the permalink {key!r}.\n", status=404, mimetype="text/plain")
    fragment = urlencode({"query": link.query, "tabTitle": f"/q/{link.hash}"}, quote_via=quote)
    return redirect(f"{release_path(link.release)}/sparql#{fragment}", code=303)
