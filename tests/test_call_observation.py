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
