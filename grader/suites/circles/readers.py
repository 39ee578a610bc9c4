"""Reading what the student's circles code returned, as the computation it performs.

``mlp_of`` reads the fitted network (its weight matrices), so hidden_layer_sizes=8, (8,) and
[8] are the same, and finds it inside a Pipeline; ``grid_layout`` accepts np.meshgrid's "xy"
and "ij" layouts (and np.mgrid's). Plain-data calls on remote handles only.
"""
import contextlib

import numpy as np

from grader.checks import expect_true
from grader.safe_text import short
from grader.suites.keras_model import type_name


def mlp_of(model, call):
    """The fitted MLPClassifier in what fit_mlp() returned: the model itself, or the last
    step of a Pipeline (the docstring allows both). Read as the fitted network, so
    hidden_layer_sizes=8, (8,) and [8] are the same."""
    expect_true(model is not None, f"{call} returned None — return the fitted model")
    steps = None
    with contextlib.suppress(AttributeError):
        steps = model.steps                      # a Pipeline: [(name, estimator), ...]
    if isinstance(steps, (list, tuple)) and steps:
        last = steps[-1]
        expect_true(isinstance(last, (list, tuple)) and len(last) == 2,
                    f"{call}: returned a Pipeline whose steps are not (name, estimator) pairs")
        model = last[1]
    kind = type_name(model)
    try:
        coefs = model.coefs_
        activation = model.activation
    except AttributeError:
        expect_true(False, f"{call}: expected a fitted MLPClassifier (alone, or as the last step "
                           f"of a Pipeline), got {short(kind, 60)}"
                           + (" that has not been fitted — return model.fit(X, y)"
                              if kind == "MLPClassifier" else ""))
    expect_true(isinstance(coefs, (list, tuple)) and len(coefs) >= 2
                and all(isinstance(w, np.ndarray) and w.ndim == 2 for w in coefs),
                f"{call}: the returned {short(kind, 60)} has no fitted weight matrices (coefs_)")
    return model, tuple(int(w.shape[1]) for w in coefs[:-1]), activation


def grid_layout(xx, yy):
    """'xy' (np.meshgrid's default: xx varies along the columns) or 'ij' (along the rows),
    or None when xx, yy are not a grid."""
    if np.allclose(xx, xx[:1, :]) and np.allclose(yy, yy[:, :1]):
        return "xy"
    if np.allclose(xx, xx[:, :1]) and np.allclose(yy, yy[:1, :]):
        return "ij"
    return None


HIDDEN_ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
}


def _floats(value, call, what):
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        expect_true(False, f"{call}: {what} is not an array of numbers")
    return array


class NetworkForward:
    """The fitted network's prediction, computed HERE in numpy from what the model holds
    (a Pipeline's scaler, coefs_, intercepts_, activation, out_activation_, classes_): the
    model's own predict() is a claim, this is the measurement. Mirrors MLPClassifier's
    forward pass and its 0.5 threshold (binary) or argmax (several classes)."""

    def __init__(self, scalers, coefs, intercepts, activation, out_activation, classes):
        self.scalers, self.coefs, self.intercepts = scalers, coefs, intercepts
        self.activation, self.out_activation, self.classes = activation, out_activation, classes

    def predict(self, X):
        a = np.asarray(X, dtype=np.float64)
        for scale in self.scalers:
            a = scale(a)
        with np.errstate(all="ignore"):
            for i, (w, b) in enumerate(zip(self.coefs, self.intercepts)):
                a = a @ w + b
                if i < len(self.coefs) - 1:
                    a = HIDDEN_ACTIVATIONS[self.activation](a)
        if a.shape[1] == 1:   # logistic output: the positive class where p > 0.5, i.e. z > 0
            return self.classes[(a[:, 0] > 0).astype(int)]
        return self.classes[np.argmax(a, axis=1)]


def _scaler(step, call):
    kind = type_name(step)
    if kind == "StandardScaler":
        mean = getattr(step, "mean_", None)
        scale = getattr(step, "scale_", None)
        mean = 0.0 if mean is None else _floats(mean, call, "the scaler's mean_")
        scale = 1.0 if scale is None else _floats(scale, call, "the scaler's scale_")
        return lambda a: (a - mean) / scale
    if kind == "MinMaxScaler":
        scale = _floats(step.scale_, call, "the scaler's scale_")
        low = _floats(step.min_, call, "the scaler's min_")
        return lambda a: a * scale + low
    expect_true(False, f"{call}: the Pipeline has a {short(kind, 60)} step; only StandardScaler "
                       "or MinMaxScaler may come before the MLPClassifier")


def network_of(model, call):
    """NetworkForward of what fit_mlp() returned (an MLPClassifier, or a Pipeline of a scaler
    and one)."""
    mlp, _, activation = mlp_of(model, call)
    scalers = []
    with contextlib.suppress(AttributeError):
        steps = model.steps
        if isinstance(steps, (list, tuple)):
            scalers = [_scaler(step[1], call) for step in steps[:-1]
                       if step[1] not in (None, "passthrough")]
    coefs = [_floats(w, call, "coefs_") for w in mlp.coefs_]
    intercepts = [_floats(b, call, "intercepts_") for b in mlp.intercepts_]
    expect_true(len(coefs) == len(intercepts) and all(
        w.ndim == 2 and b.shape == (w.shape[1],) for w, b in zip(coefs, intercepts)) and all(
        a.shape[1] == b.shape[0] for a, b in zip(coefs, coefs[1:])),
        f"{call}: the fitted weights (coefs_, intercepts_) do not form a network")
    expect_true(activation in HIDDEN_ACTIVATIONS,
                f"{call}: unknown activation {short(str(activation), 40)!r}")
    out = mlp.out_activation_
    classes = np.asarray(mlp.classes_)
    expect_true(classes.ndim == 1 and len(classes) >= 2 and (
        (out == "logistic" and coefs[-1].shape[1] == 1 and len(classes) == 2)
        or (out == "softmax" and coefs[-1].shape[1] == len(classes))),
        f"{call}: the fitted output layer ({short(str(out), 30)}) does not match its classes")
    return NetworkForward(scalers, coefs, intercepts, activation, out, classes)


def network_predictions(model, X, call, *, probe=None):
    """The labels the fitted network gives ``X``, computed in the grader; cross-checked with
    the model's own predict() on ``probe`` (default: X). A predict() that is not the network's
    computation fails here."""
    net = network_of(model, call)
    predicted = net.predict(X)
    probe = X if probe is None else probe
    theirs = np.asarray(model.predict(probe)).reshape(-1)
    ours = predicted if probe is X else net.predict(probe)
    expect_true(theirs.shape == ours.shape and np.mean(theirs != ours) <= 0.005,
                f"{call}: model.predict() disagrees with the fitted network's own forward "
                f"pass on {np.mean(theirs != ours) if theirs.shape == ours.shape else 1:.0%} "
                "of the points — predict() is not the network's computation; return the "
                "fitted MLPClassifier (or Pipeline) itself")
    return predicted
