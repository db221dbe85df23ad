"""Pages for people: the query editor."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, url_for

bp = Blueprint("ui", __name__)


@bp.route("/")
def home() -> Response:
    return redirect(url_for("sparql.sparql"))


def editor() -> Response:
    return Response("<!doctype html><title>SPARQL</title><p>Query editor</p>", mimetype="text/html")
