"""Declarative checks for hidden suites, with messages written for a student.

Every check raises ``AssertionError`` (a :class:`CheckFailed`) whose message says what was
expected, what came back and a likely cause -- never the reference values or the test code,
since the message is shown to the student verbatim (suites run with ``--assert=plain``).

    expect_array(student.dense_forward(X, W, b), reference.dense_forward(X, W, b),
                 call="dense_forward(X, W, b)",
                 diagnose=[scaled_by(len(X), "did you sum over the batch instead of averaging?")])

Values coming back from the worker are plain data or remote handles; the checks only look at
plain data (numbers, numpy arrays, lists, dicts) and describe anything else by its type name,
without touching its attributes, so a hostile object cannot run code in the grader.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = [
    "CheckFailed",
    "Diagnosis",
    "describe",
    "expect_array",
    "expect_scalar",
    "expect_number",
    "expect_shape",
    "expect_dtype",
    "expect_true",
    "expect_raises",
    "expect_unchanged",
    "expect_inputs_untouched",
    "expect_probabilities",
    "expect_labels",
    "expect_gradient",
    "expect_keys",
    "expect_finite",
    "expect_no_float_warnings",
    "float_warnings",
    "Prerequisites",
    "relative_error",
    "scaled_by",
    "negated",
    "shifted",
    "transposed_values",
    "matches",
]

# A diagnosis names a known mistake: predicate(got, expected) -> bool, and the hint to show.
Diagnosis = tuple[Callable[[np.ndarray, np.ndarray], bool], str]

_KIND_NAMES = {"f": "float", "i": "integer", "u": "integer", "b": "bool", "c": "complex"}


class CheckFailed(AssertionError):
    """A student-facing check failure; the message is shown to the student as is."""


# --------------------------------------------------------------------------------------------
# describing what came back
# --------------------------------------------------------------------------------------------
def describe(value: Any) -> str:
    """A short, safe description of a returned value: its kind and shape, never its contents.

    Only builtin and numpy types are inspected; anything else (a remote handle, a student
    class) is named by its type alone -- no attribute access, no ``repr``.
    """
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return f"a bool ({bool(value)})"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a numpy scalar ({value.dtype})"
    if isinstance(value, numbers.Integral):
        return "an int"
    if isinstance(value, numbers.Real):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    if isinstance(value, dict):
        return f"a dict with {len(value)} keys"
    return f"an object of type {type(value).__name__}"


def _fail(call: str, text: str, hints: Iterable[str] = ()) -> None:
    message = f"{call}: {text}" if call else text
    extra = [h for h in hints if h]
    if extra:
        message += " — " + "; ".join(extra)
    raise CheckFailed(message)


def _as_array(got: Any, call: str, what: str = "an array", name: str = "") -> np.ndarray:
    """``got`` as a numeric ndarray, or a failure saying what came back instead."""
    if name:  # a part of the result (X_train, dW1): describe that part, not the whole return
        if got is None:
            _fail(call, f"{name} is None; expected {what}")
        if not isinstance(got, np.ndarray):
            _fail(call, f"{name} is {describe(got)}; expected {what}",
                  ["use numpy arrays (np.array(...))"] if isinstance(got, (list, tuple)) else [])
    if got is None:
        _fail(call, f"returned None; expected {what}", ["did you forget `return`?"])
    if isinstance(got, np.ndarray):
        if got.dtype.kind not in "biufc":
            _fail(call, f"returned an array of dtype {got.dtype}; expected numbers",
                  ["are there strings or Python objects in it?"])
        return got
    if isinstance(got, (list, tuple)):
        _fail(call, f"returned {describe(got)}; expected {what}",
              ["wrap the result with np.array(...) or use numpy operations"])
    if isinstance(got, (numbers.Number, np.generic)):
        _fail(call, f"returned a single number; expected {what}",
              ["did you reduce over an axis (sum, mean, max) by mistake, or loop over "
               "only the first element?"])
    _fail(call, f"expected {what}, got {describe(got)}")
    raise AssertionError("unreachable")  # for type checkers


def _as_number(got: Any, call: str) -> float:
    """``got`` as a float, accepting Python and numpy scalars and 0-d arrays only."""
    if got is None:
        _fail(call, "returned None; expected a number", ["did you forget `return`?"])
    if isinstance(got, (bool, np.bool_)):
        _fail(call, f"returned {describe(got)}; expected a number")
    if isinstance(got, np.ndarray):
        if got.ndim == 0 and got.dtype.kind in "iuf":
            return float(got)
        hint = ("index the single element or use float(...)" if got.size == 1
                else "did you forget to sum or average over the samples?")
        _fail(call, f"returned {describe(got)}; expected a single number", [hint])
    if isinstance(got, (numbers.Real, np.integer, np.floating)):
        return float(got)
    _fail(call, f"expected a number, got {describe(got)}")
    raise AssertionError("unreachable")


def _shape_text(shape: Sequence[int]) -> str:
    return str(tuple(int(s) for s in shape))


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------
def expect_true(condition: Any, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds (use for everything else)."""
    if not bool(condition):
        raise CheckFailed(message)


