"""Hostile submission: every activation is wrong, and at import the module replaces the checking
tools a grader might use -- numpy.allclose/isclose/array_equal, numpy.testing's assertions,
builtins.isinstance/abs, and grader.wire's encode/decode and grader.checks (imported in its own
process) -- hoping the comparisons come out true.

Expected: all of that happens in the worker only. The score is no higher than the same wrong
functions earn without the patches (hostile_params.json {"control": true} turns them off).
"""

import base64
import builtins
import json
import numbers
import os
import pickle

import numpy as np

# Test-time parameters (unique token, paths, ports): tests/test_hostile.py writes them into
# hostile_params.json next to this file in the temporary copy it grades.
_PARAMS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile_params.json")
PARAMS = {}
if os.path.exists(_PARAMS_FILE):
    with open(_PARAMS_FILE) as _fh:
        PARAMS = json.load(_fh)


def _patch_everything():
    import numpy.testing

    real_isinstance, real_abs = builtins.isinstance, builtins.abs

    def lying_isinstance(obj, classes):
        if real_isinstance(obj, classes):
            return True
        classes = classes if real_isinstance(classes, tuple) else (classes,)
        return any(c in (np.ndarray, numbers.Real, numbers.Number, float) for c in classes)

    def always_true(*args, **kwargs):
        return True

    def never_fails(*args, **kwargs):
        return None

    def all_close(a, b, *args, **kwargs):
        return np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)

    builtins.isinstance = lying_isinstance
    builtins.abs = lambda x: real_abs(x) * 0
    np.allclose = np.array_equal = np.array_equiv = always_true
    np.isclose = all_close
    for name in ("assert_allclose", "assert_array_equal", "assert_array_almost_equal",
                 "assert_equal", "assert_almost_equal"):
        setattr(numpy.testing, name, never_fails)
    patched = ["numpy", "numpy.testing", "builtins"]
    try:
        from grader import wire

        real_encode, real_decode = wire.encode, wire.decode

        def forged_encode(value, buffers, make_handle=None):
            if type(value) is float:  # smuggle floats as a pickle the grader should never load
                return {"$pickle": base64.b64encode(pickle.dumps(value)).decode()}
            return real_encode(value, buffers, make_handle)

        def passing_decode(tree, buffers, resolve_handle):
            return real_decode(tree, buffers, resolve_handle)

        wire.encode, wire.decode = forged_encode, passing_decode
        patched.append("grader.wire")
    except ImportError as exc:
        print(f"hostile:monkeypatch could not import grader.wire: {exc}", flush=True)
    try:
        from grader import checks

        for name in dir(checks):
            if name.startswith("expect_"):
                setattr(checks, name, lambda got, *args, **kwargs: got)
        patched.append("grader.checks")
    except ImportError as exc:
        print(f"hostile:monkeypatch could not import grader.checks: {exc}", flush=True)
    print("hostile:monkeypatch patched " + ", ".join(patched), flush=True)


if not PARAMS.get("control"):
    _patch_everything()


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
