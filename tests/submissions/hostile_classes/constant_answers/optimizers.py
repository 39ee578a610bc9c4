"""Attack: steps that return their parameters untouched and losses that return constants
(see neuron.py next to it).

Expected: test_steps_do_not_modify_inputs and test_losses_do_not_modify_inputs earn nothing.
"""
import numpy as np


def sgd_step(params, grads, state, lr=0.01):
    return dict(params), state


def momentum_step(params, grads, state, lr=0.01, momentum=0.9):
    return dict(params), state


def rmsprop_step(params, grads, state, lr=0.001, rho=0.9, eps=1e-7):
    return dict(params), state


def adam_step(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    return dict(params), state


def mse(y_true, y_pred):
    return 0.0


def mse_grad(y_true, y_pred):
    return np.zeros(np.shape(y_pred))


binary_cross_entropy = categorical_cross_entropy = mse
binary_cross_entropy_grad = categorical_cross_entropy_grad = mse_grad
