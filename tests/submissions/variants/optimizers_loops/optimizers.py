"""Optimizers with explicit loops over the parameters and copies of everything; the losses
loop over the samples."""
import copy
import math

import numpy as np

EPSILON = 1e-7


def _clip(p):
    return np.clip(np.array(p, dtype=float), EPSILON, 1 - EPSILON)


def sgd_step(params, grads, state, lr=0.01):
    new_params = {}
    for name in params:
        new_params[name] = np.copy(params[name]) - lr * grads[name]
    return new_params, None


def momentum_step(params, grads, state, lr=0.01, momentum=0.9):
    if state is None:
        state = {}
        for name in params:
            state[name] = np.zeros(np.shape(params[name]))
    new_state, new_params = {}, {}
    for name in params:
        v = momentum * state[name] - lr * grads[name]
        new_state[name] = v
        new_params[name] = params[name] + v
    return new_params, new_state


def rmsprop_step(params, grads, state, lr=0.001, rho=0.9, eps=1e-7):
    state = {} if state is None else copy.deepcopy(state)
    new_params = {}
    for name in params:
        s = state.get(name, np.zeros(np.shape(params[name])))
        s = rho * s + (1.0 - rho) * np.square(grads[name])
        state[name] = s
        new_params[name] = params[name] - lr * grads[name] / np.sqrt(s + eps)
    return new_params, state


def adam_step(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    if state is None:
        state = {"t": 0}
        for name in params:
            state["m_" + name] = np.zeros(np.shape(params[name]))
            state["v_" + name] = np.zeros(np.shape(params[name]))
    else:
        state = copy.deepcopy(state)
    state["t"] = state["t"] + 1
    t = state["t"]
    alpha = lr * math.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
    new_params = {}
    for name in params:
        state["m_" + name] = beta1 * state["m_" + name] + (1.0 - beta1) * grads[name]
        state["v_" + name] = beta2 * state["v_" + name] + (1.0 - beta2) * grads[name] ** 2
        new_params[name] = params[name] - alpha * state["m_" + name] / (
            np.sqrt(state["v_" + name]) + eps)
    return new_params, state


def mse(y_true, y_pred):
    y_true, y_pred = np.ravel(y_true), np.ravel(y_pred)
    total = 0.0
    for a, b in zip(y_true, y_pred):
        total += (b - a) ** 2
    return total / len(y_true)


def mse_grad(y_true, y_pred):
    y_pred = np.array(y_pred, dtype=float)
    grad = np.zeros_like(y_pred)
    flat_t, flat_p, flat_g = np.ravel(y_true), y_pred.ravel(), grad.reshape(-1)
    for i in range(len(flat_p)):
        flat_g[i] = 2.0 * (flat_p[i] - flat_t[i]) / len(flat_p)
    return grad


def binary_cross_entropy(y_true, p):
    y, p = np.ravel(y_true), np.ravel(_clip(p))
    total = 0.0
    for yi, pi in zip(y, p):
        total -= yi * math.log(pi) + (1 - yi) * math.log(1 - pi)
    return total / len(y)


def binary_cross_entropy_grad(y_true, p):
    p = _clip(p)
    y = np.asarray(y_true, dtype=float).reshape(p.shape)
    return (p - y) / (p * (1.0 - p)) / p.size


def categorical_cross_entropy(y_true, p):
    p = _clip(p)
    losses = []
    for row_y, row_p in zip(y_true, p):
        losses.append(-sum(yj * math.log(pj) for yj, pj in zip(row_y, row_p)))
    return sum(losses) / len(losses)


def categorical_cross_entropy_grad(y_true, p):
    p = _clip(p)
    grad = np.zeros_like(p)
    for i in range(p.shape[0]):
        grad[i] = -np.asarray(y_true[i], dtype=float) / p[i] / p.shape[0]
    return grad
