"""Operations: liveness and metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from kg.config import Settings
from kg.query.engine import EngineUnavailable
from kg.query.executor import QueryTimeout
from kg.query.metrics import CONTENT_TYPE
from kg.web.release import current_release

bp = Blueprint("meta", __name__)


@bp.route("/healthz")
def healthz() -> Response:
    """Alive and holding a snapshot, and with an engine (KG_ENGINE_URL) the engine answering: a load balancer
    polling this every second takes a replica whose engine restarts (a release) out of rotation."""
    releases = current_app.extensions["kg.releases"]
    switching = f"\nswitching to {releases.switching}" if releases.switching else ""
    engine = current_release().endpoint.engine
    if engine is not None:
        try:
            held = engine.release(timeout_s=2)
        except (EngineUnavailable, QueryTimeout) as error:
            return Response(f"unavailable: {error}\n", status=503, mimetype="text/plain", headers={"Cache-Control": "no-store"})
        if held != current_release().id:
            switching = f"\nthe engine holds {held}: switching to it"
    return Response(f"ok {current_release().id}{switching}\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})


def limits(settings: Settings) -> dict[str, float]:
    """The limits a client meets, as the server applies them (automatic values resolved)."""
    return {
        "client_query_budget_s": settings.client_query_budget_s,
        "client_max_queries": settings.client_max_queries,
        "query_timeout_s": settings.query_timeout_s,
        "query_max_memory": settings.query_max_memory_bytes,
        "long_query_s": settings.long_query_s,
        "long_queries": settings.long_query_count,
        "query_workers": settings.query_worker_count,
        "max_rows": settings.max_rows,
        "cache_bytes": settings.cache_bytes,
    }


@bp.route("/metrics")
def metrics() -> Response:
    release = current_release()
    body = release.endpoint.metrics.render(release.snapshot.manifest, limits(current_app.extensions["kg.settings"]))
    return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
