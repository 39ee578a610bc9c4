"""Attack: make_data ignores its arguments, fit_mlp fits one unit for one iteration on four
points, decision_grid returns zeros of the right shape, accuracy_by_hidden made-up numbers
(see neuron.py next to it).

Expected: nothing but test_make_data_default (the default data is the right data).
"""
import numpy as np
from sklearn.datasets import make_circles
from sklearn.neural_network import MLPClassifier

_X, _Y = make_circles(n_samples=300, noise=0.1, factor=0.5, random_state=0)


def make_data(n_samples=300, noise=0.1, factor=0.5, seed=0):
    return _X[:n_samples].copy(), _Y[:n_samples].copy()


def fit_mlp(X, y, hidden, seed=0):
    return MLPClassifier(hidden_layer_sizes=(1,), max_iter=1).fit(X[:4], [0, 1, 0, 1])


def decision_grid(model, X, steps=100):
    g = np.zeros((steps, steps))
    return g, g, g


def accuracy_by_hidden(X, y, sizes=(1, 2, 3, 4, 5, 6), seed=0):
    return {int(s): 0.5 for s in sizes}
