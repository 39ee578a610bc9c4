"""Correct variant: the bias folded into the weights through a constant input of 1, and the
step as np.heaviside(z, 1)."""
import numpy as np


class Perceptron:
    def __init__(self, lr=1.0, epochs=10):
        self.lr, self.epochs = lr, epochs

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        Xa = np.hstack([X, np.ones((X.shape[0], 1))])   # x_aug = (x, 1)
        w = np.zeros(Xa.shape[1])
        self.errors_ = []
        for epoch in range(self.epochs):
            wrong = 0
            for xa, t in zip(Xa, y):
                y_hat = int(np.heaviside(w @ xa, 1.0))
                if y_hat != t:
                    w = w + self.lr * (t - y_hat) * xa
                    wrong += 1
            self.errors_.append(wrong)
            if wrong == 0:
                break
        self.weights_, self.bias_ = w[:-1], float(w[-1])
        return self

    def net_input(self, X):
        return np.asarray(X, dtype=float) @ self.weights_ + self.bias_

    def predict(self, X):
        return np.heaviside(self.net_input(X), 1.0).astype(int)
