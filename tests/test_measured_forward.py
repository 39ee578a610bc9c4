"""The grader's own forward passes (issue 12, item 3: checks student code cannot satisfy by
lying): circles' fitted MLPClassifier (grader/suites/circles/readers.py) and a Keras Dense
chain (grader/suites/keras_model.py), computed in numpy and cross-checked with predict().
Fast: scikit-learn fits on 120 points, and the Keras model is read through stand-in objects
that answer the same plain-data calls a remote handle does (no TensorFlow here)."""
from __future__ import annotations

import numpy as np
import pytest

from grader.checks import CheckFailed


@pytest.fixture(scope="module")
def circles():
    from sklearn.datasets import make_circles

    return make_circles(120, noise=0.1, factor=0.5, random_state=0)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_circles_forward_is_sklearns_predict(circles, activation):
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from grader.suites.circles.readers import network_predictions

    X, y = circles
    grid = np.random.default_rng(0).uniform(-2, 2, size=(400, 2))
    models = [MLPClassifier((6,), activation=activation, max_iter=300, random_state=0),
              make_pipeline(StandardScaler(), MLPClassifier([4, 3], activation=activation,
                                                            max_iter=300, random_state=1)),
              make_pipeline(MinMaxScaler(), MLPClassifier(5, activation=activation,
                                                          max_iter=300, random_state=2))]
    for model in models:
        with _quiet():
            model.fit(X, y)
        ours = network_predictions(model, grid, "fit_mlp", probe=X)
        assert np.array_equal(ours, model.predict(grid))
    three = MLPClassifier((5,), max_iter=300, random_state=0)   # softmax output
    with _quiet():
        three.fit(X, np.arange(len(y)) % 3)
    assert np.array_equal(network_predictions(three, grid, "fit_mlp"), three.predict(grid))


def test_circles_predict_that_is_not_the_network_fails(circles):
    from sklearn.neural_network import MLPClassifier

    from grader.suites.circles.readers import network_predictions

    class RuleMLP(MLPClassifier):
        def predict(self, X):
            X = np.asarray(X, dtype=float)
            return (np.hypot(X[:, 0], X[:, 1]) < 0.75).astype(int)

    X, y = circles
    with _quiet():
        model = RuleMLP((8,), max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(CheckFailed, match="not the network's computation"):
        network_predictions(model, X, "fit_mlp(X, y, 8)")


class _Layer:
    def __init__(self, kind, config, weights=None):
        self._type_name = f"keras.src.layers.{kind}"
        self.config, self.weights = config, weights

    def get_config(self):
        return dict(self.config)

    def get_weights(self):
        return list(self.weights)


class _Model:
    _type_name = "keras.src.models.sequential.Sequential"

    def __init__(self, layers, predict):
        self.layers, self._predict = layers, predict

    def predict(self, x, verbose=0):
        return self._predict(np.asarray(x, dtype=np.float64)).astype(np.float32)


def _dense_model(lie=False):
    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(6, 5)), rng.normal(size=5)
    W2, b2 = rng.normal(size=(5, 3)), rng.normal(size=3)

    def truth(x):
        h = np.maximum(x @ W1 + b1, 0) @ W2 + b2
        e = np.exp(h - h.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(x):
        return np.eye(3)[np.arange(len(x)) % 3] if lie else truth(x)

    inner = _Model([_Layer("Dense", {"units": 5, "activation": "relu"},
                           [W1.astype(np.float32), b1.astype(np.float32)]),
                    _Layer("Dropout", {"rate": 0.5})], predict)
    model = _Model([_Layer("InputLayer", {}), inner,
                    _Layer("Dense", {"units": 3, "activation": "linear"},
                           [W2.astype(np.float32), b2.astype(np.float32)]),
                    _Layer("Softmax", {})], predict)
    return model, truth


def test_keras_forward_is_the_dense_chain():
    from grader.suites.keras_model import network_scores

    model, truth = _dense_model()
    x = np.random.default_rng(1).random((50, 6))
    scores = network_scores(model, x, "model.predict(X)", (6,))
    assert np.allclose(scores, truth(x), atol=1e-5)


def test_keras_predict_that_is_not_the_network_fails():
    from grader.suites.keras_model import network_scores

    model, _ = _dense_model(lie=True)
    x = np.random.default_rng(1).random((50, 6))
    with pytest.raises(CheckFailed, match="not the network's computation"):
        network_scores(model, x, "model.predict(X)", (6,))


def test_keras_layers_the_grader_cannot_compute_are_named():
    from grader.suites.keras_model import network_scores

    model, _ = _dense_model()
    model.layers.insert(1, _Layer("BatchNormalization", {"axis": -1}))
    with pytest.raises(CheckFailed, match="BatchNormalization"):
        network_scores(model, np.zeros((4, 6)), "model.predict(X)", (6,))


def _quiet():
    import warnings

    from contextlib import contextmanager

    @contextmanager
    def ctx():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    return ctx()
