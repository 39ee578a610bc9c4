import numpy as np


def relu(z):
    """Rectified linear unit: max(0, z), element by element.

    z: array of any shape. Returns a new float array of the same shape; negatives
    become 0, everything else passes through. Do not change z in place
    (z[z < 0] = 0 would modify the caller's array).
    """
    return np.maximum(np.asarray(z, dtype=float), 0.0)


def sigmoid(z):
    """Logistic sigmoid 1 / (1 + exp(-z)), squashing any real number into (0, 1).

    z: array of any shape. Returns a float array of the same shape. Must stay finite
    and raise no overflow warning for |z| up to 1000: compute e = exp(-|z|) and use
    1 / (1 + e) where z >= 0 and e / (1 + e) where z < 0 (the same function).
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(z):
    """Hyperbolic tangent, squashing into (-1, 1); a zero-centred cousin of sigmoid.

    z: array of any shape. Returns a float array of the same shape.
    """
    return np.tanh(np.asarray(z, dtype=float))


def step(z):
    """Heaviside step: 1.0 where z >= 0, else 0.0 (the perceptron's activation).

    z: array of any shape. Returns a float array of the same shape. Note the
    convention at exactly 0: step(0) is 1.0.
    """
    return np.where(np.asarray(z) >= 0, 1.0, 0.0)


def softmax(z):
    """Softmax along the last axis: exp(z_j) / sum_l exp(z_l).

    z: shape (k,) for one sample or (m, k) for a batch. Returns probabilities of the
    same shape; each row (the last axis) sums to 1. Subtract the maximum of each row
    (keepdims=True so it broadcasts) before exponentiating, or z = 1000 gives
    inf / inf = nan.
    """
    raise NotImplementedError("softmax: Softmax along the last axis: exp(z_j) / sum_l exp(z_l).")


def neuron_forward(x, w, b, activation="sigmoid"):
    """Output of one neuron, f(w . x + b).

    x: shape (n,) for one sample -> returns a Python float;
       shape (m, n) for a batch  -> returns an array of shape (m,).
    w: weights, shape (n,).  b: bias, a number.
    activation: one of "relu", "sigmoid", "tanh", "step", "linear" (linear means
    f(z) = z). Any other name raises ValueError listing the valid names.
    Tip: x @ w works for both shapes of x. A 0-d numpy result is not a float:
    convert it with float(...).
    """
    raise NotImplementedError("neuron_forward: Output of one neuron, f(w . x + b).")


def dense_forward(X, W, b, activation="relu"):
    """Forward pass of a dense layer: f(X @ W + b).

    X: inputs, shape (m, n).  W: weights, shape (n, k): column j holds neuron j's
    weights.  b: biases, shape (k,), broadcast over the m rows.
    Returns shape (m, k). activation: any name neuron_forward accepts, or "softmax"
    (applied across the k outputs of each row). Pitfall: W @ X does not even have
    matching shapes; the batch dimension comes first.
    """
    raise NotImplementedError("dense_forward: Forward pass of a dense layer: f(X @ W + b).")
