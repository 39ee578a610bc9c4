"""grader.checks: failures say what was expected, what came back and a likely cause,
and never reveal the expected values."""
import numpy as np
import pytest

from grader import checks
from grader.checks import (CheckFailed, describe, expect_array, expect_dtype, expect_finite,
                           expect_gradient, expect_no_float_warnings, float_warnings,
                           expect_inputs_untouched, expect_keys, expect_labels, expect_number,
                           expect_probabilities, expect_raises, expect_scalar, expect_shape,
                           expect_true, expect_unchanged, matches, negated, scaled_by, shifted,
                           transposed_values)

# Distinctive expected values: if one of these shows up in a message, the check leaked it.
EXPECTED = np.array([[0.123457, 0.234568, 0.345679], [0.456789, 0.567891, 0.678912],
                     [0.789123, 0.891234, 0.912345], [0.149162, 0.253649, 0.364964]])
LEAK_MARKERS = ["0.123", "0.2345", "0.3456", "0.4567", "0.5678", "0.6789", "0.789", "0.891",
                "0.912", "0.149", "0.2536", "0.3649"]


def failure(fn, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, CheckFailed)
    return str(info.value)


def assert_no_leak(message: str) -> None:
    for marker in LEAK_MARKERS:
        assert marker not in message, f"message leaks an expected value ({marker}): {message}"


# --- expect_array ---------------------------------------------------------------------------
def test_matching_array_passes_and_is_returned():
    got = EXPECTED + 1e-9
    assert expect_array(got, EXPECTED, call="f(x)") is got


def test_none_says_forgot_return():
    message = failure(expect_array, None, EXPECTED, call="dense_forward(X, W, b)")
    assert message.startswith("dense_forward(X, W, b): returned None")
    assert "return" in message


def test_list_is_refused_with_a_hint():
    message = failure(expect_array, EXPECTED.tolist(), EXPECTED, call="relu(z)")
    assert "a list of length 4" in message and "np.array" in message
    assert_no_leak(message)


def test_scalar_instead_of_array():
    message = failure(expect_array, 3.5, EXPECTED, call="relu(z)")
    assert "single number" in message and "expected an array" in message


def test_handle_like_object_is_named_by_type_only():
    class RemoteHandle:
        def __getattr__(self, name):  # any attribute access would be a remote call
            raise AssertionError("the check touched an attribute")

        def __repr__(self):
            raise AssertionError("the check called repr")

    message = failure(expect_array, RemoteHandle(), EXPECTED, call="f(x)")
    assert "expected an array, got an object of type RemoteHandle" in message
    assert "expected an array, got a dict with 1 keys" in failure(expect_array, {"a": 1}, EXPECTED,
                                                                   call="f(x)")


def test_transposed_shape_is_named():
    message = failure(expect_array, EXPECTED.T.copy(), EXPECTED, call="dense_forward(X, W, b)")
    assert "expected shape (4, 3), got (3, 4)" in message
    assert "transpose" in message
    assert_no_leak(message)


def test_lost_axis_and_flattening_are_named():
    assert "axis is missing" in failure(expect_array, EXPECTED[:, 0], EXPECTED, call="f(x)")
    assert "flatten" in failure(expect_array, EXPECTED.ravel(), EXPECTED, call="f(x)")


def test_integer_array_when_floats_expected():
    message = failure(expect_array, np.zeros((4, 3), dtype=int), EXPECTED, call="relu(z)")
    assert "expected a float array, got dtype int64" in message
    assert "integer division" in message and "dtype=int" in message


def test_object_dtype_is_refused():
    message = failure(expect_array, np.array([["a"] * 3] * 4, dtype=object), EXPECTED, call="f(x)")
    assert "dtype object" in message


def test_nan_and_inf_point_at_overflow():
    got = EXPECTED.copy()
    got[0, 0] = np.nan
    got[1, 1] = np.inf
    message = failure(expect_array, got, EXPECTED, call="softmax(z)")
    assert "contains NaN/inf at 2 of 12 positions" in message
    assert "overflow" in message and "maximum" in message
    assert_no_leak(message)


def test_value_mismatch_counts_positions_without_leaking():
    got = EXPECTED.copy()
    got[:2, :] += 0.73
    message = failure(expect_array, got, EXPECTED, call="dense_forward(X, W, b)")
    assert "values differ at 6 of 12 positions (largest difference 0.73)" in message
    assert_no_leak(message)


