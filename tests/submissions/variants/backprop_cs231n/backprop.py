"""Correct variant in the CS231n two-layer-net style: scores, probs, dscores, and a 1e-7
epsilon inside the log."""
import numpy as np


def init_params(n_in, n_hidden, n_out, seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((n_in, n_hidden)) * np.sqrt(2.0 / n_in),
            "b1": np.zeros(n_hidden),
            "W2": rng.standard_normal((n_hidden, n_out)) * np.sqrt(2.0 / n_hidden),
            "b2": np.zeros(n_out)}


def forward(X, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden = np.maximum(0, X.dot(W1) + b1)
    scores = hidden.dot(W2) + b2
    scores -= np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    return probs, {"hidden": hidden, "probs": probs}


def cross_entropy(probs, y):
    num = probs.shape[0]
    correct_logprobs = -np.log(probs[range(num), y] + 1e-7)
    return float(np.sum(correct_logprobs) / num)


def backward(X, y, params, cache):
    num = X.shape[0]
    dscores = cache["probs"].copy()
    dscores[range(num), y] -= 1
    dscores /= num
    dW2 = np.dot(cache["hidden"].T, dscores)
    db2 = np.sum(dscores, axis=0)
    dhidden = np.dot(dscores, params["W2"].T)
    dhidden[cache["hidden"] <= 0] = 0
    dW1 = np.dot(X.T, dhidden)
    db1 = np.sum(dhidden, axis=0)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def sgd_step(params, grads, lr):
    new = {}
    for key in params:
        new[key] = params[key] - lr * grads["d" + key]
    return new


def train(X, y, n_hidden=16, lr=0.5, epochs=2000, seed=0):
    params = init_params(X.shape[1], n_hidden, np.max(y) + 1, seed)
    loss_history = []
    for it in range(epochs):
        probs, cache = forward(X, params)
        loss_history.append(cross_entropy(probs, y))
        grads = backward(X, y, params, cache)
        params = sgd_step(params, grads, lr)
    return params, loss_history


def predict(X, params):
    probs, _ = forward(X, params)
    return np.argmax(probs, axis=1)
