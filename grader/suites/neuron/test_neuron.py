"""Hidden suite: activation functions, a single neuron and a dense layer (numpy)."""
import numpy as np
import pytest

from grader.checks import (
    CheckFailed,
    constant,
    expect_array,
    expect_dtype,
    expect_finite,
    expect_inputs_untouched,
    expect_no_float_warnings,
    expect_probabilities,
    expect_no_raise,
    expect_raises,
    expect_responds,
    expect_scalar,
    expect_shape,
    expect_true,
    matches,
)
from grader.proxy import StudentError, observe

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


# The tests that charge each activation's own mistakes (the dependency rule), as topics of
# depends_on; a hidden test joins a topic with prerequisite_of.
ACTIVATION_TESTS = {"relu": ("test_relu_values",), "sigmoid": ("test_sigmoid_values",),
                    "tanh": ("test_tanh_values",), "step": ("test_step_values",)}


def through_activation(student, reference, prerequisites, activation, z, run):
    """``(got, expected)`` for neuron_forward with ``activation`` at pre-activation ``z``, where
    ``run()`` calls the student's neuron_forward; None when not measured here.

    An activation whose own test already lost points is applied with the student's own
    function, its result normalised to floats: its mistakes are counted there, and this test
    measures only w·x + b, the dispatch and the return type. If the student's activation
    cannot even run here, that activation is left out (and the message says so).
    """
    charged = prerequisites.counted(activation) if activation in prerequisites.topics else ""
    if not charged:
        expected = getattr(reference, activation)(z) if activation != "linear" else z
        return run(), expected
    try:
        own = getattr(student, activation)(z)
        own = None if isinstance(own, (list, tuple)) else np.asarray(own, dtype=np.float64)
        got = run()
    except StudentError as exc:
        if exc.not_implemented:
            raise
        own = None
    except (TypeError, ValueError):  # what came back is not numbers
        own = None
    if own is None or own.shape != np.shape(z):
        prerequisites.note(f'activation="{activation}" not measured here, {charged}')
        return None
    prerequisites.note(f"{activation}() itself is compared with your own {activation}(): "
                       f"{charged}")
    if isinstance(got, np.ndarray) and got.dtype.kind in "biu":
        got = got.astype(np.float64)
    elif isinstance(got, (int, np.integer)) and not isinstance(got, bool):
        got = float(got)
    return got, own


