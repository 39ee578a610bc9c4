"""Hostile submissions: every attack a student can mount is contained by the grader.

Each folder of tests/submissions/hostile/ is the reference neuron.py with one attack built in
(its docstring says which, and what the grader must do). Every test here grades one of them --
in-process with grader.grading.grade, or through the CLI where the attack targets the output
files -- and checks, besides the attack's own promise:
  * grading finishes, in bounded time, without a grader fault;
  * the attacked tests earn nothing (the tests that fail when the attacked functions are simply
    broken, measured on the reference solution) and the score is below full;
  * the tests that do not use the attacked functions still pass, where the attack leaves the
    worker usable;
  * no file outside the output folder changes: the project tree (except reports/ and
    __pycache__), the submission, a world-writable canary folder, and no new result.json,
    report.html or pwned* at the top of the temp folders or $HOME; no process outlives grading;
  * no secret, hidden test source or reference value appears in any output.
Where reduced mode cannot defend (it runs student code as root on this kind of machine), the
test is skipped citing the gap the sandbox notes admit (docs/SECURITY.md); everything else
runs in both modes.

hidden-tests-sentinel: 5be1a9c0 (read_hidden must never show this line)
"""
from __future__ import annotations

import dataclasses
import gzip
import html.parser
import importlib.util
import json
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest

from grader import assignment
from grader.grading import grade
from grader.report_html import write_report
from grader.results import Result
from grader.sandbox import Limits, detect_mode

HOSTILE = Path(__file__).resolve().parent / "submissions" / "hostile"
PROJECT_ROOT = assignment.PROJECT_ROOT
SOLUTION = PROJECT_ROOT / "solutions" / "neuron.py"
SUITE = assignment.SUITES_DIR / "neuron" / "test_neuron.py"
ACTIVATIONS = ("relu", "sigmoid", "tanh", "step", "softmax")
TESTS_SENTINEL = "hidden-tests-sentinel: 5be1a9c0"

HAVE_BWRAP = shutil.which("bwrap") is not None
MODES = [pytest.param("bubblewrap", marks=pytest.mark.skipif(
             not HAVE_BWRAP, reason="bubblewrap (bwrap) is not installed")),
         pytest.param("reduced")]
DEFAULT_MODE = "bubblewrap" if HAVE_BWRAP else "reduced"
IS_ROOT = os.geteuid() == 0

# Generous wall-time bounds (seconds); normal grading of neuron takes 1-4 s.
BOUND = 60.0
SHORT_LIMITS = {"call_timeout": 3.0, "time_budget": 20.0}

TEMP_DIRS = [Path(tempfile.gettempdir()), Path("/var/tmp"), Path("/dev/shm")]
HOMES = sorted({Path(os.path.expanduser("~")), Path(pwd.getpwuid(os.geteuid()).pw_dir)})
SUSPICIOUS_NAME = re.compile(r"^(result\.json|report\.html|pwned.*)$")


def reduced_worker_is_grading_user() -> bool:
    """Reduced mode runs student code as the grading user unless it can drop to nobody."""
    return not (IS_ROOT and detect_mode("reduced").drops_privileges)


# ------------------------------------------------------------------------------------------------
# what must never appear in an output
# ------------------------------------------------------------------------------------------------
def hidden_sentinels() -> dict[str, str]:
    """Distinctive text of the hidden suite, the reference solution, the grader's own tests and
    the held-out data, plus reference values the suite computes; none may reach an output."""
    suite = SUITE.read_text()
    picks = {}
    for pattern in (r"^FIXED_Z = .*$", r"^EXTREME_Z = .*$", r"^def random_layer.*$",
                    r"^\s*rng = np\.random\.default_rng\(3\)$"):
        found = re.search(pattern, suite, re.MULTILINE)
        assert found, f"the neuron suite changed: no line matches {pattern!r}; update the test"
        picks[f"suite line {found.group(0).strip()[:30]!r}"] = found.group(0).strip()
    solution = SOLUTION.read_text()
    assert "# BEGIN SOLUTION" in solution
    picks["solution marker"] = "# BEGIN SOLUTION"
    assert TESTS_SENTINEL in Path(__file__).read_text()
    picks["tests/ sentinel"] = TESTS_SENTINEL
    from grader import datasets

    with gzip.open(datasets.ATTRITION_CSV, "rt") as fh:
        picks["attrition header"] = fh.readline().strip()
    # reference answers of test_neuron_single_sample (same inputs as the suite)
    spec = importlib.util.spec_from_file_location("_hostile_reference", SOLUTION)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=4), rng.normal(size=4)
    for activation in ("sigmoid", "tanh", "linear"):
        value = ref.neuron_forward(x, w, 0.3, activation)
        picks[f"reference {activation} value"] = f"{value:.8f}"[:10]
    return picks


