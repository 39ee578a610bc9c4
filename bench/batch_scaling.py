"""How ``grader batch`` scales with --jobs, and how much memory parallel gradings take.

    python bench/batch_scaling.py [--copies 8] [--keras 2] [--jobs 1 2] [--sandbox MODE]

Builds one class in a temporary folder: ``--copies`` submissions holding the numpy/sklearn
solutions (neuron, backprop, perceptron, circles) and ``--keras`` more that also hold
mnist_ann, so a few gradings train a real Keras model. The class is graded with
``--exercise neuron backprop perceptron circles mnist_ann`` once per --jobs value, each into
a fresh output folder, and the script prints wall times, the speed-up over the first --jobs
value, and memory: the peak RSS of the largest single process (getrusage of the batch's
descendants, i.e. one grading process or sandboxed worker) and the peak summed RSS of the
whole process tree, sampled from /proc every 0.25 s (what N parallel gradings need in RAM).
CPU time (user + system of every process of the batch) tells whether a poor speed-up comes
from the batch or from a machine that was busy with something else.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHT = ("neuron", "backprop", "perceptron", "circles")
EXERCISES = (*LIGHT, "mnist_ann")
PAGE = os.sysconf("SC_PAGE_SIZE")

# Runs one batch and reports the largest descendant's peak RSS: RUSAGE_CHILDREN of a fresh
# interpreter covers exactly that batch's process tree (every level waits for its children).
_WRAPPER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime, code)
"""


def batch_command() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from grader import cli

    parser = cli.build_parser()
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return ["-m", "grader", "batch"] if "batch" in commands else ["-m", "grader.batch", "batch"]


def make_class(root: Path, copies: int, keras: int) -> None:
    for i in range(copies + keras):
        sub = root / f"student{i + 1:02d}"
        sub.mkdir(parents=True)
        for name in LIGHT + (("mnist_ann",) if i >= copies else ()):
            shutil.copy(ROOT / "solutions" / f"{name}.py", sub)


def _tree_rss(root_pid: int) -> int:
    """Summed resident memory of ``root_pid`` and all its descendants, in bytes."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry.name}/statm") as fh:
                resident = int(fh.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        parents[int(entry.name)] = int(fields[1])
        rss[int(entry.name)] = resident
    total = 0
    for pid in rss:
        p = pid
        while p and p != root_pid:
            p = parents.get(p, 0)
        if p == root_pid:
            total += rss[pid]
    return total


def run_batch(source: Path, out: Path, jobs: int, sandbox: str | None) -> dict:
    cmd = [sys.executable, "-c", _WRAPPER, sys.executable, *batch_command(), str(source),
           "--out", str(out), "--jobs", str(jobs), "--no-progress"]
    for name in EXERCISES:
        cmd += ["--exercise", name]
    if sandbox:
        cmd += ["--sandbox", sandbox]
    peak_tree, stop = [0], threading.Event()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)

    def sample() -> None:
        while not stop.wait(0.25):
            peak_tree[0] = max(peak_tree[0], _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    maxrss, cpu, code = output.split()
    maxrss_kib, cpu, code = int(maxrss), float(cpu), int(code)
    if code != 0:
        raise SystemExit(f"the batch with --jobs {jobs} exited with status {code}")
    rows = (out / "gradebook.csv").read_text().splitlines()[1:]
    return {"jobs": jobs, "wall": wall, "max_process_rss": maxrss_kib * 1024,
            "peak_tree_rss": peak_tree[0], "rows": len(rows), "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=8, help="numpy/sklearn-only submissions")
    parser.add_argument("--keras", type=int, default=2, help="submissions with mnist_ann too")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sandbox", choices=("auto", "bubblewrap", "reduced"))
    args = parser.parse_args()

    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores; load average before: {os.getloadavg()[0]:.2f}; class: "
          f"{args.copies} x ({', '.join(LIGHT)}) + {args.keras} x (the same + mnist_ann)")
    results = []
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        source = Path(tmp) / "class"
        make_class(source, args.copies, args.keras)
        for jobs in args.jobs:
            r = run_batch(source, Path(tmp) / f"out-j{jobs}", jobs, args.sandbox)
            results.append(r)
            print(f"--jobs {jobs}: {r['wall']:.1f} s for {r['rows']} submissions "
                  f"({r['wall'] / r['rows']:.1f} s each); threads per grading "
                  f"{max(1, cores // jobs)}", flush=True)
    base = results[0]
    print()
    print("| --jobs | wall (s) | speed-up | CPU time (s) | cores busy | largest process RSS (MiB) "
          "| peak tree RSS (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['jobs']} | {r['wall']:.1f} | {base['wall'] / r['wall']:.2f}x | "
              f"{r['cpu']:.1f} | {r['cpu'] / r['wall']:.2f} | {r['max_process_rss'] / 2**20:.0f} "
              f"| {r['peak_tree_rss'] / 2**20:.0f} |")
    print("\ncores busy = CPU time of the batch's processes / wall time; below --jobs means the "
          "gradings waited (on the machine's other load, on I/O, or on each other).")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
