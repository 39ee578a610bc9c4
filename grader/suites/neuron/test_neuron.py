"""Hidden suite: activation functions, a single neuron and a dense layer (numpy)."""
import numpy as np
import pytest

from grader.checks import (
    constant,
    expect_array,
    expect_inputs_untouched,
    expect_probabilities,
    expect_raises,
    expect_scalar,
    expect_shape,
    expect_true,
    matches,
)

ACTIVATIONS = ("relu", "sigmoid", "tanh", "step", "linear")
FIXED_Z = constant([[-3.0, -0.5, 0.0, 0.5, 3.0], [-1e-3, 1e-3, 2.0, -2.0, 10.0]])
EXTREME_Z = constant([-1000.0, -750.0, -30.0, 0.0, 30.0, 750.0, 1000.0])


def _columns_sum_to_one(got, expected):
    return got.ndim == 2 and np.allclose(got.sum(axis=0), 1) and not np.allclose(got.sum(axis=-1), 1)


def _whole_array_sums_to_one(got, expected):
    return got.ndim == 2 and np.isclose(got.sum(), 1) and not np.allclose(got.sum(axis=-1), 1)


SOFTMAX_DIAGNOSES = [
    (_columns_sum_to_one, "the columns sum to 1, not the rows: normalise along the last axis "
                          "(axis=-1, keepdims=True)"),
    (_whole_array_sums_to_one, "normalise each row separately, not by the sum of the whole "
                               "array"),
]


