"""Optimizers and losses, in numpy: the update rules Keras trains a network with.

A network's parameters are a dict of arrays, for example

    params = {"W1": array (n, h), "b1": array (h,), "W2": ..., "b2": ...}

and the gradients of the loss with respect to them a dict with the same keys and shapes.
An optimizer step takes both, plus the optimizer's own memory (its *state*), and returns
the new parameters and the new state:

    params, state = adam_step(params, grads, state, lr=0.001)

Every step function is *pure*: it returns new dicts of new arrays and never changes the
arrays or dicts it is given (no `params[k] -= ...`, no `state["t"] += 1` on the caller's
dict). On the first step the state is None; afterwards pass back exactly what the previous
step returned. What you keep in the state is up to you (dicts, arrays and numbers).

The update rules follow Keras's own optimizers (SGD, SGD with momentum, RMSprop, Adam)
exactly, so that your trajectories match the ones Keras computes from the same gradients;
each docstring gives the formula, per parameter array p with gradient g (all operations
elementwise).

The losses take the true targets first and the predictions second, like Keras's, and return
the MEAN over the batch as a Python float; their `*_grad` functions return the gradient of
that mean with respect to the predictions (same shape as the predictions). Probabilities
are clipped to [EPSILON, 1 - EPSILON] first, so that a prediction of exactly 0 or 1 gives a
large but finite loss instead of log(0) = -inf.
"""
import numpy as np

EPSILON = 1e-7  # probabilities are clipped to [EPSILON, 1 - EPSILON] (Keras's epsilon)


def sgd_step(params, grads, state, lr=0.01):
    """Plain gradient descent: p_new = p - lr * g for every parameter.

    params, grads: dicts of arrays with the same keys and shapes. state: None (SGD has no
    memory). Returns (new_params, new_state): new_params a new dict of new arrays, new_state
    None. Moves against the gradient (downhill). Does not modify params or grads.
    """
    # BEGIN SOLUTION
    new_params = {name: p - lr * grads[name] for name, p in params.items()}
    return new_params, None
    # END SOLUTION


def momentum_step(params, grads, state, lr=0.01, momentum=0.9):
    """Gradient descent with momentum (Keras's SGD with its momentum argument).

    Each parameter has a velocity v, zero before the first step (state None):

        v_new = momentum * v - lr * g
        p_new = p + v_new

    (The form v_new = momentum * v + g, p_new = p - lr * v_new gives the same parameters for
    a fixed lr and is also accepted.) Returns (new_params, new_state); the state holds the
    velocities. Does not modify params, grads or state.
    """
    # BEGIN SOLUTION
    velocity = state["velocity"] if state is not None else {
        name: np.zeros_like(p, dtype=float) for name, p in params.items()}
    new_velocity = {name: momentum * velocity[name] - lr * grads[name] for name in params}
    new_params = {name: p + new_velocity[name] for name, p in params.items()}
    return new_params, {"velocity": new_velocity}
    # END SOLUTION


def rmsprop_step(params, grads, state, lr=0.001, rho=0.9, eps=1e-7):
    """RMSprop (Keras's RMSprop, without momentum or centering).

    Each parameter keeps a running average s of its squared gradients, zero before the first
    step (state None); rho weights the OLD average:

        s_new = rho * s + (1 - rho) * g**2
        p_new = p - lr * g / sqrt(s_new + eps)

    As in Keras, eps is added INSIDE the square root (not sqrt(s_new) + eps). Returns
    (new_params, new_state). Does not modify params, grads or state.
    """
    # BEGIN SOLUTION
    average = state["s"] if state is not None else {
        name: np.zeros_like(p, dtype=float) for name, p in params.items()}
    new_average = {name: rho * average[name] + (1 - rho) * grads[name] ** 2 for name in params}
    new_params = {name: p - lr * grads[name] / np.sqrt(new_average[name] + eps)
                  for name, p in params.items()}
    return new_params, {"s": new_average}
    # END SOLUTION


