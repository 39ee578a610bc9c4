"""A correct backprop.py in the style of Andrew Ng's deeplearning.ai course: examples as
columns inside (Z1 = W1^T X^T + b1 with shape (n_hidden, m)), np.dot, np.multiply, 1./m,
sums with keepdims=True, a cache holding the column-major arrays, a one-hot matrix Y of shape
(n_out, m). The parameters and gradients keep the docstring's shapes at the boundary."""
import numpy as np


def init_params(n_in, n_hidden, n_out, seed=0):
    rng = np.random.default_rng(seed)
    parameters = {}
    parameters["W1"] = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_hidden))
    parameters["b1"] = np.zeros((n_hidden,))
    parameters["W2"] = rng.normal(0.0, np.sqrt(2.0 / n_hidden), size=(n_hidden, n_out))
    parameters["b2"] = np.zeros((n_out,))
    return parameters


def _softmax_columns(Z):
    T = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return T / np.sum(T, axis=0, keepdims=True)


def forward(X, params):
    A0 = X.T                                                  # (n_in, m)
    Z1 = np.dot(params["W1"].T, A0) + params["b1"].reshape(-1, 1)
    A1 = np.maximum(0, Z1)
    Z2 = np.dot(params["W2"].T, A1) + params["b2"].reshape(-1, 1)
    A2 = _softmax_columns(Z2)
    cache = {"A0": A0, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
    return A2.T, cache


def cross_entropy(probs, y):
    m = y.shape[0]
    logprobs = np.log(np.maximum(probs[np.arange(m), y], 1e-12))
    cost = -1.0 / m * np.sum(logprobs)
    return float(np.squeeze(cost))


def backward(X, y, params, cache):
    m = X.shape[0]
    A0, Z1, A1, A2 = cache["A0"], cache["Z1"], cache["A1"], cache["A2"]
    Y = np.zeros_like(A2)
    Y[y, np.arange(m)] = 1.0
    dZ2 = A2 - Y
    dW2 = 1.0 / m * np.dot(dZ2, A1.T)                        # (n_out, n_hidden)
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(params["W2"], dZ2)
    dZ1 = np.multiply(dA1, np.int64(Z1 > 0))
    dW1 = 1.0 / m * np.dot(dZ1, A0.T)                        # (n_hidden, n_in)
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dW1": dW1.T, "db1": db1.ravel(), "dW2": dW2.T, "db2": db2.ravel()}


def sgd_step(params, grads, lr):
    return {key: params[key] - lr * grads["d" + key] for key in params}


def train(X, y, n_hidden=16, lr=0.5, epochs=2000, seed=0):
    parameters = init_params(X.shape[1], n_hidden, int(y.max()) + 1, seed)
    costs = []
    for i in range(epochs):
        probs, cache = forward(X, parameters)
        costs.append(cross_entropy(probs, y))
        grads = backward(X, y, parameters, cache)
        parameters = sgd_step(parameters, grads, lr)
    return parameters, costs


def predict(X, params):
    probs, _ = forward(X, params)
    return np.argmax(probs, axis=1)
