"""Grading one submission: locate, run the hidden suites against a sandboxed worker, score.

This is the data flow of DESIGN.md end to end for a single submission. It returns a
:class:`grader.results.Result`; writing result.json and rendering reports happen from that.
"""
from __future__ import annotations

import contextlib
import dataclasses
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
from grader.manual import find_answers
from grader.pytest_plugin import ExerciseRun, GradingPlugin, exercise_of
from grader.report_notebook import read_submitted_notebook, save_executed_notebook
from grader.results import ExerciseResult, Result, TestResult
from grader.safe_text import clean_output, clean_text, clean_tree, one_line
from grader.sandbox import Limits, default_hidden_paths, detect_mode
from grader.submission import open_submission

SUITE_INI = assignment.SUITES_DIR / "pytest.ini"
MAX_OUTPUT_CHARS = 80_000  # above Limits.output_bytes: one worker's output is never cut twice


class GraderFault(RuntimeError):
    """The grader itself failed (a broken suite, a pytest internal error): not the student.

    ``result`` holds what was graded anyway: every exercise the fault did not touch, and the
    ones it did marked as not graded (None when nothing could be graded).
    """

    def __init__(self, message: str, result: "Result | None" = None):
        super().__init__(message)
        self.result = result


# pytest's own report names tests and outcomes only: no tracebacks (they quote the hidden
# suites' source), no short summary (it quotes exception messages), no warnings summary
# (the suites' warning texts and lines). A suite that cannot be imported costs its exercise.
PYTEST_QUIET = ("--tb=no", "-rN", "--disable-warnings", "--continue-on-collection-errors")

FAULT_MESSAGE = ("The grader itself failed on this exercise (an internal error, not your "
                 "code), so it was not graded; it must be graded again once the grader is "
                 "fixed.")


class _SessionWatch:
    """What a pytest session collected per exercise, and which suites failed to import."""

    def __init__(self) -> None:
        self.collected: dict[str, int] = {}
        self.broken: dict[str, str] = {}     # exercise -> what its suite raised on import
        self.internal = ""
        self.collection_done = False

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list) -> None:
        self.collection_done = True
        for item in items:
            name = exercise_of(item.path)
            self.collected[name] = self.collected.get(name, 0) + 1

    def pytest_collectreport(self, report) -> None:
        if not report.failed:
            return
        # node ids are relative to the suites folder (--rootdir): "<exercise>/test_x.py"
        parts = Path(report.nodeid.split("::")[0]).parts
        name = parts[0] if parts else ""
        if name not in assignment.EXERCISE_NAMES:
            return
        crash = getattr(report.longrepr, "reprcrash", None)
        kind = str(getattr(crash, "message", "") or "").split(":")[0]
        self.broken[name] = one_line(kind)[:80] or "collection error"

    def pytest_internalerror(self, excrepr, excinfo) -> None:
        self.internal = one_line(getattr(excinfo, "typename", "") or "internal error")[:80]


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
          record_reference: dict | None = None, observers: Iterable[object] = ()) -> Result:
    """Grade ``submission`` (a folder or .zip) and return its result; never raises for
    anything the submission does. Raises SubmissionError when it cannot be opened at all
    and GraderFault when the grader itself breaks. Executed notebooks are kept under
    ``artifacts`` (the output folder) when given. ``markers`` (a pytest -m expression, e.g.
    "public" for grader check) runs only the tests it selects. ``record_reference``: a dict
    that collects, per exercise, what the tests read from the reference (see
    grader.student_edition). ``observers``: more pytest plugins for the session, which watch
    it (grader check streams each test as it finishes); they decide nothing."""
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
        # written answers from the notebook or ANSWERS.md, wherever the code came from
        answers = {name: clean_tree(find_answers(root, name, loc))
                   for name, loc in located.items()}
        # an untouched stub is not graded: its tests record "not attempted", no worker starts
        to_run = {name: loc if loc.attempted else
                  dataclasses.replace(loc, path=None, reason=loc.not_attempted_because)
                  for name, loc in located.items()}
        plugin = GradingPlugin(root, to_run, mode, limits, hidden,
                               record_reference=record_reference)
        t_suites = time.perf_counter()
        faults = _run_suites(plugin, names, markers, log, observers)
        t_suites = time.perf_counter() - t_suites
        # the sources shown with an executed notebook come from the submitted file: read it
        # now, while an extracted archive still exists
        submitted = {name: read_submitted_notebook(loc.path) for name, loc in to_run.items()
                     if loc.path is not None and loc.path.suffix == ".ipynb"}

    result = Result(
        submission=one_line(submission.resolve().name),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        sandbox=mode.as_dict(limits),
        data_sources=dict(plugin.data_sources),
        versions=library_versions(),
    )
    worker_total = 0.0
    peaks: dict[str, int] = {}
    for name in names:
        run = plugin.runs[name]
        ex = ExerciseResult(name=name, status="graded",
                            file=_clean_or_none(located[name].rel),
                            located_because=clean_text(located[name].reason),
                            tests=[_clean_test(t) for t in run.tests],
                            metrics=_clean_metrics(run.metrics),
                            figures=clean_tree(run.figures), manual=answers.get(name, []))
        if not located[name].attempted:
            ex.status = "not_attempted"
            ex.message = (f"Not attempted: every function of {ex.file} still raises "
                          f"NotImplementedError as in the stub, so it was not graded. Replace "
                          f"each `raise NotImplementedError(...)` with your code.")
        elif not run.located.found:
            ex.status, ex.message = "missing", f"No file for this exercise: {ex.located_because}."
        elif run.import_error:
            ex.status, ex.message = "error", clean_text(run.import_error)
        module = run.module
        if module is not None and module.executed_notebook and artifacts is not None:
            ex.notebook = save_executed_notebook(module.executed_notebook, artifacts, name,
                                                 submitted=submitted.get(name))
        if module is not None:
            ex.output = _clip(clean_output(module.output), MAX_OUTPUT_CHARS)
            ex.timings = {"worker_start": round(module.time_starting, 3),
                          "student_calls": round(module.time_in_worker, 3)}
            worker_total += module.time_starting + module.time_in_worker
            if getattr(module, "peak_memory", None) is not None:
                peaks[name] = module.peak_memory
        if run.finished and run.started:
            ex.duration = round(run.finished - run.started, 3)
        if name in faults:
            ex.status, ex.message, ex.tests = "error", FAULT_MESSAGE, []
        elif not ex.tests and ex.status == "graded":
            ex.status, ex.message = "error", "The grader has no tests for this exercise."
        result.exercises.append(ex)
    if peaks:  # measured by the workers' cgroups: the whole process tree, shared memory too
        result.sandbox["worker_peak_memory_bytes"] = peaks
        result.sandbox["notes"].append("worker peak memory: " + ", ".join(
            f"{n} {b / (1 << 20):.0f} MiB" for n, b in peaks.items()) +
            f" (limit {limits.memory_bytes >> 20} MiB)")
    result.total()
    total = time.perf_counter() - started
    result.timings = {"total": round(total, 3), "suites": round(t_suites, 3),
                      "in_workers": round(worker_total, 3),
                      "grader_overhead": round(total - worker_total, 3)}
    if faults:
        raise GraderFault("; ".join(f"{name}: {why}" for name, why in faults.items()),
                          result=result)
    return result