def expect_shape(got: Any, shape: Sequence[int], call: str, name: str = "",
                 hints: Iterable[str] = ()) -> np.ndarray:
    """``got`` is an array of exactly ``shape``; transposition and lost axes are named."""
    arr = _as_array(got, call, name=name)
    want = tuple(int(s) for s in shape)
    if arr.shape == want:
        return arr
    what = f"{name}: " if name else ""
    found = []
    if len(want) == 2 and arr.shape == want[::-1]:
        found.append("did you transpose? check the order of the matrix product (X·W, not W·X)")
    elif arr.ndim == len(want) + 1 and 1 in arr.shape:
        found.append("there is an extra axis of length 1: use keepdims only where needed, "
                     "or ravel() the result")
    elif arr.size == int(np.prod(want)) and arr.ndim != len(want):
        found.append("the number of elements is right: did you flatten or reshape?")
    elif arr.ndim == len(want) - 1:
        found.append("an axis is missing: did you sum or average over an axis?")
    _fail(call, f"{what}expected shape {_shape_text(want)}, got {_shape_text(arr.shape)}",
          [*found, *hints])
    raise AssertionError("unreachable")


def expect_dtype(got: Any, kind: str, call: str, name: str = "") -> np.ndarray:
    """``got`` holds numbers of ``kind``: "f" float, "i" integer, "b" bool.

    Integer kinds "i" and "u" are interchangeable, since both hold labels equally well.
    """
    arr = _as_array(got, call, name=name)
    have = arr.dtype.kind
    if have == kind or (kind in "iu" and have in "iu"):
        return arr
    what = f"{name}: " if name else ""
    hints = []
    if kind == "f" and have in "iu":
        hints.append("did you use integer division (//) or np.zeros(..., dtype=int)? "
                     "start from floats")
    elif kind == "f" and have == "b":
        hints.append("a comparison gives booleans: convert with .astype(float)")
    elif kind in "iu" and have == "f":
        hints.append("labels should be whole numbers: use np.argmax(...) or .astype(int)")
    elif kind in "iu" and have == "b":
        hints.append("convert the comparison with .astype(int)")
    _fail(call, f"{what}expected a {_KIND_NAMES.get(kind, kind)} array, got dtype {arr.dtype}",
          hints)
    raise AssertionError("unreachable")


_NONFINITE_HINT = ("overflow in exp()? exponentiate only numbers <= 0 (subtract the maximum, "
                   "or use exp(-|z|)); log(0)? clip probabilities away from 0")


