"""Every benchmark of docs/BENCHMARKS.md, one after the other: ``make bench``.

    python bench/run_all.py [--quick] [--only NAME ...] [--out FILE]

Prints the machine (cores, CPU, memory, load average before each benchmark: the machine is
shared and noisy, so each benchmark measures its ratios within its own run), then each
benchmark's own output under a heading, as Markdown, and last the table of every target the
benchmarks measured (bench/targets.py), each marked met or missed. ``--quick`` runs every
benchmark with fewer repeats and smaller batches (a smoke run, ~5 minutes instead of ~30);
``--out`` also writes the report to FILE. A benchmark that fails is reported and the others still run; the
exit status is 1 if any failed.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import targets  # noqa: E402  (bench/targets.py, next to this script)

# name -> (script, arguments, arguments with --quick)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "grade_solutions": ("grade_solutions.py", ["--repeat", "3"], ["--repeat", "1"]),
    "bare_vs_graded": ("bare_vs_graded.py", ["--repeat", "3"], ["--repeat", "1"]),
    "notebook_vs_py": ("notebook_vs_py.py", ["--repeat", "3"], ["--repeat", "1"]),
    "batch_scaling": ("batch_scaling.py", [], ["--copies", "4", "--keras", "1"]),
    # grader batch with the warm pool on and off, against the bare run of the same calls
    "pool_batch": ("pool_batch.py", ["--repeat", "3"],
                   ["--copies", "1", "--keras", "1", "--repeat", "1"]),
    # nbgrader and Otter-Grader (bench/otter_compare.py) on the same 8 submissions
    "nbgrader_compare": ("nbgrader_compare.py", ["--n", "8"], ["--quick"]),
    "cluster_throughput": ("cluster_throughput.py", [], ["--quick"]),
}


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    mem = next((int(line.split()[1]) / 2**20 for line in
                Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0.0)
    versions = []
    for dist in ("tensorflow-cpu", "keras", "numpy", "scikit-learn"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    return [f"- date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
            f"- machine: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, "
            f"{platform.system()} {platform.machine()}",
            f"- Python {platform.python_version()}, {', '.join(versions)}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller batches")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME",
                        help=f"run only these ({', '.join(BENCHMARKS)})")
    parser.add_argument("--out", metavar="FILE", help="also write the report here")
    opts = parser.parse_args(argv)

    lines = ["# Benchmark run", "", *machine(), ""]
    print("\n".join(lines), flush=True)
    failed = []
    measured: list[targets.Target] = []
    started = time.perf_counter()
    for name in opts.only or BENCHMARKS:
        script, args, quick = BENCHMARKS[name]
        args = quick if opts.quick else args
        command = [sys.executable, str(BENCH / script), *args]
        load = os.getloadavg()[0]
        head = [f"## {name}", "", f"`python bench/{script} {' '.join(args)}` "
                f"(load average before: {load:.2f})", "", "```"]
        print("\n".join(head), flush=True)
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        body = done.stdout.rstrip().splitlines()
        measured += targets.parse(body)
        body = [line for line in body if not line.startswith(targets.PREFIX)]
        if done.returncode != 0:
            failed.append(name)
            body += [f"FAILED with exit status {done.returncode}:",
                     *done.stderr.rstrip().splitlines()[-15:]]
        tail = ["```", "", f"({time.perf_counter() - t0:.0f} s)", ""]
        print("\n".join(body + tail), flush=True)
        lines += head + body + tail
    total = f"All benchmarks: {time.perf_counter() - started:.0f} s" + (
        f"; failed: {', '.join(failed)}" if failed else "")
    summary = ["## Targets", "", *targets.table(measured), "", total] if measured else [total]
    print("\n".join(summary))
    lines += summary
    if opts.out:
        Path(opts.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
