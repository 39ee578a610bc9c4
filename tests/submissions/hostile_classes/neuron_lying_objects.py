"""Attack: objects that lie to whoever compares, converts, prints or frees them, appended to
the reference neuron.py (the earlier definitions are replaced).

- relu: an ndarray subclass holding zeros whose __eq__, __array_ufunc__, __array_function__,
  __float__, __len__ and tolist() all say "equal / the right thing";
- sigmoid: a float subclass (also returned by neuron_forward) that equals everything, with a
  __repr__ that raises and a __str__ of 10 MB of ANSI escapes and markup;
- step: a dict with tuple keys, then a recursive list;
- softmax: a generator, then a numpy structured array;
- dense_forward: an object whose __del__ sleeps for an hour and whose __array__ raises
  SystemExit;
- at import: SIGTERM and SIGINT ignored, an atexit hook that sleeps for an hour, and 2 MB of
  ANSI/HTML on stderr.

Expected: relu, sigmoid, step, softmax, dense_forward and neuron_forward tests earn nothing,
none ends as a grader error; tanh's tests pass; grading ends in bounded time with result.json
and a clean report.
"""
import atexit as _atexit
import signal as _signal
import sys as _sys
import time as _time

_reference_tanh = tanh


class _AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False  # noqa: E731

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __float__(self):
        return 0.5

    def __len__(self):
        return 3

    def tolist(self):
        return [0.5, 0.5, 0.5]


class _Agreeable(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__

    def __repr__(self):
        raise RuntimeError("no repr for you")

    def __str__(self):
        return "\x1b[2J<script>alert(1)</script>" * 300_000


class _SlowToDie:
    def __del__(self):
        _time.sleep(3600)

    def __array__(self, dtype=None, copy=None):
        raise SystemExit(0)


def relu(z):
    return np.zeros(np.shape(z)).view(_AlwaysEqual)


def sigmoid(z):
    return _Agreeable(0.5)


def neuron_forward(x, w, b, activation="sigmoid"):
    if activation not in ("relu", "sigmoid", "tanh", "step", "linear"):
        raise ValueError(activation)
    return _Agreeable(0.5)


_calls = {"step": 0, "softmax": 0}


def step(z):
    _calls["step"] += 1
    if _calls["step"] % 2:
        return {(1, 2): 1.0, (3, 4): 0.0}
    loop = [1.0]
    loop.append(loop)
    return loop


def softmax(z):
    _calls["softmax"] += 1
    if _calls["softmax"] % 2:
        return (x for x in [0.5, 0.5])
    return np.zeros(3, dtype=[("p", "f8"), ("q", "f8")])


def dense_forward(X, W, b, activation="relu"):
    return _SlowToDie()


_signal.signal(_signal.SIGTERM, _signal.SIG_IGN)
_signal.signal(_signal.SIGINT, _signal.SIG_IGN)
_atexit.register(_time.sleep, 3600)
_sys.stderr.write("\x1b[31m<h1>PASSED</h1>\x1b]0;owned\x07" * 50_000)
_sys.stderr.flush()
