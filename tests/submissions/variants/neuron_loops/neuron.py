"""Correct variant: element-by-element loops with the math module, no vectorisation."""
import math

import numpy as np


def _elementwise(fn, z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    for index in np.ndindex(z.shape):
        out[index] = fn(float(z[index]))
    return out


def _sigmoid_one(v):
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def relu(z):
    return _elementwise(lambda v: v if v > 0 else 0.0, z)


def sigmoid(z):
    return _elementwise(_sigmoid_one, z)


def tanh(z):
    return _elementwise(math.tanh, z)


def step(z):
    return _elementwise(lambda v: 1.0 if v >= 0 else 0.0, z)


def softmax(z):
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        top = max(z)
        exps = [math.exp(v - top) for v in z]
        total = sum(exps)
        return np.array([e / total for e in exps])
    return np.array([softmax(row) for row in z])


def neuron_forward(x, w, b, activation="sigmoid"):
    functions = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "step": step,
                 "linear": lambda z: np.asarray(z, dtype=float)}
    if activation not in functions:
        raise ValueError("activation must be relu, sigmoid, tanh, step or linear")
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        total = b
        for i in range(len(w)):
            total += x[i] * w[i]
        return float(functions[activation](np.array(total)))
    return np.array([neuron_forward(row, w, b, activation) for row in x])


def dense_forward(X, W, b, activation="relu"):
    X, W, b = np.asarray(X, dtype=float), np.asarray(W, dtype=float), np.asarray(b, dtype=float)
    Z = np.zeros((X.shape[0], W.shape[1]))
    for i in range(X.shape[0]):
        for j in range(W.shape[1]):
            Z[i, j] = sum(X[i, k] * W[k, j] for k in range(X.shape[1])) + b[j]
    if activation == "softmax":
        return softmax(Z)
    return np.stack([neuron_forward(X, W[:, j], b[j], activation) for j in range(W.shape[1])],
                    axis=1)
