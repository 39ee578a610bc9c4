"""Wall time of grading the reference solutions, and where it goes.

    python bench/grade_solutions.py [--sandbox auto|bubblewrap|reduced] [--repeat N]

Grades solutions/ with the real CLI (a fresh process, as an instructor would run it) and
splits the time with the figures result.json records: worker start (process + sandbox +
imports, TensorFlow included for the Keras exercises), time inside student code, and the
grader's own overhead (pytest, suites, data loading, scoring, report). TensorFlow's import
time is measured on its own in a bare interpreter for comparison.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_tensorflow_import() -> float:
    code = "import time; t=time.perf_counter(); import keras; print(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    return float(out.stdout.strip().splitlines()[-1])


def time_report(result_json: dict) -> float:
    """Rendering report.html (figures included) from a result, in a fresh interpreter."""
    code = ("import sys, json, time; from grader.results import Result; "
            "from grader.report_html import render_report; "
            "r = Result.from_dict(json.load(sys.stdin)); t = time.perf_counter(); "
            "render_report(r); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(result_json),
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def time_cli_start() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "--help"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def grade_once(sandbox: str) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "grade", str(ROOT / "solutions"),
                        "--out", tmp, "--sandbox", sandbox], check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        return wall, json.loads(Path(tmp, "result.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--repeat", type=int, default=1)
    opts = parser.parse_args()

    tf_import = time_tensorflow_import()
    runs = [grade_once(opts.sandbox) for _ in range(opts.repeat)]
    wall = statistics.median(w for w, _ in runs)
    result = runs[len(runs) // 2][1]
    print(f"sandbox: {result['sandbox']['mode']}; score {result['score']}/{result['max_score']}; "
          f"data: {result['data_sources']}")
    print("\n| exercise | wall (s) | worker start (s) | in student code (s) | grader (s) |")
    print("|---|---:|---:|---:|---:|")
    start_total = calls_total = 0.0
    for ex in result["exercises"]:
        start = ex["timings"].get("worker_start", 0.0)
        calls = ex["timings"].get("student_calls", 0.0)
        start_total += start
        calls_total += calls
        print(f"| {ex['name']} | {ex['duration']:.2f} | {start:.2f} | {calls:.2f} | "
              f"{ex['duration'] - start - calls:.2f} |")
    overhead = wall - start_total - calls_total
    print(f"| **total** | **{wall:.2f}** | {start_total:.2f} | {calls_total:.2f} | "
          f"{overhead:.2f} |")
    import targets

    targets.report("full_submission", f"one submission of all {len(result['exercises'])} "
                   "exercises (`grader grade solutions`)", wall, "<=", 60.0, unit="s",
                   detail=f"median of {opts.repeat}: "
                   + ", ".join(f"{w:.1f}" for w, _ in runs) + " s")
    print(f"\nTensorFlow/Keras import in a bare interpreter: {tf_import:.2f} s "
          f"(paid once per Keras exercise's worker, inside 'worker start').")
    print(f"Grader overhead (process start, pytest, suites' own work, scoring, report): "
          f"{overhead:.2f} s = {overhead / wall:.0%} of the wall time, of which:")
    suites_outside = result["timings"]["suites"] - sum(e["duration"] for e in result["exercises"])
    print(f"  - CLI start (interpreter + grader imports): {time_cli_start():.2f} s")
    print(f"  - pytest collection, data loading and fixtures outside exercises: "
          f"{suites_outside:.2f} s")
    print(f"  - rendering report.html with its figures: {time_report(result):.2f} s")


if __name__ == "__main__":
    main()
