"""Vendor the W3C SPARQL 1.0 and 1.1 query tests that tests/test_w3c_query_suite.py runs.

    python scripts/vendor_w3c_query_tests.py GIT_DIR COMMIT

GIT_DIR is a clone (bare or not) of https://github.com/w3c/rdf-tests. From sparql/sparql10 and sparql/sparql11
at COMMIT this copies, unchanged, every manifest.ttl that has query evaluation or positive query syntax tests,
and the files those tests run: their queries (qt:query, or the mf:action of a syntax test), default graphs
(qt:data) and named graphs (qt:graphData). Expected results are left out: the harness compares our endpoint
with bare Oxigraph on the same data, not with the suite's answers. It then writes LICENSE and README.md.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox

DEST = Path(__file__).resolve().parent.parent / "tests" / "w3c" / "rdf-tests"
SUITES = ("sparql/sparql10", "sparql/sparql11")
MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
QT = "http://www.w3.org/2001/sw/DataAccess/tests/test-query#"
KINDS = ("QueryEvaluationTest", "PositiveSyntaxTest", "PositiveSyntaxTest11")
#: Where the manifests are read from, so that their relative IRIs name paths in the repository.
ROOT = "https://w3c.github.io/rdf-tests/"

LICENSE = """The files below this folder are copied unchanged from the W3C RDF test suites,
https://github.com/w3c/rdf-tests (commit {commit}), whose LICENSE.md says:

    This repository is covered by the dual-licensing approach described in
    [LICENSES FOR W3C TEST SUITES](https://www.w3.org/Consortium/Legal/2008/04-testsuite-copyright.html).

Of the two licences offered there, they are used here under the W3C 3-clause BSD License
(https://www.w3.org/Consortium/Legal/2008/03-bsd-license.html):

Copyright (c) W3C(R) (MIT, ERCIM, Keio, Beihang), and the contributors to the test suites.

Redistribution and use in source and binary forms, with or without modification, are permitted
provided that the following conditions are met:

* Redistributions of works must retain the original copyright notice, this list of conditions and
  the following disclaimer.
* Redistributions in binary form must reproduce the original copyright notice, this list of
  conditions and the following disclaimer in the documentation and/or other materials provided
  with the distribution.
* Neither the name of the W3C nor the names of its contributors may be used to endorse or promote
  products derived from this work without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR
IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND
FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT OWNER OR
CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER
IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT
OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""

README = """# W3C SPARQL 1.0 and 1.1 query tests (vendored)

From https://github.com/w3c/rdf-tests at commit `{commit}`, directories `sparql/sparql10` and
`sparql/sparql11`: each `manifest.ttl` with query evaluation tests (`mf:QueryEvaluationTest`) or
positive query syntax tests (`mf:PositiveSyntaxTest`, `mf:PositiveSyntaxTest11`), and the queries and
data those tests name ({files} files). The suite's expected results are not copied: tests/test_w3c_query_suite.py
compares our endpoint's answers with bare Oxigraph's on the same dataset.

Licence: LICENSE (the W3C 3-clause BSD License). Regenerate with
`python scripts/vendor_w3c_query_tests.py GIT_DIR {commit}`.
"""


def _git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True).stdout


def _manifests(git_dir: str, commit: str) -> list[str]:
    listed = _git(git_dir, "ls-tree", "-r", "--name-only", commit, *SUITES).decode().splitlines()
    return [path for path in listed if path.endswith("/manifest.ttl")]


def _needed(path: str, text: bytes) -> list[str]:
    """The repository paths of the files the manifest's tests of :data:`KINDS` run; empty if it has none."""
    graph = ox.Store()
    graph.load(text, format=ox.RdfFormat.TURTLE, base_iri=ROOT + path)
    kinds = " ".join(f"mf:{kind}" for kind in KINDS)
    query = f"""PREFIX mf: <{MF}> PREFIX qt: <{QT}>
        SELECT DISTINCT ?file {{ VALUES ?kind {{ {kinds} }} ?test a ?kind .
          {{ ?test mf:action ?file FILTER(isIRI(?file)) }} UNION {{ ?test mf:action/(qt:query|qt:data|qt:graphData) ?file }} }}"""
    files = [row["file"].value for row in graph.query(query)]
    return sorted(file[len(ROOT):] for file in files if file.startswith(ROOT))


def main(git_dir: str, commit: str) -> None:
    shutil.rmtree(DEST, ignore_errors=True)
    copied = 0
    for manifest in _manifests(git_dir, commit):
        text = _git(git_dir, "show", f"{commit}:{manifest}")
        files = _needed(manifest, text)
        if not files:
            continue
        for path in [manifest, *files]:
            target = DEST / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_git(git_dir, "show", f"{commit}:{path}"))
            copied += 1
    (DEST / "LICENSE").write_text(LICENSE.format(commit=commit), encoding="utf-8")
    (DEST / "README.md").write_text(README.format(commit=commit, files=copied), encoding="utf-8")
    print(f"copied {copied} files into {DEST}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