def random_layer(m=5, n=4, k=3, seed=0):
    """A batch X (m, n), weights W (n, k) and bias b (k,); n != k so transposes show."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)), rng.normal(size=(n, k)), rng.normal(size=k)


@pytest.mark.prerequisite_of("test_neuron_single_sample", "test_neuron_batch", topic="relu")
def test_relu_does_not_modify_input(student):
    """relu() leaves its argument unchanged"""
    z = np.random.default_rng(1).normal(size=(4, 6))
    out = expect_inputs_untouched(student.relu, z, call="relu(z)", names=["z"])
    expect_shape(out, z.shape, call="relu(z)")
    expect_responds(student.relu, [z], [z + 1.0], call="relu(z)",
                    why="relu(z) must be computed from z (a constant leaves z unchanged too)")


@pytest.mark.public
def test_relu_values(student, reference):
    """relu() zeroes negatives and keeps positives, for a 2-D array"""
    # A writable copy: an in-place relu is charged by the test of that alone
    # (the worker works on its own copy, so nothing flows back into FIXED_Z).
    expect_array(student.relu(np.array(FIXED_Z)), reference.relu(FIXED_Z), call="relu(z)",
                 diagnose=[matches(np.abs(FIXED_Z), "negative values must become 0, not "
                                                    "change sign")])


@pytest.mark.public
def test_sigmoid_values(student, reference):
    """sigmoid() matches 1 / (1 + exp(-z)) on ordinary inputs"""
    expect_array(student.sigmoid(FIXED_Z), reference.sigmoid(FIXED_Z), call="sigmoid(z)",
                 diagnose=[matches(1.0 - reference.sigmoid(FIXED_Z),
                                   "did you write exp(z) instead of exp(-z)?")])


STABLE_SOFTMAX_HINT = ("exp() overflows for scores this large: subtract each row's maximum "
                       "before exponentiating")
STABLE_SIGMOID_HINT = ("for very negative z, exp(-z) overflows: use exp(-|z|) and the two "
                       "equivalent forms for z >= 0 and z < 0")


@pytest.mark.public
@pytest.mark.points(2)
def test_sigmoid_extreme_inputs(student, reference):
    """sigmoid() stays finite and correct for z = -1000 ... 1000, without overflow warnings"""
    call = "sigmoid(z) with |z| up to 1000"
    with observe() as seen:
        got = student.sigmoid(EXTREME_Z)
    got = expect_array(got, reference.sigmoid(EXTREME_Z), call=call, atol=1e-12,
                       hints=[STABLE_SIGMOID_HINT], nonfinite=STABLE_SIGMOID_HINT)
    expect_true(np.all((got >= 0) & (got <= 1)),
                "sigmoid(z): values must lie between 0 and 1")
    expect_no_float_warnings(seen.warnings, call, hints=[
        "the stub asks for a sigmoid that does not overflow: 1 / (1 + exp(-z)) computes "
        "exp(1000) = inf on the way; " + STABLE_SIGMOID_HINT])


@pytest.mark.public
def test_tanh_values(student, reference):
    """tanh() matches the hyperbolic tangent, also for |z| up to 1000"""
    z = np.concatenate([FIXED_Z.ravel(), EXTREME_Z])
    stable = ("np.tanh is stable; a hand-written (e^z - e^-z) / (e^z + e^-z) overflows for "
              "large |z|")
    expect_array(student.tanh(z), reference.tanh(z), call="tanh(z)", hints=[stable],
                 nonfinite=stable)


@pytest.mark.public
def test_step_values(student, reference):
    """step() gives 1.0 where z >= 0 and 0.0 elsewhere, as floats"""
    call = "step(z)"
    got = expect_shape(student.step(FIXED_Z), FIXED_Z.shape, call)
    problems = []  # both mistakes are named when both are made
    if got.dtype.kind in "biu":  # a float result is a requirement the docstring states
        problems.append(f"returned dtype {got.dtype}; the docstring asks for \"a float array "
                        "of the same shape\" (1.0 and 0.0): use np.where(z >= 0, 1.0, 0.0) "
                        "or .astype(float)")
    elif got.dtype.kind != "f":
        expect_dtype(got, "f", call)
    try:
        expect_array(got.astype(np.float64) if got.dtype.kind in "biu" else got,
                     reference.step(FIXED_Z), call=call,
                     diagnose=[matches(np.where(FIXED_Z > 0, 1.0, 0.0),
                                       "at exactly z = 0 the step is 1.0: use z >= 0, not z > 0")])
    except CheckFailed as exc:
        problems.append(str(exc).removeprefix(f"{call}: "))
    expect_true(not problems, f"{call}: " + "; and ".join(problems))


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


@pytest.mark.public
@pytest.mark.points(2)
@pytest.mark.depends_on("test_softmax_values")
def test_softmax_extreme_inputs(student, reference, prerequisites):
    """softmax() stays finite for scores up to 1000 and does not modify its input"""
    z = np.array([[1000.0, 999.0, 0.0], [-1000.0, -1000.0, -999.0], [500.0, 500.0, 500.0]])
    call = "softmax(z) with scores up to 1000"
    with observe() as seen:
        got = expect_inputs_untouched(student.softmax, z, call="softmax(z)", names=["z"])
    if prerequisites:  # wrong values already charged: measure stability only
        expect_shape(got, z.shape, call)
        expect_finite(got, call, hints=[STABLE_SOFTMAX_HINT])
        expect_responds(student.softmax, [z], [z[:, ::-1].copy()], call="softmax(z)",
                        why="softmax(z) must be computed from z")
        prerequisites.excuse("the values themselves", "test_softmax_values")
    else:
        expect_array(got, reference.softmax(z), call=call, diagnose=SOFTMAX_DIAGNOSES,
                     nonfinite=STABLE_SOFTMAX_HINT)
    expect_no_float_warnings(seen.warnings, call,
                             hints=["subtract each row's maximum before exponentiating"])


@pytest.mark.public
@pytest.mark.points(2)
@pytest.mark.depends_on(**ACTIVATION_TESTS)
def test_neuron_single_sample(student, reference, prerequisites):
    """neuron_forward() on one sample returns f(w·x + b) as a number, for every activation"""
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=4), rng.normal(size=4), 0.3
    for activation in ACTIVATIONS:
        call = f'neuron_forward(x, w, b, activation="{activation}")'
        case = through_activation(student, reference, prerequisites, activation,
                                  np.array([float(x @ w + b)]),
                                  lambda: student.neuron_forward(x, w, b, activation))
        if case is None:
            continue
        got, expected = case[0], float(np.asarray(case[1]).ravel()[0])
        without_bias = reference.neuron_forward(x, w, 0.0, activation)
        expect_scalar(got, expected, call=call,
                      diagnose=[matches([without_bias], "did you forget to add the bias b?")]
                      if not np.isclose(expected, without_bias) else [])
    expect_scalar(student.neuron_forward(x, w, b), reference.neuron_forward(x, w, b),
                  call="neuron_forward(x, w, b) with the default activation (sigmoid)")


@pytest.mark.points(2)
@pytest.mark.depends_on(**ACTIVATION_TESTS)
def test_neuron_batch(student, reference, prerequisites):
    """neuron_forward() on a batch X of shape (m, n) returns shape (m,)"""
    X, W, _ = random_layer(m=6, n=4, k=1, seed=4)
    w, b = W[:, 0], -0.2
    for activation in ACTIVATIONS:
        call = f'neuron_forward(X, w, b, activation="{activation}") with X of shape (6, 4)'
        z = X @ w + b
        case = through_activation(student, reference, prerequisites, activation, z,
                                  lambda: student.neuron_forward(X, w, b, activation))
        if case is None:
            continue
        expect_array(case[0], case[1], call=call,
                     diagnose=[matches(z, "did you forget to apply the activation?")]
                     if activation != "linear" else [])


def test_neuron_unknown_activation(student):
    """neuron_forward() raises ValueError for an unknown activation name"""
    x = np.ones(3)
    # A function that raises ValueError for every name has not told the bad names from the
    # good ones. One valid name raising (say relu() itself raising a UnicodeDecodeError, a
    # ValueError) is that activation's mistake, charged by its own tests, not this one's.
    refused = []
    for name in ("relu", "sigmoid", "tanh", "step", "linear"):  # the names it must accept
        try:
            expect_no_raise(ValueError, student.neuron_forward, x, x, 0.0, name,
                            call=f'neuron_forward(x, w, b, activation="{name}")',
                            why="raise ValueError only when the activation is not one of the "
                                "five names (\"relu\", \"sigmoid\", \"tanh\", \"step\", "
                                "\"linear\")")
        except CheckFailed as failure:
            refused.append(failure)
    if len(refused) == 5:
        raise refused[0]
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


def dense_layer(prerequisites, m, n, k, seed):
    """The test's layer; square (n == k) once test_dense_forward_values has failed, so a
    dense_forward that multiplies by W transposed (already charged) still runs here."""
    if prerequisites.any("test_dense_forward_values"):
        return random_layer(m=m, n=k, k=k, seed=seed)
    return random_layer(m=m, n=n, k=k, seed=seed)


def own_linear(student, reference, prerequisites, X, W, b):
    """X·W + b, or the student's own dense_forward(X, W, b, "linear") once
    test_dense_forward_values has charged its mistakes."""
    if not prerequisites.any("test_dense_forward_values"):
        return X @ W + b
    linear = expect_array(student.dense_forward(X, W, b, "linear"), X @ W + b,
                          call='dense_forward(X, W, b, activation="linear")', rtol=np.inf,
                          atol=np.inf)  # shape, dtype and finiteness only: values are counted
    expect_responds(student.dense_forward, [X, W, b, "linear"], [X + 1.0, W, b, "linear"],
                    call='dense_forward(X, W, b, activation="linear")',
                    why="the output must be computed from X (X·W + b)")
    prerequisites.excuse("X·W + b itself is taken from your own linear layer",
                         "test_dense_forward_values")
    return linear


@pytest.mark.depends_on("test_softmax_values", "test_dense_forward_values")
def test_dense_forward_softmax(student, reference, prerequisites):
    """dense_forward(..., activation="softmax") gives a probability row per sample"""
    X, W, b = dense_layer(prerequisites, m=7, n=4, k=3, seed=6)
    call = 'dense_forward(X, W, b, activation="softmax")'
    linear = own_linear(student, reference, prerequisites, X, W, b)
    if prerequisites.any("test_softmax_values"):
        expected = expect_array(student.softmax(linear), linear, call="softmax(z)",
                                rtol=np.inf, atol=np.inf)
        expect_responds(student.softmax, [linear], [2.0 * linear], call="softmax(z)",
                        why="softmax(z) must be computed from z")
        prerequisites.excuse("the softmax itself is your own softmax()", "test_softmax_values")
    else:
        expected = reference.softmax(linear)
    got = expect_array(student.dense_forward(X, W, b, "softmax"), expected, call=call,
                       diagnose=[matches(reference.softmax(X @ W), "did you forget to add the "
                                                                   "bias b?"),
                                 *SOFTMAX_DIAGNOSES])
    if not prerequisites:
        expect_probabilities(got, call=call)


@pytest.mark.depends_on("test_dense_forward_values", tanh="test_tanh_values")
def test_dense_forward_single_sample_batch(student, reference, prerequisites):
    """dense_forward() keeps the batch axis for a batch of one sample"""
    X, W, b = dense_layer(prerequisites, m=1, n=6, k=2, seed=7)
    call = f'dense_forward(X, W, b, activation="tanh") with X of shape {X.shape}'
    linear = own_linear(student, reference, prerequisites, X, W, b)
    case = through_activation(student, reference, prerequisites, "tanh", linear,
                              lambda: student.dense_forward(X, W, b, "tanh"))
    if case is not None:
        expect_array(case[0], case[1], call=call,
                     diagnose=[matches(np.tanh(X @ W), "did you forget to add the bias b?")])


@pytest.mark.depends_on("test_dense_forward_values")
def test_dense_forward_does_not_modify_inputs(student, reference, prerequisites):
    """dense_forward() leaves X, W and b unchanged"""
    X, W, b = dense_layer(prerequisites, m=4, n=3, k=5, seed=8)
    out = expect_inputs_untouched(student.dense_forward, X, W, b, "relu",
                                  call="dense_forward(X, W, b)", names=["X", "W", "b"])
    expect_shape(out, (4, W.shape[1]), call="dense_forward(X, W, b)")
    expect_responds(student.dense_forward, [X, W, b, "linear"], [X + 1.0, W, b, "linear"],
                    call="dense_forward(X, W, b)",
                    why="the output must be computed from X (a constant leaves X unchanged too)")
    prerequisites.excuse("a square W is used here", "test_dense_forward_values")