def test_diagnosis_names_the_mistake():
    message = failure(expect_array, EXPECTED * 8, EXPECTED, call="backward(...)",
                      diagnose=[scaled_by(8, "did you sum instead of averaging over the batch?")])
    assert "about 8 times too large" in message and "sum instead of averag" in message
    assert_no_leak(message)


def test_diagnoses_that_do_not_apply_stay_silent():
    got = EXPECTED + 0.5 * np.arange(12).reshape(4, 3)
    message = failure(expect_array, got, EXPECTED, call="f(x)",
                      diagnose=[scaled_by(8, "SUM"), negated("SIGN"), shifted("BIAS"),
                                transposed_values("TRANSPOSE"),
                                (lambda g, e: 1 / 0, "BROKEN PREDICATE")],
                      hints=["always shown"])
    for word in ("SUM", "SIGN", "BIAS", "TRANSPOSE", "BROKEN"):
        assert word not in message
    assert "always shown" in message


def test_builtin_diagnoses_recognise_their_mistake():
    square = EXPECTED[:3]
    assert "wrong sign" in failure(expect_array, -square, square, call="f", diagnose=[negated()])
    assert "FORGOT BIAS" in failure(expect_array, square + 0.5, square, call="f",
                                    diagnose=[shifted("FORGOT BIAS")])
    assert "TRANSPOSED" in failure(expect_array, square.T.copy(), square, call="f",
                                   diagnose=[transposed_values("TRANSPOSED")])
    assert "times too small" in failure(expect_array, square / 4, square, call="f",
                                        diagnose=[scaled_by(0.25, "divided twice")])
    wrong = square * 2 + 1
    assert "KNOWN" in failure(expect_array, wrong, square, call="f",
                              diagnose=[matches(wrong, "KNOWN")])


def test_tolerances_are_honoured():
    expect_array(EXPECTED * (1 + 1e-4), EXPECTED, call="f", rtol=1e-3)
    failure(expect_array, EXPECTED * (1 + 1e-4), EXPECTED, call="f")


# --- scalars, shapes, dtypes ----------------------------------------------------------------
def test_expect_scalar_accepts_numpy_and_zero_d():
    assert expect_scalar(np.float64(0.5), 0.5, call="f") == 0.5
    assert expect_scalar(np.array(0.5), 0.5, call="f") == 0.5
    assert expect_scalar(2, 2.0, call="f") == 2.0


def test_expect_scalar_messages():
    assert "single number" in failure(expect_scalar, np.array([0.5]), 0.5, call="f")
    assert "index the single element" in failure(expect_scalar, np.array([0.5]), 0.5, call="f")
    assert "sum or average" in failure(expect_scalar, np.ones(3), 0.5, call="f")
    assert "bool" in failure(expect_scalar, True, 1.0, call="f")
    message = failure(expect_scalar, 1.2345678, 0.9876543, call="cross_entropy(p, y)")
    assert message.startswith("cross_entropy(p, y): the value is off by")
    assert "0.987" not in message
    assert "finite" in failure(expect_scalar, float("inf"), 0.98765, call="f")
    assert "SUMMED" in failure(expect_scalar, 0.5 * 10, 0.5, call="f",
                               diagnose=[scaled_by(10, "SUMMED")])


def test_expect_number():
    assert expect_number(np.int64(3), call="f") == 3.0
    assert "finite" in failure(expect_number, float("nan"), call="f", name="bias_")
    assert "expected a number" in failure(expect_number, "3", call="f")


def test_expect_shape_and_dtype():
    expect_shape(np.zeros((2, 5)), (2, 5), call="f")
    assert "extra axis of length 1" in failure(expect_shape, np.zeros((5, 1)), (5,), call="f")
    assert "argmax" in failure(expect_dtype, np.zeros(3), "i", call="predict(X)")
    assert ".astype(float)" in failure(expect_dtype, np.zeros(3, dtype=bool), "f", call="step(z)")
    expect_dtype(np.zeros(3, dtype=np.uint8), "i", call="f")  # unsigned labels are fine


def test_expect_labels():
    expect_labels(np.array([0, 1, 1]), 3, call="predict(X)", allowed=(0, 1))
    assert "1 labels are outside [0, 1]" in failure(expect_labels, np.array([0, 2, 1]), 3,
                                                     call="predict(X)", allowed=(0, 1))


