"""Grader-only helpers of test_optimizers.py: the update rules of typical mistakes (for the
diagnoses) and the gradients along Keras's stored trajectories.

They are near-copies of solution code (a mistaken rule is the solution with one term changed;
the network's backpropagation is an exercise of its own), so this file holds no test: the
student edition cuts a suite file to what its public tests use, which here is nothing, and
test_optimizers.py then diagnoses without them. Not a test module despite its name: the name
is what keeps it out of the edition. No pytest and no TensorFlow here (bench/ imports it).
"""
import json
from pathlib import Path

import numpy as np

TRAJECTORIES_FILE = Path(__file__).resolve().parent / "keras_trajectories.json"


def load(path=TRAJECTORIES_FILE):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def quadratic_grads(params, problem):
    """Gradient of sum over arrays of 0.5 * a * (p - c)**2: a * (p - c)."""
    return {k: np.asarray(problem["curvature"][k]) * (np.asarray(v) - np.asarray(
        problem["centre"][k])) for k, v in params.items()}


def network_grads(params, X, y):
    """Backpropagation of mean((tanh(X W1 + b1) W2 + b2 - y)**2), the network Keras trained."""
    H = np.tanh(X @ params["W1"] + params["b1"])
    out = H @ params["W2"] + params["b2"]
    d_out = 2.0 * (out - y) / out.size
    dH = d_out @ np.asarray(params["W2"]).T * (1.0 - H ** 2)
    return {"W1": X.T @ dH, "b1": dH.sum(axis=0), "W2": H.T @ d_out, "b2": d_out.sum(axis=0)}

STATE_HINT = ("is the state carried over from one step to the next (return the new state and "
              "use the one you are given)?")


def elementwise(update):
    """A rule from update(p, g, s, **hp) -> (p, s) on one array; state a dict of arrays."""
    def rule(params, grads, state, **hp):
        state = state or {k: None for k in params}
        new_p, new_s = {}, {}
        for k in params:
            new_p[k], new_s[k] = update(np.asarray(params[k], float), np.asarray(grads[k], float),
                                        state[k], **hp)
        return new_p, new_s
    return rule


@elementwise
def sgd_plus(p, g, s, lr):
    return p + lr * g, None


@elementwise
def sgd_no_lr(p, g, s, lr):
    return p - g, None


@elementwise
def momentum_flipped(p, g, s, lr, momentum):
    v = momentum * (0 if s is None else s) + lr * g
    return p + v, v


@elementwise
def momentum_forgotten(p, g, s, lr, momentum):
    return p - lr * g, None


@elementwise
def momentum_dampened(p, g, s, lr, momentum):
    v = momentum * (0 if s is None else s) - (1 - momentum) * lr * g
    return p + v, v


@elementwise
def rmsprop_no_sqrt(p, g, s, lr, rho, eps):
    s = rho * (0 if s is None else s) + (1 - rho) * g ** 2
    return p - lr * g / (s + eps), s


@elementwise
def rmsprop_eps_outside(p, g, s, lr, rho, eps):
    s = rho * (0 if s is None else s) + (1 - rho) * g ** 2
    return p - lr * g / (np.sqrt(s) + eps), s


@elementwise
def rmsprop_rho_swapped(p, g, s, lr, rho, eps):
    s = (1 - rho) * (0 if s is None else s) + rho * g ** 2
    return p - lr * g / np.sqrt(s + eps), s


@elementwise
def rmsprop_stateless(p, g, s, lr, rho, eps):
    return p - lr * g / np.sqrt((1 - rho) * g ** 2 + eps), None


def _adam(bias_correction="keras", sqrt=True, count=True):
    @elementwise
    def update(p, g, s, lr, beta1, beta2, eps):
        t, m, v = s if s is not None else (0, 0.0, 0.0)
        t = t + 1 if count else 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        root = np.sqrt if sqrt else (lambda x: x)
        if bias_correction == "none":
            step = lr * m / (root(v) + eps)
        elif bias_correction == "paper":
            step = lr * (m / (1 - beta1 ** t)) / (root(v / (1 - beta2 ** t)) + eps)
        else:
            step = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t) * m / (root(v) + eps)
        return p - step, (t, m, v)
    return update


ADAM_MISTAKES = [
    (_adam(bias_correction="none"), "no bias correction? divide by (1 - beta1**t) and "
                                    "multiply by sqrt(1 - beta2**t), t counting from 1"),
    (_adam(sqrt=False), "forgot sqrt? divide by sqrt(v) + eps, not v + eps"),
    (_adam(bias_correction="paper"), "eps added to sqrt(v_hat), as in the paper's Algorithm 1? "
                                     "this exercise follows Keras: "
                                     "p - alpha * m / (sqrt(v) + eps), eps added before the "
                                     "correction alpha = lr * sqrt(1 - beta2**t) / (1 - beta1**t)"),
    (_adam(count=False), "the step count t must grow by one each step (t = 1 on the first)"),
]
RMSPROP_MISTAKES = [
    (rmsprop_no_sqrt, "forgot sqrt? divide by sqrt(s + eps)"),
    (rmsprop_eps_outside, "eps outside the square root? this exercise follows Keras: "
                          "sqrt(s + eps), not sqrt(s) + eps"),
    (rmsprop_rho_swapped, "rho weights the OLD average: s = rho * s + (1 - rho) * g**2"),
    (rmsprop_stateless, STATE_HINT),
]
MOMENTUM_MISTAKES = [
    (momentum_flipped, "momentum sign? v = momentum * v - lr * g, then p = p + v"),
    (momentum_forgotten, "the velocity is not used: " + STATE_HINT),
    (momentum_dampened, "no (1 - momentum) factor on the gradient: v = momentum * v - lr * g"),
]
SGD_MISTAKES = [
    (sgd_plus, "did you add the gradient? step against it: p - lr * g"),
    (sgd_no_lr, "did you forget the learning rate lr?"),
]
