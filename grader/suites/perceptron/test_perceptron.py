"""Hidden suite: Rosenblatt's perceptron (numpy)."""
import numpy as np
import pytest

from grader.checks import (
    constant,
    expect_array,
    expect_inputs_untouched,
    expect_labels,
    expect_number,
    expect_scalar,
    expect_shape,
    expect_true,
    matches,
)

GATE_X = constant([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
AND_Y = constant([0, 0, 0, 1])
OR_Y = constant([0, 1, 1, 1])
XOR_Y = constant([0, 1, 1, 0])

SIGN_HINT = "the rule is w += lr * (y - y_hat) * x: check the sign of (y - y_hat)"


def separable_set(m=40, n=3, seed=0):
    """Random points labelled by a fixed hyperplane, with a gap so the perceptron converges."""
    rng = np.random.default_rng(seed)
    w, b = rng.normal(size=n), 0.3
    X = rng.normal(size=(4 * m, n))
    margin = X @ w + b
    keep = np.abs(margin) > 0.3
    X, margin = X[keep][:m], margin[keep][:m]
    return X, (margin > 0).astype(int)


def known_mistakes(X, y, lr, epochs, attribute):
    """Diagnoses for weights_ (attribute 0) or bias_ (1): the result of each classic slip."""
    def run(strict=False, sign=1.0, bias_update=True):
        w, b = np.zeros(X.shape[1]), 0.0
        for _ in range(epochs):
            for x_i, target in zip(X, y):
                z = x_i @ w + b
                y_hat = int(z > 0) if strict else int(z >= 0)
                update = sign * lr * (target - y_hat)
                w = w + update * x_i
                b = b + update if bias_update else b
        return (w, np.array([b]))[attribute]
    return [matches(run(strict=True), "at exactly w·x + b = 0 predict 1 (use >= 0, not > 0)"),
            matches(run(sign=-1.0), SIGN_HINT),
            matches(run(bias_update=False), "update the bias too: b += lr * (y - y_hat)")]


def fitted(student, X, y, lr=1.0, epochs=10):
    model = student.Perceptron(lr=lr, epochs=epochs)
    returned = model.fit(X, y)
    expect_true(returned is not None,
                f"Perceptron(lr={lr}, epochs={epochs}).fit(X, y) returned None — end fit() "
                "with `return self` so calls can be chained")
    return model


def errors_list(model, call):
    errors = model.errors_
    expect_true(isinstance(errors, (list, tuple, np.ndarray)),
                f"{call}: errors_ should be a list with one count per epoch")
    return [int(e) for e in np.asarray(errors).ravel()]


def check_errors(got, expected, call):
    """errors_ per epoch; an implementation may keep going after a clean epoch (all zeros)."""
    prefix = got[:len(expected)]
    expect_true(prefix == list(expected) and all(e == 0 for e in got[len(expected):]),
                f"{call}: errors_ (mistakes per epoch) is {got}, which does not match the "
                "perceptron rule — count a sample as a mistake when y_hat != y, predicted "
                "with the weights *before* its update")


@pytest.mark.public
def test_fit_attributes(student):
    """fit() returns the model and sets weights_, bias_ and errors_"""
    call = "Perceptron().fit(X, y) on the AND gate"
    model = fitted(student, GATE_X, AND_Y)
    weights = expect_shape(model.weights_, (2,), call, name="weights_")
    expect_true(weights.dtype.kind == "f", f"{call}: weights_ should hold floats, got "
                                           f"{weights.dtype}")
    expect_number(model.bias_, call, name="bias_")
    errors_list(model, call)


@pytest.mark.public
@pytest.mark.points(2)
def test_one_epoch_on_and(student, reference):
    """after one epoch on AND the weights and bias follow the perceptron rule exactly"""
    call = "Perceptron(lr=1.0, epochs=1).fit(X, y) on the AND gate"
    got = fitted(student, GATE_X, AND_Y, lr=1.0, epochs=1)
    ref = reference.Perceptron(lr=1.0, epochs=1).fit(GATE_X, AND_Y)
    expect_array(got.weights_, ref.weights_, call, name="weights_",
                 diagnose=known_mistakes(GATE_X, AND_Y, 1.0, 1, 0),
                 hints=["start from zeros, visit the samples in order, and predict 1 when "
                        "w·x + b >= 0"])
    expect_scalar(got.bias_, ref.bias_, call, name="bias_",
                  diagnose=known_mistakes(GATE_X, AND_Y, 1.0, 1, 1))


@pytest.mark.points(3)
def test_rule_on_random_separable_data(student, reference):
    """the weights match the perceptron rule on random data, with lr=0.1 over 3 epochs"""
    X, y = separable_set(seed=1)
    call = "Perceptron(lr=0.1, epochs=3).fit(X, y) on random data"
    got = fitted(student, X, y, lr=0.1, epochs=3)
    ref = reference.Perceptron(lr=0.1, epochs=3).fit(X, y)
    expect_array(got.weights_, ref.weights_, call, name="weights_",
                 diagnose=known_mistakes(X, y, 0.1, 3, 0),
                 hints=["use the learning rate lr in both updates and the samples in the "
                        "given order (no shuffling)"])
    expect_scalar(got.bias_, ref.bias_, call, name="bias_",
                  diagnose=known_mistakes(X, y, 0.1, 3, 1))
    check_errors(errors_list(got, call), ref.errors_, call)


@pytest.mark.points(2)
def test_errors_per_epoch_on_and(student, reference):
    """errors_ counts the mistakes of every epoch on AND"""
    call = "Perceptron(lr=1.0, epochs=10).fit(X, y) on the AND gate"
    got = fitted(student, GATE_X, AND_Y, epochs=10)
    ref = reference.Perceptron(lr=1.0, epochs=10).fit(GATE_X, AND_Y)
    check_errors(errors_list(got, call), ref.errors_, call)


@pytest.mark.public
@pytest.mark.points(2)
def test_converges_on_and_and_or(student):
    """the perceptron learns the AND and OR gates: a last epoch without mistakes"""
    for gate, y in (("AND", AND_Y), ("OR", OR_Y)):
        call = f"Perceptron(epochs=20).fit(X, y) on the {gate} gate"
        model = fitted(student, GATE_X, y, epochs=20)
        errors = errors_list(model, call)
        expect_true(len(errors) > 0 and errors[-1] == 0,
                    f"{call}: the last epoch still made {errors[-1] if errors else '?'} "
                    f"mistakes; {gate} is linearly separable, so the rule must converge — "
                    f"{SIGN_HINT}")
        labels = expect_labels(model.predict(GATE_X), 4, f"{call}, then predict(X)",
                               allowed=(0, 1))
        expect_true(np.array_equal(labels, y),
                    f"{call}: predict(X) gets {int(np.sum(labels != y))} of 4 inputs wrong "
                    "after a clean epoch — predict with the same rule fit() uses "
                    "(1 where w·x + b >= 0)")


@pytest.mark.points(2)
def test_never_converges_on_xor(student):
    """on XOR every epoch has mistakes: no straight line separates it"""
    call = "Perceptron(epochs=25).fit(X, y) on the XOR gate"
    model = fitted(student, GATE_X, XOR_Y, epochs=25)
    errors = errors_list(model, call)
    expect_true(len(errors) == 25,
                f"{call}: errors_ has {len(errors)} entries; with no clean epoch, fit() should "
                "run all 25 epochs and record each one")
    expect_true(min(errors) > 0,
                f"{call}: an epoch reported no mistakes, which is impossible on XOR — count "
                "every sample where y_hat != y")


@pytest.mark.public
def test_net_input(student):
    """net_input(X) is w·x + b for every row, with the fitted weights"""
    X, y = separable_set(m=20, seed=2)
    call = "net_input(X)"
    model = fitted(student, X, y, lr=0.5, epochs=2)
    w = expect_shape(model.weights_, (X.shape[1],), call, name="weights_").astype(np.float64)
    b = expect_number(model.bias_, call, name="bias_")
    expect_array(model.net_input(X), X @ w + b, call,
                 diagnose=[(lambda got, exp: np.allclose(got, X @ w),
                            "did you forget to add the bias_?")])


@pytest.mark.public
def test_predict(student):
    """predict(X) returns 0/1 integers, 1 exactly where net_input(X) >= 0"""
    X, y = separable_set(m=30, seed=3)
    model = fitted(student, X, y, lr=1.0, epochs=1)
    call = "predict(X)"
    w = expect_shape(model.weights_, (X.shape[1],), call, name="weights_").astype(np.float64)
    b = expect_number(model.bias_, call, name="bias_")
    X_edge = np.vstack([X, np.zeros((1, X.shape[1]))])  # net input exactly b at the origin
    expected = (X_edge @ w + b >= 0).astype(int)
    labels = expect_labels(model.predict(X_edge), len(X_edge), "predict(X)", allowed=(0, 1))
    strict = (X_edge @ w + b > 0).astype(int)
    expect_array(labels, expected, "predict(X)",
                 diagnose=[(lambda got, exp: np.array_equal(got, 1 - exp),
                            "the labels are inverted: predict 1 where w·x + b >= 0"),
                           (lambda got, exp: np.array_equal(got, strict),
                            "where w·x + b is exactly 0 the prediction is 1: use >= 0, not > 0")])


def test_fit_does_not_modify_data(student):
    """fit() leaves X and y unchanged"""
    X, y = separable_set(m=25, seed=4)
    model = student.Perceptron(lr=1.0, epochs=5)
    expect_inputs_untouched(model.fit, X, y, call="fit(X, y)", names=["X", "y"])
