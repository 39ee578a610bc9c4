"""What a call into student code did besides returning, observed by grader.proxy.observe().

In-place changes to arguments and warnings (numpy's floating-point ones included) are reported
to the test; nothing the student's code does to its copy of an argument reaches the test's own
objects.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.proxy import CallObservation, StudentModule, observe
from grader.sandbox import Limits, detect_mode
from helpers_core import SANDBOX_MODES, write_source

SOURCE = '''
    import warnings
    import numpy as np

    def relu_in_place(z):
        z[z < 0] = 0
        return z

    def relu(z):
        return np.maximum(z, 0)

    def sigmoid_naive(z):
        return 1 / (1 + np.exp(-z))

    def warns_a_lot(n):
        for i in range(n):
            warnings.warn(f"message {i % 3}", UserWarning)
        return n

    def warns_then_raises():
        warnings.warn("about to fail", DeprecationWarning)
        raise ValueError("failed")

    def sneaky_warning():
        warnings.warn("red\\x1b[31m text\\u202e reversed", UserWarning)
        return 1

    def replaces_item(params, *, grads):
        params["W1"] = params["W1"] - grads["dW1"]
        grads.clear()
        return params

    def appends(items):
        items.append(99)
        return len(items)

    class Box:
        def fill(self, a):
            a[:] = 7
            return 1

    def silenced(z):
        with np.errstate(over="ignore"):
            return np.exp(z)
'''


@pytest.fixture(scope="module", params=SANDBOX_MODES)
def student(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(f"observe-{request.param}")
    path = write_source(directory, "observed.py", SOURCE)
    module = StudentModule("observed", path, directory, detect_mode(request.param), Limits(),
                           call_timeout=20, budget=120)
    yield module
    module.close()


def test_in_place_change_is_observed_by_parameter_name(student):
    z = np.array([-1.0, 2.0, -3.0])
    with observe() as obs:
        out = student.relu_in_place(z)
    assert isinstance(obs, CallObservation)
    assert obs.mutated == ["z"]
    np.testing.assert_array_equal(out, [0.0, 2.0, 0.0])


def test_a_clean_call_observes_nothing(student):
    with observe() as obs:
        student.relu(np.array([-1.0, 2.0]))
    assert obs.mutated == [] and obs.warnings == []


def test_dict_items_and_keyword_arguments_are_named(student):
    params = {"W1": np.ones(2), "b1": np.zeros(2)}
    grads = {"dW1": np.ones(2)}
    with observe() as obs:
        student.replaces_item(params, grads=grads)
    assert sorted(obs.mutated) == ["grads", "params"]


def test_methods_and_lists_are_observed(student):
    box = student.Box()
    a = np.zeros(3)
    with observe() as obs:
        box.fill(a)
        student.appends([1, 2])
    assert obs.mutated == ["a", "items"]


def test_numpy_overflow_warning_is_reported(student):
    with observe() as obs:
        student.sigmoid_naive(np.array([-1000.0, 0.0]))
    assert ("RuntimeWarning", "overflow encountered in exp") in obs.warnings


def test_students_own_errstate_still_wins_inside_their_code(student):
    with observe() as obs:
        student.silenced(np.array([1000.0]))
    assert not any("overflow" in message for _, message in obs.warnings)


def test_warnings_are_distinct_and_capped(student):
    with observe() as obs:
        assert student.warns_a_lot(100_000) == 100_000
    assert sorted(obs.warnings) == [("UserWarning", f"message {i}") for i in range(3)]


def test_warnings_before_an_exception_are_still_reported(student):
    with observe() as obs, pytest.raises(ValueError):
        student.warns_then_raises()
    assert obs.warnings == [("DeprecationWarning", "about to fail")]


def test_warning_text_is_cleaned(student):
    with observe() as obs:
        student.sneaky_warning()
    ((category, message),) = obs.warnings
    assert category == "UserWarning"
    assert "\x1b" not in message and "\u202e" not in message and "text" in message


def test_observers_nest_and_end_with_their_block(student):
    z = np.array([-1.0])
    with observe() as outer:
        with observe() as inner:
            student.relu_in_place(z)
        student.appends([])
    student.relu_in_place(z)            # outside every block: recorded nowhere
    assert inner.mutated == ["z"]
    assert outer.mutated == ["z", "items"]


# --------------------------------------------------------------------------------------------
# nothing flows back: the test's values stay the test's own
# --------------------------------------------------------------------------------------------
HOSTILE = '''
    import numpy as np

    def overwrite_everything(labels, params, items, frame, *, extra):
        labels[:] = 1                         # the labels a test scores against
        params["W1"] = np.zeros((2, 2))       # a dict item replaced
        params["b1"] *= 0                     # an array in a dict changed in place
        params["new"] = 1
        del params["W2"]
        items[0] = "mine"
        items.append("more")
        frame.iloc[0, 0] = -99.0
        frame["extra"] = 1
        extra.clear()
        return "done"

    def write_read_only(z):
        z[z < 0] = 0
        return z

    def unfreeze(z):
        z.flags.writeable = True
        z[:] = 5
        return z
'''


@pytest.fixture(scope="module", params=SANDBOX_MODES)
def hostile(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(f"hostile-{request.param}")
    path = write_source(directory, "overwrites.py", HOSTILE)
    module = StudentModule("overwrites", path, directory, detect_mode(request.param), Limits(),
                           call_timeout=20, budget=120)
    yield module
    module.close()


def test_in_place_changes_never_reach_the_tests_objects(hostile):
    import pandas as pd

    labels = np.array([0, 1, 0, 1])
    W1, b1, W2 = np.eye(2), np.array([0.5, -0.5]), np.ones((2, 3))
    params = {"W1": W1, "b1": b1, "W2": W2}
    items = ["a", "b"]
    frame = pd.DataFrame({"x": [1.0, 2.0], "label": ["p", "q"]})
    extra = {"k": 1}
    with observe() as obs:
        assert hostile.overwrite_everything(labels, params, items, frame, extra=extra) == "done"
    np.testing.assert_array_equal(labels, [0, 1, 0, 1])
    assert set(params) == {"W1", "b1", "W2"}
    assert params["W1"] is W1 and params["b1"] is b1 and params["W2"] is W2
    np.testing.assert_array_equal(W1, np.eye(2))
    np.testing.assert_array_equal(b1, [0.5, -0.5])
    assert items == ["a", "b"] and extra == {"k": 1}
    assert frame.shape == (2, 2) and frame.iloc[0, 0] == 1.0
    # every change was seen (the frame crossed as a copy the watch does not inspect)
    assert {"labels", "params", "params['b1']", "items", "extra"} <= set(obs.mutated)


def test_a_read_only_argument_is_read_only_in_the_worker(hostile):
    z = np.array([-1.0, 2.0])
    z.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        hostile.write_read_only(z)
    np.testing.assert_array_equal(z, [-1.0, 2.0])
    # a writable one is changed only in the worker's copy
    w = np.array([-1.0, 2.0])
    np.testing.assert_array_equal(hostile.write_read_only(w), [0.0, 2.0])
    np.testing.assert_array_equal(w, [-1.0, 2.0])


def test_a_read_only_argument_cannot_be_made_writable_in_the_worker(hostile):
    """Read-only arguments live on immutable bytes in the worker: setflags(write=True) raises,
    so an in-place write never happens, whatever the worker would report about it."""
    z = np.array([1.0, 2.0])
    z.flags.writeable = False
    with observe() as obs, pytest.raises(ValueError, match="WRITEABLE"):
        hostile.unfreeze(z)
    np.testing.assert_array_equal(z, [1.0, 2.0])
    assert obs.mutated == []


def test_expect_inputs_untouched_fails_a_replaced_dict_item(hostile):
    from grader.checks import CheckFailed, expect_inputs_untouched

    params = {"W1": np.eye(2), "b1": np.zeros(2), "W2": np.ones(2)}
    with pytest.raises(CheckFailed, match=r"in place"):
        expect_inputs_untouched(hostile.overwrite_everything, np.zeros(4), params, [], None,
                                call="overwrite_everything(...)", extra={})
    np.testing.assert_array_equal(params["W1"], np.eye(2))


# --------------------------------------------------------------------------------------------
# the same attack on real suites: a student who overwrites the inputs a test scores against
# (labels, parameters, dict items) so the reference computed afterwards agrees with a wrong
# answer. With the write-back gone, the reference sees the test's own values; no point earned.
# --------------------------------------------------------------------------------------------
BACKPROP_ATTACK = '''

# ---- hostile: make every reference computed after these calls see the student's values ----
_honest_forward, _honest_predict = forward, predict


def forward(X, params):
    for name in list(params):
        params[name] = np.zeros_like(params[name])    # dict items replaced
    X[...] = 0.0                                      # the inputs overwritten in place
    return _honest_forward(X, params)                 # uniform probabilities


def cross_entropy(probs, y):
    probs[...] = 1.0                                  # -log(1) = 0 for every sample
    y[...] = 0                                        # and the labels too
    return 0.0


def predict(X, params):
    for name in list(params):
        params[name] = np.zeros_like(params[name])
    return np.zeros(len(X), dtype=int)                # argmax of uniform scores: class 0
'''

PERCEPTRON_ATTACK = '''

# ---- hostile: fit() overwrites the data and the labels it is scored against ----
_honest_fit = Perceptron.fit


def _fit(self, X, y):
    X[...] = 0.0
    y[...] = 1                                        # every label now agrees with step(0)
    return _honest_fit(self, X, y)


Perceptron.fit = _fit
'''

ATTACKED = {
    "backprop": ("test_forward_probabilities", "test_forward_large_inputs",
                 "test_cross_entropy_value", "test_predict_labels"),
    "perceptron": ("test_rule_on_random_separable_data", "test_fit_does_not_modify_data"),
}


@pytest.mark.slow
@pytest.mark.parametrize("exercise, attack", [("backprop", BACKPROP_ATTACK),
                                              ("perceptron", PERCEPTRON_ATTACK)])
def test_overwriting_what_the_test_scores_against_earns_nothing(tmp_path, exercise, attack):
    from grader.assignment import PROJECT_ROOT
    from grader.grading import grade
    from helpers_core import HAVE_BWRAP

    folder = tmp_path / "submission"
    folder.mkdir()
    source = (PROJECT_ROOT / "solutions" / f"{exercise}.py").read_text()
    (folder / f"{exercise}.py").write_text(source + attack)
    result = grade(folder, exercises=[exercise],
                   sandbox="bubblewrap" if HAVE_BWRAP else "reduced")
    tests = {t.id.split("::", 1)[1]: t for t in result.exercises[0].tests}
    for name in ATTACKED[exercise]:
        assert tests[name].outcome == "failed" and tests[name].points == 0, \
            (name, tests[name].outcome, tests[name].message)
    assert result.score < result.max_score
