"""Attack: every function returns a constant of the right shape (or its argument untouched)
and computes nothing, to collect the tests of a side property ("leaves its inputs
unchanged"), which such a function passes trivially. perceptron.py and optimizers.py next to
it do the same.

Expected: test_relu_does_not_modify_input and test_dense_forward_does_not_modify_inputs earn
nothing (the result must change when the input does).
"""
import numpy as np


def relu(z):
    return np.zeros(np.shape(z))


sigmoid = tanh = step = softmax = relu


def neuron_forward(x, w, b, activation="sigmoid"):
    return 0.0


def dense_forward(X, W, b, activation="relu"):
    return np.zeros((np.shape(X)[0], np.shape(W)[1]))