def test_expect_true_and_keys():
    expect_true(1, "unused")
    assert failure(expect_true, [], "my message") == "my message"
    assert "missing key(s) 'db2'" in failure(expect_keys, {"dW1": 1}, ["dW1", "db2"], call="g")
    assert "expected a dict" in failure(expect_keys, [1], ["a"], call="g")


# --- probabilities, gradients ---------------------------------------------------------------
def test_expect_probabilities():
    expect_probabilities(np.array([[0.2, 0.8], [0.5, 0.5]]), call="softmax(z)")
    assert "do not sum to 1" in failure(expect_probabilities, np.array([[0.2, 0.2]]),
                                        call="softmax(z)")
    assert "outside [0, 1]" in failure(expect_probabilities, np.array([[2.0, -1.0]]),
                                       call="softmax(z)")


def test_expect_gradient():
    numerical = np.array([[0.3, -0.2], [0.1, 0.05]])
    expect_gradient(numerical * (1 + 1e-9), numerical, call="backward(...)", name="dW1")
    message = failure(expect_gradient, numerical * 8, numerical, call="backward(...)", name="dW1",
                      diagnose=[scaled_by(8, "divide by m")])
    assert "dW1 disagrees with the numerical gradient" in message
    assert "8 times too large" in message
    assert "0.3" not in message.split("(relative error")[0]
    assert checks.relative_error(np.zeros(3), np.zeros(3)) == 0.0


# --- mutation and exceptions ----------------------------------------------------------------
def test_in_place_modification_is_reported():
    def bad_relu(z):
        z[z < 0] = 0
        return z

    message = failure(expect_inputs_untouched, bad_relu, np.array([-1.0, 2.0]), call="relu(z)",
                      names=["z"])
    assert "relu(z): tried to modify z in place" in message


def test_untouched_inputs_pass_through_the_result():
    result = expect_inputs_untouched(lambda p, lr: {k: v - lr for k, v in p.items()},
                                     {"W": np.ones(2)}, 0.5, call="sgd_step")
    assert np.allclose(result["W"], 0.5)


def test_expect_unchanged():
    expect_unchanged(np.ones(3), np.ones(3), call="f")
    expect_unchanged("relu", "relu", call="f")
    message = failure(expect_unchanged, {"W1": np.ones(2)}, {"W1": np.zeros(2)}, call="sgd_step",
                      arg="params")
    assert "sgd_step: modified params['W1'] in place" in message


def test_expect_raises():
    def strict(name):
        if name != "relu":
            raise ValueError("unknown")

    assert isinstance(expect_raises(ValueError, strict, "nope", call="f"), ValueError)
    assert "returned normally; expected it to raise ValueError" in failure(
        expect_raises, ValueError, strict, "relu", call="neuron_forward(..., 'relu')")
    assert "raised KeyError; expected ValueError" in failure(
        expect_raises, ValueError, lambda: {}["x"], call="f")


def test_describe_never_shows_contents():
    assert describe(np.ones((2, 3))) == "an array of shape (2, 3) and dtype float64"
    assert describe("secret") == "a string"
    assert describe([1, 2]) == "a list of length 2"
    assert describe(None) == "None"


def test_named_parts_are_described_by_name():
    message = failure(expect_shape, None, (2, 2), call="backward(X, y, params, cache)", name="dW1")
    assert message == "backward(X, y, params, cache): dW1 is None; expected an array"
    assert "dW1 is a list of length 2" in failure(expect_shape, [1, 2], (2,), call="g", name="dW1")


def test_expect_raises_lets_stubs_and_crashes_through():
    class WorkerCrashed(Exception):  # like grader.proxy's: not a builtin error
        pass

    class StudentKeyError(KeyError):  # like the proxy's StudentError for a KeyError
        type_name = "KeyError"

    def stub(*args):
        raise NotImplementedError

    def crash(*args):
        raise WorkerCrashed("the process ended")

    def wrong(*args):
        raise StudentKeyError("x")

    with pytest.raises(NotImplementedError):
        expect_raises(ValueError, stub, call="f")
    with pytest.raises(WorkerCrashed):
        expect_raises(ValueError, crash, call="f")
    assert "f: raised KeyError; expected ValueError" in failure(expect_raises, ValueError, wrong,
                                                                call="f")


