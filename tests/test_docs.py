"""Docs that cannot drift: every setting, command and competency question is documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from kg.cli import _parser
from kg.config import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme():
    for field in dataclasses.fields(Settings):
        assert f"`KG_{field.name.upper()}`" in README, field.name


def test_every_command_is_in_the_readme():
    commands = next(a for a in _parser()._actions if a.__class__.__name__ == "_SubParsersAction").choices
    for name in commands:
        assert f"`kg {name}" in README, name


def test_quick_start_has_exactly_two_commands():
    section = README.split("## Quick start", 1)[1].split("##", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    assert len([line for line in block.splitlines() if line.strip()]) == 2


def test_the_readme_screenshots_exist_and_the_script_that_makes_them():
    shots = re.findall(r"!\[[^\]]+\]\((docs/screenshots/[^)]+\.png)\)", README)
    assert {Path(s).stem for s in shots} == {"home", "city", "editor", "explain"}
    for shot in shots:
        assert (PROJECT_ROOT / shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
    script = (PROJECT_ROOT / "scripts" / "screenshots.py").read_text(encoding="utf-8")
    written = set(re.findall(r'"(\w+)(?:\.png)?"', script))
    assert all(Path(s).stem in written for s in shots)  # each picture is one the script makes
