"""Attack on the grader's clock: every call is correct but sleeps just under the per-call
limit (PARAMS["nap"] seconds), and leaves behind an object whose __del__ sleeps as long when
the worker is torn down. Twenty-odd calls at just under the limit each would hold the
grader for minutes if only the per-call limit held.

Expected: the exercise's whole time budget stops grading (tests after it fail as "time
budget ran out"), the run ends within the budget plus a margin, and no test earns a point
it would not earn anyway.
"""
import time as _time

_NAP = float(PARAMS.get("nap", 1.0))
_h_relu, _h_sigmoid, _h_tanh, _h_step, _h_softmax = relu, sigmoid, tanh, step, softmax


class _SlowToDie:
    def __del__(self):
        _time.sleep(_NAP)


_KEEP = []


def _slow(fn):
    def wrapper(*args, **kwargs):
        _time.sleep(_NAP)
        _KEEP.append(_SlowToDie())   # dies with the worker, and sleeps then
        return fn(*args, **kwargs)
    return wrapper


relu, sigmoid, tanh, step, softmax = map(_slow, (_h_relu, _h_sigmoid, _h_tanh, _h_step,
                                                 _h_softmax))
neuron_forward = _slow(neuron_forward)
dense_forward = _slow(dense_forward)

