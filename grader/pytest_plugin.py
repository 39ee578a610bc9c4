"""The pytest plugin that runs hidden suites against a sandboxed submission.

It provides the fixtures of docs/SUITES.md (``student``, ``reference``, ``threshold``,
``record``, ``data_source``), reads the ``points`` and ``public`` markers, and turns every
test's outcome into a :class:`grader.results.TestResult` with a student-facing message. It runs
in the trusted process: student code is only ever reached through ``student``.
"""
from __future__ import annotations

import importlib.util
import math
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grader import assignment, datasets, scoring
from grader import pool as worker_pool
from grader.checks import Prerequisites
from grader.frozen_reference import FrozenReference, FrozenTable, RecordingReference
from grader.locate import Located
from grader.proxy import ImportFailed, StudentModule, StudentProblem
from grader.results import TestResult
from grader.safe_text import clean_text, one_line
from grader.sandbox import Limits, Mode
from grader.submission import notebook_problem

SOLUTIONS_DIR = Path(os.environ.get("GRADER_SOLUTIONS", assignment.PROJECT_ROOT / "solutions"))


# TensorFlow exercises whose solution module imports Keras only inside its Keras functions:
# their suites may use `reference` for the numpy functions (and nothing else, so TensorFlow
# never enters the grader).
NUMPY_REFERENCES: dict[str, frozenset[str]] = {
    "lstm": frozenset({"lstm_cell_forward", "lstm_forward"}),
    "cnn": frozenset({"conv2d_forward", "maxpool_forward"}),
}


class NumpyOnlyReference:
    """A TensorFlow exercise's solution module reduced to its numpy functions."""

    def __init__(self, module, name: str):
        self._module, self._name = module, name

    def __getattr__(self, attr: str):
        if attr not in NUMPY_REFERENCES[self._name]:
            raise RuntimeError(f"suite error: reference.{attr} of {self._name} is not one of "
                               f"its numpy functions (it could import TensorFlow into the "
                               f"grader)")
        return getattr(self._module, attr)


@dataclass
class ExerciseRun:
    """What the plugin learns about one exercise while its suite runs."""

    located: Located
    tests: list[TestResult] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    module: StudentModule | None = None
    import_error: str = ""
    started: float = 0.0
    finished: float = 0.0


def check_dependencies(items: list) -> None:
    """Every ``depends_on`` names a test function defined earlier in the same file (pytest
    runs a file in order), so a prerequisite's outcome is known when the dependent test runs.
    Checked against the file's definitions, not the selected items, so ``-m public`` (the
    student edition) does not change the verdict; an unselected prerequisite counts as passed.
    """
    for item in items:
        module = getattr(item, "module", None)
        defined = [n for n in vars(module) if n.startswith("test_")] if module else []
        name = getattr(item, "originalname", None) or item.name
        later = defined[defined.index(name) + 1:] if name in defined else []
        before = item.get_closest_marker("prerequisite_of")
        for dep in (before.args if before else ()):
            if not isinstance(dep, str) or dep not in later:
                raise pytest.UsageError(
                    f"{item.nodeid}: prerequisite_of({dep!r}) must name a test defined later "
                    f"in the same file")
        marker = item.get_closest_marker("depends_on")
        if marker is None:
            continue
        earlier = defined[:defined.index(name)] if name in defined else []
        grouped = [t for v in marker.kwargs.values() for t in ((v,) if isinstance(v, str) else v)]
        for dep in (*marker.args, *grouped):
            if assignment.STUDENT_EDITION and isinstance(dep, str) and dep not in defined:
                continue  # a hidden prerequisite, cut from the edition: it never fails there
            if not isinstance(dep, str) or dep not in earlier:
                raise pytest.UsageError(
                    f"{item.nodeid}: depends_on({dep!r}) must name a test defined earlier in "
                    f"the same file")


def exercise_of(path: Path) -> str:
    """The exercise a suite file belongs to: the name of its folder under suites/."""
    rel = Path(path).resolve().relative_to(assignment.SUITES_DIR)
    return rel.parts[0]


class Recorder:
    """The ``record`` fixture: metrics and figure data for the report."""

    def __init__(self, run: ExerciseRun):
        self._run = run

    def metric(self, name: str, value: Any) -> None:
        value = float(value)
        self._run.metrics[str(name)] = value if math.isfinite(value) else float("nan")

    def figure(self, kind: str, data: dict) -> None:
        self._run.figures[str(kind)] = data


