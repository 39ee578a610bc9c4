# Generated from solutions/optimizers.py by `grader generate` — fill in every NotImplementedError.
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
    raise NotImplementedError(
        "sgd_step: Plain gradient descent: p_new = p - lr * g for every parameter."
    )


def momentum_step(params, grads, state, lr=0.01, momentum=0.9):
    """Gradient descent with momentum (Keras's SGD with its momentum argument).

    Each parameter has a velocity v, zero before the first step (state None):

        v_new = momentum * v - lr * g
        p_new = p + v_new

    (The form v_new = momentum * v + g, p_new = p - lr * v_new gives the same parameters for
    a fixed lr and is also accepted.) Returns (new_params, new_state); the state holds the
    velocities. Does not modify params, grads or state.
    """
    raise NotImplementedError(
        "momentum_step: Gradient descent with momentum (Keras's SGD with its momentum argument)."
    )


def rmsprop_step(params, grads, state, lr=0.001, rho=0.9, eps=1e-7):
    """RMSprop (Keras's RMSprop, without momentum or centering).

    Each parameter keeps a running average s of its squared gradients, zero before the first
    step (state None); rho weights the OLD average:

        s_new = rho * s + (1 - rho) * g**2
        p_new = p - lr * g / sqrt(s_new + eps)

    As in Keras, eps is added INSIDE the square root (not sqrt(s_new) + eps). Returns
    (new_params, new_state). Does not modify params, grads or state.
    """
    raise NotImplementedError(
        "rmsprop_step: RMSprop (Keras's RMSprop, without momentum or centering)."
    )


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
    raise NotImplementedError("adam_step: Adam with bias correction (Keras's Adam).")


def mse(y_true, y_pred):
    """Mean squared error: the mean of (y_pred - y_true)**2 over every entry, as a float.

    y_true, y_pred: arrays of the same shape, (m,) or (m, k).
    """
    raise NotImplementedError(
        "mse: Mean squared error: the mean of (y_pred - y_true)**2 over every entry, as a float."
    )


def mse_grad(y_true, y_pred):
    """Gradient of mse(y_true, y_pred) with respect to y_pred: 2 * (y_pred - y_true) / N.

    N is the number of entries (y_pred.size), because mse averages over all of them.
    Returns an array of y_pred's shape.
    """
    raise NotImplementedError(
        "mse_grad: Gradient of mse(y_true, y_pred) with respect to y_pred: 2 * (y_pred - y_true) / "
        "N."
    )


def binary_cross_entropy(y_true, p):
    """Binary cross-entropy, the mean over every entry, as a float.

    y_true: 0/1 labels; p: predicted probabilities of class 1, same shape ((m,) or (m, 1)).
    Clip p to [EPSILON, 1 - EPSILON] first, then average
        -(y * log(p) + (1 - y) * log(1 - p)).
    Must be finite, without numpy warnings, when p is exactly 0 or 1.
    """
    raise NotImplementedError(
        "binary_cross_entropy: Binary cross-entropy, the mean over every entry, as a float."
    )


def binary_cross_entropy_grad(y_true, p):
    """Gradient of binary_cross_entropy(y_true, p) with respect to p.

    With p clipped to [EPSILON, 1 - EPSILON] as in the loss (and N = p.size entries):
        (p - y) / (p * (1 - p)) / N
    Returns an array of p's shape; finite when p is exactly 0 or 1.
    """
    raise NotImplementedError(
        "binary_cross_entropy_grad: Gradient of binary_cross_entropy(y_true, p) with respect to p."
    )


def categorical_cross_entropy(y_true, p):
    """Categorical cross-entropy, the mean over the m samples of a batch, as a float.

    y_true: one-hot targets, shape (m, k); p: predicted probabilities, shape (m, k), each
    row summing to 1. Clip p to [EPSILON, 1 - EPSILON] first; then for each sample
    -sum_j y_j * log(p_j) (summed over the k classes), averaged over the m samples.
    Must be finite, without numpy warnings, when some p are exactly 0 or 1.
    """
    raise NotImplementedError(
        "categorical_cross_entropy: Categorical cross-entropy, the mean over the m samples of a "
        "batch, as a float."
    )


def categorical_cross_entropy_grad(y_true, p):
    """Gradient of categorical_cross_entropy(y_true, p) with respect to p: -y / p / m.

    p clipped to [EPSILON, 1 - EPSILON] as in the loss; m is the number of samples (rows).
    Returns an array of shape (m, k); finite when some p are exactly 0.
    """
    raise NotImplementedError(
        "categorical_cross_entropy_grad: Gradient of categorical_cross_entropy(y_true, p) with "
        "respect to p: -y / p / m."
    )
