"""The dataset as a whole: its VoID/DCAT description and the downloads of the graph.

Both are files of the snapshot written by `kg build` (kg/build/void.py, kg/build/dumps.py); nothing is
serialised here beyond converting the small description to the syntax a client asks for.

- ``GET /.well-known/void`` (also ``/void``): the description, as Turtle (default), JSON-LD,
  N-Triples or RDF/XML by ``Accept``; 406 for anything else.
- ``GET /downloads/``: the list of downloads for people, with sizes and checksums.
- ``GET /downloads/graphs/<name>.ttl`` (or ``.nt``): one named graph on its own, written from the store.
- ``GET /downloads/<file>``: one dump, sent as stored (its ``Content-Length`` and SHA-256 are those
  the description publishes; the ``ETag`` is the SHA-256), with Range and conditional requests.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file

from kg.formats import TRIPLE_FORMATS
from kg.site.graph_facts import GRAPH_DOWNLOAD_FORMATS, graph_file
from kg.snapshot import BY_FILE, Snapshot
from kg.web.negotiation import content_type, negotiated
from kg.web.release import current_release
from kg.web.ui import asset_url

bp = Blueprint("dataset", __name__, template_folder="templates")

#: What the description can be sent as; the first is the default.
VOID_FORMATS = TRIPLE_FORMATS


def _snapshot() -> Snapshot:
    return current_release().snapshot


def _last_modified() -> str:
    return current_release().last_modified


@bp.route("/void")
@bp.route("/.well-known/void")
def void() -> Response:
    best = negotiated(VOID_FORMATS)
    if best is None:
        offered = ", ".join(f.media_type for f in VOID_FORMATS)
        return Response(f"Not acceptable: the dataset description is available as {offered}.\n", status=406,
                        mimetype="text/plain", headers={"Vary": "Accept"})
    snapshot = _snapshot()
    try:
        body = snapshot.void_description(best.rdf)
    except FileNotFoundError:
        return Response("This snapshot has no dataset description: rebuild it with `kg build`.\n", status=404,
                        mimetype="text/plain")
    response = Response(body, content_type=content_type(best.media_type),
                        headers={"Vary": "Accept", "Last-Modified": _last_modified(), "Cache-Control": "no-cache"})
    response.set_etag(f"{snapshot.manifest.get('void', {}).get('sha256', snapshot.manifest['build_id'])[:32]}-{best.suffix}")
    return response.make_conditional(request)


@bp.route("/downloads/")
def downloads() -> Response:
    snapshot = _snapshot()
    urls = current_app.extensions["kg.urls"]
    rows = [{"file": fmt.file, "url": urls.download(fmt.file), "title": fmt.title,
             "media_type": entry["media_type"], "gzip": fmt.gzip, "graphs": fmt.graphs,
             "count": entry.get("quads" if fmt.graphs else "triples"), "bytes": entry["bytes"], "size": _size(entry["bytes"]),
             "sha256": entry["sha256"]} for fmt, entry in snapshot.dumps()]
    page = render_template("downloads.html", asset=asset_url, dumps=rows, manifest=snapshot.manifest,
                           void_url=urls.void, sparql_url=urls.sparql)
    return Response(page, mimetype="text/html", headers={"Cache-Control": "no-cache"})


@bp.route("/downloads/<name>")
def download(name: str) -> Response:
    snapshot = _snapshot()
    entry = snapshot.manifest.get("dumps", {}).get(name)
    if name not in BY_FILE or entry is None:  # only the names we write: no path ever comes from the request
        abort(404)
    path: Path = snapshot.dump_file(BY_FILE[name])
    # Sent as stored, never re-encoded on the fly: the bytes are those the checksum covers, and Range works.
    request.environ.pop("HTTP_ACCEPT_ENCODING", None)
    response = send_file(path, mimetype=BY_FILE[name].content_type, etag=entry["sha256"], conditional=True,
                         last_modified=datetime.fromisoformat(snapshot.manifest["built_at"]), max_age=None, download_name=name)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Link"] = f'<{current_app.extensions["kg.urls"].void}>; rel="describedby"'
    return response


@bp.route("/downloads/graphs/<file>")
def graph_download(file: str) -> Response:
    """One named graph as Turtle or N-Triples, written from the store (a few thousand triples at most per source)."""
    name, _, suffix = file.rpartition(".")
    fmt = GRAPH_DOWNLOAD_FORMATS.get(suffix)
    snapshot = _snapshot()
    graph = snapshot.manifest["base_iri"] + "graph/" + name
    if fmt is None or not name or graph not in snapshot.manifest["graphs"]:
        abort(404)
    body = graph_file(current_release().store, graph, fmt)
    response = Response(body, content_type=content_type(fmt.media_type),
                        headers={"Last-Modified": _last_modified(), "Cache-Control": "no-cache",
                                 "Content-Disposition": f'attachment; filename="{name}.{suffix}"'})
    response.set_etag(f"{snapshot.manifest['build_id']}-{name}-{suffix}")
    return response.make_conditional(request)


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)
