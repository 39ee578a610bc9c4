"""Hostile submission: correct code, but the folder holds two symbolic links the test creates --
data.txt -> /etc/passwd and other.py -> ../../other_student/neuron.py -- and relu() reads them
and raises with their content if it can.

Expected: the worker's copy leaves out links that point outside the submission, so relu() finds
neither, answers correctly, and no content of the linked files appears in any output.
"""

import os

import numpy as np


def relu(z):
    stolen = []
    for name in ("data.txt", "other.py"):
        if os.path.lexists(name):
            with open(name) as fh:
                stolen.append(f"{name}: {fh.read()[:2000]}")
    print(f"hostile:symlink_escape found {len(stolen)} linked files", flush=True)
    if stolen:
        raise ValueError("\n".join(stolen))
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