class ExerciseRouter:
    """Forwards to the object of the exercise whose test is running.

    Suites share one plugin across exercises; routing lets a suite's fixtures of any scope
    (function to package) take ``student`` without pytest scope rules getting in the way.
    """

    def __init__(self, resolve, label: str):
        self._resolve, self._label = resolve, label

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._resolve(), name)

    def __repr__(self) -> str:
        return f"<{self._label} of the running exercise>"


def _warm(data: list[str]) -> None:
    """What the grader process will need later, loaded while it mostly waits for workers:
    the datasets, then matplotlib for the report's figures (~1 s of imports)."""
    for name in data:
        datasets.warm(name)
    try:
        importlib.import_module("grader.plots")
    except Exception:  # noqa: BLE001 - the report imports it again and says what is wrong
        pass


class GradingPlugin:
    def __init__(self, submission_dir: Path, located: dict[str, Located], mode: Mode,
                 limits: Limits, hidden: list[Path] | None = None,
                 record_reference: dict[str, FrozenTable] | None = None):
        self.submission_dir = submission_dir
        self.record_reference = record_reference
        self.mode, self.limits, self.hidden = mode, limits, hidden
        self.runs = {name: ExerciseRun(loc) for name, loc in located.items()}
        for run in self.runs.values():
            path = run.located.path
            problem = notebook_problem(path) if path and path.suffix == ".ipynb" else None
            if problem:
                run.import_error = f"Your notebook could not be run: {problem}."
        self.data_sources: dict[str, str] = {}
        self.current = ""
        self._fractions: dict[str, float] = {}
        self._notes: dict[str, list[str]] = {}  # nodeid -> Prerequisites notes
        self._shortfalls: dict[str, str] = {}  # nodeid -> the metric below its target
        self._references: dict[str, Any] = {}

    # ---- configuration ------------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n): points the test is worth (default 1)")
        config.addinivalue_line("markers", "public: students may run this test themselves")
        config.addinivalue_line(
            "markers", "depends_on(*tests, **topics): earlier tests of the same file whose "
                       "mistakes this test must not charge again (the dependency rule, "
                       "docs/SUITES.md); topics name groups of them")
        config.addinivalue_line(
            "markers", "prerequisite_of(*tests, topic=None): this test is a depends_on of the "
                       "later tests named (lets a hidden prerequisite stay out of public tests)")

    def pytest_collection_modifyitems(self, session, config, items: list) -> None:
        """Run only the requested exercises; tests of exercises with no file score 0."""
        check_dependencies(items)
        keep = []
        for item in items:
            name = exercise_of(item.path)
            run = self.runs.get(name)
            if run is None:
                continue
            if not run.located.found:
                run.tests.append(self._result(item, "failed", 0.0,
                                              f"Not graded: {run.located.reason}."))
                continue
            if run.import_error:  # known unusable before any worker starts
                run.tests.append(self._result(item, "failed", 0.0,
                                              f"Not run: {run.located.rel} could not be "
                                              f"loaded (see above)."))
                continue
            keep.append(item)
        items[:] = keep

    # ---- fixtures -----------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.current = exercise_of(item.path)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Start the TensorFlow exercises' workers and load their datasets now, in the
        background: TensorFlow's ~5 s import per worker and the data loading then overlap
        with the grading of the exercises before them instead of adding to it."""
        collected = {exercise_of(item.path) for item in session.items}
        selected = [name for name in self.runs if name in collected]
        needed = [d for d in dict.fromkeys(assignment.get(n).dataset for n in selected) if d]
        threading.Thread(target=_warm, args=(needed,), name="grader-warm", daemon=True).start()
        warm = worker_pool.active() is not None   # spares already started: keep one for each
        for name in selected:
            if warm or assignment.get(name).uses_tensorflow:
                self._module_for(name, now=False).prestart()

    def _module_for(self, name: str, now: bool = True) -> StudentModule:
        """The exercise's one worker proxy, started on first use (``now``) or ahead of it."""
        run = self.runs[name]
        if now:
            run.started = run.started or time.perf_counter()
        if run.module is None:
            ex = assignment.get(name)
            run.module = StudentModule(
                name, run.located.path, self.submission_dir, self.mode, self.limits,
                call_timeout=ex.call_timeout, budget=ex.time_budget, hidden=self.hidden,
                preload=("keras",) if ex.uses_tensorflow else ())
        return run.module

    def _reference_for(self, name: str):
        """The solution module; in the student edition, the public tests' frozen values."""
        if name not in self._references:
            if assignment.get(name).uses_tensorflow and name not in NUMPY_REFERENCES:
                raise RuntimeError(f"suite error: the {name} suite may not import the "
                                   f"reference (it would bring TensorFlow into the grader)")
            if assignment.STUDENT_EDITION:
                self._references[name] = FrozenReference(
                    FrozenTable.load(assignment.frozen_values_path(name)))
                return self._references[name]
            path = SOLUTIONS_DIR / f"{name}.py"
            spec = importlib.util.spec_from_file_location(f"_reference_{name}", path)
            if spec is None or not path.is_file():
                raise RuntimeError(f"reference solution {path} is missing "
                                   f"(set GRADER_SOLUTIONS)")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            if name in NUMPY_REFERENCES:
                module = NumpyOnlyReference(module, name)
            if self.record_reference is not None:
                module = RecordingReference(
                    module, self.record_reference.setdefault(name, FrozenTable(name)))
            self._references[name] = module
        return self._references[name]

    @pytest.fixture(scope="session")
    def student(self) -> "ExerciseRouter":
        """The running exercise's student module; usable from fixtures of any scope."""
        return ExerciseRouter(lambda: self._module_for(self.current), "student")

    @pytest.fixture(scope="session")
    def reference(self) -> "ExerciseRouter":
        return ExerciseRouter(lambda: self._reference_for(self.current), "reference")

    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """Stop an exercise's worker once its last test has run."""
        name = exercise_of(item.path)
        if nextitem is not None and exercise_of(nextitem.path) == name:
            return
        run = self.runs.get(name)
        if run is not None and run.module is not None and not run.finished:
            run.module.close()
            run.finished = time.perf_counter()

    def pytest_sessionfinish(self, session) -> None:
        for run in self.runs.values():
            if run.module is not None:
                run.module.close()

    @pytest.fixture
    def prerequisites(self, request: pytest.FixtureRequest) -> Prerequisites:
        """The dependency rule: which of this test's ``depends_on`` tests lost points."""
        marker = request.node.get_closest_marker("depends_on")
        names = tuple(marker.args) if marker else ()
        topics = {k: (v,) if isinstance(v, str) else tuple(v)
                  for k, v in (marker.kwargs if marker else {}).items()}
        me = getattr(request.node, "originalname", None) or request.node.name
        for name, fn in vars(request.module).items():  # hidden prerequisites declaring us
            for mark in getattr(fn, "pytestmark", []) if name.startswith("test_") else []:
                if mark.name == "prerequisite_of" and me in mark.args:
                    topic = mark.kwargs.get("topic")
                    if topic:
                        topics[topic] = (*topics.get(topic, ()), name)
                    else:
                        names += (name,)
        run = self.runs[exercise_of(request.path)]
        lost = {t.id.split("::")[-1].split("[")[0] for t in run.tests
                if t.points < t.max_points}
        return Prerequisites(names, lost, self._notes.setdefault(request.node.nodeid, []),
                             topics, lenient=assignment.STUDENT_EDITION)

    @pytest.fixture(scope="session")
    def data_source(self) -> dict[str, str]:
        return self.data_sources

    @pytest.fixture
    def record(self, request: pytest.FixtureRequest) -> Recorder:
        return Recorder(self.runs[exercise_of(request.path)])

    @pytest.fixture
    def threshold(self, request: pytest.FixtureRequest):
        name = exercise_of(request.path)
        nodeid = request.node.nodeid
        dataset = assignment.get(name).dataset
        recorder = Recorder(self.runs[name])

        def score(metric: str, value: Any, floor: float | None = None,
                  target: float | None = None) -> float:
            value = float(value)
            if floor is None or target is None:
                spec = scoring.lookup(name, metric, self.data_sources.get(dataset or ""))
            else:
                spec = scoring.Threshold(float(floor), float(target), "explicit")
            recorder.metric(metric, value)
            fraction = spec.fraction(value)
            if fraction < self._fractions.get(nodeid, 1.0):  # the metric that fell shortest
                self._shortfalls[nodeid] = (f"{metric} is {value:.3f}, full credit from "
                                            f"{spec.target:.3f}")
            self._fractions[nodeid] = min(self._fractions.get(nodeid, 1.0), fraction)
            if fraction == 0.0:
                raise AssertionError(
                    f"{metric} is {value:.3f}: at or below the minimum {spec.floor:.3f} for "
                    f"any credit (full credit from {spec.target:.3f}).")
            return fraction

        return score

    # ---- outcomes -----------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        name = exercise_of(item.path)
        run = self.runs.get(name)
        if run is None:
            return report
        if call.when == "setup" and call.excinfo is not None:
            run.tests.append(self._from_exception(item, run, call.excinfo))
        elif call.when == "call":
            if call.excinfo is None:
                fraction = self._fractions.get(item.nodeid, 1.0)
                outcome = "passed" if fraction >= 1.0 else "partial"
                message = "" if outcome == "passed" else (
                    f"Partial credit: {fraction:.0%} of the points: "
                    f"{self._shortfalls.get(item.nodeid, self._metric_text(run))}.")
                run.tests.append(self._result(item, outcome, fraction, message,
                                              duration=call.duration))
            else:
                run.tests.append(self._from_exception(item, run, call.excinfo, call.duration))
            self._add_notes(item, run.tests[-1])
        return report

    def _add_notes(self, item: pytest.Item, result: TestResult) -> None:
        """A test's dependency notes ("... already counted in test_x") join its message."""
        notes = [n for n in self._notes.pop(item.nodeid, []) if n not in result.message]
        if not notes:
            return
        text = "; ".join(notes)
        result.message = f"{result.message} (note: {text})" if result.message else \
            f"Note: {text}."

    def _from_exception(self, item, run: ExerciseRun, excinfo, duration: float = 0.0):
        exc = excinfo.value
        if isinstance(exc, ImportFailed):
            if not run.import_error:
                run.import_error = exc.student_message()
                return self._result(item, "failed", 0.0, run.import_error, duration=duration)
            return self._result(item, "failed", 0.0,
                                f"Not run: {run.located.rel} could not be loaded (see above).")
        if isinstance(exc, StudentProblem):
            return self._result(item, "failed", 0.0, exc.student_message(), duration=duration)
        if isinstance(exc, AssertionError):
            message = str(exc).strip() or "The check failed."
            fraction = self._fractions.get(item.nodeid, 0.0)
            return self._result(item, "failed", 0.0, message, duration=duration) \
                if fraction == 0.0 else self._result(item, "partial", fraction, message,
                                                     duration=duration)
        if excinfo.errisinstance(pytest.skip.Exception):
            return self._result(item, "skipped", 0.0, str(getattr(exc, "msg", "")) or "skipped")
        # Anything else is the check tripping over what came back (or a suite bug): say so
        # without showing the check's source. The grader's stderr (and so -v output and batch
        # logs) names the test and the exception type only: a traceback would quote the
        # hidden suite, its message (or a chained one) could hold reference values.
        kind = one_line(type(exc).__name__)[:80]
        print(f"grader: {one_line(item.nodeid)} raised {kind} (reported to the student as "
              f"an error of the check)", file=sys.stderr)
        try:
            text = clean_text(exc).strip()
        except Exception:  # noqa: BLE001 - a hostile __str__ of a student-made value
            text = ""
        text = one_line(text.splitlines()[0] if text else "")[:300]
        return self._result(item, "error", 0.0,
                            f"The check could not use what your code returned "
                            f"({kind}{': ' + text if text else ''}).", duration=duration)

    def _metric_text(self, run: ExerciseRun) -> str:
        return ", ".join(f"{k} {v:.3f}" for k, v in run.metrics.items()) or "none"

    def _result(self, item, outcome: str, fraction: float, message: str,
                duration: float = 0.0) -> TestResult:
        marker = item.get_closest_marker("points")
        max_points = float(marker.args[0]) if marker and marker.args else 1.0
        doc = (getattr(item, "function", None).__doc__ or "") if hasattr(item, "function") \
            else ""
        title = doc.strip().splitlines()[0] if doc.strip() else item.name
        return TestResult(
            id=f"{exercise_of(item.path)}::{item.name}", name=title,
            points=scoring.round_points(max_points * fraction), max_points=max_points,
            outcome=outcome, message=message,
            public=item.get_closest_marker("public") is not None,
            duration=round(duration, 4))
