"""Correct variant in the style of Raschka's "Python Machine Learning" Perceptron: one weight
vector w_ with the bias in w_[0], errors_ counted from non-zero updates, no early stop.
Adapted to this course: lr/epochs instead of eta/n_iter, a zero start (the course's rule),
weights_ and bias_ read from w_."""
import numpy as np


class Perceptron:
    def __init__(self, lr=1.0, epochs=10):
        self.lr = lr
        self.epochs = epochs

    def fit(self, X, y):
        self.w_ = np.zeros(1 + X.shape[1])
        self.errors_ = []
        for _ in range(self.epochs):
            errors = 0
            for xi, target in zip(X, y):
                update = self.lr * (target - self.predict(xi))
                self.w_[1:] += update * xi
                self.w_[0] += update
                errors += int(update != 0.0)
            self.errors_.append(errors)
        return self

    @property
    def weights_(self):
        return self.w_[1:]

    @property
    def bias_(self):
        return self.w_[0]

    def net_input(self, X):
        return np.dot(X, self.w_[1:]) + self.w_[0]

    def predict(self, X):
        return np.where(self.net_input(X) >= 0.0, 1, 0)
