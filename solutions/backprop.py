"""Backpropagation for a two-layer network, written with numpy only.

The network: X (m, n_in) -> Z1 = X W1 + b1 -> A1 = relu(Z1) -> Z2 = A1 W2 + b2
-> probs = softmax(Z2), shape (m, n_out). Its loss is the mean cross-entropy
L = -(1/m) sum_i log probs[i, y_i] for integer labels y.

Backpropagation applies the chain rule layer by layer, from the loss back:
    dZ2 = (probs - onehot(y)) / m        softmax + cross-entropy combined
    dW2 = A1^T dZ2        db2 = sum of dZ2 over samples
    dA1 = dZ2 W2^T        dZ1 = dA1 * (Z1 > 0)      (relu lets gradient through where active)
    dW1 = X^T dZ1         db1 = sum of dZ1 over samples
Each gradient has the shape of its parameter: a quick check for transposes.

Gradient descent then moves every parameter a small step downhill:
    w_new = w_old - lr * dL/dw
Repeat for many epochs and the loss falls. Weights start random (scaled by
sqrt(2 / fan_in), "He" initialisation, so signals neither explode nor vanish);
if they all started equal, every hidden unit would get the same gradient and stay
identical forever. Biases can start at zero.
"""
import numpy as np


def init_params(n_in, n_hidden, n_out, seed=0):
    """Random initial parameters for the network.

    Returns a dict: W1 (n_in, n_hidden), b1 (n_hidden,), W2 (n_hidden, n_out),
    b2 (n_out,). The biases are flat vectors of shape (n,), not (1, n) rows (the
    gradients and train() keep these shapes too). Draw weights from np.random.default_rng(seed) (same seed -> same
    params), normal with standard deviation sqrt(2 / fan_in) where fan_in is the
    number of inputs of the layer; biases are zeros.
    """
    # BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(0.0, np.sqrt(2.0 / n_hidden), size=(n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }
    # END SOLUTION


def forward(X, params):
    """Forward pass: returns (probs, cache).

    X: (m, n_in). probs: (m, n_out), each row sums to 1 (stable softmax: subtract
    the row maximum first). cache: a dict of the intermediate arrays backward()
    needs, e.g. {"Z1": ..., "A1": ..., "probs": ...}.
    """
    # BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0.0)
    Z2 = A1 @ params["W2"] + params["b2"]
    exps = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    probs = exps / exps.sum(axis=1, keepdims=True)
    return probs, {"Z1": Z1, "A1": A1, "probs": probs}
    # END SOLUTION


def cross_entropy(probs, y):
    """Mean cross-entropy -(1/m) sum_i log probs[i, y[i]], as a Python float.

    probs: (m, n_out) predicted probabilities; y: integer labels (m,).
    probs[np.arange(m), y] picks each sample's probability of its true class.
    Clip it to at least a tiny value (e.g. 1e-12) first: log(0) is -inf.
    """
    # BEGIN SOLUTION
    probs = np.asarray(probs, dtype=float)
    y = np.asarray(y, dtype=int)
    picked = probs[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))
    # END SOLUTION


def backward(X, y, params, cache):
    """Gradients of the MEAN cross-entropy w.r.t. every parameter.

    X: (m, n_in); y: integer labels (m,); params as from init_params; cache from
    forward(X, params). Returns {"dW1", "db1", "dW2", "db2"}, each the shape of its
    parameter. Pitfall: forgetting to divide by m gives gradients m times too big.
    """
    # BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    m = X.shape[0]
    dZ2 = cache["probs"].copy()
    dZ2[np.arange(m), y] -= 1.0
    dZ2 /= m
    dA1 = dZ2 @ params["W2"].T
    dZ1 = dA1 * (cache["Z1"] > 0)
    return {
        "dW1": X.T @ dZ1,
        "db1": dZ1.sum(axis=0),
        "dW2": cache["A1"].T @ dZ2,
        "db2": dZ2.sum(axis=0),
    }
    # END SOLUTION


def sgd_step(params, grads, lr):
    """One gradient-descent step: a new dict with p - lr * dp for each parameter p.

    grads uses the names "d" + parameter name ("dW1" for "W1"). Return new arrays
    rather than modifying params in place.
    """
    # BEGIN SOLUTION
    return {name: value - lr * grads["d" + name] for name, value in params.items()}
    # END SOLUTION


def train(X, y, n_hidden=16, lr=0.5, epochs=2000, seed=0):
    """Full-batch gradient descent. Returns (params, losses).

    X: (m, n_in); y: integer labels 0..n_out-1 (n_out = y.max() + 1).
    Each epoch: forward on all of X, record the loss, backward, sgd_step.
    losses: list of Python floats, one per epoch (len(losses) == epochs).
    """
    # BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    params = init_params(X.shape[1], n_hidden, int(y.max()) + 1, seed=seed)
    losses = []
    for _ in range(epochs):
        probs, cache = forward(X, params)
        losses.append(cross_entropy(probs, y))
        params = sgd_step(params, backward(X, y, params, cache), lr)
    return params, losses
    # END SOLUTION


def predict(X, params):
    """Predicted class of each sample: the index of its largest probability, int (m,)."""
    # BEGIN SOLUTION
    probs, _ = forward(X, params)
    return np.argmax(probs, axis=1).astype(int)
    # END SOLUTION
