"""Correct, in the style of scikit-learn's examples: hidden_layer_sizes given as a plain
number, np.c_ for the grid points, meshgrid's default indexing, accuracy_score."""
import numpy as np
from sklearn.datasets import make_circles
from sklearn.metrics import accuracy_score
from sklearn.neural_network import MLPClassifier


def make_data(n_samples=300, noise=0.1, factor=0.5, seed=0):
    X, y = make_circles(n_samples, noise=noise, factor=factor, random_state=seed)
    return X, y


def fit_mlp(X, y, hidden, seed=0):
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", solver="lbfgs",
                        max_iter=2000, random_state=seed)
    clf.fit(X, y)
    return clf


def decision_grid(model, X, steps=100):
    x_min, x_max = X[:, 0].min(), X[:, 0].max()
    y_min, y_max = X[:, 1].min(), X[:, 1].max()
    dx, dy = 0.1 * (x_max - x_min), 0.1 * (y_max - y_min)
    xx, yy = np.meshgrid(np.linspace(x_min - dx, x_max + dx, steps),
                         np.linspace(y_min - dy, y_max + dy, steps))
    Z = model.predict(np.c_[xx.ravel(), yy.ravel()])
    Z = Z.reshape(xx.shape)
    return xx, yy, Z


def accuracy_by_hidden(X, y, sizes=(1, 2, 3, 4, 5, 6), seed=0):
    scores = {}
    for size in sizes:
        clf = fit_mlp(X, y, size, seed)
        scores[size] = accuracy_score(y, clf.predict(X))
    return scores
