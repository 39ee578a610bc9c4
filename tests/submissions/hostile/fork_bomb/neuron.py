"""Hostile submission: the first relu() call forks children in a bounded loop; every child leaves
the worker's session (setsid) and sleeps, named by a marker so the test can find survivors.

Expected: the process limit stops the loop, no child outlives grading, the grader is unharmed.
relu() then raises, so the relu tests must not pass. Everything but the attack is the reference
solution, so any points lost come from the attack alone.
"""

import json
import os

import numpy as np

# Test-time parameters (unique token, paths, ports): tests/test_hostile.py writes them into
# hostile_params.json next to this file in the temporary copy it grades.
_PARAMS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile_params.json")
PARAMS = {}
if os.path.exists(_PARAMS_FILE):
    with open(_PARAMS_FILE) as _fh:
        PARAMS = json.load(_fh)


_CHILDREN = []


def relu(z):
    if not _CHILDREN:
        marker = PARAMS.get("marker", "hostile-fork-bomb")
        for _ in range(int(PARAMS.get("forks", 40))):
            try:
                pid = os.fork()
            except OSError as exc:
                print(f"hostile:fork_bomb fork failed: {exc.strerror}", flush=True)
                break
            if pid == 0:  # the child: detach, then sleep under a recognisable name
                try:
                    os.setsid()
                    os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 120; :", marker])
                finally:
                    os._exit(0)
            _CHILDREN.append(pid)
        print(f"hostile:fork_bomb started {len(_CHILDREN)} children", flush=True)
    raise RuntimeError("hostile: relu() gives no answer after its attack")


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
