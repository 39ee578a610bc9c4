"""Grading one submission: locate, run the hidden suites against a sandboxed worker, score.

This is the data flow of DESIGN.md end to end for a single submission. It returns a
:class:`grader.results.Result`; writing result.json and rendering reports happen from that.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import io
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Iterable

import pytest

from grader import assignment
from grader.locate import locate
from grader.manual import extract_answers
from grader.pytest_plugin import GradingPlugin
from grader.report_notebook import save_executed_notebook
from grader.results import ExerciseResult, Result
from grader.sandbox import Limits, default_hidden_paths, detect_mode
from grader.submission import open_submission

SUITE_INI = assignment.SUITES_DIR / "pytest.ini"
MAX_OUTPUT_CHARS = 80_000  # above Limits.output_bytes: one worker's output is never cut twice


class GraderFault(RuntimeError):
    """The grader itself failed (a broken suite, a pytest internal error): not the student."""


def _clip(text: str, limit: int) -> str:
    """Head and tail of long output, saying how much was left out."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return (f"{text[:half]}\n... [{len(text) - 2 * half:,} characters of output not kept] "
            f"...\n{text[-half:]}")


def library_versions() -> dict[str, str]:
    """Versions that affect scores, read from metadata so TensorFlow is never imported here."""
    versions = {"python": platform.python_version()}
    for dist in ("dl-grader", "numpy", "scikit-learn", "tensorflow-cpu", "tensorflow", "keras",
                 "pytest", "nbclient"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return versions


def grade(submission: str | os.PathLike, *, exercises: Iterable[str] | None = None,
          limits: Limits | None = None, sandbox: str | None = None,
          hide: Iterable[Path] = (), log: io.TextIOBase | None = None,
          artifacts: Path | None = None, markers: str | None = None,
          record_reference: dict | None = None) -> Result:
    """Grade ``submission`` (a folder or .zip) and return its result; never raises for
    anything the submission does. Raises SubmissionError when it cannot be opened at all
    and GraderFault when the grader itself breaks. Executed notebooks are kept under
    ``artifacts`` (the output folder) when given. ``markers`` (a pytest -m expression, e.g.
    "public" for grader check) runs only the tests it selects. ``record_reference``: a dict
    that collects, per exercise, what the tests read from the reference (see
    grader.student_edition)."""
    started = time.perf_counter()
    names = list(assignment.EXERCISE_NAMES if exercises is None else exercises)
    for name in names:
        assignment.get(name)
    limits = limits or Limits()
    mode = detect_mode(sandbox)
    submission = Path(submission)
    hidden = default_hidden_paths() + [Path(p).resolve() for p in hide]
    if submission.resolve() not in [p for p in hidden]:
        hidden.append(submission.resolve())  # workers get a copy, never the original

    with open_submission(submission) as root:
        located = {name: locate(root, name) for name in names}
        answers = {name: extract_answers(loc.path, name) for name, loc in located.items()
                   if loc.path is not None and loc.path.suffix == ".ipynb"}
        plugin = GradingPlugin(root, located, mode, limits, hidden,
                               record_reference=record_reference)
        suite_dirs = [str(assignment.SUITES_DIR / n) for n in names]
        args = suite_dirs + ["-c", str(SUITE_INI), "--rootdir", str(assignment.SUITES_DIR),
                             "--assert=plain", "-q", "--no-header", "-p", "no:cacheprovider"]
        if markers:
            args += ["-m", markers]
        buffer = io.StringIO()
        t_suites = time.perf_counter()
        with contextlib.redirect_stdout(buffer):
            code = pytest.main(args, plugins=[plugin])
        t_suites = time.perf_counter() - t_suites
        if log is not None:
            log.write(buffer.getvalue())
        # every test deselected is normal when no exercise could run (an empty submission)
        decided = all(run.tests for run in plugin.runs.values())
        ok = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) + (
            (pytest.ExitCode.NO_TESTS_COLLECTED,) if decided else ())
        if code not in ok:
            raise GraderFault(f"the hidden suites did not run (pytest exit code {int(code)}):\n"
                              f"{buffer.getvalue()[-3000:]}")

    result = Result(
        submission=submission.resolve().name,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        sandbox=mode.as_dict(limits),
        data_sources=dict(plugin.data_sources),
        versions=library_versions(),
    )
    worker_total = 0.0
    for name in names:
        run = plugin.runs[name]
        ex = ExerciseResult(name=name, status="graded", file=run.located.rel,
                            located_because=run.located.reason, tests=run.tests,
                            metrics=run.metrics, figures=run.figures,
                            manual=answers.get(name, []))
        if not run.located.found:
            ex.status, ex.message = "missing", f"No file for this exercise: {run.located.reason}."
        elif run.import_error:
            ex.status, ex.message = "error", run.import_error
        module = run.module
        if module is not None and module.executed_notebook and artifacts is not None:
            ex.notebook = save_executed_notebook(module.executed_notebook, artifacts, name)
        if module is not None:
            ex.output = _clip(module.output, MAX_OUTPUT_CHARS)
            ex.timings = {"worker_start": round(module.time_starting, 3),
                          "student_calls": round(module.time_in_worker, 3)}
            worker_total += module.time_starting + module.time_in_worker
        if run.finished and run.started:
            ex.duration = round(run.finished - run.started, 3)
        if not ex.tests and ex.status == "graded":
            ex.status, ex.message = "error", "The grader has no tests for this exercise."
        result.exercises.append(ex)
    result.total()
    total = time.perf_counter() - started
    result.timings = {"total": round(total, 3), "suites": round(t_suites, 3),
                      "in_workers": round(worker_total, 3),
                      "grader_overhead": round(total - worker_total, 3)}
    return result
