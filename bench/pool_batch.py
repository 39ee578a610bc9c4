"""What the warm pool saves in ``grader batch``: pool on, pool off, and the bare run of the same
student calls, alternated in one invocation.

    python bench/pool_batch.py [--copies 3] [--keras 1] [--repeat 2] [--jobs 1 2]
    python bench/pool_batch.py --grade [--repeat 2]    # one `grader grade solutions` instead

The class is bench/batch_scaling.py's: ``--copies`` submissions with the numpy/sklearn
solutions (neuron, backprop, perceptron, circles) and ``--keras`` more with mnist_ann too. Each
repeat grades it with ``--pool`` and ``--no-pool`` (alternating which goes first) and runs the
bare calls: one fresh plain Python process per submission making the expensive calls the
suites make (what each student's own run of their code costs). Medians of the repeats are
compared; CPU time (user + system of every process, workers included) is given beside wall
time, and the load average before each run, because the machine is shared.

It also measures the grading process's fixed costs (grader.pool.warm_grader, in a fresh
process): imports, the first and a second pytest collection of the suites, the datasets, the
report's plotting stack — what a standby grading process pays before its submission arrives.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from batch_scaling import _WRAPPER, batch_command, make_class  # noqa: E402

EXERCISES = ("neuron", "backprop", "perceptron", "circles", "mnist_ann")

BARE_LIGHT = r'''
import importlib.util, time
import numpy as np
def load(name):
    spec = importlib.util.spec_from_file_location(name, f"{ROOT}/solutions/{name}.py")
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    return module
neuron, backprop, perceptron, circles = (load(n) for n in ("neuron", "backprop", "perceptron",
                                                           "circles"))
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2)); y = (X[:, 0] * X[:, 1] > 0).astype(int)
backprop.train(X, y, n_hidden=16, lr=0.5, epochs=2000, seed=0)
perceptron.Perceptron(epochs=10).fit(np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), np.array([0, 0, 0, 1]))
Xc, yc = circles.make_data()
circles.accuracy_by_hidden(Xc, yc)
circles.decision_grid(circles.fit_mlp(Xc, yc, 8), Xc)
'''
BARE_KERAS = BARE_LIGHT + r'''
from grader import datasets
mnist_ann = load("mnist_ann")
data = datasets.load_mnist()
Xm, Ym = mnist_ann.preprocess(data.x_train, data.y_train)
model = mnist_ann.build_model(); mnist_ann.train(model, Xm, Ym)
model.predict(mnist_ann.preprocess(data.x_test, np.zeros(len(data.x_test), int))[0], verbose=0)
'''
CPU_OF = """
import os, resource, subprocess, sys, uuid
# CPU of the whole tree, workers included: a cpuacct cgroup of its own where the machine has
# one (a killed sandbox's processes are never waited for, so getrusage would miss them)
base, cg = "/sys/fs/cgroup/cpuacct", None
try:
    cg = os.path.join(base, "pool-bench-" + uuid.uuid4().hex[:8])
    os.mkdir(cg)
    with open(os.path.join(cg, "cgroup.procs"), "w") as fh:
        fh.write(str(os.getpid()))
except OSError:
    cg = None
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if cg:
    with open(os.path.join(cg, "cpuacct.usage")) as fh:
        cpu = int(fh.read()) / 1e9
    with open(os.path.join(base, "cgroup.procs"), "w") as fh:
        fh.write(str(os.getpid()))
    try:
        os.rmdir(cg)
    except OSError:
        pass
else:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = u.ru_utime + u.ru_stime
print(cpu, code)
"""

FIXED = r'''
import json, time
t0 = time.perf_counter()
from grader import pool
if COLD:
    took = {"collection_cold": pool.collection_seconds(EX)}
else:
    took = pool.warm_grader(EX)
    took["warm_total"] = time.perf_counter() - t0
    took["collection_after_warm"] = pool.collection_seconds(EX)
    took["collection_again"] = pool.collection_seconds(EX)
print(json.dumps(took))
'''


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall, CPU of the whole process tree) of ``cmd``."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CPU_OF, *cmd], capture_output=True, text=True,
                         env=env, cwd=ROOT).stdout.split()
    wall = time.perf_counter() - t0
    cpu, code = float(out[0]), int(out[1])
    if code != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} ... exited with status {code}")
    return wall, cpu


def run_batch(source: Path, out: Path, flag: str, jobs: int, env: dict) -> tuple[float, float]:
    cmd = [sys.executable, *batch_command(), str(source), "--out", str(out), "--jobs", str(jobs),
           "--no-progress", flag]
    for name in EXERCISES:
        cmd += ["--exercise", name]
    return timed(cmd, env)


def bare(script: str, env: dict) -> tuple[float, float]:
    return timed([sys.executable, "-c", script.replace("{ROOT}", str(ROOT))], env)


def fixed_costs(env: dict) -> dict:
    """Fresh processes: a cold pytest collection of the suites, then warm_grader's parts and
    the collections after it."""
    took = {}
    for cold in (True, False):
        script = f"EX = {list(EXERCISES)!r}\nCOLD = {cold}\n" + FIXED
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, cwd=ROOT, check=True).stdout
        took.update(json.loads(out.strip().splitlines()[-1]))
    return took


def one_submission(repeat: int, env: dict) -> None:
    """``grader grade solutions`` (every exercise) with the pool on and off, alternated,
    against bench/bare_vs_graded.py's bare run of the same calls."""
    from bare_vs_graded import BARE, exercise_args

    runs: dict[str, list[tuple[float, float]]] = {"pool": [], "no-pool": [], "bare": []}
    loads = []
    with tempfile.TemporaryDirectory(prefix="pool-bench-") as tmp:
        for i in range(repeat):
            order = ("--pool", "--no-pool") if i % 2 == 0 else ("--no-pool", "--pool")
            for flag in order:
                loads.append(os.getloadavg()[0])
                runs[flag[2:]].append(timed([sys.executable, "-m", "grader", "grade",
                                             str(ROOT / "solutions"), "--out",
                                             f"{tmp}/out{flag}{i}", flag, *exercise_args()],
                                            env))
            loads.append(os.getloadavg()[0])
            runs["bare"].append(bare(BARE, env))
            print(f"  repeat {i + 1}: " + ", ".join(f"{k} {v[-1][0]:.1f} s wall "
                                                     f"{v[-1][1]:.1f} s CPU"
                                                     for k, v in runs.items()), flush=True)
    base = statistics.median(w for w, _ in runs["bare"])
    print("\n| one submission, all exercises | wall (s) | x bare | CPU (s) |")
    print("|---|---:|---:|---:|")
    for key in ("bare", "no-pool", "pool"):
        wall = statistics.median(w for w, _ in runs[key])
        cpu = statistics.median(c for _, c in runs[key])
        print(f"| {key} | {wall:.1f} | {wall / base:.2f}x | {cpu:.1f} |")
    print(f"load average before the runs: {', '.join(f'{x:.1f}' for x in loads)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grade", action="store_true",
                        help="compare one `grader grade solutions` instead of a batch")
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--keras", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                        help="--jobs values of the batch (default 1 2: the scaling target)")
    opts = parser.parse_args()
    env = {**os.environ, "GRADER_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    if opts.grade:
        return one_submission(opts.repeat, env)
    n = opts.copies + opts.keras
    print(f"{len(os.sched_getaffinity(0))} cores; class: {opts.copies} x (neuron, backprop, "
          f"perceptron, circles) + {opts.keras} x (the same + mnist_ann), --jobs "
          f"{' and '.join(map(str, opts.jobs))}; {opts.repeat} alternated repeats")
    runs: dict[str, list[tuple[float, float]]] = {"bare": []}
    loads = []
    with tempfile.TemporaryDirectory(prefix="pool-bench-") as tmp:
        source = Path(tmp) / "class"
        make_class(source, opts.copies, opts.keras)
        for i in range(opts.repeat):
            order = ("--pool", "--no-pool") if i % 2 == 0 else ("--no-pool", "--pool")
            for jobs in opts.jobs if i % 2 == 0 else opts.jobs[::-1]:
                for flag in order:
                    key = f"{flag[2:]} j{jobs}"
                    loads.append(os.getloadavg()[0])
                    runs.setdefault(key, []).append(
                        run_batch(source, Path(tmp) / f"out{flag}{jobs}-{i}", flag, jobs, env))
                    print(f"  repeat {i + 1} {flag} --jobs {jobs}: {runs[key][-1][0]:.1f} s "
                          f"wall, {runs[key][-1][1]:.1f} s CPU (load before {loads[-1]:.2f})",
                          flush=True)
            loads.append(os.getloadavg()[0])
            light, keras = bare(BARE_LIGHT, env), bare(BARE_KERAS, env)
            runs["bare"].append((opts.copies * light[0] + opts.keras * keras[0],
                                 opts.copies * light[1] + opts.keras * keras[1]))
            print(f"  repeat {i + 1} bare: {runs['bare'][-1][0]:.1f} s wall "
                  f"({light[0]:.1f} s per light submission, {keras[0]:.1f} s with mnist_ann)",
                  flush=True)
        fixed = fixed_costs(env)

    def med(key: str, k: int) -> float:
        return statistics.median(r[k] for r in runs[key])

    bare_wall = med("bare", 0)
    print()
    print("| run | wall per submission (s) | x bare | CPU per submission (s) |")
    print("|---|---:|---:|---:|")
    print(f"| bare run of the same calls (a fresh process each, one after the other) | "
          f"{bare_wall / n:.2f} | 1.00x | {med('bare', 1) / n:.2f} |")
    for jobs in opts.jobs:
        for flag in ("no-pool", "pool"):
            key = f"{flag} j{jobs}"
            print(f"| grader batch --{flag} --jobs {jobs} | {med(key, 0) / n:.2f} | "
                  f"{med(key, 0) / bare_wall:.2f}x | {med(key, 1) / n:.2f} |")
    for jobs in opts.jobs:
        print(f"\n--jobs {jobs}: pool on / pool off, wall: "
              f"{med(f'pool j{jobs}', 0) / med(f'no-pool j{jobs}', 0):.2f}x; "
              f"CPU: {med(f'pool j{jobs}', 1) / med(f'no-pool j{jobs}', 1):.2f}x")
    print(f"load average before the runs: {', '.join(f'{x:.1f}' for x in loads)}; "
          f"after: {os.getloadavg()[0]:.2f}")
    print("\nfixed costs of one grading process (grader.pool.warm_grader, a fresh process): " +
          ", ".join(f"{k} {v:.2f} s" for k, v in fixed.items()))
    report_targets(opts, med, n)


def report_targets(opts, med, n: int) -> None:
    """The batch rows of docs/BENCHMARKS.md's targets table (bench/targets.py)."""
    import targets

    cores = len(os.sched_getaffinity(0))
    default = min(opts.jobs, key=lambda j: abs(j - cores))  # `grader batch`'s default --jobs
    how = f"medians of {opts.repeat} alternated repeats, {n} submissions"
    targets.report("batch_vs_bare", f"`grader batch --jobs {default}` (the default) per "
                   "submission / the bare run of the same calls", med(f"pool j{default}", 0)
                   / med("bare", 0), "<=", 0.5,
                   detail=f"{how}; CPU {med(f'pool j{default}', 1) / n:.1f} s against "
                   f"{med('bare', 1) / n:.1f} s per submission")
    if 1 in opts.jobs and default != 1:
        pool = med("pool j1", 0) / med(f"pool j{default}", 0)
        no_pool = med("no-pool j1", 0) / med(f"no-pool j{default}", 0)
        targets.report("jobs_scaling", f"`--jobs {default}` speed-up over `--jobs 1` "
                       "(warm pool on)", pool, ">=", 1.8,
                       detail=f"{how}; with `--no-pool`: {no_pool:.2f}x")


if __name__ == "__main__":
    main()