# --- NaN and inf never compare equal (unforgeable checks) -----------------------------------
NAN_ARRAY = np.array([[np.nan, 1.0], [2.0, np.nan]])


def test_nan_where_nan_is_expected_earns_nothing():
    message = failure(expect_array, NAN_ARRAY.copy(), NAN_ARRAY, call="net_input(X)")
    assert "not finite" in message and "net_input(X)" in message
    inf = np.array([np.inf, -np.inf])
    assert "not finite" in failure(expect_array, inf.copy(), inf, call="f(x)")
    # a finite answer where the expectation itself is broken fails too
    assert "not finite" in failure(expect_array, np.zeros((2, 2)), NAN_ARRAY, call="f(x)")
    # and NaN anywhere in what came back fails, even where an unrelated value was expected
    got = EXPECTED.copy()
    got[3, 2] = np.nan
    assert "contains NaN at 1 of 12" in failure(expect_array, got, EXPECTED, call="f(x)")


def test_expect_scalar_never_matches_nan_or_inf():
    for got, want in ((np.nan, np.nan), (np.inf, np.inf), (-np.inf, -np.inf), (1.0, np.nan)):
        message = failure(expect_scalar, got, want, call="cross_entropy(probs, y)")
        assert "not finite" in message or "expected a finite number" in message, message
    assert "expected a finite number" in failure(expect_scalar, np.nan, 1.0, call="f(x)")


def test_relative_error_never_turns_nan_into_agreement():
    assert checks.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert checks.relative_error(np.array([np.nan]), np.array([np.nan])) == np.inf
    assert checks.relative_error(np.array([np.nan, 1.0]), np.array([0.0, 1.0])) == np.inf
    assert checks.relative_error(np.array([np.inf]), np.array([np.inf])) == np.inf
    assert checks.relative_error(np.ones(2), np.ones(3)) == np.inf
    assert checks.relative_error(np.zeros(2), np.ones(2)) == 1.0


def test_gradient_check_with_nan_on_either_side_fails():
    nan = np.full((2, 2), np.nan)
    message = failure(expect_gradient, nan.copy(), nan, call="backward(...)", name="dW1")
    assert "dW1" in message and "not finite" in message
    good = np.array([[0.3, -0.2], [0.1, 0.05]])
    assert "NaN" in failure(expect_gradient, nan, good, call="backward(...)", name="dW1")
    assert "not finite" in failure(expect_gradient, good, nan, call="backward(...)", name="dW1")


def test_expect_finite():
    assert expect_finite(2.5, call="f(x)") == 2.5
    assert expect_finite(np.ones(3), call="f(x)").shape == (3,)
    for bad in (np.nan, np.float64(np.inf), np.array([1.0, np.nan])):
        assert "contains NaN or inf" in failure(expect_finite, bad, call="f(x)", name="w")
    assert "returned None" in failure(expect_finite, None, call="f(x)")


def test_no_helper_turns_nan_into_a_match():
    """Source audit: NaN-tolerant numpy calls are allowed only where a change is detected
    (expect_unchanged: a NaN left as NaN is not a modification), never in a comparison."""
    import inspect
    for name, fn in vars(checks).items():
        if not callable(fn) or getattr(fn, "__module__", "") != checks.__name__:
            continue
        source = inspect.getsource(fn)
        if name == "expect_unchanged":
            continue
        for risky in ("equal_nan", "nanmax", "nanmin", "nansum", "nanmean", "nan_to_num"):
            assert risky not in source, f"{name} uses {risky}"


# --- numpy floating-point warnings from the worker ----------------------------------------
def test_float_warnings_charge_overflow_not_underflow():
    seen = [("RuntimeWarning", "underflow encountered in exp"),
            ("RuntimeWarning", "overflow encountered in exp"),
            ("UserWarning", "overflow of something else"),
            ("RuntimeWarning", "overflow encountered in exp")]
    assert float_warnings(seen) == ["overflow encountered in exp"]
    expect_no_float_warnings(seen[:1], call="sigmoid(z)")  # underflow to 0 is harmless
    message = failure(expect_no_float_warnings, seen, call="sigmoid(z)", hints=["use exp(-|z|)"])
    assert message.startswith("sigmoid(z): numpy warned \"overflow encountered in exp\"")
    assert "use exp(-|z|)" in message
    for text in ("invalid value encountered in divide", "divide by zero encountered in log"):
        assert float_warnings([("RuntimeWarning", text)]) == [text]
