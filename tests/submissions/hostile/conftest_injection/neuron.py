"""Hostile submission: every activation is wrong, and the folder also holds a conftest.py and a
pytest.ini that would turn every failure into a pass (and leave a marker file when loaded), in
case the grader runs pytest where the submission lives.

Expected: the grader's pytest never loads them, so the score is what the wrong functions earn
and the marker never appears.
"""

import numpy as np


def relu(z):
    return np.asarray(z, dtype=float) + 0.25  # wrong on purpose


def sigmoid(z):
    return np.asarray(z, dtype=float) + 0.25  # wrong on purpose


def tanh(z):
    return np.asarray(z, dtype=float) + 0.25  # wrong on purpose


def step(z):
    return np.asarray(z, dtype=float) + 0.25  # wrong on purpose


def softmax(z):
    return np.asarray(z, dtype=float) + 0.25  # wrong on purpose


def neuron_forward(x, w, b, activation="sigmoid"):
    functions = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "step": step,
                 "linear": lambda z: np.asarray(z, dtype=float)}
    if activation not in functions:
        raise ValueError(f"unknown activation {activation!r}; choose one of: "
                         f"{', '.join(functions)}")
    z = np.asarray(x, dtype=float) @ np.asarray(w, dtype=float) + b
    out = functions[activation](z)
    return float(out) if np.ndim(out) == 0 else out


def dense_forward(X, W, b, activation="relu"):
    if activation == "softmax":
        return softmax(np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) + b)
    return neuron_forward(X, W, b, activation)
