"""Shared fixtures: settings over a private copy of the project, and one build of the shipped data."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from kg.build import Pipeline, build
from kg.config import PROJECT_ROOT, Settings, load_settings
from kg.snapshot import Snapshot
from kg.store import GraphStore

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
    application.extensions["kg.endpoint"].close()


@pytest.fixture
def client(app):
    return app.test_client()
