"""load -> validate -> reason -> snapshot. The one pipeline behind `kg build` and the tests."""

from __future__ import annotations

import resource
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pyoxigraph as ox
from rdflib import Graph

from kg.build.concurrency import Background
from kg.build.dumps import write_dumps
from kg.build.load import LoadedGraphs, load_shapes, load_sources, turtle_files
from kg.build.derivations import write_artefact
from kg.build.reason import Explanations, infer_into
from kg.build.report import ValidationReport
from kg.build.validate import validate
from kg.build.void import write_void
from kg.build.writer import SnapshotWriter, input_hash, library_versions
from kg.config import Settings
from kg.snapshot import QUESTIONS_DIR, OutdatedSnapshot, Snapshot


class BuildFailed(Exception):
    """The data does not conform; the report says why. The previous snapshot stays current."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(f"validation failed with {len(report.at_least('error'))} error(s)")
        self.report = report


@dataclass
class Stages:
    """Wall time, CPU time and peak memory of each build stage, for `kg build --timings` and the benchmarks.

    CPU time is reported beside wall time because the machines are shared: it is what a stage costs,
    whatever else runs. A stage that runs beside another one counts the CPU time of its own thread only
    (``alongside``); the others count the whole process's, helper threads included."""

    rows: list[tuple[str, float, float, float]] = field(default_factory=list)  # (stage, s, CPU s, peak RSS MB so far)

    @contextmanager
    def stage(self, name: str, alongside: bool = False) -> Iterator[None]:
        clock = time.thread_time if alongside else time.process_time
        started, cpu = time.perf_counter(), clock()
        yield
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
        self.rows.append((name, time.perf_counter() - started, clock() - cpu, peak_mb))


@dataclass
class Pipeline:
    """The stages' results, kept so that callers (validate, build, tests) share one load."""

    settings: Settings
    loaded: LoadedGraphs
    shapes: Graph
    explanations: Explanations | None = None  # set by reason()

    @classmethod
    def load(cls, settings: Settings) -> "Pipeline":
        return cls(settings, load_sources(settings), load_shapes(settings))

    @property
    def ontology(self) -> Graph:
        return self.loaded.graph(self.settings.ontology_graph)

    @property
    def data_graphs(self) -> list[str]:
        return [iri for iri in self.loaded.names if iri != self.settings.ontology_graph]

    def asserted_data(self) -> Graph:
        return self.loaded.union(self.data_graphs)

    def validate(self, closure: bool = False) -> ValidationReport:
        """Problems of the asserted data; with ``closure``, also those only the reasoned closure shows."""
        if closure:
            self.reason()
        return validate(self.loaded, self.settings.ontology_graph, self.shapes, self.settings.checks_dir,
                        self.settings.root, self.settings.inferred_graph if closure else None,
                        engine=self.settings.shacl_engine)

    def reason(self) -> None:
        """Write the inferences into the loaded store's inferred graph, keeping what is known of their derivations."""
        self.explanations = infer_into(self.loaded.store, self.settings.ontology_graph, self.settings.inferred_graph,
                                       self.settings.reasoner)

    def infer(self) -> Graph:
        """The inferences as an rdflib graph."""
        self.reason()
        return self.loaded.graph(self.settings.inferred_graph)


def inputs_hash(settings: Settings) -> str:
    """The hash of every file a build reads, by its path from the project root."""
    files = [p for folder in (settings.ontology_dir, settings.data_dir, settings.shapes_dir) for p in turtle_files(folder)]
    files += sorted(p for p in settings.checks_dir.glob("*") if p.suffix in (".rq", ".toml"))
    files += question_files(settings)
    return input_hash({_relative(p, settings): p for p in files})


def question_files(settings: Settings) -> list[Path]:
    """The competency questions (``*.rq``) and their expected answers (``*.tsv``)."""
    return sorted(p for p in settings.queries_dir.glob("*") if p.suffix in (".rq", ".tsv") and p.is_file())


