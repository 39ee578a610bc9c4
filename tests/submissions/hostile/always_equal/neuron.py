"""Hostile submission: the activations return objects that claim to equal anything -- a plain
class, an ndarray subclass, a list subclass and a float subclass, each with __eq__ returning
True, a lying __len__/__float__/__bool__ and (for the plain class) an __array__ of zeros.

Expected: none of them crosses the wire as data (they stay in the worker as handles), the
checks reject them, no point is earned for those tests and the grader does not crash.
Everything but the attack is the reference solution, so any points lost come from the attack
alone.
"""

import numpy as np


class AlwaysEqual:
    def __init__(self, z):
        self.shape = np.shape(z)
        self.dtype = np.dtype(float)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape)

    def __float__(self):
        return 0.0

    def __len__(self):
        return self.shape[0] if self.shape else 1

    def __bool__(self):
        return True

    def __abs__(self):
        return 0.0

    def __sub__(self, other):
        return np.zeros(self.shape)

    __rsub__ = __sub__


class EqualArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __ne__(self, other):
        return np.zeros(self.shape, dtype=bool)


class EqualList(list):
    def __eq__(self, other):
        return True

    def __len__(self):
        return 10**6


class EqualFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def relu(z):
    return AlwaysEqual(z)


def sigmoid(z):
    return np.zeros(np.shape(z)).view(EqualArray)


def tanh(z):
    return EqualList([0.0] * np.size(z))


def step(z):
    return EqualFloat(0.0)


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