def random_layer(m=5, n=4, k=3, seed=0):
    """A batch X (m, n), weights W (n, k) and bias b (k,); n != k so transposes show."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)), rng.normal(size=(n, k)), rng.normal(size=k)


@pytest.mark.public
def test_relu_values(student, reference):
    """relu() zeroes negatives and keeps positives, for a 2-D array"""
    expect_array(student.relu(FIXED_Z), reference.relu(FIXED_Z), call="relu(z)",
                 diagnose=[matches(np.abs(FIXED_Z), "negative values must become 0, not "
                                                    "change sign")])


def test_relu_does_not_modify_input(student):
    """relu() leaves its argument unchanged"""
    z = np.random.default_rng(1).normal(size=(4, 6))
    out = expect_inputs_untouched(student.relu, z, call="relu(z)", names=["z"])
    expect_shape(out, z.shape, call="relu(z)")


@pytest.mark.public
def test_sigmoid_values(student, reference):
    """sigmoid() matches 1 / (1 + exp(-z)) on ordinary inputs"""
    expect_array(student.sigmoid(FIXED_Z), reference.sigmoid(FIXED_Z), call="sigmoid(z)",
                 diagnose=[matches(1.0 - reference.sigmoid(FIXED_Z),
                                   "did you write exp(z) instead of exp(-z)?")])


@pytest.mark.points(2)
def test_sigmoid_extreme_inputs(student, reference):
    """sigmoid() stays finite and correct for z = -1000 ... 1000"""
    got = expect_array(student.sigmoid(EXTREME_Z), reference.sigmoid(EXTREME_Z),
                       call="sigmoid(z) with |z| up to 1000", atol=1e-12,
                       hints=["for very negative z, exp(-z) overflows: use exp(-|z|) and "
                              "the two equivalent forms for z >= 0 and z < 0"])
    expect_true(np.all((got >= 0) & (got <= 1)),
                "sigmoid(z): values must lie between 0 and 1")


@pytest.mark.public
def test_tanh_values(student, reference):
    """tanh() matches the hyperbolic tangent, also for |z| up to 1000"""
    z = np.concatenate([FIXED_Z.ravel(), EXTREME_Z])
    expect_array(student.tanh(z), reference.tanh(z), call="tanh(z)",
                 hints=["np.tanh is stable; a hand-written (e^z - e^-z) / (e^z + e^-z) "
                        "overflows for large |z|"])


@pytest.mark.public
def test_step_values(student, reference):
    """step() gives 1.0 where z >= 0 and 0.0 elsewhere, as floats"""
    expect_array(student.step(FIXED_Z), reference.step(FIXED_Z), call="step(z)",
                 diagnose=[matches(np.where(FIXED_Z > 0, 1.0, 0.0),
                                   "at exactly z = 0 the step is 1.0: use z >= 0, not z > 0")])


@pytest.mark.public
@pytest.mark.points(2)
def test_softmax_values(student, reference):
    """softmax() gives rows of probabilities, for one sample and for a batch"""
    z = np.random.default_rng(2).normal(size=(6, 4)) * 3
    got = expect_array(student.softmax(z), reference.softmax(z), call="softmax(z)",
                       diagnose=SOFTMAX_DIAGNOSES)
    expect_probabilities(got, call="softmax(z)")
    expect_array(student.softmax(z[0]), reference.softmax(z[0]),
                 call="softmax(z) for a single sample of shape (4,)")


@pytest.mark.points(2)
def test_softmax_extreme_inputs(student, reference):
    """softmax() stays finite for scores up to 1000 and does not modify its input"""
    z = np.array([[1000.0, 999.0, 0.0], [-1000.0, -1000.0, -999.0], [500.0, 500.0, 500.0]])
    got = expect_inputs_untouched(student.softmax, z, call="softmax(z)", names=["z"])
    expect_array(got, reference.softmax(z), call="softmax(z) with scores up to 1000",
                 diagnose=SOFTMAX_DIAGNOSES)


@pytest.mark.public
@pytest.mark.points(2)
def test_neuron_single_sample(student, reference):
    """neuron_forward() on one sample returns f(w·x + b) as a number, for every activation"""
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=4), rng.normal(size=4), 0.3
    for activation in ACTIVATIONS:
        call = f'neuron_forward(x, w, b, activation="{activation}")'
        expected = reference.neuron_forward(x, w, b, activation)
        without_bias = reference.neuron_forward(x, w, 0.0, activation)
        expect_scalar(student.neuron_forward(x, w, b, activation), expected, call=call,
                      diagnose=[matches([without_bias], "did you forget to add the bias b?")]
                      if not np.isclose(expected, without_bias) else [])
    expect_scalar(student.neuron_forward(x, w, b), reference.neuron_forward(x, w, b),
                  call="neuron_forward(x, w, b) with the default activation (sigmoid)")


@pytest.mark.points(2)
def test_neuron_batch(student, reference):
    """neuron_forward() on a batch X of shape (m, n) returns shape (m,)"""
    X, W, _ = random_layer(m=6, n=4, k=1, seed=4)
    w, b = W[:, 0], -0.2
    for activation in ACTIVATIONS:
        call = f'neuron_forward(X, w, b, activation="{activation}") with X of shape (6, 4)'
        z = X @ w + b
        expect_array(student.neuron_forward(X, w, b, activation),
                     reference.neuron_forward(X, w, b, activation), call=call,
                     diagnose=[matches(z, "did you forget to apply the activation?")]
                     if activation != "linear" else [])


def test_neuron_unknown_activation(student):
    """neuron_forward() raises ValueError for an unknown activation name"""
    x = np.ones(3)
    for name in ("softplus", "RELU", ""):
        expect_raises(ValueError, student.neuron_forward, x, x, 0.0, name,
                      call=f'neuron_forward(x, w, b, activation="{name}")',
                      why='raise ValueError(...) when the activation is not one of "relu", '
                          '"sigmoid", "tanh", "step", "linear"')


@pytest.mark.public
@pytest.mark.points(2)
def test_dense_forward_values(student, reference):
    """dense_forward() returns f(X·W + b) of shape (m, k)"""
    X, W, b = random_layer(m=5, n=4, k=3, seed=5)
    for activation in ("relu", "sigmoid", "linear"):
        call = f'dense_forward(X, W, b, activation="{activation}")'
        expect_array(student.dense_forward(X, W, b, activation),
                     reference.dense_forward(X, W, b, activation), call=call,
                     diagnose=[matches(reference.dense_forward(X, W, 0.0, activation),
                                       "did you forget to add the bias b?"),
                               matches(X @ W + b, "did you forget to apply the activation?")])
    expect_array(student.dense_forward(X, W, b), reference.dense_forward(X, W, b),
                 call="dense_forward(X, W, b) with the default activation (relu)")


def test_dense_forward_softmax(student, reference):
    """dense_forward(..., activation="softmax") gives a probability row per sample"""
    X, W, b = random_layer(m=7, n=4, k=3, seed=6)
    call = 'dense_forward(X, W, b, activation="softmax")'
    got = expect_array(student.dense_forward(X, W, b, "softmax"),
                       reference.dense_forward(X, W, b, "softmax"), call=call,
                       diagnose=[matches(reference.softmax(X @ W), "did you forget to add the "
                                                                   "bias b?"),
                                 *SOFTMAX_DIAGNOSES])
    expect_probabilities(got, call=call)


def test_dense_forward_single_sample_batch(student, reference):
    """dense_forward() keeps the batch axis for a batch of one sample"""
    X, W, b = random_layer(m=1, n=6, k=2, seed=7)
    expect_array(student.dense_forward(X, W, b, "tanh"), reference.dense_forward(X, W, b, "tanh"),
                 call='dense_forward(X, W, b, activation="tanh") with X of shape (1, 6)',
                 diagnose=[matches(np.tanh(X @ W), "did you forget to add the bias b?")])


def test_dense_forward_does_not_modify_inputs(student, reference):
    """dense_forward() leaves X, W and b unchanged"""
    X, W, b = random_layer(m=4, n=3, k=5, seed=8)
    out = expect_inputs_untouched(student.dense_forward, X, W, b, "relu",
                                  call="dense_forward(X, W, b)", names=["X", "W", "b"])
    expect_shape(out, (4, 5), call="dense_forward(X, W, b)")
