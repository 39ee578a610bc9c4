"""Hostile submission: correct neuron.py plus a package folder named grader/ whose __init__.py
reports the user id it runs as and tries to read /etc/shadow. If the worker is started with the
submission's folder first on sys.path, this file replaces the real grader package at the
worker's start -- before the worker drops its privileges.

Expected: the student's grader/__init__.py never runs in a privileged process (ideally never
runs at all); the marker line it prints must not say uid=0.
"""

import numpy as np


def relu(z):
    return np.maximum(np.asarray(z, dtype=float), 0.0)


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(z):
    return np.tanh(np.asarray(z, dtype=float))


def step(z):
    return np.where(np.asarray(z) >= 0, 1.0, 0.0)


def softmax(z):
    z = np.asarray(z, dtype=float)
    exps = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return exps / np.sum(exps, axis=-1, keepdims=True)


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
