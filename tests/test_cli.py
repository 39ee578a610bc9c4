"""The grade command end to end: `python -m grader grade ...` in a subprocess.

Only the numpy exercises (neuron, perceptron, backprop) are graded here, so each run takes a
few seconds; runs shared by several tests are module-scoped fixtures.
"""
from __future__ import annotations

import json
import shutil
import uuid
import zipfile
from pathlib import Path

import pytest

from grader.locate import candidate_paths
from grader.results import Result
from helpers_core import FIXTURE_SUBMISSIONS, PROJECT_ROOT, run_grader

SOLUTIONS = PROJECT_ROOT / "solutions"
STUBS = PROJECT_ROOT / "exercises"


def graded(out: Path) -> Result:
    """result.json read back through the Result dataclasses (validates the schema)."""
    result = Result.read(out / "result.json")
    raw = json.loads((out / "result.json").read_text())
    assert Result.from_dict(raw).to_dict() == raw          # nothing unknown, nothing lost
    return result


def messages(result: Result) -> list[str]:
    return [t.message for ex in result.exercises for t in ex.tests] + \
        [ex.message for ex in result.exercises]


@pytest.fixture(scope="module")
def solutions_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("solutions-out")
    done = run_grader("grade", str(SOLUTIONS), "--exercise", "neuron", "--exercise",
                      "perceptron", "--out", str(out))
    return done, out


@pytest.fixture(scope="module")
def stubs_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("stubs-out")
    done = run_grader("grade", str(STUBS), "--exercise", "neuron", "--out", str(out),
                      "--sandbox", "reduced")
    return done, out


@pytest.fixture(scope="module")
def failures_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("failures-out")
    done = run_grader("grade", str(FIXTURE_SUBMISSIONS / "import_failures"),
                      "--exercise", "neuron", "--exercise", "perceptron",
                      "--exercise", "backprop", "--out", str(out))
    return done, out


# --------------------------------------------------------------------------------------------
# complete and empty submissions
# --------------------------------------------------------------------------------------------
def test_reference_solutions_get_full_marks(solutions_run):
    done, out = solutions_run
    assert done.returncode == 0, done.stderr
    assert (out / "result.json").is_file() and (out / "report.html").is_file()
    assert "<html" in (out / "report.html").read_text().lower()
    result = graded(out)
    assert [ex.name for ex in result.exercises] == ["neuron", "perceptron"]
    # every test passes; the written answers (none in solutions/) are part of the maximum
    # and wait for manual grading (issue 14: the same maximum for every submission)
    written = sum(ex.manual_pending for ex in result.exercises)
    assert written > 0 and result.max_score > 0
    assert result.score == result.max_score - written
    for ex in result.exercises:
        assert ex.status == "graded" and ex.tests
        assert all(t.outcome == "passed" for t in ex.tests), ex.name
        assert sum(t.points for t in ex.tests) == sum(t.max_points for t in ex.tests)
    assert result.sandbox["mode"] in ("bubblewrap", "reduced")
    assert "written answers await manual grading" in done.stdout


def test_untouched_stubs_score_zero(stubs_run):
    done, out = stubs_run
    assert done.returncode == 0, done.stderr
    result = graded(out)
    neuron = result.exercise("neuron")
    assert result.score == 0 and neuron.score == 0 and neuron.max_score > 0
    # untouched stubs are "not attempted" (issue 14), not "graded 0": no worker started
    assert neuron.status == "not_attempted" and neuron.tests
    assert "Not attempted" in neuron.message
    assert all(t.outcome != "passed" and t.points == 0 for t in neuron.tests)


def test_stub_messages_show_no_tracebacks_or_grader_internals(stubs_run):
    _, out = stubs_run
    for message in messages(graded(out)):
        assert "Traceback (most recent call last)" not in message
        assert "grader/" not in message
        assert "File \"" not in message


def test_every_failed_stub_test_says_not_implemented(stubs_run):
    _, out = stubs_run
    neuron = graded(out).exercise("neuron")
    failed = [t for t in neuron.tests if t.outcome != "passed"]
    assert failed
    for t in failed:       # including checks that expect a ValueError from the stub
        assert "not attempted" in t.message and "NotImplementedError" in t.message, \
            (t.id, t.message)
        assert "StudentNotImplementedError" not in t.message


def test_reduced_mode_is_recorded_with_its_notes(stubs_run):
    _, out = stubs_run
    sandbox = graded(out).sandbox
    assert sandbox["mode"] == "reduced"
    assert any("not hidden" in note for note in sandbox["notes"])
    assert sandbox["limits"]["memory_bytes"] > 0


