"""``grader batch --cluster`` on a local dask cluster: scheduling overhead and throughput.

    python bench/cluster_throughput.py [--noop 1000] [--real 20] [--workers 1 2] [--quick]

A simulated class of ``--noop`` numpy-only submissions (each a folder with the reference
``neuron.py`` and ``perceptron.py``) goes through the cluster path of ``grader batch`` —
pack the submission, one dask task per submission, the result folder sent back and written,
the gradebook — with a task that does not grade: it unpacks the submission and returns a
ready-made result folder (the reference's own result.json, graded once before the run).
Beside it, the same number of bare dask tasks that do nothing but return. Their wall time per
submission is the price of the cluster itself. Then ``--real`` submissions of the same class
are graded for real (``grader batch --cluster ADDRESS --exercise neuron --exercise
perceptron``, a sandboxed grading process each) with 1 and 2 worker processes (one thread
each), for the throughput curve.

Grading 1,000 submissions for real would take about an hour on 2 cores; the overhead is
measured at 1,000, the gradings at ``--real`` (20 by default), and the table says so. On a
2-core machine the curve cannot go past 2 workers: a grading is CPU-bound, so throughput is
bounded by the cores, not by dask.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXERCISES = ["--exercise", "neuron", "--exercise", "perceptron"]


def make_class(root: Path, n: int) -> None:
    files = {name: (ROOT / "solutions" / f"{name}.py").read_text()
             for name in ("neuron", "perceptron")}
    for i in range(n):
        folder = root / f"student_{i:04d}"
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / f"{name}.py").write_text(text)


def result_folder(sample: Path) -> bytes:
    """A real graded submission's folder as the tar a task returns."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for path in sorted(sample.iterdir()):
            tar.add(str(path), arcname=path.name)
    return buffer.getvalue()


def make_noop_task(files: bytes):
    """A task with the real one's inputs and reply, and no grading (shipped by value)."""
    def noop_grading(sub, payload, options):
        from grader import cluster

        with tempfile.TemporaryDirectory() as tmp:
            cluster._materialize(sub, payload, Path(tmp))
        return {"ok": True, "seconds": 0.0, "text": "not graded", "files": files,
                "host": "bench"}
    return noop_grading


def nothing() -> None:
    return None


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare_tasks(client, n: int) -> float:
    started = time.perf_counter()
    futures = client.map(lambda i: None, range(n), pure=False)
    client.gather(futures)
    return time.perf_counter() - started


def pipeline_noop(client, address: str, classroom: Path, out: Path, files: bytes) -> float:
    from grader import batch, cluster

    subs, _ = batch.discover(classroom)
    options = batch.Options(out=out, jobs=1, threads=1, timeout=600.0,
                            exercises=["neuron", "perceptron"], sandbox=None, deadline=None)
    out.mkdir(parents=True)
    started = time.perf_counter()
    progress = batch.Progress(len(subs), False)
    with open(os.devnull, "w") as devnull:
        stderr, sys.stderr = sys.stderr, devnull
        try:
            outcomes = cluster.run_all(options, subs, progress, address,
                                       task=make_noop_task(files), client=client)
        finally:
            sys.stderr = stderr
    from grader import gradebook

    rows = gradebook.collect([out])
    gradebook.write_outputs(rows, out)
    wall = time.perf_counter() - started
    assert len(outcomes) == len(subs) and all(o.ok for o in outcomes), "a no-op task failed"
    assert len(rows) == len(subs)
    return wall


def real_batch(address: str, classroom: Path, out: Path) -> tuple[float, float]:
    cpu = cpu_children()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", "batch", str(classroom), "--out",
                           str(out), "--cluster", address, *EXERCISES, "--no-progress"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"grader batch --cluster failed:\n{done.stderr[-3000:]}")
    return wall, cpu_children() - cpu


def local_batch(classroom: Path, out: Path, jobs: int) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", "batch", str(classroom), "--out",
                           str(out), "--jobs", str(jobs), *EXERCISES, "--no-progress"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"grader batch failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--noop", type=int, default=1000, help="simulated class size")
    parser.add_argument("--real", type=int, default=20, help="submissions graded for real")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--quick", action="store_true", help="--noop 100 --real 4")
    args = parser.parse_args()
    if args.quick:
        args.noop, args.real = 100, 4
    from distributed import Client, LocalCluster

    cores = len(os.sched_getaffinity(0))
    work = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    try:
        big, small = work / "class-big", work / "class-real"
        make_class(big, args.noop)
        make_class(small, args.real)
        sample_out = work / "sample"
        make_class(work / "class-one", 1)
        local_batch(work / "class-one", sample_out, 1)
        files = result_folder(next(p for p in sorted(sample_out.iterdir()) if p.is_dir()))
        print(f"{cores} cores; load average before: {os.getloadavg()[0]:.2f}; "
              f"{args.noop} simulated submissions, {args.real} graded for real "
              f"(neuron + perceptron)", flush=True)
        rows = []
        for n_workers in args.workers:
            with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                              dashboard_address=None, silence_logs=40) as lc, \
                    Client(lc) as client:
                client.run(lambda: __import__("grader.cluster"))   # warm the workers
                bare = bare_tasks(client, args.noop)
                noop = pipeline_noop(client, lc.scheduler_address, big,
                                     work / f"noop-w{n_workers}", files)
            # a cluster of its own: the CPU time of its workers and their gradings is
            # counted when they exit (RUSAGE_CHILDREN covers every waited-for descendant)
            cpu = cpu_children()
            with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                              dashboard_address=None, silence_logs=40) as lc:
                real, _ = real_batch(lc.scheduler_address, small, work / f"real-w{n_workers}")
            cpu = cpu_children() - cpu
            rows.append((n_workers, bare, noop, real, cpu))
            print(f"  {n_workers} worker(s): bare tasks {bare:.1f} s, no-op gradings "
                  f"{noop:.1f} s, real gradings {real:.1f} s", flush=True)
        local = local_batch(small, work / "local-j2", min(2, cores))
        print(f"\n| workers | bare dask task, per submission (ms) | cluster path without "
              f"grading, per submission (ms) | {args.real} real gradings: wall (s) | per "
              f"submission (s) | submissions / min | CPU time, all processes (s) |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for n_workers, bare, noop, real, cpu in rows:
            print(f"| {n_workers} | {1000 * bare / args.noop:.2f} | {1000 * noop / args.noop:.2f} "
                  f"| {real:.1f} | {real / args.real:.2f} | {60 * args.real / real:.1f} "
                  f"| {cpu:.1f} |")
        first = rows[0][3]
        for n_workers, *_rest in rows[1:]:
            print(f"\nspeed-up {n_workers} workers / {rows[0][0]}: {first / _rest[2]:.2f}x")
        print(f"local `grader batch --jobs {min(2, cores)}` of the same {args.real}: "
              f"{local:.1f} s ({local / args.real:.2f} s per submission)")
        overhead = statistics.median(noop / args.noop for _, _, noop, _, _ in rows)
        real_per = statistics.median(real / args.real for *_x, real, _ in rows)
        print(f"cluster overhead per submission: {1000 * overhead:.1f} ms, "
              f"{100 * overhead / real_per:.1f} % of a real grading's wall share "
              f"({real_per:.2f} s)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
