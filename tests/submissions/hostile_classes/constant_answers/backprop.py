"""Attack: every function returns something of the right form that ignores its inputs
(see neuron.py next to it).

Expected: no test of backprop earns a point.
"""
import numpy as np


def init_params(n_in, n_hidden, n_out, seed=0):
    return {"W1": np.zeros((n_in, n_hidden)), "b1": np.zeros(n_hidden),
            "W2": np.zeros((n_hidden, n_out)), "b2": np.zeros(n_out)}


def forward(X, params):
    m, k = np.shape(X)[0], np.shape(params["W2"])[1]
    probs = np.full((m, k), 1.0 / k)
    return probs, {"Z1": np.zeros((m, np.shape(params["W1"])[1])), "probs": probs}


def cross_entropy(probs, y):
    return 1.0


def backward(X, y, params, cache):
    return {"d" + k: np.zeros(np.shape(v)) for k, v in params.items()}


def sgd_step(params, grads, lr):
    return {k: np.array(v, dtype=float) for k, v in params.items()}


def train(X, y, n_hidden=16, lr=0.5, epochs=2000, seed=0):
    params = init_params(np.shape(X)[1], n_hidden, int(np.max(y)) + 1, seed)
    return params, [1.0] * epochs


def predict(X, params):
    return np.zeros(np.shape(X)[0], dtype=int)
