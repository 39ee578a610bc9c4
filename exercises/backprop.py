# Generated from solutions/backprop.py by `grader generate` — fill in every NotImplementedError.
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
    raise NotImplementedError("init_params: Random initial parameters for the network.")


def forward(X, params):
    """Forward pass: returns (probs, cache).

    X: (m, n_in). probs: (m, n_out), each row sums to 1 (stable softmax: subtract
    the row maximum first). cache: a dict of the intermediate arrays backward()
    needs, e.g. {"Z1": ..., "A1": ..., "probs": ...}.
    """
    raise NotImplementedError("forward: Forward pass: returns (probs, cache).")


def cross_entropy(probs, y):
    """Mean cross-entropy -(1/m) sum_i log probs[i, y[i]], as a Python float.

    probs: (m, n_out) predicted probabilities; y: integer labels (m,).
    probs[np.arange(m), y] picks each sample's probability of its true class.
    Clip it to at least a tiny value (e.g. 1e-12) first: log(0) is -inf.
    """
    raise NotImplementedError(
        "cross_entropy: Mean cross-entropy -(1/m) sum_i log probs[i, y[i]], as a Python float."
    )


def backward(X, y, params, cache):
    """Gradients of the MEAN cross-entropy w.r.t. every parameter.

    X: (m, n_in); y: integer labels (m,); params as from init_params; cache from
    forward(X, params). Returns {"dW1", "db1", "dW2", "db2"}, each the shape of its
    parameter. Pitfall: forgetting to divide by m gives gradients m times too big.
    """
    raise NotImplementedError(
        "backward: Gradients of the MEAN cross-entropy w.r.t. every parameter."
    )


def sgd_step(params, grads, lr):
    """One gradient-descent step: a new dict with p - lr * dp for each parameter p.

    grads uses the names "d" + parameter name ("dW1" for "W1"). Return new arrays
    rather than modifying params in place.
    """
    raise NotImplementedError(
        "sgd_step: One gradient-descent step: a new dict with p - lr * dp for each parameter p."
    )


def train(X, y, n_hidden=16, lr=0.5, epochs=2000, seed=0):
    """Full-batch gradient descent. Returns (params, losses).

    X: (m, n_in); y: integer labels 0..n_out-1 (n_out = y.max() + 1).
    Each epoch: forward on all of X, record the loss, backward, sgd_step.
    losses: list of Python floats, one per epoch (len(losses) == epochs).
    """
    raise NotImplementedError("train: Full-batch gradient descent.")


def predict(X, params):
    """Predicted class of each sample: the index of its largest probability, int (m,)."""
    raise NotImplementedError(
        "predict: Predicted class of each sample: the index of its largest probability, int (m,)."
    )
