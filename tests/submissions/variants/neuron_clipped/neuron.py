"""Correct variant: the clipped-exponent sigmoid idiom, z * (z > 0) relu, tanh via sigmoid."""
import numpy as np


def relu(z):
    z = np.asarray(z, dtype=float)
    return z * (z > 0)


def sigmoid(z):
    z = np.clip(np.asarray(z, dtype=float), -500, 500)  # exp(500) is finite
    return 1.0 / (1.0 + np.exp(-z))


def tanh(z):
    return 2.0 * sigmoid(2.0 * np.asarray(z, dtype=float)) - 1.0


def step(z):
    return (np.asarray(z) >= 0).astype(np.float64)


def softmax(z):
    z = np.asarray(z, dtype=float)
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def neuron_forward(x, w, b, activation="sigmoid"):
    z = np.asarray(x) @ np.asarray(w) + b
    if activation == "relu":
        out = relu(z)
    elif activation == "sigmoid":
        out = sigmoid(z)
    elif activation == "tanh":
        out = tanh(z)
    elif activation == "step":
        out = step(z)
    elif activation == "linear":
        out = np.asarray(z, dtype=float)
    else:
        raise ValueError("unknown activation: " + repr(activation))
    if np.ndim(out) == 0:
        return float(out)
    return out


def dense_forward(X, W, b, activation="relu"):
    if activation == "softmax":
        return softmax(np.asarray(X) @ np.asarray(W) + b)
    return neuron_forward(X, W, b, activation)