def _finite_check(got: np.ndarray, expected: np.ndarray | None, call: str, name: str,
                  hint: str | None = None) -> None:
    """No comparison meets NaN or inf: a non-finite value returned fails wherever it is, and a
    non-finite value to compare against (computed from what the student's code returned
    earlier, or a broken reference) fails too -- NaN is never "equal" to NaN here."""
    what = f"{name}: " if name else ""
    if expected is not None and not np.isfinite(expected).all():
        _fail(call, f"{what}cannot be checked: the values it is compared with are not finite "
                    "(NaN or inf)",
              ["are the weights or earlier results of your code NaN or inf? keep every "
               "intermediate finite"])
    bad = ~np.isfinite(got)
    if bad.any():
        kinds = []
        if np.isnan(got).any():
            kinds.append("NaN")
        if np.isinf(got).any():
            kinds.append("inf")
        _fail(call, f"{what}contains {'/'.join(kinds)} at {int(bad.sum())} of {got.size} "
                    "positions", [_NONFINITE_HINT if hint is None else hint])


def _run_diagnoses(got: np.ndarray, expected: np.ndarray,
                   diagnose: Iterable[Diagnosis]) -> list[str]:
    found = []
    for predicate, hint in diagnose:
        try:
            if predicate(got, expected):
                found.append(hint)
        except Exception:  # a diagnosis that cannot apply is simply not the cause
            continue
    return found


def expect_array(got: Any, expected: Any, call: str, *, rtol: float = 1e-6,
                 atol: float = 1e-8, name: str = "", check_dtype: bool = True,
                 diagnose: Iterable[Diagnosis] = (), hints: Iterable[str] = (),
                 otherwise: Iterable[str] = (), nonfinite: str | None = None) -> np.ndarray:
    """``got`` is an array equal to ``expected`` (type, shape, dtype kind, finiteness, values).

    ``diagnose`` names known mistakes when the values differ; ``hints`` are always added to a
    value mismatch, ``otherwise`` only when no diagnosis applies (a message names the cause
    the evidence supports, not every possible one). ``nonfinite`` replaces the generic
    overflow / log(0) hint for NaN or inf. Returns ``got`` as an ndarray for further checks.
    """
    expected = np.asarray(expected)
    arr = expect_shape(got, expected.shape, call, name)
    if check_dtype and expected.dtype.kind in "fiub":
        want_kind = "i" if expected.dtype.kind == "u" else expected.dtype.kind
        expect_dtype(arr, want_kind, call, name)
    if arr.dtype.kind == "c" and expected.dtype.kind != "c":
        _fail(call, "returned complex numbers", ["did you take a square root or log of a "
                                                  "negative number?"])
    arr_f = arr.astype(np.float64)
    exp_f = expected.astype(np.float64)
    _finite_check(arr_f, exp_f, call, name, nonfinite)
    close = np.isclose(arr_f, exp_f, rtol=rtol, atol=atol)  # both finite here
    if close.all():
        return arr
    n_bad = int((~close).sum())
    largest = float(np.max(np.where(close, 0.0, np.abs(arr_f - exp_f))))
    what = f"{name}: " if name else ""
    text = (f"{what}values differ at {n_bad} of {arr.size} positions "
            f"(largest difference {largest:.3g})")
    found = _run_diagnoses(arr_f, exp_f, diagnose)
    _fail(call, text, [*found, *hints, *([] if found else otherwise)])
    raise AssertionError("unreachable")


def expect_scalar(got: Any, expected: Any, call: str, *, rtol: float = 1e-6,
                  atol: float = 1e-8, name: str = "", diagnose: Iterable[Diagnosis] = (),
                  hints: Iterable[str] = (), otherwise: Iterable[str] = ()) -> float:
    """``got`` is a single finite number close to ``expected``; returns it as a float.
    ``hints`` and ``otherwise`` as for :func:`expect_array`."""
    value = _as_number(got, call)
    want = float(expected)
    what = f"{name}: " if name else ""
    if not math.isfinite(want):  # NaN never equals NaN, inf never "matches" inf
        _fail(call, f"{what}cannot be checked: the value it is compared with is not finite",
              ["are the weights or earlier results of your code NaN or inf?"])
    if not math.isfinite(value):
        _fail(call, f"{what}returned {value}; expected a finite number",
              ["overflow in exp()? log(0)? clip probabilities away from 0"])
    if math.isclose(value, want, rel_tol=rtol, abs_tol=atol):
        return value
    found = _run_diagnoses(np.array([value]), np.array([want]), diagnose)
    relative = (f" (relative error {abs(value - want) / abs(want):.2g})"
                if abs(want) > 1e-12 else "")
    _fail(call, f"{what}the value is off by {abs(value - want):.3g}{relative}",
          [*found, *hints, *([] if found else otherwise)])
    raise AssertionError("unreachable")


