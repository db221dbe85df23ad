"""The `kg` command: thin commands over the functions the tests call.

Exit codes (documented in the README):
  0  success / the data conforms (no problem at or above --fail-on)
  1  the data has problems at or above the fail level (validate), or violations (build)
  2  unreadable input: a Turtle syntax error, a SPARQL syntax error, an inconsistent graph
  3  the snapshot could not be written (a full disk, no permission): it was discarded, the last good one stays current
130 interrupted (Ctrl-C) before the command finished
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from kg.build.link import check, generated_files, link
from kg.build.load import TurtleSyntaxError
from kg.build.publish import OxigraphEngine, PublishFailed, VirtuosoEngine, publish, write_qlever_input
from kg.build.pipeline import BuildFailed, Pipeline, Stages, build, up_to_date
from kg.build.reason import InconsistentGraph
from kg.build.virtuoso import Tuning
from kg.build.writer import SnapshotNotWritten, activate
from kg.build.report_formats import FORMATS, to_text
from kg.config import Settings, SettingsError, load_settings
from kg.query.cli_results import FORMAT_NAMES, serialize
from kg.query.result_formats import NotExpressible
from kg.query.stats import compute
from kg.query.store import GraphStore, QueryUnsupported, Scope
from kg.snapshot import OutdatedSnapshot, Snapshot
from kg.snapshot import verify as verify_snapshot

EXIT_OK, EXIT_VIOLATIONS, EXIT_BAD_INPUT, EXIT_NOT_WRITTEN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings({"root": args.root})
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return args.command(settings, args)
    except TurtleSyntaxError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InconsistentGraph as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SnapshotNotWritten as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NOT_WRITTEN
    except KeyboardInterrupt:  # a build stopped this way has discarded its snapshot (kg.build.writer)
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def cmd_validate(settings: Settings, args: argparse.Namespace) -> int:
    try:
        report = Pipeline.load(settings).validate(closure=not args.asserted_only)
    except TurtleSyntaxError as error:
        if args.format == "github":
            print(f"::error file={error.path},line={error.line},col={error.column},title=Turtle syntax error::{error.message}")
        raise
    files = set(args.files) | (changed_files(settings, args.base) if args.changed_only else set())
    if args.files or args.changed_only:
        report = report.only_files({_project_path(settings, f) for f in files})
    if args.format == "text":
        sys.stdout.write(to_text(report, colour=sys.stdout.isatty()))
    else:
        sys.stdout.write(FORMATS[args.format](report))
    return EXIT_VIOLATIONS if report.at_least(args.fail_on) else EXIT_OK


def _project_path(settings: Settings, name: str) -> str:
    """A file name as reports give it: relative to the project root."""
    path = Path(name)
    path = path if path.is_absolute() else Path.cwd() / path
    try:
        return str(path.resolve().relative_to(settings.root.resolve()))
    except ValueError:
        return name


def changed_files(settings: Settings, base: str) -> set[str]:
    """Turtle files that differ from ``base`` in git (committed, staged or not), plus untracked ones."""
    def git(*args: str) -> list[str]:
        out = subprocess.run(["git", *args], cwd=settings.root, capture_output=True, text=True, check=True).stdout
        return [line for line in out.splitlines() if line.endswith(".ttl")]

    top = Path(subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=settings.root, capture_output=True,
                              text=True, check=True).stdout.strip())
    names = git("diff", "--name-only", base) + git("ls-files", "--others", "--exclude-standard")
    return {str((top / n).resolve()) for n in names}


def cmd_build(settings: Settings, args: argparse.Namespace) -> int:
    if not args.force and (current := up_to_date(settings)) is not None:
        print(f"up to date: {current.path} was built from the same files (--force rebuilds it)")
        return EXIT_OK
    stages = Stages()
    try:
        snapshot, _report = build(settings, stages)
    except BuildFailed as failure:
        sys.stderr.write(to_text(failure.report, colour=sys.stderr.isatty()))
        print(f"error: build failed, {failure}; the previous snapshot (if any) is still current", file=sys.stderr)
        return EXIT_VIOLATIONS
    finally:
        if args.timings:
            for name, seconds, cpu_seconds, peak_mb in stages.rows:
                print(f"{name:<10} {seconds:8.2f} s  cpu {cpu_seconds:8.2f} s  peak {peak_mb:7.0f} MB", file=sys.stderr)
    print(f"built {snapshot.path} ({snapshot.manifest['total_triples']} triples in {len(snapshot.manifest['graphs'])} graphs)")
    return EXIT_OK


def current_snapshot(settings: Settings) -> Snapshot:
    """The last good snapshot, built first if there is none yet or an older version of kg wrote it."""
    try:
        return Snapshot.open(settings.current_snapshot)
    except FileNotFoundError:
        print("no snapshot yet: building one", file=sys.stderr)
    except OutdatedSnapshot as outdated:
        print(f"{outdated}: building a new one", file=sys.stderr)
    build(settings)
    return Snapshot.open(settings.current_snapshot)


def current_store(settings: Settings) -> GraphStore:
    return GraphStore(current_snapshot(settings))


def cmd_query(settings: Settings, args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.sparql == "-" else args.sparql
    store = current_store(settings)
    try:
        result = store.query(text, Scope(args.graphs))
        output = serialize(result, args.format)
    except SyntaxError as error:
        print(f"error: invalid SPARQL: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (QueryUnsupported, NotExpressible) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.buffer.write(output)
    return EXIT_OK


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    sys.stdout.write(compute(current_store(settings)).to_text())
    return EXIT_OK


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Serve the current snapshot (built first if there is none) with granian, KG_HTTP_WORKERS processes.

    Each HTTP process calls ``kg.web:create_app()`` through :func:`kg.web.serving.create_app` (settings from the
    environment, which is why the command-line values are put there) and so has its own threads, query workers and store handle;
    they share the listening port, and share their metrics and the clients' budgets in KG_STATE_DIR (by
    default a temporary folder). SIGTERM or SIGINT stops it gracefully within KG_SHUTDOWN_GRACE_S, leaving no
    process behind (:mod:`kg.web.serving`), with status 0.
    """
    import os
    import shutil
    import tempfile
    from dataclasses import replace

    from granian.constants import Interfaces
    from granian.log import LOGGING_CONFIG, LogLevels

    from kg.query.fair_use import clear_ledger
    from kg.query.metrics import start_pool
    from kg.web import serving

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("engine_url", args.engine)) if v is not None}
    settings = load_settings({"root": settings.root, **overrides})
    if settings.engine_url:  # the release is the engine's: it must answer, and the build folder hold that release
        from kg.query.engine import EngineUnavailable
        from kg.web.release import served_path

        try:
            served = served_path(settings)
        except (EngineUnavailable, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    else:
        served = current_snapshot(settings).path  # fail here, once, if it is unreadable
    temporary = not settings.state_dir
    if temporary:
        settings = replace(settings, state_dir=tempfile.mkdtemp(prefix="kg-serve-state-"))
    start_pool(settings.state_folder)
    clear_ledger(settings.state_folder)
    os.environ.update({"KG_ROOT": str(settings.root), "KG_HOST": settings.host, "KG_PORT": str(settings.port),
                       "KG_STATE_DIR": settings.state_dir, "KG_ENGINE_URL": settings.engine_url})
    log_config = {
        **LOGGING_CONFIG,
        "formatters": {**LOGGING_CONFIG["formatters"],
                       "kg": {"()": "logging.Formatter", "fmt": "%(asctime)s %(name)s %(message)s"}},
        "handlers": {**LOGGING_CONFIG["handlers"],
                     "kg": {"formatter": "kg", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
        "loggers": {**LOGGING_CONFIG["loggers"], "kg": {"handlers": ["kg"], "level": "INFO", "propagate": False}},
    }
    server = serving.SERVER = serving.Server(
        "kg.web.serving:create_app", factory=True, interface=Interfaces.WSGI, address=settings.host, port=settings.port,
        workers=max(1, settings.http_workers), blocking_threads=max(1, settings.http_threads),
        backlog=1024, respawn_failed_workers=True, workers_kill_timeout=settings.shutdown_grace_s, log_level=LogLevels.info,
        log_dictconfig=log_config,
    )
    evaluation = (f"queries evaluated by the engine at {settings.engine_url}" if settings.engine_url else
                  f"{settings.query_worker_count} query workers and room for {settings.long_query_count} long queries each")
    print(f"serving {served.name} on http://{settings.host}:{settings.port}/sparql "
          f"({settings.http_workers} HTTP processes × {settings.http_threads} threads, {evaluation})", file=sys.stderr)
    try:
        server.serve()
    finally:
        if temporary:
            shutil.rmtree(settings.state_dir, ignore_errors=True)
    return EXIT_OK


def cmd_link(settings: Settings, args: argparse.Namespace) -> int:
    if args.check:
        links, current = check(settings)
        print(links.report())
        if not current:
            print("error: data/links-geonames.ttl is not what `kg link` makes from the installed packages;"
                  " run `kg link` and review the diff", file=sys.stderr)
        return EXIT_OK if current else EXIT_VIOLATIONS
    links, changed = link(settings)
    print(links.report())
    print("wrote " + " and ".join(str(p.relative_to(settings.root)) for p in generated_files(settings))
          if changed else "unchanged: the links are what the installed packages give")
    return EXIT_OK


def cmd_publish(settings: Settings, args: argparse.Namespace) -> int:
    snapshot = current_snapshot(settings)
    target = Path(args.location).resolve()
    if args.engine == "qlever":
        written = write_qlever_input(snapshot, target)
        print(f"wrote QLever's input for release {snapshot.manifest['build_id']} to {written} (not loaded: see its Qleverfile)")
        return EXIT_OK
    # Virtuoso's own time limit is ours (KG_QUERY_TIMEOUT_S), so `kg serve --engine` and Virtuoso stop a query alike.
    engine = (OxigraphEngine(target) if args.engine == "oxigraph"
              else VirtuosoEngine(target, http_port=args.http_port, sql_port=args.sql_port,
                                  tuning=Tuning(query_timeout_s=math.ceil(settings.query_timeout_s))))
    try:
        done = publish(snapshot, engine, accept_disagreements=args.accept_disagreements)
    except PublishFailed as failure:
        print(f"error: not published, {failure}; what {target} served before is unchanged", file=sys.stderr)
        return EXIT_VIOLATIONS
    if done is None:
        print(f"up to date: {target / 'current'} already serves release {snapshot.manifest['build_id']}")
        return EXIT_OK
    check = done.check
    print(f"published release {done.release} to {done.engine} at {target / 'current'}: {done.graphs} graphs and "
          f"{done.triples} triples agree with the release, and {check.questions - len(check.disagreements)} of "
          f"{check.questions} competency questions answer alike (load {done.load_s:.1f} s, check {done.check_s:.1f} s); "
          f"{engine.serve_hint()}")
    for question, names in check.deviations.items():
        print(f"note: {question} shows {engine.name}'s known deviation(s): {', '.join(names)}")
    for question, difference in check.disagreements.items():
        print(f"warning: {question} answers differently on {engine.name} (accepted): {difference}", file=sys.stderr)
    return EXIT_OK


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.snapshot) if args.snapshot else settings.current_snapshot
    snapshot = Snapshot.open(path)
    problems = verify_snapshot(snapshot)
    for problem in problems:
        print(f"error: {snapshot.path}: {problem}", file=sys.stderr)
    if not problems:
        print(f"ok: {snapshot.path} is release {snapshot.manifest['build_id']}, whole (checksums and triple counts "
              "agree with its manifest)")
    return EXIT_VIOLATIONS if problems else EXIT_OK


def cmd_activate(settings: Settings, args: argparse.Namespace) -> int:
    folder = Path(args.snapshot)
    problems = activate(settings.build_dir, folder)
    for problem in problems:
        print(f"error: {folder}: {problem}", file=sys.stderr)
    if problems:
        print(f"error: not activated; {settings.build_dir / 'current'} is unchanged", file=sys.stderr)
        return EXIT_VIOLATIONS
    print(f"activated {folder.resolve().name}: {settings.build_dir / 'current'} names it; servers switch at their next poll")
    return EXIT_OK


def cmd_synth(settings: Settings, args: argparse.Namespace) -> int:
    """Write a synthetic project (data/, plus copies of ontology/, shapes/, checks/) of about --triples triples."""
    from kg.dev.synth import MANIFEST, SynthError, synthesize

    try:
        result = synthesize(Path(args.out_dir), args.triples, seed=args.seed, violations=args.violations,
                            source_root=settings.root, force=args.force)
    except SynthError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {result.triples} triples in {result.files} files to {result.out / 'data'} "
          f"({result.seconds:.2f} s, {result.rate:,.0f} triples/s); "
          f"{len(result.violations)} planted violation(s) listed in {result.out / MANIFEST}")
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kg", description="Build, check and query the Integrating Cities Knowledge Graph.")
    parser.add_argument("--root", help="project folder with ontology/, data/, shapes/ (default: current folder or the checkout)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    p = commands.add_parser("validate", help="check the data: SHACL shapes on the asserted data and on the closure, plus quality checks")
    p.add_argument("files", nargs="*", help="report only problems in these files (the whole graph is still validated)")
    p.add_argument("--format", choices=list(FORMATS), default="text", help="text (default), json, turtle (SHACL report), junit, sarif, github")
    p.add_argument("--fail-on", choices=["error", "warning", "info"], default="error", help="lowest severity that fails the run (exit 1)")
    p.add_argument("--changed-only", action="store_true", help="report only problems in Turtle files changed since --base (git)")
    p.add_argument("--base", default="HEAD", help="git revision --changed-only compares with (in CI: the target branch, e.g. origin/main)")
    p.add_argument("--asserted-only", action="store_true", help="skip validating the closure after reasoning")
    p.set_defaults(command=cmd_validate)

    p = commands.add_parser("build", help="load, validate, reason and write a snapshot; a failed build keeps the last good one")
    p.add_argument("--timings", action="store_true", help="print each stage's time and the peak memory so far")
    p.add_argument("--force", action="store_true", help="build even if the current snapshot has the same inputs")
    p.set_defaults(command=cmd_build)

    p = commands.add_parser("link", help="link cities and countries to GeoNames and ISO 3166 (writes data/links-geonames.ttl)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files are not what the installed packages give")
    p.set_defaults(command=cmd_link)

    p = commands.add_parser("publish", help="load the current release into a SPARQL engine with its own loader, check it, then switch")
    p.add_argument("engine", choices=["oxigraph", "virtuoso", "qlever"],
                   help="oxigraph: the Oxigraph server's databases; virtuoso: OpenLink Virtuoso's; qlever: write QLever's input only")
    p.add_argument("location", help="folder of the engine's databases (releases/<id> and the symlink current) or of QLever's input")
    p.add_argument("--http-port", type=int, default=8890, help="virtuoso: the HTTP port its virtuoso.ini serves the release on")
    p.add_argument("--sql-port", type=int, default=1111, help="virtuoso: the SQL (isql) port of its virtuoso.ini")
    p.add_argument("--accept-disagreements", action="store_true",
                   help="publish even if the engine answers some competency questions differently (listed in its kg-release.json)")
    p.set_defaults(command=cmd_publish)

    p = commands.add_parser("verify", help="check a release folder against its manifest (checksums, triples per graph), e.g. after copying it to a replica")
    p.add_argument("snapshot", nargs="?", help="the release folder (default: the current one)")
    p.set_defaults(command=cmd_verify)

    p = commands.add_parser("activate", help="make a release folder copied into the build folder current, if `kg verify` finds it whole")
    p.add_argument("snapshot", help="the release folder, inside the build folder")
    p.set_defaults(command=cmd_activate)

    p = commands.add_parser("query", help="run a SPARQL query over the current snapshot (asserted + inferred by default)")
    p.add_argument("sparql", help="the query text, or - to read it from standard input")
    p.add_argument("--format", choices=["table", *FORMAT_NAMES], default="table")
    p.add_argument("--graphs", choices=[s.value for s in Scope], default=Scope.ALL.value, help="which graphs form the default graph")
    p.set_defaults(command=cmd_query)

    p = commands.add_parser("serve", help="serve the SPARQL endpoint and query editor over the current snapshot")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; KG_HOST)")
    p.add_argument("--port", type=int, help="port to listen on (default 8000; KG_PORT)")
    p.add_argument("--engine", metavar="URL", help="evaluate queries on this SPARQL endpoint, which `kg publish` loaded (KG_ENGINE_URL)")
    p.set_defaults(command=cmd_serve)

    p = commands.add_parser("stats", help="triples per graph and instances per class of the current snapshot")
    p.set_defaults(command=cmd_stats)

    p = commands.add_parser("synth", help="generate a realistic synthetic project of about N triples (deterministic from --seed)")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write data/ (and copies of ontology/, shapes/, checks/) into")
    p.add_argument("--triples", type=int, required=True, help="about how many triples to write (within a few per cent)")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives byte-identical output (default 0)")
    p.add_argument("--violations", type=int, default=0, metavar="K",
                   help="plant exactly K violations of each kind (see kg/dev/synth.py) and list them in synth-manifest.json")
    p.add_argument("--force", action="store_true", help="replace OUT_DIR/data if it is not empty")
    p.set_defaults(command=cmd_synth)
    return parser


if __name__ == "__main__":
    sys.exit(main())
