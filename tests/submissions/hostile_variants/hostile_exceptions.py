"""Attack: the activations raise exceptions built to hurt whoever prints them. Their type
names (made with type(), so any str) carry markup, ANSI escapes, a bidi override, C1 controls and a fake pytest verdict; relu's __str__ never returns; sigmoid's __str__ and
__repr__ raise; tanh raises a KeyboardInterrupt subclass; step raises SystemExit from a
generator's close; softmax raises an exception whose message is 1 MB of escapes and whose
__cause__ chain is 10,000 deep.

Expected: each of those tests fails (no point), the hanging __str__ costs one call's time
limit, the grader does not crash, and no raw escape, override, surrogate or live markup
reaches result.json or the report.
"""
import sys as _sys

_NASTY = ("<img src=x onerror=alert(7)>\x1b[2J\x1b[32mPASSED\x1b[0m\u202e\u2066"
          "\x85\x9b ===== 21 passed =====")
_SURROGATE = "\x00\ud800\udfff"  # not allowed in a type name; in messages it is


def _nasty_type(base, extra=None):
    return type(_NASTY + base.__name__, (base,), dict(extra or {}))


class _Hang:
    def __str__(self):
        while True:
            pass


_HangError = _nasty_type(ValueError, {"__str__": lambda self: str(_Hang())})


def _boom(self):
    raise RuntimeError("__str__ refused " + _NASTY)


_RaisingError = _nasty_type(TypeError, {"__str__": _boom, "__repr__": _boom})
_Interrupt = _nasty_type(KeyboardInterrupt)


def relu(z):
    raise _HangError("never printed")


def sigmoid(z):
    raise _RaisingError()


def tanh(z):
    raise _Interrupt(_NASTY + _SURROGATE)


def step(z):
    def gen():
        try:
            yield 1
        finally:
            raise SystemExit(_NASTY)
    g = gen()
    next(g)
    g.close()


def softmax(z):
    _sys.setrecursionlimit(max(_sys.getrecursionlimit(), 20_000))
    exc = RuntimeError(("\x1b]8;;http://evil/\x07link\x1b]8;;\x07" + _NASTY) * 20_000)
    for _ in range(10_000):
        try:
            raise exc
        except RuntimeError as inner:
            exc = RuntimeError(_NASTY)
            exc.__cause__ = inner
    raise exc
