"""Correct, a numpy-first style: the grid from np.mgrid with a complex step (row-major "ij"
layout), hidden_layer_sizes=(hidden,) with ReLU left as MLPClassifier's default, points
stacked with vstack(...).T, a mean of correct predictions as the accuracy."""
import numpy as np
from sklearn import datasets, neural_network


def make_data(n_samples=300, noise=0.1, factor=0.5, seed=0):
    X, y = datasets.make_circles(n_samples=n_samples, shuffle=True, noise=noise,
                                 random_state=seed, factor=factor)
    return (X, y)


def fit_mlp(X, y, hidden, seed=0):
    net = neural_network.MLPClassifier((hidden,), solver="lbfgs", max_iter=2000,
                                       random_state=seed)
    return net.fit(X, y)


def decision_grid(model, X, steps=100):
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    xx, yy = np.mgrid[lo[0]:hi[0]:steps * 1j, lo[1]:hi[1]:steps * 1j]
    labels = model.predict(np.vstack([xx.ravel(), yy.ravel()]).T)
    return xx, yy, labels.reshape(xx.shape)


def accuracy_by_hidden(X, y, sizes=(1, 2, 3, 4, 5, 6), seed=0):
    result = {}
    for n in sizes:
        result[int(n)] = float(np.mean(fit_mlp(X, y, n, seed).predict(X) == y))
    return result
