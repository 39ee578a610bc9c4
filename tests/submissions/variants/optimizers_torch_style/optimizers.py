"""Optimizers in the style of PyTorch's torch.optim: momentum as a running sum of gradients,
Adam through the bias-corrected moments m_hat and v_hat, state as nested dicts."""
import numpy as np

EPSILON = 1e-7


def sgd_step(params, grads, state, lr=0.01):
    return {k: params[k] - lr * grads[k] for k in params}, state


def momentum_step(params, grads, state, lr=0.01, momentum=0.9):
    # buf = momentum * buf + g; p -= lr * buf  (the same parameters as Keras for a fixed lr)
    bufs = {k: (grads[k] if state is None else momentum * state[k] + grads[k]) for k in params}
    return {k: params[k] - lr * bufs[k] for k in params}, bufs


def rmsprop_step(params, grads, state, lr=0.001, rho=0.9, eps=1e-7):
    sq = {k: rho * (0.0 if state is None else state[k]) + (1 - rho) * grads[k] ** 2
          for k in params}
    return {k: params[k] - lr * grads[k] / np.sqrt(sq[k] + eps) for k in params}, sq


def adam_step(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    state = state or {"step": 0, "exp_avg": {}, "exp_avg_sq": {}}
    t = state["step"] + 1
    m = {k: beta1 * state["exp_avg"].get(k, 0.0) + (1 - beta1) * grads[k] for k in params}
    v = {k: beta2 * state["exp_avg_sq"].get(k, 0.0) + (1 - beta2) * grads[k] ** 2
         for k in params}
    # Keras's eps is "epsilon hat": in terms of m_hat and v_hat it is eps / sqrt(1 - beta2**t)
    eps_hat = eps / np.sqrt(1 - beta2 ** t)
    new = {}
    for k in params:
        m_hat = m[k] / (1 - beta1 ** t)
        v_hat = v[k] / (1 - beta2 ** t)
        new[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + eps_hat)
    return new, {"step": t, "exp_avg": m, "exp_avg_sq": v}


def mse(y_true, y_pred):
    return float(((np.asarray(y_pred) - np.asarray(y_true)) ** 2).mean())


def mse_grad(y_true, y_pred):
    y_pred = np.asarray(y_pred, dtype=float)
    return 2 * (y_pred - y_true) / y_pred.size


def binary_cross_entropy(y_true, p):
    p = np.minimum(np.maximum(p, EPSILON), 1 - EPSILON)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log1p(-p)))


def binary_cross_entropy_grad(y_true, p):
    p = np.minimum(np.maximum(p, EPSILON), 1 - EPSILON)
    return (-(y_true / p) + (1 - y_true) / (1 - p)) / p.size


def categorical_cross_entropy(y_true, p):
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return float(-(y_true * np.log(p)).sum() / len(p))


def categorical_cross_entropy_grad(y_true, p):
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return -y_true / (p * len(p))
