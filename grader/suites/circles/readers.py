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
