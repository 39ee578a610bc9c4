"""Correct variant: biases used as (1, h) row vectors inside, one-hot labels from np.eye,
gradients with keepdims=True flattened back to the parameter's shape."""
import numpy as np


def init_params(n_in, n_hidden, n_out, seed=0):
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(n_in, n_hidden)) * np.sqrt(2 / n_in)
    W2 = rng.normal(size=(n_hidden, n_out)) * np.sqrt(2 / n_hidden)
    return {"W1": W1, "b1": np.zeros((1, n_hidden)).ravel(),
            "W2": W2, "b2": np.zeros((1, n_out)).ravel()}


def _rows(params):
    return (params["W1"], np.reshape(params["b1"], (1, -1)),
            params["W2"], np.reshape(params["b2"], (1, -1)))


def forward(X, params):
    W1, b1, W2, b2 = _rows(params)
    Z1 = X @ W1 + b1
    A1 = np.where(Z1 > 0, Z1, 0.0)
    Z2 = A1 @ W2 + b2
    Z2 = Z2 - Z2.max(axis=1, keepdims=True)
    P = np.exp(Z2) / np.exp(Z2).sum(axis=1, keepdims=True)
    return P, (Z1, A1, P)


def cross_entropy(probs, y):
    onehot = np.eye(probs.shape[1])[y]
    return float(-(onehot * np.log(np.clip(probs, 1e-12, 1.0))).sum(axis=1).mean())


def backward(X, y, params, cache):
    W1, b1, W2, b2 = _rows(params)
    Z1, A1, P = cache
    m = X.shape[0]
    dZ2 = (P - np.eye(P.shape[1])[y]) / m
    dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
    return {"dW1": X.T @ dZ1, "db1": np.sum(dZ1, axis=0, keepdims=True).reshape(-1),
            "dW2": A1.T @ dZ2, "db2": np.sum(dZ2, axis=0, keepdims=True).reshape(-1)}


def sgd_step(params, grads, lr):
    return {name: params[name] - lr * grads[f"d{name}"] for name in ("W1", "b1", "W2", "b2")}


def train(X, y, n_hidden=16, lr=0.5, epochs=2000, seed=0):
    params = init_params(X.shape[1], n_hidden, len(np.unique(y)), seed)
    losses = []
    for _ in range(epochs):
        P, cache = forward(X, params)
        losses.append(cross_entropy(P, y))
        params = sgd_step(params, backward(X, y, params, cache), lr)
    return params, losses


def predict(X, params):
    return forward(X, params)[0].argmax(axis=1)
