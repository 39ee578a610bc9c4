"""Attack: a Perceptron whose fit() learns nothing (see neuron.py next to it).

Expected: test_fit_does_not_modify_data earns nothing (fit must move the weights or bias).
"""
import numpy as np


class Perceptron:
    def __init__(self, lr=1.0, epochs=10):
        self.lr, self.epochs = lr, epochs

    def fit(self, X, y):
        self.weights_ = np.zeros(np.shape(X)[1])
        self.bias_ = 0.0
        self.errors_ = []
        return self

    def net_input(self, X):
        return np.zeros(len(X))

    def predict(self, X):
        return np.ones(len(X), dtype=int)
