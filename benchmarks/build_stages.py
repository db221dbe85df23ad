"""The build's in-memory stages (parse, validate, reason) on a project folder, without writing a snapshot.

    python benchmarks/build_stages.py FOLDER

For sizes whose snapshot would not fit on this machine (10^7 triples): benchmarks/scale.py runs it
with --stages-only. Prints one JSON object: each stage's seconds, CPU seconds and the peak resident memory so far.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kg.build.pipeline import Pipeline, Stages
from kg.config import load_settings


def main(folder: str) -> int:
    settings = load_settings({"root": Path(folder)})
    stages = Stages()
    with stages.stage("parse"):
        pipeline = Pipeline.load(settings)
    with stages.stage("validate"):
        report = pipeline.validate()
    with stages.stage("reason"):
        pipeline.reason()
    print(json.dumps({"triples": len(pipeline.loaded), "problems": len(report.results),
                      "stages": {name: [seconds, cpu, peak_mb] for name, seconds, cpu, peak_mb in stages.rows}}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
