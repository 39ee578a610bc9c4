"""Hidden suite: Rosenblatt's perceptron (numpy)."""
import numpy as np
import pytest

from grader.checks import (
    constant,
    expect_array,
    expect_finite,
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
    def run(strict=False, sign=1.0, bias_update=True, rate=lr):
        w, b = np.zeros(X.shape[1]), 0.0
        for _ in range(epochs):
            for x_i, target in zip(X, y):
                z = x_i @ w + b
                y_hat = int(z > 0) if strict else int(z >= 0)
                update = sign * rate * (target - y_hat)
                w = w + update * x_i
                b = b + update if bias_update else b
        return (w, np.array([b]))[attribute]
    found = [matches(run(strict=True), "at exactly w·x + b = 0 predict 1 (use >= 0, not > 0)"),
             matches(run(sign=-1.0), SIGN_HINT),
             matches(run(bias_update=False), "update the bias too: b += lr * (y - y_hat)")]
    if lr != 1.0:
        found.append(matches(run(rate=1.0), "these are the weights of lr=1: multiply both "
                                            "updates by the learning rate lr"))
    return found


def mistakes_by_reference(reference, X, y, lr, epochs, attribute):
    """Diagnoses for weights_ or bias_ from the reference perceptron itself, on transformed
    problems (so the public suite holds no second perceptron):
    - a flipped sign, w -= lr * (y - y_hat) * x, is the rule with the learning rate -lr;
    - a strict step (1 only where w.x + b > 0) is the negated result of the rule on the
      flipped labels 1 - y: with w' = -w, [w.x + b > 0] = 1 - [w'.x + b' >= 0], and the
      update of w' for the label 1 - y is exactly the negated strict update of w;
    - lr ignored: the rule with lr = 1."""
    def run(rate, labels, sign=1.0):
        fitted_ref = reference.Perceptron(lr=rate, epochs=epochs).fit(X, labels)
        return sign * np.atleast_1d(np.asarray(getattr(fitted_ref, attribute),
                                               dtype=np.float64))
    flipped = 1 - np.asarray(y)
    found = [matches(run(lr, flipped, sign=-1.0),
                     "at exactly w·x + b = 0 predict 1 (use >= 0, not > 0)"),
             matches(run(-lr, y), SIGN_HINT)]
    if lr != 1.0:
        found.append(matches(run(1.0, y), "these are the weights of lr=1: multiply both "
                                          "updates by the learning rate lr"))
    return found


def bias_hint(student, n):
    """Evidence about the bias update: on inputs that are all zeros with labels 0, the first
    sample is predicted 1 (w·x + b = 0 >= 0), so the rule must move the bias to -lr; only the
    bias can change there. Returns [message] when bias_ stayed 0.0, else []."""
    try:
        model = student.Perceptron(lr=1.0, epochs=1)
        model.fit(np.zeros((4, n)), np.zeros(4, dtype=int))
        bias = float(np.asarray(model.bias_, dtype=np.float64).ravel()[0])
    except Exception:  # noqa: BLE001 - no evidence either way
        return []
    if bias == 0.0:
        return ["update the bias too: b += lr * (y - y_hat) (after fitting on zero inputs "
                "labelled 0, whose first sample is a mistake, bias_ is still 0)"]
    return []


def start_hint(student, n):
    """Evidence about the starting weights: fitted on inputs that are all zeros, the rule can
    never change the weights (every update is lr * (y - y_hat) * 0), so weights_ is exactly
    where fit() started. Returns the message for a non-zero start, else ""."""
    try:
        model = student.Perceptron(lr=1.0, epochs=1)
        model.fit(np.zeros((4, n)), np.ones(4, dtype=int))
        start = np.asarray(model.weights_, dtype=np.float64)
    except Exception:  # noqa: BLE001 - no evidence either way: say nothing about the start
        return ""
    if start.shape == (n,) and np.isfinite(start).all() and np.any(start != 0):
        return ("weights_ does not start at zero: after fitting on inputs that are all zeros "
                "(which the rule never changes) it is not zero; start from "
                "np.zeros(n_features) and bias 0.0, as the docstring says")
    return ""


def starting_point(student, X, y, call):
    """The weights and bias fit() starts from: Perceptron(epochs=0).fit(X, y) makes no update.
    A start that differs between two fits cannot be measured from: the test fails."""
    starts = []
    for _ in range(2):
        model = student.Perceptron(lr=0.1, epochs=0)
        model.fit(X, y)
        w = expect_finite(expect_shape(model.weights_, (X.shape[1],), call, name="weights_"),
                          call, name="weights_").astype(np.float64)
        starts.append((w, expect_number(model.bias_, call, name="bias_")))
    (w1, b1), (w2, b2) = starts
    expect_true(np.array_equal(w1, w2) and b1 == b2,
                f"{call}: not measured — weights_ starts at different values on every fit, "
                "so the rule cannot be checked from its start; start from np.zeros(n_features) "
                "and bias 0.0, as the docstring says")
    return w1, b1


def rule_from(start, X, y, lr, epochs):
    """The perceptron rule of the docstring run from ``start`` (hidden tests only)."""
    w, b = np.array(start[0], dtype=np.float64), float(start[1])
    for _ in range(epochs):
        mistakes = 0
        for x_i, target in zip(np.asarray(X, dtype=np.float64), y):
            update = lr * (int(target) - (1 if x_i @ w + b >= 0 else 0))
            w, b = w + update * x_i, b + update
            mistakes += update != 0
        if mistakes == 0:
            break
    return w, b


def rule_hints(student, X, default):
    """The start is named when the evidence shows it; otherwise ``default``."""
    found = start_hint(student, X.shape[1])
    return [found] if found else default


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
    hints = bias_hint(student, GATE_X.shape[1]) + rule_hints(
        student, GATE_X, ["visit the samples in order and predict 1 when w·x + b >= 0, "
                          "with the weights before the update"])
    expect_array(got.weights_, ref.weights_, call, name="weights_",
                 diagnose=mistakes_by_reference(reference, GATE_X, AND_Y, 1.0, 1, "weights_"),
                 otherwise=hints)
    expect_scalar(got.bias_, ref.bias_, call, name="bias_",
                  diagnose=mistakes_by_reference(reference, GATE_X, AND_Y, 1.0, 1, "bias_"),
                  otherwise=hints)


@pytest.mark.points(2)
@pytest.mark.depends_on("test_one_epoch_on_and")
@pytest.mark.prerequisite_of("test_converges_on_and_and_or", topic="errors_")
def test_errors_per_epoch_on_and(student, reference, prerequisites):
    """errors_ counts the mistakes of every epoch on AND"""
    call = "Perceptron(lr=1.0, epochs=10).fit(X, y) on the AND gate"
    got = fitted(student, GATE_X, AND_Y, epochs=10)
    errors = errors_list(got, call)
    if prerequisites:  # the rule is charged already: check the counting alone
        clean = errors.index(0) if 0 in errors else len(errors)
        expect_true(0 < len(errors) <= 10 and all(0 <= e <= 4 for e in errors)
                    and all(e == 0 for e in errors[clean:]) and errors[0] > 0,
                    f"{call}: errors_ is {errors}; expected one count per epoch, each between "
                    "0 and 4 (the number of samples), the first above 0 (the first epoch on AND "
                    "always has a mistake) — reset the count at the start of every epoch")
        prerequisites.excuse("the counts follow your own update rule", "test_one_epoch_on_and")
        return
    ref = reference.Perceptron(lr=1.0, epochs=10).fit(GATE_X, AND_Y)
    check_errors(errors, ref.errors_, call)


@pytest.mark.points(3)
@pytest.mark.depends_on("test_one_epoch_on_and", "test_errors_per_epoch_on_and")
def test_rule_on_random_separable_data(student, reference, prerequisites):
    """the weights match the perceptron rule on random data, with lr=0.1 over 3 epochs"""
    X, y = separable_set(seed=1)
    call = "Perceptron(lr=0.1, epochs=3).fit(X, y) on random data"
    got = fitted(student, X, y, lr=0.1, epochs=3)
    if prerequisites.any("test_one_epoch_on_and"):
        # The rule itself is already charged: measure the learning rate alone. From zero
        # weights, whatever the rule, lr only scales every weight (the predictions depend on
        # the sign of w·x + b alone), so lr=0.1 must give a tenth of lr=1.
        if start_hint(student, X.shape[1]):
            # The start is already charged: measure the rule from the student's own start
            # (a seeded random start, as in many textbooks). A test that cannot measure its
            # subject earns nothing.
            start = starting_point(student, X, y, call)
            want_w, want_b = rule_from(start, X, y, lr=0.1, epochs=3)
            expect_array(got.weights_, want_w, call, name="weights_", rtol=1e-6, atol=1e-9,
                         hints=["from your own starting weights, the weights after 3 epochs "
                                "differ from the perceptron rule's: after each mistake add "
                                "lr * (y - y_hat) * x to the weights and lr * (y - y_hat) to "
                                "the bias"])
            expect_scalar(got.bias_, want_b, call, name="bias_", rtol=1e-6, atol=1e-9)
            prerequisites.excuse("the starting weights themselves", "test_one_epoch_on_and")
            return
        unit = fitted(student, X, y, lr=1.0, epochs=3)
        expect_true(np.any(np.asarray(unit.weights_, dtype=np.float64) != 0),
                    f"{call}: weights_ never moved from zero on data the rule misclassifies "
                    "— update the weights with lr * (y - y_hat) * x after each mistake")
        expect_array(got.weights_, 0.1 * np.asarray(unit.weights_, dtype=np.float64), call,
                     name="weights_", rtol=1e-6, atol=1e-9,
                     hints=["lr=0.1 should give exactly a tenth of the weights of lr=1.0: "
                            "multiply both updates by the learning rate lr"])
        prerequisites.excuse("the update rule itself", "test_one_epoch_on_and")
        return
    ref = reference.Perceptron(lr=0.1, epochs=3).fit(X, y)
    expect_array(got.weights_, ref.weights_, call, name="weights_",
                 diagnose=known_mistakes(X, y, 0.1, 3, 0),
                 otherwise=rule_hints(student, X, []))
    expect_scalar(got.bias_, ref.bias_, call, name="bias_",
                  diagnose=known_mistakes(X, y, 0.1, 3, 1))
    if prerequisites.any("test_errors_per_epoch_on_and"):
        prerequisites.excuse("errors_", "test_errors_per_epoch_on_and")
    else:
        check_errors(errors_list(got, call), ref.errors_, call)


def moving_data(n):
    """Two samples on which every perceptron rule, right or wrong (sign, strict step, no bias
    update, lr ignored), ends its first epoch with weights or bias away from zero: the rule
    must have made a mistake on one of them, and x and its reverse do not cancel."""
    x = np.arange(1.0, n + 1.0)
    return np.vstack([x, x[::-1]]), np.array([0, 1])


def expect_fit_moves(student, n, call):
    """fit() learns something: after one epoch on ``moving_data`` its weights or bias are not
    zero. A fit() that ignores its data leaves them there (and passes a test of a side
    property, or a comparison with its own zero weights, without computing anything)."""
    X, y = moving_data(n)
    model = fitted(student, X, y, lr=1.0, epochs=1)
    w = expect_finite(expect_shape(model.weights_, (n,), call, name="weights_"), call,
                      name="weights_")
    b = expect_number(model.bias_, call, name="bias_")
    expect_true(bool(np.any(w != 0)) or b != 0,
                f"{call}: weights_ and bias_ are still zero after an epoch with mistakes "
                "— fit() must update them on each mistake")
    return model, w.astype(np.float64), b


def learned_weights(student, model, n, call):
    """(model, weights_, bias_) to compare net_input/predict with: the test's fitted model,
    or, where its weights ended at zero (w·x + b = 0 for every row, which a function that
    ignores them also gives), one fitted on ``moving_data``."""
    w = expect_finite(expect_shape(model.weights_, (n,), call, name="weights_"),
                      call, name="weights_").astype(np.float64)
    b = expect_number(model.bias_, call, name="bias_")
    if np.any(w != 0) or b != 0:
        return model, w, b
    return expect_fit_moves(student, n, call)


@pytest.mark.public
def test_net_input(student):
    """net_input(X) is w·x + b for every row, with the fitted weights"""
    X, y = separable_set(m=20, seed=2)
    call = "net_input(X)"
    model = fitted(student, X, y, lr=0.5, epochs=2)
    model, w, b = learned_weights(student, model, X.shape[1], call)
    expect_array(model.net_input(X), X @ w + b, call,
                 diagnose=[(lambda got, exp: np.allclose(got, X @ w),
                            "did you forget to add the bias_?")])


@pytest.mark.public
def test_predict(student):
    """predict(X) returns 0/1 integers, 1 exactly where net_input(X) >= 0"""
    X, y = separable_set(m=30, seed=3)
    model = fitted(student, X, y, lr=1.0, epochs=1)
    call = "predict(X)"
    model, w, b = learned_weights(student, model, X.shape[1], call)
    X_edge = np.vstack([X, np.zeros((1, X.shape[1]))])  # net input exactly b at the origin
    expected = (X_edge @ w + b >= 0).astype(int)
    labels = expect_labels(model.predict(X_edge), len(X_edge), "predict(X)", allowed=(0, 1))
    strict = (X_edge @ w + b > 0).astype(int)
    expect_array(labels, expected, "predict(X)",
                 diagnose=[(lambda got, exp: np.array_equal(got, 1 - exp),
                            "the labels are inverted: predict 1 where w·x + b >= 0"),
                           (lambda got, exp: np.array_equal(got, strict),
                            "where w·x + b is exactly 0 the prediction is 1: use >= 0, not > 0")])


@pytest.mark.public
@pytest.mark.points(2)
@pytest.mark.depends_on("test_one_epoch_on_and", "test_predict")
def test_converges_on_and_and_or(student, prerequisites):
    """the perceptron learns the AND and OR gates: a last epoch without mistakes"""
    if prerequisites.any("test_one_epoch_on_and"):  # a wrong rule need not converge
        call = "Perceptron(epochs=20).fit(X, y) on the AND gate"
        errors_list(fitted(student, GATE_X, AND_Y, epochs=20), call)  # it runs, at least
        expect_fit_moves(student, 2, "Perceptron(lr=1.0, epochs=1).fit(X, y)")  # and learns
        prerequisites.excuse("convergence is not measured with a wrong update rule",
                             "test_one_epoch_on_and")
        return
    for gate, y in (("AND", AND_Y), ("OR", OR_Y)):
        call = f"Perceptron(epochs=20).fit(X, y) on the {gate} gate"
        model = fitted(student, GATE_X, y, epochs=20)
        if prerequisites.any("errors_"):
            prerequisites.excuse("errors_", "errors_")
        else:
            errors = errors_list(model, call)
            expect_true(len(errors) > 0 and errors[-1] == 0,
                        f"{call}: the last epoch still made {errors[-1] if errors else '?'} "
                        f"mistakes; {gate} is linearly separable, so the rule must converge "
                        f"— {SIGN_HINT}")
        if prerequisites.any("test_predict"):  # judge the learned line, not predict()
            w = expect_finite(model.weights_, call, name="weights_")
            b = expect_finite(model.bias_, call, name="bias_")
            labels = (GATE_X @ w + b >= 0).astype(int)
            prerequisites.excuse("predict() itself", "test_predict")
        else:
            labels = expect_labels(model.predict(GATE_X), 4, f"{call}, then predict(X)",
                                   allowed=(0, 1))
        expect_true(np.array_equal(labels, y),
                    f"{call}: {int(np.sum(labels != y))} of 4 inputs are classified wrong "
                    "after a clean epoch — predict with the same rule fit() uses "
                    "(1 where w·x + b >= 0)")


@pytest.mark.points(2)
@pytest.mark.depends_on("test_one_epoch_on_and", "test_errors_per_epoch_on_and")
def test_never_converges_on_xor(student, reference, prerequisites):
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
    # errors_ is the student's report of the run: the run itself is measured by its result.
    w = expect_finite(expect_shape(model.weights_, (2,), call, name="weights_"), call,
                      name="weights_").astype(np.float64)
    b = expect_number(model.bias_, call, name="bias_")
    if prerequisites.any("test_one_epoch_on_and"):
        # a rule already charged runs its own course; it still has to run: 25 epochs, each
        # with mistakes, move the weights or the bias away from their zero start
        expect_true(bool(np.any(w != 0)) or b != 0,
                    f"{call}: errors_ reports mistakes in every epoch, but weights_ and bias_ "
                    "are still at their zero start — fit() must update them on each mistake")
        prerequisites.excuse("the run follows your own update rule", "test_one_epoch_on_and")
        return
    ref = reference.Perceptron(lr=1.0, epochs=25).fit(GATE_X, XOR_Y)
    counted = errors == [int(e) for e in ref.errors_]
    if prerequisites.any("test_errors_per_epoch_on_and"):   # the counting is charged there
        prerequisites.excuse("the counts in errors_", "test_errors_per_epoch_on_and")
        counted = True
    expect_true(counted and np.allclose(w, ref.weights_) and np.isclose(b, ref.bias_),
                f"{call}: errors_ is {errors}, and weights_/bias_ after 25 epochs do not match "
                "them under the perceptron rule your fit() follows on AND — run every epoch "
                "with the same rule and count each sample where y_hat != y")


def test_fit_does_not_modify_data(student):
    """fit() leaves X and y unchanged"""
    X, y = separable_set(m=25, seed=4)
    model = student.Perceptron(lr=1.0, epochs=5)
    expect_inputs_untouched(model.fit, X, y, call="fit(X, y)", names=["X", "y"])
    # a fit() that learns nothing leaves X and y unchanged too
    expect_fit_moves(student, X.shape[1], "fit(X, y)")
