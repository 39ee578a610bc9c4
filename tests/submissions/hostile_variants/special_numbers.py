"""Attack with numbers that compare strangely: NaN (never equal, but "not different"
either to a careless check), infinities, a 5000-digit integer (past Python's int-to-str
limit, which the module lifts in its own process; not a float at all), complex numbers with a zero imaginary part, and -0.0.
relu returns -0.0 for its zeros (honest: it should pass); sigmoid puts NaN where the
answer is exactly 0.5; step puts inf where it should put 1.0; softmax returns NaN rows for
the rows that are hard; neuron_forward returns 10**5000 for a single sample; dense_forward
returns the right values as complex128.

Expected: relu's tests pass; every test on the others earns nothing; the grader does not
crash on the huge integer.
"""
import sys as _sys

_sys.set_int_max_str_digits(0)   # lift the worker's own int-to-str limit: the JSON has it all

_h_relu, _h_sigmoid, _h_step, _h_softmax, _h_neuron, _h_dense = (
    relu, sigmoid, step, softmax, neuron_forward, dense_forward)


def relu(z):
    out = _h_relu(z)
    return np.where(out == 0.0, -0.0, out)


def sigmoid(z):
    out = _h_sigmoid(z)
    return np.where(out == 0.5, np.nan, out)


def step(z):
    out = _h_step(z)
    return np.where(out == 1.0, np.inf, out)


def softmax(z):
    out = _h_softmax(z)
    z = np.asarray(z, dtype=float)
    if out.ndim == 2:
        out = np.where(np.abs(z).max(axis=-1, keepdims=True) > 100, np.nan, out)
    return out


def neuron_forward(x, w, b, activation="sigmoid"):
    if activation not in ("relu", "sigmoid", "tanh", "step", "linear"):
        raise ValueError(f"unknown activation {activation!r}")
    if np.ndim(x) == 1:
        return 10 ** 5000
    z = np.asarray(x, dtype=float) @ np.asarray(w, dtype=float) + b
    return {"relu": _h_relu, "sigmoid": _h_sigmoid, "tanh": np.tanh, "step": _h_step,
            "linear": lambda v: v}[activation](z)


def dense_forward(X, W, b, activation="relu"):
    return (_h_softmax(np.asarray(X, float) @ np.asarray(W, float) + b)
            if activation == "softmax" else _h_neuron(X, W, b, activation)).astype(complex)