def expect_number(got: Any, call: str, name: str = "") -> float:
    """``got`` is a single finite number (Python, numpy or 0-d array); returns it as a float."""
    value = _as_number(got, f"{call}: {name}" if name else call)
    if not math.isfinite(value):
        _fail(call, f"{name + ': ' if name else ''}is {value}; expected a finite number")
    return value


def expect_raises(exc_type: type[BaseException] | tuple[type[BaseException], ...],
                  fn: Callable[..., Any], *args: Any, call: str, why: str = "",
                  **kwargs: Any) -> BaseException:
    """Calling ``fn(*args, **kwargs)`` raises ``exc_type``; returns the exception.

    Student errors arriving through the proxy are instances of the matching builtin, so
    ``expect_raises(ValueError, student.neuron_forward, x, w, b, "nope", call=...)`` works.
    """
    names = (exc_type.__name__ if isinstance(exc_type, type)
             else " or ".join(t.__name__ for t in exc_type))
    try:
        fn(*args, **kwargs)
    except exc_type as exc:
        return exc
    except NotImplementedError:
        raise  # an unattempted stub: the grader reports "not implemented yet" itself
    except Exception as exc:
        if not _is_builtin_error(exc):
            raise  # a crash or timeout of the student's process: the grader's own message
        kind = getattr(exc, "type_name", None) or type(exc).__name__
        _fail(call, f"raised {kind}; expected {names}",
              [why or f"raise {names} explicitly (raise {names}(...)) for this case"])
    _fail(call, f"returned normally; expected it to raise {names}",
          [why or f"check the input and raise {names}(...) yourself"])
    raise AssertionError("unreachable")


def expect_no_raise(exc_type: type[BaseException], fn: Callable[..., Any], *args: Any,
                    call: str, why: str = "", **kwargs: Any) -> Any:
    """Calling ``fn(*args, **kwargs)`` does not raise ``exc_type``; returns what it returned
    (``None`` when it raised something else: its values and other errors are the business of
    the tests that check them). The other half of an error-case test: a function that raises
    ``exc_type`` for every input has not told the bad case from the good ones."""
    from grader.proxy import StudentError

    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise  # an unattempted stub: the grader reports "not implemented yet" itself
    except exc_type as exc:
        if not _is_builtin_error(exc):
            raise
        _fail(call, f"raised {exc_type.__name__} for a valid input",
              [why or f"raise {exc_type.__name__} only for the invalid case"])
    except StudentError:
        pass     # anything else the student's code raised, SystemExit included
    except Exception as exc:
        if not _is_builtin_error(exc):
            raise  # a crash or timeout of the student's process: the grader's own message
    return None


def _is_builtin_error(exc: BaseException) -> bool:
    """True when ``exc`` is (or stands for) a builtin error such as KeyError or TypeError.

    Student exceptions arriving through the proxy subclass the matching builtin; worker
    crashes and timeouts do not, and must reach the grader unchanged.
    """
    return any(cls.__module__ == "builtins" and cls not in (Exception, BaseException, object)
               for cls in type(exc).__mro__)


