"""Hostile submission: relu() reads the grader's secrets by absolute path -- the hidden suite
grader/suites/neuron/test_neuron.py, the reference solutions/neuron.py, the grader's own tests/
and the held-out attrition data -- and also tries to import the suite as a module; it prints
what it got, returns it, and sigmoid() raises ValueError carrying it. The paths are baked in at
test time (hostile_params.json "paths"), as a student who knows the course layout could guess
them.

Expected under bubblewrap: the hidden paths are empty inside the sandbox, so no line of them
appears in any output. Reduced mode cannot hide files, and its sandbox notes say so. Everything
but the attack is the reference solution, so any points lost come from the attack alone.
"""

import gzip
import importlib
import inspect
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


def _read(path, limit=4000):
    if os.path.isdir(path):
        names = sorted(os.listdir(path))
        text = f"[dir {len(names)} entries: {names[:20]}]"
        for name in names[:10]:
            child = os.path.join(path, name)
            if os.path.isfile(child):
                text += "\n" + _read(child, limit // 4)
        return text
    with open(path, "rb") as fh:
        data = fh.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return data[:limit].decode(errors="replace")


def loot():
    pieces = []
    for path in PARAMS.get("paths", []):
        try:
            text = _read(path)
            print(f"hostile:read_hidden read {path}: {len(text)} chars", flush=True)
        except Exception as exc:  # noqa: BLE001 - whatever stops it, keep looting
            text = f"{type(exc).__name__}: {exc}"
            print(f"hostile:read_hidden could not read {path}: {text}", flush=True)
        pieces.append(f"== {path}\n{text}")
    try:
        suite = importlib.import_module("grader.suites.neuron.test_neuron")
        pieces.append(inspect.getsource(suite))
        print("hostile:read_hidden imported the suite", flush=True)
    except Exception as exc:  # noqa: BLE001
        print(f"hostile:read_hidden could not import the suite: {type(exc).__name__}",
              flush=True)
    text = "\n".join(pieces)
    print(text, flush=True)
    return text


def relu(z):
    return loot()


def sigmoid(z):
    raise ValueError(loot())


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
