"""Compute the Keras reference trajectories of the optimizers suite, OFFLINE.

    .venv/bin/python bench/optimizers_keras_reference.py     # rewrites the suite's JSON

The grader process never imports TensorFlow (docs/SUITES.md), so the trajectories Keras's
own optimizers take are computed here once and stored in
``grader/suites/optimizers/keras_trajectories.json``; the suite reads only the JSON. ``tests/test_optimizers_reference.py``
regenerates them with the installed Keras and fails when they no longer match (a library
contract: a Keras release that changes an update rule shows up there, not in grading).

Two problems, each run step by step in float64 with every optimizer:
- ``quadratic``: f(p) = sum over arrays of 0.5 * a * (p - c)**2; the gradient a * (p - c) is
  computed in numpy from the variables' current values and handed to
  ``optimizer.apply_gradients`` (the suite feeds the student the same closed form);
- ``network``: a 2-4-1 network (tanh hidden layer, linear output) under the mean squared
  error on 8 fixed samples; gradients by TensorFlow's autodiff here, by the suite's own numpy
  backpropagation in grading (checked equal at every stored step by the reference test).

It lives outside the grader package: the student edition ships nothing of it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grader.suites.optimizers.test_optimizers_grader_only import (  # noqa: E402
    TRAJECTORIES_FILE,
    quadratic_grads,
)

# Hyper-parameters: Keras's argument names -> the student's (the suite calls the student with
# the right-hand names). Learning rates large enough that every step moves visibly. Keras
# casts momentum, beta_1 and beta_2 through float32 even for float64 variables (0.9 becomes
# 0.899999976), so these are exact in float32 (0.875 = 7/8, 0.9990234375 = 1 - 2**-10): the
# trajectories then agree with exact float64 arithmetic to round-off.
OPTIMIZERS = {
    "sgd": {"keras": ("SGD", {"learning_rate": 0.1}), "student": {"lr": 0.1}},
    "momentum": {"keras": ("SGD", {"learning_rate": 0.05, "momentum": 0.875}),
                 "student": {"lr": 0.05, "momentum": 0.875}},
    "rmsprop": {"keras": ("RMSprop", {"learning_rate": 0.01, "rho": 0.9, "epsilon": 1e-7}),
                "student": {"lr": 0.01, "rho": 0.9, "eps": 1e-7}},
    "adam": {"keras": ("Adam", {"learning_rate": 0.05, "beta_1": 0.875,
                                "beta_2": 0.9990234375, "epsilon": 1e-7}),
             "student": {"lr": 0.05, "beta1": 0.875, "beta2": 0.9990234375, "eps": 1e-7}},
}
QUADRATIC_STEPS = 25
NETWORK_STEPS = 15


def quadratic_problem() -> dict:
    """Start, curvatures and centre of the quadratic; two arrays of different shapes."""
    return {
        "start": {"x": [1.5, -2.0, 0.5], "Y": [[0.3, -1.2], [2.0, 0.8]]},
        "curvature": {"x": [1.0, 4.0, 0.5], "Y": [[2.0, 0.25], [1.0, 3.0]]},
        "centre": {"x": [0.5, 0.0, -1.0], "Y": [[0.0, 1.0], [-0.5, 0.2]]},
    }


def network_problem() -> dict:
    rng = np.random.default_rng(17)
    X = rng.normal(size=(8, 2))
    y = np.sin(X[:, :1]) + 0.5 * X[:, 1:]  # (8, 1)
    start = {"W1": rng.normal(scale=0.8, size=(2, 4)), "b1": rng.normal(scale=0.1, size=4),
             "W2": rng.normal(scale=0.8, size=(4, 1)), "b2": np.zeros(1)}
    return {"X": X.tolist(), "y": y.tolist(),
            "start": {k: v.tolist() for k, v in start.items()}}


def _keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    keras.config.set_floatx("float64")
    return keras


def keras_quadratic(name: str, problem: dict, steps: int) -> list[dict]:
    keras = _keras()
    cls, kwargs = OPTIMIZERS[name]["keras"]
    optimizer = getattr(keras.optimizers, cls)(**kwargs)
    keys = list(problem["start"])
    variables = [keras.Variable(np.asarray(problem["start"][k], dtype="float64"),
                                dtype="float64", name=k) for k in keys]
    path = []
    for _ in range(steps):
        current = {k: np.asarray(v.numpy()) for k, v in zip(keys, variables)}
        grads = quadratic_grads(current, problem)
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(grads[k], dtype="float64"), v)
                                   for k, v in zip(keys, variables)])
        path.append({k: np.asarray(v.numpy()).tolist() for k, v in zip(keys, variables)})
    return path


def keras_network(name: str, problem: dict, steps: int) -> tuple[list[dict], list[dict]]:
    """The parameters after each step, and TensorFlow's gradients before each step."""
    keras = _keras()
    import tensorflow as tf

    cls, kwargs = OPTIMIZERS[name]["keras"]
    optimizer = getattr(keras.optimizers, cls)(**kwargs)
    X = np.asarray(problem["X"], dtype="float64")
    y = np.asarray(problem["y"], dtype="float64")
    start = {k: np.asarray(v, dtype="float64") for k, v in problem["start"].items()}
    model = keras.Sequential([keras.Input((2,), dtype="float64"),
                              keras.layers.Dense(4, activation="tanh", dtype="float64"),
                              keras.layers.Dense(1, dtype="float64")])
    model.set_weights([start["W1"], start["b1"], start["W2"], start["b2"]])
    loss_fn = keras.losses.MeanSquaredError()
    keys = ["W1", "b1", "W2", "b2"]
    path, tf_grads = [], []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(X, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        tf_grads.append({k: np.asarray(g).tolist() for k, g in zip(keys, grads)})
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        path.append({k: np.asarray(w).tolist() for k, w in zip(keys, model.get_weights())})
    return path, tf_grads


def compute() -> dict:
    """Everything the JSON holds, from the installed Keras."""
    keras = _keras()
    quadratic, network = quadratic_problem(), network_problem()
    data = {
        "keras_version": keras.__version__,
        "optimizers": {name: spec["student"] for name, spec in OPTIMIZERS.items()},
        "quadratic": {**quadratic, "paths": {}},
        "network": {**network, "paths": {}, "tf_grads": {}},
    }
    for name in OPTIMIZERS:
        data["quadratic"]["paths"][name] = keras_quadratic(name, quadratic, QUADRATIC_STEPS)
        path, grads = keras_network(name, network, NETWORK_STEPS)
        data["network"]["paths"][name] = path
        data["network"]["tf_grads"][name] = grads
    return data


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else TRAJECTORIES_FILE
    data = compute()
    out.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {out} (Keras {data['keras_version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