def expect_unchanged(before: Any, after: Any, call: str, arg: str = "its input") -> None:
    """``after`` still equals ``before``: the call did not modify its argument in place."""
    if isinstance(before, dict):
        for key in before:
            value = after.get(key) if isinstance(after, dict) else None
            expect_unchanged(before[key], value, call, f"{arg}[{key!r}]")
        return
    if not isinstance(before, (np.ndarray, list, tuple)):
        return  # numbers and strings are immutable
    a, b = np.asarray(before), np.asarray(after)
    numeric = a.dtype.kind in "biufc" and b.dtype.kind in "biufc"
    if a.shape != b.shape or not np.array_equal(a, b, equal_nan=numeric):
        _fail(call, f"modified {arg} in place",
              ["work on a copy (z.copy(), or np.maximum(z, 0)) instead of assigning into "
               "the argument, or use out-of-place operations (a = a - x, not a -= x)"])


def constant(values: Any, dtype: Any = None) -> np.ndarray:
    """A read-only array for a suite's shared inputs (module-level test data).

    Nothing a student's code does to an argument reaches the test's objects (the worker works
    on its own copy), but the read-only flag crosses the wire: a student's in-place write into
    a constant fails where it happens, with numpy's "read-only" error, exactly as it would on
    the student's own machine, and code running in the test's process (a local helper or
    reference) cannot change the input of every later test either.
    """
    array = np.array(values, dtype=dtype)
    array.flags.writeable = False
    return array


def _frozen(value: Any) -> Any:
    """A read-only deep copy of arrays (and dicts/lists of arrays); other values as they are."""
    if isinstance(value, np.ndarray):
        copy = value.copy()
        copy.flags.writeable = False
        return copy
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_frozen(v) for v in value)
    return value


def expect_inputs_untouched(fn: Callable[..., Any], *args: Any, call: str,
                            names: Sequence[str] = (), **kwargs: Any) -> Any:
    """Call ``fn`` on read-only copies of its array arguments and return its result.

    A function that assigns into an argument (``z[z < 0] = 0``, ``a -= x``) then fails with
    numpy's "read-only" ValueError (the flag crosses the sandbox: the worker's copy is
    read-only too), which is reported as an in-place modification. Any other change the
    student's call made to its copy of an argument (a dict or list item replaced) is seen by
    :func:`grader.proxy.observe` and fails too; the test's own objects never change. A
    callable running in this process is checked by comparing its arguments with copies.
    """
    from grader.proxy import observe

    frozen = [_frozen(a) for a in args]
    before = [_frozen(a) for a in args]
    label = ", ".join(names) if names else "its inputs"
    with observe() as seen:
        try:
            result = fn(*frozen, **kwargs)
        except ValueError as exc:
            if "read-only" in str(exc) or "not writeable" in str(exc):
                _fail(call, f"tried to modify {label} in place (the argument is read-only "
                      f"here)", ["compute a new array instead (np.maximum(z, 0), a - x, "
                                 "z.copy()) rather than assigning into the argument"])
            raise
    if seen.mutated:
        _fail(call, f"modified {', '.join(seen.mutated[:3])} in place",
              ["work on a copy (dict(params), list(items), z.copy()) and return the new "
               "values instead of changing the arguments"])
    for i, (old, new) in enumerate(zip(before, frozen)):
        name = names[i] if i < len(names) else f"argument {i + 1}"
        expect_unchanged(old, new, call, name)
    return result


