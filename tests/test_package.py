"""The package as a whole: what importing it costs, its layout, its entry points."""
from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from grader import assignment
from grader.cli import build_parser

ROOT = assignment.PROJECT_ROOT


@pytest.mark.parametrize("module", ["grader", "grader.cli", "grader.grading", "grader.proxy",
                                    "grader.pytest_plugin", "grader.report_html",
                                    "grader.datasets", "grader.authoring"])
def test_importing_the_grader_never_imports_tensorflow(module):
    code = (f"import sys, json, {module}; "
            "print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('tensorflow', 'keras'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == [], f"importing {module} pulled in TensorFlow/Keras"


def test_top_level_layout_matches_the_course_card():
    for name in ("exercises", "solutions", "grader", "reports", "tests", "bench", "docs",
                 "pyproject.toml", "README.md"):
        assert (ROOT / name).exists(), f"{name} is missing from the project root"


def test_exercises_hold_a_stub_and_a_valid_notebook_per_exercise():
    for name in assignment.EXERCISE_NAMES:
        assert (ROOT / "exercises" / f"{name}.py").is_file()
        nb = nbformat.read(ROOT / "exercises" / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert (ROOT / "solutions" / f"{name}.py").is_file()
        assert (assignment.SUITES_DIR / name).is_dir(), f"no hidden suite for {name}"


def test_readme_starts_with_the_two_fresh_machine_commands_and_ci_calls_the_second():
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```bash") + 1:lines.index("```bash") + 3]
    commands = [line.split("#")[0].strip() for line in block]
    assert commands == ["make report", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_console_command_is_declared_and_parses():
    assert 'grader = "grader.cli:main"' in (ROOT / "pyproject.toml").read_text()
    args = build_parser().parse_args(["grade", "sub", "--exercise", "neuron", "--fail-under", "50"])
    assert args.exercise == ["neuron"] and args.fail_under == 50.0
    with pytest.raises(SystemExit):
        build_parser().parse_args(["grade", "sub", "--exercise", "nonsense"])


def test_unknown_exercise_name_is_a_clear_error():
    with pytest.raises(ValueError, match="choose from: neuron, backprop"):
        assignment.get("neurons")
