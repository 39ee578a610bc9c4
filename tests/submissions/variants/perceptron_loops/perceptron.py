"""Correct variant: plain Python loops and lists for the dot products."""
import numpy as np


class Perceptron:
    def __init__(self, lr=1.0, epochs=10):
        self.lr = lr
        self.epochs = epochs

    def _net(self, x):
        total = self.bias_
        for i in range(len(self.weights_)):
            total += self.weights_[i] * x[i]
        return total

    def fit(self, X, y):
        n = len(X[0])
        self.weights_ = np.array([0.0] * n)
        self.bias_ = 0.0
        self.errors_ = []
        for epoch in range(self.epochs):
            count = 0
            for i in range(len(X)):
                prediction = 1 if self._net(X[i]) >= 0 else 0
                error = y[i] - prediction
                if error != 0:
                    count += 1
                    for j in range(n):
                        self.weights_[j] += self.lr * error * X[i][j]
                    self.bias_ += self.lr * error
            self.errors_.append(count)
            if count == 0:
                break
        return self

    def net_input(self, X):
        return np.array([self._net(x) for x in X])

    def predict(self, X):
        return np.array([1 if v >= 0 else 0 for v in self.net_input(X)])