def _same_result(a: Any, b: Any) -> bool:
    """Whether two results that came back from the worker hold the same plain data (arrays
    compared by shape and values; a NaN or inf in the same place of both counts as the same,
    so a constant NaN is a constant). Only ever used to say "nothing was computed": a match
    here fails a test, never passes one. Objects that stayed in the worker (handles) cannot
    be compared here and count as different."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        a, b = np.float64(a), np.float64(b)
    if isinstance(a, (np.ndarray, np.floating)) or isinstance(b, (np.ndarray, np.floating)):
        if not (np.shape(a) == np.shape(b) and np.asarray(a).dtype.kind in "biuf"
                and np.asarray(b).dtype.kind in "biuf"):
            return False
        fa, fb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        finite = np.isfinite(fa)
        return bool(np.array_equal(finite, np.isfinite(fb))
                    and np.array_equal(fa[finite], fb[finite])
                    and np.array_equal(np.isnan(fa), np.isnan(fb))
                    and np.array_equal(np.isposinf(fa), np.isposinf(fb)))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same_result, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_result(a[k], b[k]) for k in a)
    if isinstance(a, (str, bool)) or a is None:
        return type(a) is type(b) and a == b
    return False


def expect_responds(fn: Callable[..., Any], first: Sequence[Any], second: Sequence[Any], *,
                    call: str, why: str = "", **kwargs: Any) -> tuple[Any, Any]:
    """``fn(*first)`` and ``fn(*second)`` (two different inputs) give different results;
    returns both. The other half of a test of a side property ("leaves its inputs
    unchanged"): a function that ignores its inputs (returns a constant, or its argument
    untouched) has computed nothing, so it does not pass such a test. Its values are the
    business of the tests that check them."""
    a = fn(*first, **kwargs)
    b = fn(*second, **kwargs)
    if _same_result(a, b):
        _fail(call, "returned the same result for two different inputs",
              [why or "compute the result from the arguments"])
    return a, b


def expect_probabilities(got: Any, call: str, *, axis: int = -1, atol: float = 1e-6,
                         name: str = "") -> np.ndarray:
    """``got`` is a float array of probabilities in [0, 1] that sum to 1 along ``axis``."""
    arr = expect_dtype(got, "f", call, name)
    _finite_check(arr.astype(np.float64), None, call, name)
    what = f"{name}: " if name else ""
    if (arr < -atol).any() or (arr > 1 + atol).any():
        _fail(call, f"{what}values outside [0, 1]; expected probabilities",
              ["did you forget to exponentiate and normalise (softmax)?"])
    sums = arr.astype(np.float64).sum(axis=axis)
    if not np.allclose(sums, 1.0, atol=max(atol, 1e-5 if arr.dtype == np.float32 else atol)):
        worst = float(np.max(np.abs(sums - 1.0)))
        hints = ["normalise along the last axis: divide by z.sum(axis=-1, keepdims=True)"]
        _fail(call, f"{what}rows do not sum to 1 (off by up to {worst:.3g})", hints)
    return arr


def expect_labels(got: Any, n: int, call: str, allowed: Iterable[int] | None = None,
                  name: str = "") -> np.ndarray:
    """``got`` is an integer label array of shape (n,), values in ``allowed`` when given."""
    arr = expect_shape(got, (n,), call, name)
    arr = expect_dtype(arr, "i", call, name)
    if allowed is not None:
        allowed = sorted(set(int(a) for a in allowed))
        outside = ~np.isin(arr, allowed)
        if outside.any():
            what = f"{name}: " if name else ""
            _fail(call, f"{what}{int(outside.sum())} labels are outside {allowed}")
    return arr


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||), the usual gradient-check error.

    Norm-based rather than elementwise, so near-zero entries (dead ReLU units), where central
    differences are dominated by round-off, cannot dominate the error. Two exactly zero
    arrays agree (0.0); anything holding NaN or inf is infinitely wrong (``inf``), never 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.inf
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0:
        return 0.0
    err = float(np.linalg.norm(a - b) / denom)
    return err if math.isfinite(err) else math.inf


def expect_gradient(got: Any, numerical: np.ndarray, call: str, name: str, *,
                    tol: float = 1e-6, diagnose: Iterable[Diagnosis] = ()) -> np.ndarray:
    """An analytic gradient agrees with central differences (relative error < ``tol``)."""
    numerical = np.asarray(numerical, dtype=np.float64)
    arr = expect_shape(got, numerical.shape, call, name)
    arr = expect_dtype(arr, "f", call, name)
    _finite_check(arr.astype(np.float64), numerical, call, name)
    err = relative_error(arr, numerical)  # both finite here
    if err < tol:
        return arr
    hints = _run_diagnoses(arr.astype(np.float64), numerical, diagnose)
    if arr.dtype.itemsize < 8:
        hints.append(f"{name} is {arr.dtype}: compute in float64 for this precision")
    _fail(call, f"{name} disagrees with the numerical gradient of the loss "
                f"(relative error {err:.2g}, should be below {tol:g})", hints)
    raise AssertionError("unreachable")


def expect_finite(got: Any, call: str, name: str = "",
                  hints: Iterable[str] = ()) -> np.ndarray:
    """``got`` is a number or numeric array with no NaN or inf; returns it as an ndarray."""
    scalar = (isinstance(got, (numbers.Real, np.generic)) and not isinstance(got, (bool, np.bool_))
              or isinstance(got, np.ndarray) and got.ndim == 0)
    arr = np.asarray(_as_number(got, call)) if scalar else _as_array(got, call, name=name)
    if not np.isfinite(arr).all():
        what = f"{name}: " if name else ""
        _fail(call, f"{what}contains NaN or inf",
              list(hints) or ["overflow in exp()? a learning rate too large? keep every value "
                              "finite"])
    return arr


# numpy's floating-point warnings that mean a value was lost on the way (underflow to 0 is
# harmless: exp(-1000) == 0.0 is exactly what a stable sigmoid computes).
_HARMFUL_FLOAT_WARNINGS = ("overflow", "invalid value", "divide by zero")


def float_warnings(warnings: Iterable[tuple[str, str]]) -> list[str]:
    """The harmful numpy floating-point warnings among ``observe().warnings`` (their texts)."""
    found = []
    for category, text in warnings:
        if category == "RuntimeWarning" and any(k in text for k in _HARMFUL_FLOAT_WARNINGS):
            if text not in found:
                found.append(text)
    return found


def expect_no_float_warnings(warnings: Iterable[tuple[str, str]], call: str,
                             hints: Iterable[str] = ()) -> None:
    """The student's calls raised no overflow / invalid-value / divide-by-zero warning.

    ``warnings`` is ``grader.proxy.observe().warnings`` around the calls: numpy warns in the
    worker (``RuntimeWarning: overflow encountered in exp``) even when the value that comes
    back happens to be right, and a result that is right only by luck of inf arithmetic is
    not the stable computation the stub asks for.
    """
    found = float_warnings(warnings)
    if found:
        shown = "; ".join(f'"{one}"' for one in found[:2])
        _fail(call, f"numpy warned {shown} while computing it (the values that came back are "
                    "not what is wrong)", [*hints])


class Prerequisites:
    """The dependency rule (docs/SUITES.md): one mistake, one deduction.

    A test marked ``@pytest.mark.depends_on("test_a", ..., topic=("test_b", ...))`` gets this
    object from the ``prerequisites`` fixture; a hidden test may instead declare itself with
    ``@pytest.mark.prerequisite_of("test_x", ..., topic="...")`` (so a public test never names
    it). ``failed`` names the prerequisites that lost points earlier in this run; the test then
    measures its own subject only (normalising the harmless difference, or using the reference
    for the part already charged) and says so with :meth:`counted` in its messages or
    :meth:`note` for a test that passes. A name asked about is a test or a topic.
    ``lenient``: the student edition, where hidden prerequisites (and their topics) were cut:
    an unknown name there has simply not failed.
    """

    def __init__(self, names: Sequence[str] = (), failed: Iterable[str] = (),
                 notes: list[str] | None = None,
                 topics: dict[str, Sequence[str]] | None = None, lenient: bool = False):
        self.topics = {k: (v,) if isinstance(v, str) else tuple(v)
                       for k, v in (topics or {}).items()}
        self.names = tuple(dict.fromkeys([*names, *(t for v in self.topics.values()
                                                     for t in v)]))
        failed = set(failed)
        self.failed = tuple(n for n in self.names if n in failed)
        self.notes = notes if notes is not None else []
        self.lenient = lenient

    def __bool__(self) -> bool:
        return bool(self.failed)

    def _tests(self, name: str) -> tuple[str, ...]:
        if name in self.topics:
            return self.topics[name]
        if name in self.names:
            return (name,)
        if self.lenient:
            return ()
        raise ValueError(f"suite error: {name} is not a depends_on of this test")

    def any(self, *names: str) -> str:
        """The first failed test among ``names`` (tests or topics; default: all), or ""."""
        for name in names or self.names:
            for test in self._tests(name):
                if test in self.failed:
                    return test
        return ""

    def counted(self, *names: str) -> str:
        """ "already counted in test_a" for the failed ones among ``names``, else ""."""
        failed: list[str] = []
        for name in names or self.names:
            failed += [t for t in self._tests(name) if t in self.failed and t not in failed]
        return f"already counted in {', '.join(failed)}" if failed else ""

    def note(self, text: str) -> None:
        """A remark shown with this test's result, even when it passes."""
        if text and text not in self.notes:
            self.notes.append(text)

    def excuse(self, what: str, *names: str) -> None:
        """Note that ``what`` was not held against the student here, and where it was."""
        counted = self.counted(*names)
        if counted:
            self.note(f"{what}: {counted}")


