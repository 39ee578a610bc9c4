"""A correct neuron.py written with library helpers: scipy.special.softmax, np.heaviside,
np.clip for relu, the sigmoid through tanh (sigma(z) = (1 + tanh(z / 2)) / 2, stable for any
z), np.dot, and a dict of activation functions for the dispatch."""
import numpy as np
from scipy import special


def relu(z):
    return np.clip(np.asarray(z, dtype=float), 0.0, None)


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def tanh(z):
    return np.tanh(np.asarray(z, dtype=float))


def step(z):
    return np.heaviside(np.asarray(z, dtype=float), 1.0)


def softmax(z):
    return special.softmax(np.asarray(z, dtype=float), axis=-1)


ACTIVATIONS = {
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "step": step,
    "linear": lambda z: np.asarray(z, dtype=float),
}


def neuron_forward(x, w, b, activation="sigmoid"):
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}")
    out = ACTIVATIONS[activation](np.dot(x, w) + b)
    return float(out) if np.ndim(out) == 0 else out


def dense_forward(X, W, b, activation="relu"):
    z = np.dot(X, W) + b
    if activation == "softmax":
        return softmax(z)
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of "
                         f"{sorted(ACTIVATIONS) + ['softmax']}")
    return ACTIVATIONS[activation](z)
