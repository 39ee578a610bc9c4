"""Grader-only helpers of test_optimizers.py: Keras's stored trajectories and the gradients
along them, for the hidden ``*_matches_keras`` tests.

The network's backpropagation is solution code of another exercise, so this file holds no
test: the student edition cuts a suite file to what its public tests use, which here is
nothing. Not a test module despite its name: the name is what keeps it out of the edition.
No pytest and no TensorFlow here (bench/ imports it).
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