def expect_keys(got: Any, keys: Iterable[str], call: str) -> dict:
    """``got`` is a dict holding at least ``keys``."""
    keys = list(keys)
    if not isinstance(got, dict):
        _fail(call, f"expected a dict with keys {', '.join(keys)}; got {describe(got)}")
    missing = [k for k in keys if k not in got]
    if missing:
        _fail(call, f"the dict is missing key(s) {', '.join(repr(k) for k in missing)}",
              ["keep the names exactly as in the instructions (case matters)"])
    return got


# --------------------------------------------------------------------------------------------
# reusable diagnoses: predicate(got, expected) -> bool, plus the hint to show
# --------------------------------------------------------------------------------------------
def matches(other: Any, hint: str, *, rtol: float = 1e-6, atol: float = 1e-8) -> Diagnosis:
    """The student's values equal ``other`` -- the result of a known mistake, computed by the test."""
    other = np.asarray(other, dtype=np.float64)

    def predicate(got: np.ndarray, expected: np.ndarray) -> bool:
        return got.shape == other.shape and bool(np.allclose(got, other, rtol=rtol, atol=atol))
    return predicate, hint


def scaled_by(factor: float, hint: str, *, rtol: float = 1e-4) -> Diagnosis:
    """The values are ``factor`` times the expected ones (e.g. a sum instead of a mean)."""
    def predicate(got: np.ndarray, expected: np.ndarray) -> bool:
        return (not np.allclose(expected, 0.0)
                and bool(np.allclose(got, expected * factor, rtol=rtol, atol=1e-10)))
    return predicate, f"the values are about {factor:g} times too large — {hint}" \
        if abs(factor) >= 1 else f"the values are about {1 / factor:g} times too small — {hint}"


