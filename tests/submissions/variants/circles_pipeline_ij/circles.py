"""Correct, with a Pipeline (StandardScaler + MLPClassifier) as the fitted model,
hidden_layer_sizes as a list, a grid made with meshgrid(indexing="ij") and returned as a
list, make_data returning a list."""
import numpy as np
from sklearn.datasets import make_circles
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def make_data(n_samples=300, noise=0.1, factor=0.5, seed=0):
    return list(make_circles(n_samples=n_samples, noise=noise, factor=factor,
                             random_state=seed))


def fit_mlp(X, y, hidden, seed=0):
    model = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=[hidden], activation="relu", solver="lbfgs",
                      max_iter=2000, random_state=seed),
    )
    return model.fit(X, y)


def decision_grid(model, X, steps=100):
    X = np.asarray(X)
    axes = []
    for column in X.T:
        low, high = column.min(), column.max()
        pad = (high - low) / 10
        axes.append(np.linspace(low - pad, high + pad, steps))
    xx, yy = np.meshgrid(*axes, indexing="ij")
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return [xx, yy, model.predict(grid).reshape(steps, steps)]


def accuracy_by_hidden(X, y, sizes=(1, 2, 3, 4, 5, 6), seed=0):
    return {size: fit_mlp(X, y, size, seed).score(X, y) for size in sizes}
