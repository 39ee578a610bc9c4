"""Hostile submission: relu() tries to reach the outside -- a TCP listener on 127.0.0.1 and an
abstract-namespace Unix socket, both opened by the test (hostile_params.json "port" and
"abstract") -- and sends what it knows.

Expected: the sandbox has no network, so neither listener ever sees a connection. relu() then
raises. Everything but the attack is the reference solution, so any points lost come from the
attack alone.
"""

import json
import os
import socket

import numpy as np

# Test-time parameters (unique token, paths, ports): tests/test_hostile.py writes them into
# hostile_params.json next to this file in the temporary copy it grades.
_PARAMS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile_params.json")
PARAMS = {}
if os.path.exists(_PARAMS_FILE):
    with open(_PARAMS_FILE) as _fh:
        PARAMS = json.load(_fh)


def phone_home():
    results = []
    targets = [(socket.AF_INET, ("127.0.0.1", int(PARAMS.get("port", 9)))),
               (socket.AF_UNIX, "\0" + PARAMS.get("abstract", "hostile-abstract"))]
    for family, address in targets:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(3)
                sock.connect(address)
                sock.sendall(b"hostile: hello from the sandbox")
            results.append(f"connected to {address!r}")
        except OSError as exc:
            results.append(f"no connection to {address!r}: {exc}")
    print("hostile:network " + "; ".join(results), flush=True)
    return results


def relu(z):
    phone_home()
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
