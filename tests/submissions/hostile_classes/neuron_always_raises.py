"""Attack, appended to neuron.py: neuron_forward raises ValueError whatever it is given, so
the test of the error case ("raises ValueError for an unknown activation name") sees the
error it asks for without the function telling a bad name from a good one.

Expected: test_neuron_unknown_activation earns nothing (valid names must not raise it).
"""


def neuron_forward(x, w, b, activation="sigmoid"):
    raise ValueError('activation must be one of "relu", "sigmoid", "tanh", "step", "linear"')