def test_fail_under_exits_1_when_the_score_is_too_low(tmp_path):
    out = tmp_path / "out"
    done = run_grader("grade", str(STUBS), "--exercise", "neuron", "--out", str(out),
                      "--fail-under", "50")
    assert done.returncode == 1, done.stderr
    assert "below --fail-under" in done.stdout
    assert graded(out).score == 0                         # the result is still written


# --------------------------------------------------------------------------------------------
# usage errors
# --------------------------------------------------------------------------------------------
def test_nonexistent_path_exits_2_naming_the_path(tmp_path):
    missing = tmp_path / "no-such-student"
    done = run_grader("grade", str(missing), "--exercise", "neuron",
                      "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert str(missing) in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_exercise_exits_2(tmp_path):
    done = run_grader("grade", str(SOLUTIONS), "--exercise", "transformer",
                      "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "transformer" in done.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------
# broken and missing files
# --------------------------------------------------------------------------------------------
def test_broken_submission_still_completes(failures_run):
    done, out = failures_run
    assert done.returncode == 0, done.stderr
    result = graded(out)
    assert [ex.name for ex in result.exercises] == ["neuron", "perceptron", "backprop"]
    assert result.score == 0 and result.max_score > 0


def test_missing_exercise_is_status_missing_listing_the_files_looked_for(failures_run):
    _, out = failures_run
    backprop = graded(out).exercise("backprop")
    assert backprop.status == "missing" and backprop.score == 0 and backprop.file is None
    for rel in candidate_paths("backprop"):
        assert rel in backprop.message
    assert backprop.tests and all(t.points == 0 for t in backprop.tests)


def test_syntax_error_is_status_error_showing_the_students_line(failures_run):
    _, out = failures_run
    neuron = graded(out).exercise("neuron")
    assert neuron.status == "error" and neuron.score == 0 and neuron.file == "neuron.py"
    assert "SyntaxError" in neuron.message
    assert "def sigmoid(z) return 1 / (1 + np.exp(-z))" in neuron.message
    assert "line 8" in neuron.message
    assert "grader/" not in neuron.message


def test_crash_at_import_is_status_error(failures_run):
    _, out = failures_run
    perceptron = graded(out).exercise("perceptron")
    assert perceptron.status == "error" and perceptron.score == 0
    assert "could not be loaded" in perceptron.message
    assert "status 3" in perceptron.message


def test_tests_after_an_import_error_say_not_run(failures_run):
    _, out = failures_run
    neuron = graded(out).exercise("neuron")
    first, *later = neuron.tests
    assert "could not be loaded" in first.message
    for t in later:
        assert t.message.startswith("Not run"), (t.id, t.message)


# --------------------------------------------------------------------------------------------
# where reports go, and zips
# --------------------------------------------------------------------------------------------
def test_default_out_is_reports_slash_submission_name(tmp_path):
    name = f"coretests-default-out-{uuid.uuid4().hex[:8]}"
    submission = tmp_path / name
    submission.mkdir()
    shutil.copy(STUBS / "perceptron.py", submission / "perceptron.py")
    expected = PROJECT_ROOT / "reports" / name
    assert not expected.exists()
    try:
        done = run_grader("grade", str(submission), "--exercise", "perceptron")
        assert done.returncode == 0, done.stderr
        assert (expected / "result.json").is_file() and (expected / "report.html").is_file()
        assert graded(expected).submission == name
    finally:
        shutil.rmtree(expected, ignore_errors=True)


def test_zip_grades_the_same_as_the_folder(tmp_path, solutions_run):
    _, folder_out = solutions_run
    archive = tmp_path / "alice.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(SOLUTIONS / "neuron.py", "alice-main/neuron.py")   # GitHub-style top folder
    out = tmp_path / "out"
    done = run_grader("grade", str(archive), "--exercise", "neuron", "--out", str(out))
    assert done.returncode == 0, done.stderr
    from_zip = graded(out)
    from_folder = graded(folder_out).exercise("neuron")
    assert from_zip.submission == "alice.zip"
    ex = from_zip.exercise("neuron")
    assert ex.file == "neuron.py" and ex.status == "graded"
    assert [(t.id, t.outcome, t.points) for t in ex.tests] == \
        [(t.id, t.outcome, t.points) for t in from_folder.tests]
    assert ex.score == from_folder.score == sum(t.max_points for t in from_folder.tests)
