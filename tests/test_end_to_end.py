"""Whole submissions through the real command: reference solutions, untouched stubs, notebooks.

These train the Keras models of the reference solutions, so they are slow (about 30 s per
whole grading run) and run in CI, not in `make quick-test`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader import assignment
from grader.results import Result

ROOT = assignment.PROJECT_ROOT
NUMPY_EXERCISES = ["neuron", "backprop", "perceptron", "circles"]
pytestmark = pytest.mark.slow


def run_grader(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "grade", *args],
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module", params=["bubblewrap", "reduced"])
def graded_solutions(request, tmp_path_factory):
    if request.param == "bubblewrap" and not _have_bwrap():
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    out = tmp_path_factory.mktemp(f"solutions-{request.param}")
    proc = run_grader(str(ROOT / "solutions"), "--out", str(out), "--sandbox", request.param)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return request.param, out, Result.read(out / "result.json")


def _have_bwrap() -> bool:
    import shutil

    return shutil.which("bwrap") is not None


def test_reference_solutions_get_full_marks(graded_solutions):
    mode, out, result = graded_solutions
    assert result.sandbox["mode"] == mode
    failures = [(t.id, t.message) for e in result.exercises for t in e.tests
                if t.outcome != "passed"]
    assert failures == []
    assert [e.name for e in result.exercises] == list(assignment.EXERCISE_NAMES)
    assert result.score == result.max_score - result.manual_pending > 0  # written: pending
    assert all(e.status == "graded" and e.file == f"{e.name}.py" for e in result.exercises)
    assert result.data_sources.get("mnist")  # the suites say which data decided thresholds
    mnist, attrition = result.exercise("mnist_ann"), result.exercise("attrition")
    assert {"confusion_matrix", "learning_curves"} <= set(mnist.figures)
    assert {"roc_curve", "confusion_matrix"} <= set(attrition.figures)
    assert "decision_boundary" in result.exercise("circles").figures
    assert (out / "report.html").stat().st_size > 10_000


def test_report_of_the_solutions_is_clean_in_chromium(graded_solutions):
    from browser import chromium_or_skip

    _, out, result = graded_solutions
    browser = chromium_or_skip()
    try:
        page = browser.load(out / "report.html")
        assert page.errors == []
        assert browser.evaluate("document.querySelectorAll('svg.plot').length") >= 5
    finally:
        browser.close()
    html = (out / "report.html").read_text()
    suite_lines = [line.strip() for p in assignment.SUITES_DIR.rglob("*.py")
                   for line in p.read_text().splitlines() if len(line.strip()) > 30
                   and ("student." in line or "expect" in line or "assert " in line)]
    assert len(suite_lines) > 50, "expected code lines in the hidden suites"
    leaked = [line for line in suite_lines if line in html]
    assert leaked == [], "hidden test source appears in the report"


def test_untouched_stubs_score_zero_with_not_implemented_messages(tmp_path):
    proc = run_grader(str(ROOT / "exercises"), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    result = Result.read(tmp_path / "result.json")
    assert result.score == 0 and result.max_score > 0
    for ex in result.exercises:
        # untouched stubs are not attempted (issue 14): not run, every test 0 and saying so
        assert ex.status == "not_attempted", (ex.name, ex.status, ex.message)
        for test in ex.tests:
            assert test.message.startswith("Not graded: not attempted"), (test.id, test.message)
            assert "NotImplementedError" in test.message
            assert "Traceback" not in test.message and "grader/" not in test.message


def _as_notebook(source: Path, target: Path) -> None:
    """The solution split into cells as a student might, with magics and shell lines."""
    nb = nbformat.v4.new_notebook()
    chunks = source.read_text().split("\n\n\n")
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {source.stem}"),
                nbformat.v4.new_code_cell("%matplotlib inline\n!pip install numpy")]
    nb.cells += [nbformat.v4.new_code_cell(chunk) for chunk in chunks]
    nbformat.write(nb, target)


def test_notebook_and_py_versions_earn_the_same_score(tmp_path):
    sub = tmp_path / "nb"
    sub.mkdir()
    for name in NUMPY_EXERCISES:
        _as_notebook(ROOT / "solutions" / f"{name}.py", sub / f"{name}.ipynb")
    args = [a for n in NUMPY_EXERCISES for a in ("--exercise", n)]
    proc_nb = run_grader(str(sub), "--out", str(tmp_path / "out-nb"), *args)
    proc_py = run_grader(str(ROOT / "solutions"), "--out", str(tmp_path / "out-py"), *args)
    assert proc_nb.returncode == proc_py.returncode == 0
    nb = json.loads((tmp_path / "out-nb" / "result.json").read_text())
    py = json.loads((tmp_path / "out-py" / "result.json").read_text())
    assert [e["file"] for e in nb["exercises"]] == [f"{n}.ipynb" for n in NUMPY_EXERCISES]
    assert {e["name"]: e["score"] for e in nb["exercises"]} == \
        {e["name"]: e["score"] for e in py["exercises"]}
    assert nb["score"] == nb["max_score"] - sum(  # written answers: pending
        m["max_points"] for e in nb["exercises"] for m in e["manual"] if m["points"] is None)