def copy_questions(files: list[Path], staging: Path, _manifest: dict[str, Any], _dataset: ox.Store) -> dict[str, Any]:
    """A build step: the questions go into the snapshot, so the server offers the examples that belong to
    the data it serves (the working tree may have moved on)."""
    folder = staging / QUESTIONS_DIR
    folder.mkdir()
    for path in files:
        shutil.copyfile(path, folder / path.name)
    return {"questions": sorted(p.stem for p in files if p.suffix == ".rq")}


def up_to_date(settings: Settings) -> Snapshot | None:
    """The current snapshot, if it was built from the very same files with the same engines and libraries."""
    try:
        current = Snapshot.open(settings.current_snapshot)
    except (FileNotFoundError, NotADirectoryError, ValueError, OutdatedSnapshot):
        return None
    manifest = current.manifest
    same = (manifest.get("input_hash") == inputs_hash(settings) and manifest.get("reasoner") == settings.reasoner
            and manifest.get("shacl_engine") == settings.shacl_engine and manifest.get("versions") == library_versions())
    return current if same else None


def build(settings: Settings, stages: Stages | None = None) -> tuple[Snapshot, ValidationReport]:
    """Build a snapshot, or raise BuildFailed / TurtleSyntaxError / InconsistentGraph without touching `current`."""
    stages = stages or Stages()
    # Oxigraph releases the GIL, so from here on the snapshot's store is bulk-loaded in background threads
    # beside the build: each asserted graph as soon as it is parsed, the inferred graph after reasoning.
    # Reasoning writes the inferred graph, which validation does not read, so the two run side by side.
    # A syntax error, a validation failure (reported before a clash) or a clash drops the snapshot.
    loaded = LoadedGraphs()
    digest = inputs_hash(settings)
    writer = SnapshotWriter(settings.build_dir, loaded.store, digest, settings.inferred_graph)
    try:
        with stages.stage("parse", alongside=True):
            pipeline = Pipeline(settings, load_sources(settings, loaded, on_graph=writer.add_graph),
                                load_shapes(settings))
        writer.close_asserted()
        reasoning = Background(lambda: _staged(stages, "reason", pipeline.reason))
        reasoning.start()
        try:
            report = _staged(stages, "validate", pipeline.validate)
        finally:
            reasoning.join()
        if not report.conforms:
            raise BuildFailed(report)
        reasoning.result()
    except BaseException:
        writer.abort()
        raise
    files = pipeline.loaded.files
    manifest = {
        "base_iri": settings.base_iri,
        "ontology_graph": settings.ontology_graph,
        "inferred_graph": settings.inferred_graph,
        "input_hash": digest,
        "graphs": {iri: {"files": [_relative(p, settings) for p in files.get(iri, [])]}
                   for iri in [*pipeline.loaded.names, settings.inferred_graph]},
        "validation": {"conforms": True, "warnings": len(report.results)},
        "reasoner": settings.reasoner,
        "shacl_engine": settings.shacl_engine,
    }
    explained = pipeline.explanations
    assert explained is not None  # reasoning.result() returned: reason() ran
    # The downloads, the VoID description of the store and the downloads, and the example queries the
    # server offers: written inside the snapshot.
    with stages.stage("snapshot"):
        snapshot = writer.finish(manifest, keep=settings.keep_releases,
                                 artefacts=(write_dumps, write_void, partial(copy_questions, question_files(settings)),
                                            partial(write_artefact, explained.derivations, explained.note)))
    stages.rows.sort(key=lambda row: _STAGE_ORDER.index(row[0]))
    return snapshot, report


_STAGE_ORDER = ("parse", "validate", "reason", "snapshot")
T = TypeVar("T")


def _staged(stages: Stages, name: str, work: Callable[[], T]) -> T:
    with stages.stage(name, alongside=True):
        return work()


def _relative(path: Path, settings: Settings) -> str:
    """A path as it reads from the project root (the folder holding ``data/``)."""
    base = settings.data_dir.parent.resolve()
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path)
