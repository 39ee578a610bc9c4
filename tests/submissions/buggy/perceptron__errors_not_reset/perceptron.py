"""Rosenblatt's perceptron (1958): the first neuron that learned from its mistakes.

A perceptron is one neuron with a step activation and labels in {0, 1}:

    y_hat = step(w . x + b)      step(z) = 1 if z >= 0 else 0

It learns online, one sample at a time, with the perceptron rule:

    w <- w + lr * (y - y_hat) * x
    b <- b + lr * (y - y_hat)

When the prediction is right, y - y_hat = 0 and nothing changes. When it says 0
but should say 1, w moves towards x (so w . x grows next time); when it says 1
but should say 0, w moves away from x. One pass over the data is an epoch.

If the two classes can be separated by a straight line (AND, OR), the rule is
guaranteed to find such a line after finitely many mistakes (the perceptron
convergence theorem). If they cannot (XOR), it never stops making mistakes:
that limit is why we need hidden layers.
"""
import numpy as np


class Perceptron:
    """A perceptron classifier for labels 0/1.

    After fit(): weights_ (n,) float64, bias_ float, errors_ list of ints (the
    number of misclassified samples in each epoch).
    """

    def __init__(self, lr=1.0, epochs=10):
        """Store the learning rate lr and the maximum number of epochs."""
        # BEGIN SOLUTION
        self.lr = lr
        self.epochs = epochs
        # END SOLUTION

    def fit(self, X, y):
        """Learn weights_ and bias_ with the perceptron rule; returns self.

        X: (m, n); y: labels 0/1 (m,). Start weights_ at zeros (float64) and bias_ at
        0.0. For each epoch, visit the samples in the given order, predict with the
        current weights, apply the rule, and count the mistakes; append the count to
        errors_. Stop early after an epoch with no mistakes (nothing would change).
        """
        # BEGIN SOLUTION
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=int)
        self.weights_ = np.zeros(X.shape[1], dtype=np.float64)
        self.bias_ = 0.0
        self.errors_ = []
        mistakes = 0  # BUG: must be reset at the start of every epoch
        for _ in range(self.epochs):
            for x_i, target in zip(X, y):
                y_hat = 1 if x_i @ self.weights_ + self.bias_ >= 0 else 0
                update = float(self.lr * (target - y_hat))
                self.weights_ += update * x_i
                self.bias_ += update
                mistakes += int(target != y_hat)
            self.errors_.append(mistakes)
            if mistakes == 0:
                break
        return self
        # END SOLUTION

    def net_input(self, X):
        """The weighted sum w . x + b for each row of X: shape (m,)."""
        # BEGIN SOLUTION
        return np.asarray(X, dtype=float) @ self.weights_ + self.bias_
        # END SOLUTION

    def predict(self, X):
        """Predicted labels: int array of 0/1, 1 where net_input >= 0."""
        # BEGIN SOLUTION
        return np.where(self.net_input(X) >= 0, 1, 0).astype(int)
        # END SOLUTION
