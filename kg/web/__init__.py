"""The Flask application factory: the releases this process serves (kg/web/release.py), and the blueprints.

``create_app()`` is what `server.py`, `kg serve` and the tests all call.
"""

from __future__ import annotations

import atexit
import logging
import time

from flask import Flask, Response, g, request
from flask_compress import Compress

from kg.config import Settings, load_settings
from kg.query.fair_use import Ledger
from kg.query.metrics import Metrics
from kg.formats import ALL_FORMATS
from kg.site.urls import Urls
from kg.snapshot import Snapshot
from kg.web.clients import ClientAddress
from kg.web.release import Releases, served_path

log = logging.getLogger("kg.access")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, KG-Release, KG-Cache, KG-Result-Truncated, KG-Query-Time, Retry-After, Content-Type",
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type, If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}


def create_app(settings: Settings | None = None, snapshot: Snapshot | None = None) -> Flask:
    """An application serving ``snapshot`` (default: the current snapshot of ``settings``)."""
    from kg.web import cite, dataset, meta, ontology, sparql, ui
    from kg.web.kept import KeptReleases

    settings = settings or load_settings()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["COMPRESS_MIMETYPES"] = sorted({f.media_type for f in ALL_FORMATS} | {"text/plain", "text/css", "text/javascript",
                                                                                    "application/javascript", "application/json"})
    app.config["COMPRESS_ALGORITHM"] = ["gzip", "deflate"]
    Compress(app)

    # Serving build/current (kg serve, server.py), follow it to each new release; a given snapshot (tests) stays.
    watch_s = settings.release_poll_s if snapshot is None else 0.0
    releases = Releases(settings, snapshot or Snapshot.open(served_path(settings)), Metrics(settings.state_folder),
                        Ledger(settings.state_folder, settings.client_query_budget_s, settings.client_max_queries), watch_s)
    kept = KeptReleases(settings, releases)
    atexit.register(kept.close)
    atexit.register(releases.close)
    app.extensions["kg.settings"] = settings
    app.extensions["kg.releases"] = releases
    app.extensions["kg.kept"] = kept
    app.extensions["kg.urls"] = urls = Urls(settings.base_iri)
    app.extensions["kg.clients"] = ClientAddress(settings.trusted_proxy_networks)
    app.jinja_env.globals["urls"] = urls  # every template links through the same builder

    app.register_blueprint(sparql.bp)
    app.register_blueprint(meta.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(dataset.bp)
    app.register_blueprint(ontology.bp)
    app.register_blueprint(cite.bp)
    from kg.web import explain, reconcile, resources
    app.register_blueprint(resources.bp)
    app.register_blueprint(reconcile.bp)
    app.register_blueprint(explain.bp)

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.release = releases.enter()  # this request's release, from start to end

    @app.teardown_request
    def _finish(_error: BaseException | None) -> None:
        if "release" in g:
            g.release.leave()

    @app.after_request
    def _cors_and_log(response: Response) -> Response:
        headers = response.headers
        headers.update(CORS_HEADERS)
        if "release" in g:
            headers["KG-Release"] = g.release.id
        environ = request.environ
        method = environ["REQUEST_METHOD"]
        if method == "OPTIONS":
            headers.update(PREFLIGHT_HEADERS)
        releases.metrics.request(request.endpoint or "unknown", response.status_code)
        if log.isEnabledFor(logging.INFO):
            # The path as the client sent it (no re-encoding of the query string, which can be long).
            query = environ.get("QUERY_STRING")
            path = environ.get("PATH_INFO", "") + ("?" + query if query else "")
            log.info('%s "%s %s" %d %.4fs query=%s', environ.get("REMOTE_ADDR"), method, path, response.status_code,
                     time.perf_counter() - g.get("started", 0.0), headers.get("KG-Query-Time", "-"))
        return response

    return app