def adam_step(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    """Adam with bias correction (Keras's Adam).

    Each parameter keeps a first moment m and a second moment v, zero before the first step
    (state None), and the state counts the steps t (t = 1 on the first step):

        m_new = beta1 * m + (1 - beta1) * g
        v_new = beta2 * v + (1 - beta2) * g**2
        alpha = lr * sqrt(1 - beta2**t) / (1 - beta1**t)      # bias correction
        p_new = p - alpha * m_new / (sqrt(v_new) + eps)

    This is Keras's form, where eps is the paper's "epsilon hat": it is added to sqrt(v_new)
    before the correction, not to sqrt(v_hat) (Algorithm 1 of Kingma and Ba). With a tiny
    eps such as 1e-7 the two agree closely; follow the form above. Returns (new_params,
    new_state). Does not modify params, grads or state.
    """
    # BEGIN SOLUTION
    if state is None:
        state = {"t": 0,
                 "m": {name: np.zeros_like(p, dtype=float) for name, p in params.items()},
                 "v": {name: np.zeros_like(p, dtype=float) for name, p in params.items()}}
    t = state["t"] + 1
    m = {name: beta1 * state["m"][name] + (1 - beta1) * grads[name] for name in params}
    v = {name: beta2 * state["v"][name] + (1 - beta2) * grads[name] ** 2 for name in params}
    alpha = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    new_params = {name: p - alpha * m[name] / (np.sqrt(v[name]) + eps)
                  for name, p in params.items()}
    return new_params, {"t": t, "m": m, "v": v}
    # END SOLUTION


def mse(y_true, y_pred):
    """Mean squared error: the mean of (y_pred - y_true)**2 over every entry, as a float.

    y_true, y_pred: arrays of the same shape, (m,) or (m, k).
    """
    # BEGIN SOLUTION
    diff = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    return float(np.mean(diff ** 2))
    # END SOLUTION


def mse_grad(y_true, y_pred):
    """Gradient of mse(y_true, y_pred) with respect to y_pred: 2 * (y_pred - y_true) / N.

    N is the number of entries (y_pred.size), because mse averages over all of them.
    Returns an array of y_pred's shape.
    """
    # BEGIN SOLUTION
    y_pred = np.asarray(y_pred, dtype=float)
    return 2.0 * (y_pred - np.asarray(y_true, dtype=float)) / y_pred.size
    # END SOLUTION


def binary_cross_entropy(y_true, p):
    """Binary cross-entropy, the mean over every entry, as a float.

    y_true: 0/1 labels; p: predicted probabilities of class 1, same shape ((m,) or (m, 1)).
    Clip p to [EPSILON, 1 - EPSILON] first, then average
        -(y * log(p) + (1 - y) * log(1 - p)).
    Must be finite, without numpy warnings, when p is exactly 0 or 1.
    """
    # BEGIN SOLUTION
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), EPSILON, 1 - EPSILON)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    # END SOLUTION


def binary_cross_entropy_grad(y_true, p):
    """Gradient of binary_cross_entropy(y_true, p) with respect to p.

    With p clipped to [EPSILON, 1 - EPSILON] as in the loss (and N = p.size entries):
        (p - y) / (p * (1 - p)) / N
    Returns an array of p's shape; finite when p is exactly 0 or 1.
    """
    # BEGIN SOLUTION
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), EPSILON, 1 - EPSILON)
    return (p - y) / (p * (1 - p)) / p.size
    # END SOLUTION


def categorical_cross_entropy(y_true, p):
    """Categorical cross-entropy, the mean over the m samples of a batch, as a float.

    y_true: one-hot targets, shape (m, k); p: predicted probabilities, shape (m, k), each
    row summing to 1. Clip p to [EPSILON, 1 - EPSILON] first; then for each sample
    -sum_j y_j * log(p_j) (summed over the k classes), averaged over the m samples.
    Must be finite, without numpy warnings, when some p are exactly 0 or 1.
    """
    # BEGIN SOLUTION
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), EPSILON, 1 - EPSILON)
    return float(np.mean(-np.sum(y * np.log(p), axis=-1)))
    # END SOLUTION


def categorical_cross_entropy_grad(y_true, p):
    """Gradient of categorical_cross_entropy(y_true, p) with respect to p: -y / p / m.

    p clipped to [EPSILON, 1 - EPSILON] as in the loss; m is the number of samples (rows).
    Returns an array of shape (m, k); finite when some p are exactly 0.
    """
    # BEGIN SOLUTION
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), EPSILON, 1 - EPSILON)
    return -y / p / p.shape[0]
    # END SOLUTION
