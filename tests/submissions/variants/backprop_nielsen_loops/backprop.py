"""Correct variant in the style of Nielsen's "Neural Networks and Deep Learning": one sample
at a time, column vectors for activations and biases, gradients summed then averaged."""
import numpy as np


def init_params(n_in, n_hidden, n_out, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [n_in, n_hidden, n_out]
    weights = [rng.normal(0.0, np.sqrt(2.0 / x), size=(x, y)) for x, y in zip(sizes[:-1], sizes[1:])]
    return {"W1": weights[0], "b1": np.zeros(n_hidden),
            "W2": weights[1], "b2": np.zeros(n_out)}


def relu(z):
    return np.maximum(z, 0.0)


def relu_prime(z):
    return (z > 0).astype(float)


def softmax_column(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def feedforward(x, params):
    """One sample x as a column (n_in, 1); returns (z1, a1, probs) as columns."""
    b1 = np.reshape(params["b1"], (-1, 1))
    b2 = np.reshape(params["b2"], (-1, 1))
    z1 = np.dot(params["W1"].T, x) + b1
    a1 = relu(z1)
    z2 = np.dot(params["W2"].T, a1) + b2
    return z1, a1, softmax_column(z2)


def forward(X, params):
    X = np.asarray(X, dtype=float)
    rows, zs, activations = [], [], []
    for x in X:
        z1, a1, p = feedforward(x.reshape(-1, 1), params)
        rows.append(p.ravel())
        zs.append(z1.ravel())
        activations.append(a1.ravel())
    probs = np.array(rows)
    return probs, {"Z1": np.array(zs), "A1": np.array(activations), "probs": probs}


def cross_entropy(probs, y):
    total = 0.0
    for p, label in zip(probs, y):
        total += -np.log(max(p[label], 1e-12))
    return float(total / len(y))


def backward(X, y, params, cache):
    nabla = {k: np.zeros(np.shape(v)) for k, v in params.items()}
    m = len(X)
    for x, label, z1, a1, p in zip(X, y, cache["Z1"], cache["A1"], cache["probs"]):
        delta = p.reshape(-1, 1).copy()
        delta[label] -= 1.0                      # output error, softmax + cross-entropy
        nabla["b2"] += delta.ravel()
        nabla["W2"] += np.dot(a1.reshape(-1, 1), delta.T)
        delta = np.dot(params["W2"], delta) * relu_prime(z1.reshape(-1, 1))
        nabla["b1"] += delta.ravel()
        nabla["W1"] += np.dot(np.reshape(x, (-1, 1)), delta.T)
    return {"d" + k: v / m for k, v in nabla.items()}


def sgd_step(params, grads, lr):
    return {k: w - lr * grads["d" + k] for k, w in params.items()}


def train(X, y, n_hidden=16, lr=0.5, epochs=2000, seed=0):
    X = np.asarray(X, dtype=float)
    params = init_params(X.shape[1], n_hidden, int(np.max(y)) + 1, seed=seed)
    losses = []
    for epoch in range(epochs):
        probs, cache = forward(X, params)
        losses.append(cross_entropy(probs, y))
        params = sgd_step(params, backward(X, y, params, cache), lr)
    return params, losses


def predict(X, params):
    return np.array([int(np.argmax(feedforward(np.reshape(x, (-1, 1)), params)[2]))
                     for x in np.asarray(X, dtype=float)])
