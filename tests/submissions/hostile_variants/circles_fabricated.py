"""Attack on the circles suite with numbers and predictions that are not the network's:
fit_mlp() returns an MLPClassifier subclass trained for one iteration whose predict() is a
hand-written rule (inside radius 0.75: the inner circle); accuracy_by_hidden() trains
nothing and returns made-up accuracies that rise with the number of units.

Expected: neither earns points the network did not (control: PARAMS["control"] predicts
with the barely trained network and measures accuracy_by_hidden honestly with it).
Appended to the reference circles.py.
"""
import warnings as _warnings

from sklearn.neural_network import MLPClassifier as _MLP


class RuleMLP(_MLP):
    def predict(self, X):
        if PARAMS.get("control"):
            return super().predict(X)
        X = np.asarray(X, dtype=float)
        return (np.hypot(X[:, 0], X[:, 1]) < 0.75).astype(int)


def fit_mlp(X, y, hidden, seed=0):
    model = RuleMLP(hidden_layer_sizes=(hidden,), activation="relu", max_iter=1,
                    random_state=seed)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        model.fit(X, y)
    return model


def accuracy_by_hidden(X, y, sizes=(1, 2, 3, 4, 5, 6), seed=0):
    if PARAMS.get("control"):
        return {s: float(np.mean(fit_mlp(X, y, s, seed).predict(X) == y)) for s in sizes}
    return {s: min(1.0, 0.55 + 0.09 * s) for s in sizes}
