"""Operations: liveness and metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from kg.web.release import current_release

from kg.query.metrics import CONTENT_TYPE

bp = Blueprint("meta", __name__)


@bp.route("/healthz")
def healthz() -> Response:
    """Alive and holding a snapshot; cheap enough to be polled every second."""
    releases = current_app.extensions["kg.releases"]
    switching = f"\nswitching to {releases.switching}" if releases.switching else ""
    return Response(f"ok {current_release().id}{switching}\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.route("/metrics")
def metrics() -> Response:
    release = current_release()
    body = release.endpoint.metrics.render(release.snapshot.manifest)
    return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
