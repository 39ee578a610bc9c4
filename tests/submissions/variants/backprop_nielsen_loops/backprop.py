"""Correct variant in the style of Nielsen's "Neural Networks and Deep Learning": activations
and biases as column vectors, samples as columns (his matrix-based approach), the four
backpropagation equations BP1-BP4 with nabla_b / nabla_w summed then averaged, and a
per-sample feedforward for predictions."""
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
    """The whole batch at once with samples as columns (Nielsen's matrix-based approach)."""
    A0 = np.asarray(X, dtype=float).T                         # (n_in, m)
    Z1 = np.dot(params["W1"].T, A0) + np.reshape(params["b1"], (-1, 1))
    A1 = relu(Z1)
    Z2 = np.dot(params["W2"].T, A1) + np.reshape(params["b2"], (-1, 1))
    E = np.exp(Z2 - Z2.max(axis=0, keepdims=True))
    P = E / E.sum(axis=0, keepdims=True)
    return P.T, {"Z1": Z1.T, "A1": A1.T, "probs": P.T}


def cross_entropy(probs, y):
    total = 0.0
    for p, label in zip(probs, y):
        total += -np.log(max(p[label], 1e-12))
    return float(total / len(y))


def backward(X, y, params, cache):
    """Nielsen's backprop equations (BP1-BP4), for all samples at once as columns."""
    m = len(X)
    A0 = np.asarray(X, dtype=float).T
    Z1, A1, P = cache["Z1"].T, cache["A1"].T, cache["probs"].T
    delta = P.copy()
    delta[np.asarray(y), np.arange(m)] -= 1.0                 # BP1: softmax + cross-entropy
    nabla_b2 = delta.sum(axis=1)                              # BP3
    nabla_w2 = np.dot(A1, delta.T)                            # BP4
    delta = np.dot(params["W2"], delta) * relu_prime(Z1)     # BP2
    nabla_b1 = delta.sum(axis=1)
    nabla_w1 = np.dot(A0, delta.T)
    return {"dW1": nabla_w1 / m, "db1": nabla_b1 / m, "dW2": nabla_w2 / m, "db2": nabla_b2 / m}


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