def negated(hint: str = "check the sign of the update (y - y_hat, not y_hat - y)") -> Diagnosis:
    """The values have the opposite sign to the expected ones."""
    def predicate(got: np.ndarray, expected: np.ndarray) -> bool:
        return (not np.allclose(expected, 0.0)
                and bool(np.allclose(got, -expected, rtol=1e-6, atol=1e-10)))
    return predicate, f"the values have the wrong sign — {hint}"


def shifted(hint: str) -> Diagnosis:
    """The values are off by one constant (e.g. a missing bias)."""
    def predicate(got: np.ndarray, expected: np.ndarray) -> bool:
        delta = got - expected
        return (not np.allclose(delta, 0.0)
                and bool(np.allclose(delta, delta.flat[0], rtol=1e-6, atol=1e-9)))
    return predicate, f"every value is off by the same amount — {hint}"


def transposed_values(hint: str = "did you transpose a matrix?") -> Diagnosis:
    """A square result equals the transpose of the expected one."""
    def predicate(got: np.ndarray, expected: np.ndarray) -> bool:
        return (got.ndim == 2 and got.shape[0] == got.shape[1]
                and not np.allclose(expected, expected.T)
                and bool(np.allclose(got, expected.T, rtol=1e-6, atol=1e-10)))
    return predicate, hint
