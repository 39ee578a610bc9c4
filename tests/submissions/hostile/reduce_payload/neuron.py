"""Hostile submission: relu(), sigmoid() and tanh() return objects whose __reduce__ creates a file
(PARAMS["pwned_path"], in the temp folder by default) when they are unpickled -- bare, inside
an object array, and inside a dict.

Expected: nothing from the worker is ever unpickled, so the file never appears on the grader's
side; the tests using those functions earn nothing. Everything but the attack is the reference
solution, so any points lost come from the attack alone.
"""

import json
import os
import tempfile

import numpy as np

# Test-time parameters (unique token, paths, ports): tests/test_hostile.py writes them into
# hostile_params.json next to this file in the temporary copy it grades.
_PARAMS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile_params.json")
PARAMS = {}
if os.path.exists(_PARAMS_FILE):
    with open(_PARAMS_FILE) as _fh:
        PARAMS = json.load(_fh)


class Payload:
    def __reduce__(self):
        path = PARAMS.get("pwned_path") or os.path.join(tempfile.gettempdir(), "pwned-hostile")
        return (open, (path, "w"))


def relu(z):
    return Payload()


def sigmoid(z):
    return np.array([Payload() for _ in range(3)], dtype=object)


def tanh(z):
    return {"values": Payload()}


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
