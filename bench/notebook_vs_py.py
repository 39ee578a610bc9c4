"""Grading the same code as notebooks and as .py files, in one run.

    python bench/notebook_vs_py.py [--exercise NAME ...] [--repeat N]

The notebook version of each reference solution has one code cell per top-level statement
group (imports, each function or class), as a student's notebook would. Both versions are
graded with the real CLI, alternating, and the ratio of median wall times is printed.
"""
from __future__ import annotations

import argparse
import ast
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from grader.assignment import EXERCISE_NAMES  # noqa: E402


def as_notebook(source: str, name: str) -> nbformat.NotebookNode:
    tree = ast.parse(source)
    lines = source.splitlines()
    cells = [nbformat.v4.new_markdown_cell(f"# {name}")]
    for node in tree.body:
        start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None)
                 else node.lineno)
        cells.append(nbformat.v4.new_code_cell("\n".join(lines[start - 1:node.end_lineno])))
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nb


def grade(submission: Path, exercises: list[str]) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as out:
        args = [a for e in exercises for a in ("--exercise", e)]
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "grade", str(submission), "--out", out,
                        *args], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0, json.loads(Path(out, "result.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exercise", action="append", choices=EXERCISE_NAMES)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    exercises = opts.exercise or list(EXERCISE_NAMES)
    with tempfile.TemporaryDirectory() as tmp:
        py_dir, nb_dir = Path(tmp, "py"), Path(tmp, "nb")
        py_dir.mkdir()
        nb_dir.mkdir()
        for name in exercises:
            source = (ROOT / "solutions" / f"{name}.py").read_text()
            (py_dir / f"{name}.py").write_text(source)
            nbformat.write(as_notebook(source, name), nb_dir / f"{name}.ipynb")
        py_times, nb_times = [], []
        for _ in range(opts.repeat):  # alternate so drift in machine load hits both alike
            t, py_result = grade(py_dir, exercises)
            py_times.append(t)
            t, nb_result = grade(nb_dir, exercises)
            nb_times.append(t)
    assert py_result["score"] == nb_result["score"], "the two versions scored differently"
    py, nb = statistics.median(py_times), statistics.median(nb_times)
    print(f"exercises: {', '.join(exercises)}; score {nb_result['score']}/"
          f"{nb_result['max_score']} both ways; {opts.repeat} runs each, alternating")
    print(f".py      median {py:6.2f} s  ({', '.join(f'{t:.2f}' for t in py_times)})")
    print(f".ipynb   median {nb:6.2f} s  ({', '.join(f'{t:.2f}' for t in nb_times)})")
    import targets

    targets.report("notebook_vs_py", "a notebook / the same code as `.py` (`grader grade`)",
                   nb / py, "<=", 1.15, detail=f"medians of {opts.repeat} alternated runs: "
                   f"{nb:.1f} s / {py:.1f} s")
    for ex_py, ex_nb in zip(py_result["exercises"], nb_result["exercises"]):
        print(f"  {ex_py['name']:<11} worker start {ex_py['timings'].get('worker_start', 0):5.2f}"
              f" s -> {ex_nb['timings'].get('worker_start', 0):5.2f} s (notebook executes "
              f"its cells during start)")


if __name__ == "__main__":
    main()
