"""The soak, short (issue: a service people can depend on): benchmarks/soak.py for about a minute, with hard assertions.

The real `kg serve` over a small synthetic graph; four well-behaved clients (lookups, competency queries,
pages, downloads, each from its own loopback address) and the health probe, a 10 s baseline, then 50 s
with an abusive client (expensive queries, four connections at once) while three new releases are built,
one build fails, a query worker is killed every 10 s and an HTTP process once. The full run, with its
figures and plot, is `python benchmarks/soak.py --minutes 10`.
"""

from __future__ import annotations

import sys

import pytest

from kg.config import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
import soak  # noqa: E402


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> "soak.Report":
    work = tmp_path_factory.mktemp("soak")
    options = soak.Options(minutes=1.0, triples=20_000, clients=4, abuser_connections=4, keep_snapshots=1, work=work,
                           verbose=False)
    result = soak.run(options)
    print(result.text("tests/test_soak.py"))  # shown by pytest when an assertion fails
    return result


def test_the_schedule_holds_every_fault(report):
    """The short run still has what the long one has: new releases (so that pruning happens), the failing
    build, killed query workers and a killed HTTP process."""
    kinds = [e.kind for e in report.events]
    assert kinds.count("build") >= 2 and kinds.count("failed-build") == 1
    assert kinds.count("kill-worker") >= 1 and kinds.count("kill-http") == 1
    assert report.check("failed-build").passed, report.check("failed-build").detail
    assert report.check("releases").passed, report.check("releases").detail


def test_no_well_behaved_request_got_a_5xx(report):
    assert report.check("no-5xx").passed, report.check("no-5xx").detail


def test_no_answer_from_a_deleted_release_or_one_not_current(report):
    """Releases were pruned during the run (one snapshot kept), and no answer came from one already deleted,
    nor from one that was not build/current while it ran (beyond the server's poll and switch)."""
    assert report.soak.folders_deleted, "no snapshot was pruned during the run: the check below proved nothing"
    assert report.check("not-deleted").passed, report.check("not-deleted").detail
    assert report.check("release-current").passed, report.check("release-current").detail


def test_well_behaved_requests_did_not_wait_on_the_abuser(report):
    """Generous bounds, so that a busy machine does not fail it: no SPARQL answer waited more than 5 s rather than
    ran, and every class's p99 is under 5 s; a request queued behind the abuser waits for its time limit (30 s)."""
    assert report.check("not-waited").passed, report.check("not-waited").detail


def test_the_abuser_is_told_429(report):
    assert report.check("abuser-429").passed, report.check("abuser-429").detail
