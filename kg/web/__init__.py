"""The Flask application factory: one endpoint object owns the snapshot and its query workers.

``create_app()`` is what `server.py`, `kg serve` and the tests all call.
"""

from __future__ import annotations

import atexit
import logging
import time
from datetime import datetime

from flask import Flask, Response, g, request
from flask_compress import Compress
from werkzeug.http import http_date

from kg.config import Settings, load_settings
from kg.query.metrics import Metrics
from kg.query.protocol import Endpoint
from kg.formats import ALL_FORMATS
from kg.query.store import GraphStore
from kg.site.competency import questions
from kg.site.urls import Urls
from kg.snapshot import Snapshot

log = logging.getLogger("kg.access")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, KG-Result-Truncated, KG-Query-Time, Content-Type",
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type, If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}


def create_app(settings: Settings | None = None, snapshot: Snapshot | None = None) -> Flask:
    """An application serving ``snapshot`` (default: the current snapshot of ``settings``)."""
    from kg.web import dataset, meta, ontology, sparql, ui

    settings = settings or load_settings()
    snapshot = snapshot or Snapshot.open(settings.current_snapshot)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["COMPRESS_MIMETYPES"] = sorted({f.media_type for f in ALL_FORMATS} | {"text/plain", "text/css", "text/javascript",
                                                                                    "application/javascript", "application/json"})
    app.config["COMPRESS_ALGORITHM"] = ["gzip", "deflate"]
    Compress(app)

    endpoint = Endpoint(settings, snapshot, Metrics(settings.metrics_folder))
    atexit.register(endpoint.close)
    app.extensions["kg.settings"] = settings
    app.extensions["kg.endpoint"] = endpoint
    app.extensions["kg.urls"] = urls = Urls(settings.base_iri)
    app.jinja_env.globals["urls"] = urls  # every template links through the same builder
    app.extensions["kg.last_modified"] = http_date(datetime.fromisoformat(snapshot.manifest["built_at"]))
    # The pages' own bounded queries (never user SPARQL) use one read-only store of the snapshot.
    app.extensions["kg.store"] = GraphStore(snapshot)
    app.extensions["kg.graph_labels"] = _graph_labels(app.extensions["kg.store"])
    # The example queries of the release being served, not of the working tree.
    app.extensions["kg.questions"] = questions(snapshot.questions_dir)

    app.register_blueprint(sparql.bp)
    app.register_blueprint(meta.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(dataset.bp)
    app.register_blueprint(ontology.bp)
    from kg.web import resources
    app.register_blueprint(resources.bp)

    @app.before_request
    def _start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _cors_and_log(response: Response) -> Response:
        headers = response.headers
        headers.update(CORS_HEADERS)
        environ = request.environ
        method = environ["REQUEST_METHOD"]
        if method == "OPTIONS":
            headers.update(PREFLIGHT_HEADERS)
        endpoint.metrics.request(request.endpoint or "unknown", response.status_code)
        if log.isEnabledFor(logging.INFO):
            # The path as the client sent it (no re-encoding of the query string, which can be long).
            query = environ.get("QUERY_STRING")
            path = environ.get("PATH_INFO", "") + ("?" + query if query else "")
            log.info('%s "%s %s" %d %.4fs query=%s', environ.get("REMOTE_ADDR"), method, path, response.status_code,
                     time.perf_counter() - g.get("started", 0.0), headers.get("KG-Query-Time", "-"))
        return response

    return app


def _graph_labels(store: GraphStore) -> dict[str, str]:
    """rdfs:label of every named graph, from the graph descriptions in the data."""
    rows = store.query("SELECT ?g ?label WHERE { ?g a ic:DataGraph ; rdfs:label ?label }")
    return {row["g"].value: row["label"].value for row in rows}
