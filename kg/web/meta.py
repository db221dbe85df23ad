"""Operations: liveness and metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from kg.query.metrics import CONTENT_TYPE

bp = Blueprint("meta", __name__)


@bp.route("/healthz")
def healthz() -> Response:
    """Alive and holding a snapshot; cheap enough to be polled every second."""
    endpoint = current_app.extensions["kg.endpoint"]
    return Response(f"ok {endpoint.snapshot.manifest['build_id']}\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.route("/metrics")
def metrics() -> Response:
    endpoint = current_app.extensions["kg.endpoint"]
    body = endpoint.metrics.render(endpoint.snapshot.manifest)
    return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