HIDDEN = hidden_sentinels()


# ------------------------------------------------------------------------------------------------
# snapshots of everything the attacks must not touch
# ------------------------------------------------------------------------------------------------
def tree_snapshot(root: Path, skip_dirs=()) -> dict[str, tuple[int, int, int]]:
    """path -> (mtime_ns, size, owner) of every file under ``root`` (symlinks not followed)."""
    snap = {}
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip_dirs]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            snap[os.path.relpath(path, root)] = (st.st_mtime_ns, st.st_size, st.st_uid)
    return snap


def tree_changes(before: dict, after: dict) -> list[str]:
    changed = [f"changed {p}" for p in before if p in after and before[p] != after[p]]
    return (changed + [f"removed {p}" for p in before if p not in after]
            + [f"added {p}" for p in after if p not in before])


def top_level(paths) -> set[Path]:
    entries = set()
    for directory in paths:
        try:
            entries.update(directory.iterdir())
        except OSError:
            pass
    return entries


def marker_processes(marker: str) -> list[int]:
    """Processes whose command line carries ``marker`` (children left behind by an attack)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def files_containing(token: str, roots) -> list[Path]:
    """Files (recursively, small ones) under ``roots`` whose text contains ``token``."""
    hits = []
    for root in roots:
        if root.is_file():
            candidates = [root]
        elif root.is_dir():
            candidates = [Path(d, f) for d, _, fs in os.walk(root) for f in fs]
        else:
            continue
        for path in candidates:
            try:
                if path.stat().st_size < (1 << 20) and token.encode() in path.read_bytes():
                    hits.append(path)
            except OSError:
                pass
    return hits


@dataclasses.dataclass
class Graded:
    result: Result
    elapsed: float
    texts: dict[str, str]            # every output: result.json, report.html, CLI streams
    returncode: int | None = None    # CLI only

    @property
    def exercise(self):
        return self.result.exercises[0]

    def outcome(self, short: str):
        return next(t for t in self.exercise.tests if t.id == f"neuron::{short}")

    def by_test(self) -> dict[str, object]:
        return {t.id.split("::", 1)[1]: t for t in self.exercise.tests}


class Guard:
    """One attack's arena: a unique token, a canary folder, snapshots and the cleanup."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        self.tmp = tmp_path
        self.token = uuid.uuid4().hex
        self.marker = f"hostile-marker-{self.token}"
        self.secrets = {"GITHUB_TOKEN": f"ghp_canary{self.token}",
                        "MY_API_KEY": f"canary-key-{self.token}"}
        for key, value in self.secrets.items():  # the grader's own environment holds secrets
            monkeypatch.setenv(key, value)
        self.canary = tmp_path / "canary"
        self.canary.mkdir()
        (self.canary / "keep.txt").write_text("untouched\n")
        self.canary.chmod(0o777)
        self.snapshots = {
            "project": (PROJECT_ROOT, self._project_snapshot()),
            "canary": (self.canary, tree_snapshot(self.canary)),
        }
        self.top_before = top_level(TEMP_DIRS + HOMES)
        self.reports_before = set((PROJECT_ROOT / "reports").rglob("*"))

    @staticmethod
    def _project_snapshot():
        return tree_snapshot(PROJECT_ROOT, skip_dirs=("reports", "__pycache__", ".pytest_cache",
                                                      ".ruff_cache"))

    # ---- the submission ----------------------------------------------------------------
    def submission(self, attack: str, name: str | None = None, parent: str = "submissions",
                   **params) -> Path:
        """A copy of tests/submissions/hostile/<attack> with its parameters filled in."""
        dest = self.tmp / parent / (name or attack)
        shutil.copytree(HOSTILE / attack, dest, ignore=shutil.ignore_patterns("__pycache__"))
        for held in list(dest.rglob("*.hostile")):  # kept inert in the repository
            held.rename(held.with_suffix(""))
        self.write_params(dest, **params)
        return dest

    def write_params(self, dest: Path, **params) -> None:
        base = {"token": self.token, "marker": self.marker, "canary_dir": str(self.canary),
                "submission_name": dest.name}
        (dest / "hostile_params.json").write_text(json.dumps({**base, **params}))
        self.snapshots[f"submission {dest.name}"] = (dest, tree_snapshot(dest))

    # ---- grading -----------------------------------------------------------------------
    def grade(self, submission: Path, mode: str, **kwargs) -> Graded:
        """Grade in-process and render result.json + report.html, as the CLI would."""
        t0 = time.perf_counter()
        result = grade(submission, exercises=["neuron"], sandbox=mode, **kwargs)
        elapsed = time.perf_counter() - t0
        out = self.tmp / f"out-{len(list(self.tmp.glob('out-*')))}"
        result.write(out / "result.json")
        report = write_report(result, out)
        return Graded(result, elapsed, {"result.json": (out / "result.json").read_text(),
                                        "report.html": report.read_text()})

    def cli(self, submission: Path, mode: str, *, cwd: Path | None = None,
            out: Path | None = None, timeout: float = 180) -> Graded:
        """Grade through ``python -m grader grade`` with the secrets in its environment."""
        out = out or self.tmp / "out"
        cwd = cwd or self.tmp / "cli-cwd"
        cwd.mkdir(exist_ok=True)
        cmd = [sys.executable, "-m", "grader", "grade", str(submission), "--exercise", "neuron",
               "--out", str(out), "--sandbox", mode]
        env = {**os.environ, **self.secrets}
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        elapsed = time.perf_counter() - t0
        assert proc.returncode == 0, f"grader CLI failed ({proc.returncode}):\n{proc.stderr}"
        self.wait_for_marker_processes(10)
        texts = {"stdout": proc.stdout, "stderr": proc.stderr,
                 "result.json": (out / "result.json").read_text(),
                 "report.html": (out / "report.html").read_text()}
        try:
            result = Result.from_dict(json.loads(texts["result.json"]))
        except (TypeError, ValueError, KeyError) as exc:
            raise AssertionError(f"{out / 'result.json'} is not the grader's ({exc}): "
                                 f"{texts['result.json'][:300]}") from None
        return Graded(result, elapsed, texts, proc.returncode)

    def wait_for_marker_processes(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while marker_processes(self.marker) and time.monotonic() < deadline:
            time.sleep(0.2)

    # ---- what must hold after any attack -------------------------------------------------
    def breaches(self) -> list[str]:
        """Everything outside the output folders that the attack managed to change."""
        problems = []
        for label, (root, before) in self.snapshots.items():
            after = self._project_snapshot() if label == "project" else tree_snapshot(root)
            changes = tree_changes(before, after)
            if label == "project":
                changes = self._attributable(root, before, after, changes)
            problems += [f"{label}: {c}" for c in changes]
        for entry in sorted(top_level(TEMP_DIRS + HOMES) - self.top_before):
            if SUSPICIOUS_NAME.match(entry.name):
                problems.append(f"new file {entry}")
        # leftover worker copies: test_worker_copies_are_removed_after_restarts
        problems += [f"forged file {p}" for p in self._token_files()]
        time.sleep(0.2)
        survivors = marker_processes(self.marker)
        if survivors:
            problems.append(f"{len(survivors)} process(es) of the submission outlived grading")
        return problems

    def _attributable(self, root: Path, before: dict, after: dict, changes: list[str]):
        """Project changes that carry a trace of the attack (its token, or an owner other than
        the file's or the project's: a worker uid). Others are developers editing the tree
        while the test runs; they become warnings, as no attack here writes without its token.
        """
        traced = []
        for change in changes:
            rel = change.split(" ", 1)[1]
            path = root / rel
            try:
                data = path.read_bytes() if path.is_file() else b""
            except OSError:
                data = b""
            owner = after.get(rel, (0, 0, None))[2]
            new_owner = (before[rel][2] if rel in before else PROJECT_ROOT.stat().st_uid)
            if self.token.encode() in data or owner not in (None, new_owner):
                traced.append(change)
            else:
                warnings.warn(f"{rel} changed while an attack ran, with no trace of it "
                              f"(a concurrent edit?)", stacklevel=2)
        return traced

    def leaked_copies(self) -> list[Path]:
        """Worker copies of this submission (grader-neuron-*) still in the temp folder."""
        return [p for p in top_level(TEMP_DIRS) - self.top_before
                if p.name.startswith("grader-neuron-") and files_containing(self.token, [p])]

    def _token_files(self) -> list[Path]:
        new_top = top_level(TEMP_DIRS + HOMES) - self.top_before - set(self.leaked_copies())
        roots = list(new_top) + [p for p in top_level(TEMP_DIRS + HOMES)
                                 if SUSPICIOUS_NAME.match(p.name)]
        roots += [PROJECT_ROOT / "reports", self.canary]
        roots += [p for p in self.tmp.iterdir() if p.name not in ("submissions",)
                  and not p.name.startswith("out")]
        return files_containing(self.token, roots)

    def leaks(self, graded: Graded) -> list[str]:
        """Secrets, hidden sources or reference values found in any output of ``graded``."""
        found = []
        for where, text in graded.texts.items():
            for label, value in {**HIDDEN, **self.secrets}.items():
                if value in text:
                    found.append(f"{label} in {where}")
        return found

    def cleanup(self) -> None:
        """Undo whatever an uncontained attack did (only its own files and processes)."""
        for pid in marker_processes(self.marker):
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        for path in self._token_files():
            path.unlink(missing_ok=True)
        for copy in self.leaked_copies():
            shutil.rmtree(copy, ignore_errors=True)
        for entry in top_level(TEMP_DIRS + HOMES) - self.top_before:
            if entry.name.startswith(f"pwned-{self.token}"):
                entry.unlink(missing_ok=True)
        for path in sorted(set((PROJECT_ROOT / "reports").rglob("*")) - self.reports_before,
                           reverse=True):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        for entry in top_level(TEMP_DIRS + HOMES) - self.top_before:
            if entry.is_dir() and entry.name == "reports" and not any(
                    f.is_file() for f in entry.rglob("*")):
                shutil.rmtree(entry, ignore_errors=True)


@pytest.fixture
def guard(tmp_path, monkeypatch):
    g = Guard(tmp_path, monkeypatch)
    yield g
    g.cleanup()


@pytest.fixture
def short_limits(monkeypatch):
    """Shorter call timeout and budget for neuron, so hanging attacks stay quick to test."""
    def apply(**limits):
        ex = dataclasses.replace(assignment.BY_NAME["neuron"], **{**SHORT_LIMITS, **limits})
        monkeypatch.setitem(assignment.BY_NAME, "neuron", ex)
        return ex
    return apply


# ------------------------------------------------------------------------------------------------
# which tests use which function: measured on the reference solution, not hard-coded
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def suite_map(tmp_path_factory):
    """full: the reference's result; uses[f]: the tests that fail when f alone is broken."""
    base = tmp_path_factory.mktemp("probes")

    def run(broken: str | None):
        folder = base / (broken or "reference")
        folder.mkdir()
        source = SOLUTION.read_text()
        if broken:
            source += f"\n\ndef {broken}(*args, **kwargs):\n    raise RuntimeError('probe')\n"
        (folder / "neuron.py").write_text(source)
        return grade(folder, exercises=["neuron"], sandbox=DEFAULT_MODE)

    full = run(None)
    assert full.score == full.max_score - full.manual_pending > 0, \
        "the reference solution must earn every test's points (written answers: pending)"
    uses = {}
    for name in ACTIVATIONS:
        result = run(name)
        uses[name] = {t.id.split("::", 1)[1] for t in result.exercises[0].tests
                      if t.outcome != "passed"}
        assert uses[name], f"no test notices a broken {name}"
    all_tests = {t.id.split("::", 1)[1] for t in full.exercises[0].tests}
    return {"full": full, "uses": uses, "all": all_tests}


@pytest.fixture(scope="session")
def wrong_baseline(tmp_path_factory) -> Result:
    """What the wrong activations (z + 0.25) earn honestly: monkeypatch_numpy_testing with its
    patches switched off. Attacks built on those functions may earn no more than this."""
    folder = tmp_path_factory.mktemp("wrong") / "wrong_functions"
    shutil.copytree(HOSTILE / "monkeypatch_numpy_testing", folder)
    (folder / "hostile_params.json").write_text(json.dumps({"control": True}))
    result = grade(folder, exercises=["neuron"], sandbox=DEFAULT_MODE)
    assert "hostile:monkeypatch" not in result.exercises[0].output
    return result


def attacked_tests(suite_map, functions) -> set[str]:
    """The tests an attack on ``functions`` must not pass: those that fail when the functions
    just raise ("all" for an attack on the import; a Result: the tests it did not pass)."""
    if functions == "all":
        return set(suite_map["all"])
    if isinstance(functions, Result):
        return {t.id.split("::", 1)[1] for t in functions.exercises[0].tests
                if t.outcome != "passed"}
    return set().union(*(suite_map["uses"][f] for f in functions))


def writes_are_documented(graded: Graded) -> bool:
    """Reduced mode may run student code as the grading user, and its notes then say so."""
    return graded.result.sandbox.get("mode") == "reduced" and any(
        "can write wherever" in note for note in graded.result.sandbox.get("notes", []))


def assert_contained(graded: Graded, guard: Guard, suite_map, attacked, *,
                     others_pass: bool = True, bound: float = BOUND, full: bool = False):
    """The checks every attack must pass (see the module docstring). Files written outside
    the output folder are tolerated (as warnings) only where the sandbox notes admit it."""
    problems = []
    if graded.elapsed > bound:
        problems.append(f"grading took {graded.elapsed:.1f} s (bound {bound:.0f} s)")
    tests = graded.by_test()
    if set(tests) != suite_map["all"]:
        problems.append(f"tests differ from the reference run: {sorted(set(tests))}")
    attacked_set = attacked_tests(suite_map, attacked) if attacked else set()
    if isinstance(attacked, Result):  # no test may earn more than the honest baseline
        baseline = {t.id: t.points for t in attacked.exercises[0].tests}
        problems += [f"{t.id} earned {t.points} > {baseline[t.id]} without the attack"
                     for t in graded.exercise.tests if t.points > baseline.get(t.id, 0.0)]
    for name in sorted(attacked_set):
        t = tests.get(name)
        if t is not None and (t.outcome == "passed" or t.points > 0):
            problems.append(f"attacked test {name} earned {t.points} ({t.outcome})")
    if others_pass:
        for name in sorted(suite_map["all"] - attacked_set):
            t = tests.get(name)
            if t is not None and t.outcome != "passed":
                problems.append(f"untouched test {name} did not pass: {t.outcome} "
                                f"{t.message[:200]!r}")
    full_score = suite_map["full"].score
    if full and graded.result.score != full_score:
        problems.append(f"score {graded.result.score} is not the full {full_score}")
    if not full and not graded.result.score < full_score:
        problems.append(f"score {graded.result.score} is not below full {full_score}")
    breaches = guard.breaches()
    if writes_are_documented(graded):
        for breach in [b for b in breaches if "outlived grading" not in b]:
            warnings.warn(f"documented reduced-mode gap: {breach}", stacklevel=2)
            breaches.remove(breach)
    problems += breaches
    problems += guard.leaks(graded)
    assert not problems, "attack not contained:\n  " + "\n  ".join(problems)


def skip_documented_gap(mode: str, phrase: str) -> None:
    """Reduced mode as root admits some gaps in its sandbox notes: skip there, citing them."""
    if mode != "reduced":
        return
    notes = detect_mode("reduced").notes
    admitted = [n for n in notes if phrase in n]
    if admitted:
        pytest.skip(f"documented reduced-mode gap: {admitted[0]}")


# ------------------------------------------------------------------------------------------------
# 1-6: processes that exit, hang, eat memory, fork or flood
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_os_exit_at_import(guard, suite_map, mode):
    graded = guard.grade(guard.submission("os_exit_at_import"), mode)
    ex = graded.exercise
    assert ex.status == "error" and "could not be loaded" in ex.message, ex.message
    assert "hostile:os_exit_at_import ran" in ex.output
    assert_contained(graded, guard, suite_map, "all")


@pytest.mark.parametrize("mode", MODES)
def test_sys_exit_and_keyboard_interrupt_in_calls(guard, suite_map, mode):
    graded = guard.grade(guard.submission("sys_exit_in_call"), mode)
    assert "SystemExit" in graded.outcome("test_relu_values").message
    assert "KeyboardInterrupt" in graded.outcome("test_step_values").message
    assert_contained(graded, guard, suite_map, ["relu", "step"])


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_infinite_loop(guard, suite_map, short_limits, mode):
    ex = short_limits()
    graded = guard.grade(guard.submission("infinite_loop"), mode)
    messages = " ".join(t.message for t in graded.exercise.tests)
    assert "did not finish within" in messages
    # the budget caps the exercise; the rest is worker restarts and the other tests
    assert_contained(graded, guard, suite_map, ["relu"], others_pass=False,
                     bound=ex.time_budget + 20)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_memory_bomb(guard, suite_map, mode):
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    graded = guard.grade(guard.submission("memory_bomb"), mode)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert "hostile:memory_bomb allocating" in graded.exercise.output
    assert grown_mib < 300, f"the grader's own memory grew by {grown_mib:.0f} MiB"
    assert_contained(graded, guard, suite_map, ["relu"], others_pass=False)


@pytest.mark.parametrize("mode", MODES)
def test_fork_bomb(guard, suite_map, mode, request):

    # a small process limit keeps the attack light on a shared machine
    graded = guard.grade(guard.submission("fork_bomb", forks=40), mode,
                         limits=Limits(max_processes=16))
    assert "hostile:fork_bomb" in graded.exercise.output
    assert_contained(graded, guard, suite_map, ["relu"])


@pytest.mark.parametrize("mode", MODES)
def test_output_flood(guard, suite_map, mode):
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    graded = guard.grade(guard.submission("output_flood"), mode)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    output = graded.exercise.output
    assert "hostile:output_flood done" in output          # the tail is kept
    assert len(output) <= Limits().output_bytes + 1_000  # head + tail + the note, no more
    assert len(graded.texts["result.json"]) < 1 << 20
    assert len(graded.texts["report.html"]) < 2 << 20
    assert grown_mib < 200, f"the grader's own memory grew by {grown_mib:.0f} MiB"
    assert_contained(graded, guard, suite_map, ["relu"])


def test_output_flood_report_says_output_was_cut(guard):
    graded = guard.grade(guard.submission("output_flood"), DEFAULT_MODE)
    assert "of output not kept" in graded.exercise.output  # the report says it was cut


# ------------------------------------------------------------------------------------------------
# 7-9: lying values and tampering inside the worker
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_monkeypatching_the_checks_earns_nothing(guard, suite_map, wrong_baseline, mode):
    graded = guard.grade(guard.submission("monkeypatch_numpy_testing"), mode)
    if mode == "bubblewrap":  # the worker's view holds the worker-side modules only
        assert "hostile:monkeypatch patched numpy, numpy.testing, builtins, grader.wire\n" \
            in graded.exercise.output
        assert "could not import grader.checks" in graded.exercise.output
    else:
        assert ("hostile:monkeypatch patched numpy, numpy.testing, builtins, grader.wire, "
                "grader.checks") in graded.exercise.output
    assert_contained(graded, guard, suite_map, wrong_baseline, others_pass=False)


def test_worker_copies_are_removed_after_restarts(guard):
    """Every restart made a fresh copy of the submission, and only the last one was removed
    (fixed): leftovers in the temp folder are the student's files, owned by a worker uid."""
    # its forged floats are a protocol violation: the worker is killed and restarted
    graded = guard.grade(guard.submission("monkeypatch_numpy_testing"), DEFAULT_MODE)
    assert "sent back data the grader cannot accept" in " ".join(
        t.message for t in graded.exercise.tests)
    assert guard.leaked_copies() == []


@pytest.mark.parametrize("mode", MODES)
def test_always_equal_objects_earn_nothing(guard, suite_map, mode):
    graded = guard.grade(guard.submission("always_equal"), mode)
    assert not [t for t in graded.exercise.tests if t.outcome == "error"], \
        "a lying object tripped a check instead of failing it"
    # neuron_forward/dense_forward call the lying activations and so return lying objects
    # themselves: the tests of those compositions fail on their own (no "untouched" claim)
    assert_contained(graded, guard, suite_map, ["relu", "sigmoid", "tanh", "step"],
                     others_pass=False)


@pytest.mark.parametrize("mode", MODES)
def test_reduce_payload_is_never_unpickled(guard, suite_map, mode, tmp_path):
    submission = guard.submission("reduce_payload")
    # the payload is live: unpickling relu()'s result outside the sandbox creates the file
    control_path = tmp_path / "control-pwned"
    guard.write_params(submission, pwned_path=str(control_path))
    unpickle = ("import importlib.util, pickle; "
                "s = importlib.util.spec_from_file_location('n', 'neuron.py'); "
                "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); "
                "pickle.loads(pickle.dumps(m.relu(0)))")
    subprocess.run([sys.executable, "-c", unpickle], cwd=submission, check=True)
    assert control_path.exists()
    pwned = Path(tempfile.gettempdir()) / f"pwned-{guard.token}"
    guard.write_params(submission, pwned_path=str(pwned))
    graded = guard.grade(submission, mode)
    assert not pwned.exists()
    assert_contained(graded, guard, suite_map, ["relu", "sigmoid", "tanh"])


# ------------------------------------------------------------------------------------------------
# 10-13: forging results, stealing secrets and hidden files, the network
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_forged_results_are_ignored(guard, suite_map, mode, request):
    skip_documented_gap(mode, "overwrite the grader's own output")
    submission = guard.submission("forged_results")
    graded = guard.cli(submission, mode)
    # the grade itself: the files in --out are the grader's, whatever the mode
    assert guard.token not in graded.texts["result.json"]
    assert guard.token not in graded.texts["report.html"]
    assert graded.result.score < suite_map["full"].score
    full = suite_map["full"]
    assert f"{len(suite_map['all'])} passed" not in graded.texts["stdout"]
    assert re.match(rf"{submission.name}: [\d.]+/{full.max_score:g} ", graded.texts["stdout"])
    assert "hostile:forged_results (import)" in graded.exercise.output
    assert_contained(graded, guard, suite_map, ["relu"])


@pytest.mark.parametrize("mode", MODES)
def test_secrets_never_reach_any_output(guard, suite_map, mode, request):
    skip_documented_gap(mode, "read the environment (secrets) of other processes")
    graded = guard.cli(guard.submission("read_secrets"), mode)
    assert "hostile:read_secrets scanned" in graded.exercise.output
    assert_contained(graded, guard, suite_map, ["relu", "sigmoid"])


@pytest.mark.parametrize("mode", MODES)
def test_hidden_files_stay_hidden(guard, suite_map, mode):
    from grader import datasets

    paths = [SUITE, SOLUTION, PROJECT_ROOT / "tests", datasets.ATTRITION_CSV,
             assignment.SUITES_DIR]
    graded = guard.grade(guard.submission("read_hidden", paths=[str(p) for p in paths]), mode)
    if mode == "reduced":
        notes = " ".join(graded.result.sandbox["notes"])
        assert "not hidden" in notes, notes
        pytest.skip("reduced mode cannot hide files from student code; its sandbox notes say "
                    "so: " + notes)
    assert graded.exercise.output.count("hostile:read_hidden") >= len(paths)
    assert "hostile:read_hidden read " + str(SUITE) not in graded.exercise.output
    assert_contained(graded, guard, suite_map, ["relu", "sigmoid"])


class Listeners:
    """A TCP listener on 127.0.0.1 and an abstract Unix socket that count connections."""

    def __init__(self, token: str):
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.abstract = f"hostile-{token}"
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind("\0" + self.abstract)
        self.unix.listen()
        self.accepted: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve, args=(s, k), daemon=True)
                         for s, k in ((self.tcp, "tcp"), (self.unix, "unix"))]
        for t in self._threads:
            t.start()

    def _serve(self, sock, kind):
        sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(kind)
            conn.close()

    def close(self):
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self.tcp.close()
        self.unix.close()


