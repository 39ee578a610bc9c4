"""Hostile submission: the first relu() call prints 300 MB, then raw bytes that are not UTF-8, NUL
and terminal escape sequences.

Expected: the grader keeps a bounded head and tail of the output, stays fast, and result.json
and the report stay small. relu() then raises, so the relu tests must not pass. Everything but
the attack is the reference solution, so any points lost come from the attack alone.
"""

import sys

import numpy as np

_FLOODED = []


def relu(z):
    if not _FLOODED:
        _FLOODED.append(True)
        line = "flood " * 174762 + "\n"  # about 1 MiB
        for _ in range(300):
            sys.stdout.write(line)
        sys.stdout.flush()
        sys.stdout.buffer.write(b"\xff\xfe\x00\x1b[2J\x1b]0;pwned\x07 hostile:output_flood done\n")
        sys.stdout.buffer.flush()
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
