"""What isolation and grading cost: the reference solutions graded, versus a bare run.

    python bench/bare_vs_graded.py [--sandbox auto|bubblewrap|reduced] [--repeat 3]

The bare run makes the same expensive student calls the hidden suites make — the same data,
the same epochs — in one plain Python process, with no sandbox, no proxy, no pytest and no
report: training and predicting on MNIST and attrition, training the two-layer network,
sweeping circles' hidden sizes, fitting the perceptron, training the CNN and the LSTM sequence
model on their suites' data. The cheap calls of the suites (a few
hundred small numpy calls) are left out, so the ratio slightly flatters the bare run.
Both runs are fresh processes with the same environment (offline data), alternated --repeat
times in one invocation; the ratio compares medians.
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
# The exercises whose expensive calls BARE makes; the graded run grades exactly these, so an
# exercise added to the course does not silently enter one side of the ratio only.
BARE_EXERCISES = ("neuron", "backprop", "perceptron", "mnist_ann", "attrition", "circles", "cnn",
                  "lstm")

BARE = r'''
import importlib.util, sys, time
import numpy as np
t0 = time.perf_counter()
def load(name):
    spec = importlib.util.spec_from_file_location(name, f"{ROOT}/solutions/{name}.py")
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    return module
from grader import datasets
neuron, backprop, perceptron = load("neuron"), load("backprop"), load("perceptron")
circles, mnist_ann, attrition = load("circles"), load("mnist_ann"), load("attrition")
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2)); y = (X[:, 0] * X[:, 1] > 0).astype(int)
backprop.train(X, y, n_hidden=16, lr=0.5, epochs=2000, seed=0)
perceptron.Perceptron(epochs=10).fit(np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), np.array([0, 0, 0, 1]))
Xc, yc = circles.make_data()
circles.accuracy_by_hidden(Xc, yc)
circles.decision_grid(circles.fit_mlp(Xc, yc, 8), Xc)
data = datasets.load_mnist()
Xm, Ym = mnist_ann.preprocess(data.x_train, data.y_train)
model = mnist_ann.build_model(); mnist_ann.train(model, Xm, Ym)
model.predict(mnist_ann.preprocess(data.x_test, np.zeros(len(data.x_test), int))[0], verbose=0)
df = datasets.load_attrition(); train_df, test_df = datasets.attrition_split(df)
Xa, Xt = attrition.preprocess(train_df, test_df.drop(columns=["Attrition"]))
model = attrition.build_model(Xa.shape[1]); attrition.train(model, Xa, attrition.encode_target(train_df))
model.predict(Xt, verbose=0)
cnn, lstm = load("cnn"), load("lstm")
from grader.suites.cnn.conftest import TRAIN_BATCH_SIZE, TRAIN_EPOCHS, held_out_inputs, training_inputs
held = datasets.held_out_mnist(data)
model = cnn.build_cnn(); cnn.train_cnn(model, *training_inputs(held), epochs=TRAIN_EPOCHS, batch_size=TRAIN_BATCH_SIZE)
model.predict(held_out_inputs(held), verbose=0)
from grader.suites.lstm.sequence_model import N_X, T, held_out_sequences, training_sequences
model = lstm.build_sequence_model(T, N_X); lstm.train_sequence_model(model, *training_sequences())
model.predict(held_out_sequences()[0], verbose=0)
print(time.perf_counter() - t0)
'''


def run_bare(env: dict) -> tuple[float, float]:
    """(wall time, time inside the script) of the bare run, in a fresh process."""
    t0 = time.perf_counter()
    bare = subprocess.run([sys.executable, "-c", BARE.replace("{ROOT}", str(ROOT))],
                          capture_output=True, text=True, check=True, env=env)
    return time.perf_counter() - t0, float(bare.stdout.strip().splitlines()[-1])


def exercise_args() -> list[str]:
    return [arg for name in BARE_EXERCISES for arg in ("--exercise", name)]


def run_graded(env: dict, sandbox: str) -> tuple[float, dict]:
    """(wall time, result.json) of `grader grade solutions`, as an instructor runs it."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "grade", str(ROOT / "solutions"),
                        "--out", out, "--sandbox", sandbox, *exercise_args()], check=True,
                       env=env, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        return wall, json.loads(Path(out, "result.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each, alternating; medians are compared (default 3)")
    opts = parser.parse_args()
    # the same environment for both: offline data, no inherited TensorFlow or BLAS settings
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRADER_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    bare, graded = [], []
    for _ in range(opts.repeat):
        bare.append(run_bare(env))
        graded.append(run_graded(env, opts.sandbox))
    bare_wall = statistics.median(w for w, _ in bare)
    graded_wall, result = sorted(graded, key=lambda g: g[0])[len(graded) // 2]
    calls = sum(e["timings"].get("student_calls", 0) for e in result["exercises"])
    starts = sum(e["timings"].get("worker_start", 0) for e in result["exercises"])
    print(f"runs: {opts.repeat} of each, alternating; medians (bare: "
          f"{', '.join(f'{w:.2f}' for w, _ in bare)} s; graded: "
          f"{', '.join(f'{w:.2f}' for w, _ in graded)} s)")
    print(f"bare run (one process, same calls):  {bare_wall:6.2f} s "
          f"(inside the script: {statistics.median(i for _, i in bare):.2f} s)")
    print(f"graded ({result['sandbox']['mode']}):  {graded_wall:6.2f} s  "
          f"= {graded_wall / bare_wall:.2f}x the bare run")
    import targets

    targets.report("grade_vs_bare", f"one submission with `grader grade` / the bare run of "
                   f"the same calls ({len(BARE_EXERCISES)} exercises)", graded_wall / bare_wall,
                   "<=", 1.10, detail=f"medians of {opts.repeat} alternated runs: "
                   f"{graded_wall:.1f} s / {bare_wall:.1f} s")
    print("  where the graded run's time goes (the four lines add up to it):")
    print(f"    waiting for workers to be ready:                 {starts:6.2f} s  "
          f"(TensorFlow imports start at collection, overlapping the numpy exercises)")
    print(f"    inside student code (incl. argument transfers):  {calls:6.2f} s")
    print(f"    the grader's own work in grade():                "
          f"{result['timings']['grader_overhead']:6.2f} s  (pytest, suites, data, checks)")
    print(f"    outside grade() (interpreter, imports, report):  "
          f"{graded_wall - result['timings']['total']:6.2f} s")

if __name__ == "__main__":
    main()