@pytest.mark.parametrize("mode", MODES)
def test_no_network(guard, suite_map, mode):
    if mode == "reduced" and not IS_ROOT:
        pytest.skip("reduced mode cuts the network only when the grader runs as root")
    listeners = Listeners(guard.token)
    try:
        submission = guard.submission("network", port=listeners.port,
                                      abstract=listeners.abstract)
        # the attack works outside a sandbox: both listeners hear from it
        phone_home = ("import importlib.util; "
                      "s = importlib.util.spec_from_file_location('n', 'neuron.py'); "
                      "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); "
                      "m.phone_home()")
        subprocess.run([sys.executable, "-c", phone_home], cwd=submission, check=True,
                       capture_output=True)
        deadline = time.monotonic() + 5
        while len(listeners.accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(listeners.accepted) == ["tcp", "unix"]
        listeners.accepted.clear()
        graded = guard.grade(submission, mode)
        time.sleep(0.5)
        assert listeners.accepted == [], f"the sandboxed worker connected: {listeners.accepted}"
        assert "hostile:network no connection" in graded.exercise.output
    finally:
        listeners.close()
    assert_contained(graded, guard, suite_map, ["relu"])


# ------------------------------------------------------------------------------------------------
# 14-18: the report, pytest configuration, links, slow imports, module shadowing
# ------------------------------------------------------------------------------------------------
class ElementCollector(html.parser.HTMLParser):
    """Elements, attributes and text of an HTML page, as a browser's parser would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, k, v or "") for k, v in attrs]

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def parse_html(text: str) -> ElementCollector:
    parser = ElementCollector()
    parser.feed(text)
    parser.close()
    return parser


@pytest.mark.parametrize("mode", [MODES[0]])
def test_html_injection_stays_text(guard, suite_map, mode):
    submission = guard.submission("html_injection", name="neuron_<img src=x onerror=alert(5)>")
    graded = guard.grade(submission, mode)
    page = parse_html(graded.texts["report.html"])
    # the same result with every angle bracket defanged: any element the student added is
    # the difference between the two pages
    defanged = json.loads(graded.texts["result.json"].replace("<", "\u2039")
                          .replace(">", "\u203a"))
    baseline = parse_html(write_report(Result.from_dict(defanged), guard.tmp / "baseline")
                          .read_text())
    text = "".join(page.text)
    for shown in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                  "<svg onload=alert(2)>", "onerror=alert(5)"):
        assert shown in text, f"{shown!r} should appear in the report as text"
    handlers = [a for a in page.attributes if a[1].lower().startswith("on")]
    assert not handlers, f"event-handler attributes in the report: {handlers}"
    scripted = [a for a in page.attributes if "javascript:" in a[2].lower()]
    assert not scripted, f"javascript: URLs in the report: {scripted}"
    assert sorted(page.tags) == sorted(baseline.tags), "the student added elements to the report"
    assert "script" not in page.tags and "style" not in set(page.tags) - set(baseline.tags)
    assert_contained(graded, guard, suite_map, ["relu", "sigmoid", "tanh", "step"])


@pytest.mark.parametrize("mode", MODES)
def test_conftest_and_pytest_ini_are_ignored(guard, suite_map, wrong_baseline, mode):
    marker = guard.canary / f"conftest-loaded-{guard.token}"
    submission = guard.submission("conftest_injection", marker_file=str(marker))
    assert (submission / "conftest.py").is_file() and (submission / "pytest.ini").is_file()
    graded = guard.grade(submission, mode)
    assert not marker.exists(), marker.read_text()
    assert_contained(graded, guard, suite_map, wrong_baseline)


@pytest.mark.parametrize("mode", [MODES[0]])
def test_conftest_ignored_when_grading_from_inside_the_submission(guard, suite_map,
                                                                  wrong_baseline, mode):
    marker = guard.canary / f"conftest-loaded-{guard.token}"
    submission = guard.submission("conftest_injection", marker_file=str(marker))
    graded = guard.cli(Path("."), mode, cwd=submission, out=guard.tmp / "out")
    assert not marker.exists(), marker.read_text()
    assert_contained(graded, guard, suite_map, wrong_baseline)


@pytest.mark.parametrize("mode", MODES)
def test_symlinks_out_of_the_submission_are_not_followed(guard, suite_map, mode, tmp_path):
    other = tmp_path / "submissions" / "other_student" / "neuron.py"
    other.parent.mkdir(parents=True)
    other.write_text(f"# OTHER-STUDENT-{guard.token}\n" + SOLUTION.read_text())
    submission = guard.submission("symlink_escape", parent="submissions/cohort")
    (submission / "data.txt").symlink_to("/etc/passwd")
    (submission / "other.py").symlink_to("../../other_student/neuron.py")
    assert f"OTHER-STUDENT-{guard.token}" in (submission / "other.py").read_text()
    guard.snapshots["submission symlink_escape"] = (submission, tree_snapshot(submission))
    graded = guard.grade(submission, mode)
    assert "hostile:symlink_escape found 0 linked files" in graded.exercise.output
    everything = "\n".join(graded.texts.values())
    assert f"OTHER-STUDENT-{guard.token}" not in everything
    assert "root:x:0:0" not in everything
    assert_contained(graded, guard, suite_map, None, full=True)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_slow_import(guard, suite_map, short_limits, mode):
    ex = short_limits(time_budget=8.0)
    graded = guard.grade(guard.submission("slow_import"), mode)
    assert graded.exercise.status == "error"
    assert "could not be loaded" in graded.exercise.message
    assert "hostile:slow_import sleeping" in graded.exercise.output
    assert_contained(graded, guard, suite_map, "all", bound=ex.time_budget + 20)


@pytest.mark.parametrize("mode", MODES)
def test_submission_cannot_shadow_the_worker(guard, suite_map, mode, request):
    graded = guard.grade(guard.submission("worker_shadowing"), mode)
    assert "hostile:worker_shadowing" not in graded.exercise.output, \
        "the submission's grader/__init__.py ran: " + graded.exercise.output[:300]
    assert_contained(graded, guard, suite_map, None, full=True)


def test_grading_from_inside_the_submission_imports_none_of_its_modules(guard, suite_map):
    marker = guard.canary / f"shadow-imported-{guard.token}"
    submission = guard.submission("cwd_shadowing", marker_file=str(marker))
    graded = guard.cli(Path("."), DEFAULT_MODE, cwd=submission)
    assert not marker.exists(), "the grader imported the submission's numpy.py: " + \
        marker.read_text()
    assert_contained(graded, guard, suite_map, None, full=True)