def _run_suites(plugin: GradingPlugin, names: list[str], markers: str | None,
                log: io.TextIOBase | None, observers: Iterable[object] = ()) -> dict[str, str]:
    """Run the suites of ``names``; return the exercises the grader failed on, and why.

    All exercises run in one pytest session (the TensorFlow workers start ahead, datasets
    load in the background). When that session breaks (a pytest internal error, a grader bug),
    each exercise it did not finish is graded again alone, so a fault costs that exercise
    only; a suite that cannot even be imported is a fault of its exercise alone.
    """
    faults: dict[str, str] = {}
    known_problems = {name: run.import_error for name, run in plugin.runs.items()}
    groups = [list(names)]
    for attempt in range(2):
        retry: list[str] = []
        for group in groups:
            watch, code = _run_session(plugin, group, markers, log, observers)
            broke = code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                                 pytest.ExitCode.NO_TESTS_COLLECTED)
            for name in group:
                run = plugin.runs[name]
                if name in watch.broken:
                    faults[name] = f"its suite could not be loaded ({watch.broken[name]})"
                elif broke and (not watch.collection_done
                                or len(run.tests) < watch.collected.get(name, 0)):
                    if attempt == 0 and len(group) > 1:
                        retry.append(name)
                        _reset_run(plugin, name, known_problems[name])
                    else:
                        why = f": {watch.internal}" if watch.internal else ""
                        faults[name] = f"pytest stopped (exit code {int(code)}{why})"
                elif code == pytest.ExitCode.NO_TESTS_COLLECTED and not run.tests:
                    faults[name] = "no test of its suite was collected"
        if not retry:
            break
        groups = [[name] for name in retry]
    return faults


def _run_session(plugin: GradingPlugin, names: list[str], markers: str | None,
                 log: io.TextIOBase | None, observers: Iterable[object] = ()
                 ) -> tuple["_SessionWatch", int]:
    """One pytest session over the suites of ``names``; what it printed goes to ``log``
    with tracebacks left out, followed by one line per test."""
    suite_dirs = [str(assignment.SUITES_DIR / n) for n in names]
    args = suite_dirs + ["-c", str(SUITE_INI), "--rootdir", str(assignment.SUITES_DIR),
                         "--assert=plain", "-q", "--no-header", "-p", "no:cacheprovider",
                         *PYTEST_QUIET]
    if markers:
        args += ["-m", markers]
    watch = _SessionWatch()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            code = pytest.main(args, plugins=[plugin, watch, *observers])
        except Exception as exc:  # noqa: BLE001 - pytest itself broke: the grader's fault
            watch.internal = one_line(type(exc).__name__)
            code = pytest.ExitCode.INTERNAL_ERROR
    if log is not None:
        log.write(pytest_log(buffer.getvalue()))
        for name in names:
            for test in plugin.runs[name].tests:
                log.write(f"  {one_line(test.id)}: {test.outcome} "
                          f"({test.points:g}/{test.max_points:g})\n")
    return watch, code


def pytest_log(text: str) -> str:
    """pytest's report reduced to its progress and outcome lines: whatever else it prints
    (internal-error tracebacks, collection errors) quotes the suites' source."""
    keep = [line for line in clean_text(text).splitlines()
            if not line.startswith(("INTERNALERROR>", "E ", ">", "    "))]
    return "\n".join(keep) + ("\n" if keep else "")


def _reset_run(plugin: GradingPlugin, name: str, known_problem: str) -> None:
    """Forget a half-graded exercise (its worker stopped) before it is graded again."""
    run = plugin.runs[name]
    if run.module is not None:
        run.module.close()
    plugin.runs[name] = ExerciseRun(run.located, import_error=known_problem)


def _clean_or_none(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def _clean_test(test: TestResult) -> TestResult:
    """A test's title and message, made safe: they quote what the student's code did."""
    test.id, test.name = one_line(test.id), one_line(test.name)
    test.message = clean_text(test.message)
    return test


def _clean_metrics(metrics: dict) -> dict[str, float]:
    return {one_line(k)[:100]: v for k, v in metrics.items()}
