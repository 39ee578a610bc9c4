"""Optimizers whose state is a small class of its own, built on one helper that maps a
function over the parameter dicts; the cross-entropies pick the true class's probability."""
import numpy as np

EPSILON = 1e-7


def _map(fn, *dicts):
    return {k: fn(*(d[k] for d in dicts)) for k in dicts[0]}


class Moments:
    """Per-parameter moments and a step count; never changed after it is made."""

    def __init__(self, t, first, second):
        self.t, self.first, self.second = t, first, second


def sgd_step(params, grads, state, lr=0.01):
    return _map(lambda p, g: p - lr * g, params, grads), None


def momentum_step(params, grads, state, lr=0.01, momentum=0.9):
    old = state.first if state is not None else _map(np.zeros_like, params)
    velocity = _map(lambda v, g: momentum * v - lr * g, old, grads)
    return _map(np.add, params, velocity), Moments(0, velocity, None)


def rmsprop_step(params, grads, state, lr=0.001, rho=0.9, eps=1e-7):
    old = state.second if state is not None else _map(np.zeros_like, params)
    second = _map(lambda s, g: rho * s + (1 - rho) * g * g, old, grads)
    return _map(lambda p, g, s: p - lr * g / np.sqrt(s + eps), params, grads, second), \
        Moments(0, None, second)


def adam_step(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    if state is None:
        state = Moments(0, _map(np.zeros_like, params), _map(np.zeros_like, params))
    t = state.t + 1
    first = _map(lambda m, g: beta1 * m + (1 - beta1) * g, state.first, grads)
    second = _map(lambda v, g: beta2 * v + (1 - beta2) * np.square(g), state.second, grads)
    alpha = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    new = _map(lambda p, m, v: p - alpha * m / (np.sqrt(v) + eps), params, first, second)
    return new, Moments(t, first, second)


def mse(y_true, y_pred):
    d = np.subtract(y_pred, y_true, dtype=float)
    return float(np.dot(d.ravel(), d.ravel()) / d.size)


def mse_grad(y_true, y_pred):
    d = np.subtract(y_pred, y_true, dtype=float)
    return d * (2.0 / d.size)


def binary_cross_entropy(y_true, p):
    p = np.clip(p, EPSILON, 1 - EPSILON)
    p_true = np.where(np.asarray(y_true) == 1, p, 1 - p)  # the probability of what happened
    return float(-np.log(p_true).mean())


def binary_cross_entropy_grad(y_true, p):
    p = np.clip(np.asarray(p, dtype=float), EPSILON, 1 - EPSILON)
    grad = np.where(np.asarray(y_true) == 1, -1.0 / p, 1.0 / (1.0 - p))
    return grad / p.size


def categorical_cross_entropy(y_true, p):
    p = np.clip(p, EPSILON, 1 - EPSILON)
    labels = np.argmax(y_true, axis=1)
    return float(-np.log(p[np.arange(len(labels)), labels]).mean())


def categorical_cross_entropy_grad(y_true, p):
    p = np.clip(np.asarray(p, dtype=float), EPSILON, 1 - EPSILON)
    grad = np.zeros_like(p)
    rows = np.arange(len(p))
    labels = np.argmax(y_true, axis=1)
    grad[rows, labels] = -1.0 / p[rows, labels] / len(p)
    return grad
