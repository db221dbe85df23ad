"""Shared fixtures: settings over a private copy of the project, and one build of the shipped data."""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from kg.build.pipeline import Pipeline, build
from kg.config import PROJECT_ROOT, Settings, load_settings
from kg.query.store import GraphStore
from kg.snapshot import Snapshot

SOURCE_FOLDERS = ("ontology", "data", "shapes", "checks", "queries")


@pytest.fixture
def project(tmp_path: Path) -> Settings:
    """Settings over a writable copy of ontology/, data/, shapes/ and queries/, for tests that break things."""
    root = tmp_path / "project"
    for folder in SOURCE_FOLDERS:
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    return load_settings({"root": root}, environ={})


@pytest.fixture(scope="session")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over the shipped files, building into a temporary folder."""
    build_dir = tmp_path_factory.mktemp("build")
    return load_settings({"root": PROJECT_ROOT, "build_dir_name": str(build_dir)}, environ={})


@pytest.fixture(scope="session")
def pipeline(shipped: Settings) -> Pipeline:
    return Pipeline.load(shipped)


@pytest.fixture(scope="session")
def snapshot(shipped: Settings) -> Snapshot:
    built, _report = build(shipped)
    return built


@pytest.fixture(scope="session")
def store(snapshot: Snapshot) -> GraphStore:
    return GraphStore(snapshot)


@pytest.fixture(scope="session")
def app(shipped: Settings, snapshot: Snapshot):
    """The Flask application over the session's snapshot; its query workers stop at the end."""
    from kg.web import create_app

    application = create_app(replace(shipped, query_timeout_s=5.0, max_rows=50), snapshot)
    yield application
    application.extensions["kg.releases"].close()


@pytest.fixture
def client(app):
    return app.test_client()


# --- a real browser against the real server (tests/test_browser.py, tests/test_resource_browser.py) ---

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def _unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, which must run the browser tests (.ci/run installs Chromium)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true, where the browser test must run (.ci/run installs Debian's chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright; Playwright's own browser downloads are never used."""
    executable = _chromium()
    if executable is None:
        _unavailable("no Chromium binary found (install Debian's chromium package to run the browser test)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server_url(shipped: Settings, snapshot: Snapshot):
    """The real WSGI server (waitress) on a free loopback port, in a background thread."""
    from waitress import create_server, wasyncore

    from kg.web import create_app

    application = create_app(shipped, snapshot)
    sockets: dict = {}
    server = create_server(application, host="127.0.0.1", port=0, threads=4, map=sockets)
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.task_dispatcher.shutdown()
    wasyncore.close_all(sockets)
    thread.join(timeout=10)
    application.extensions["kg.releases"].close()
