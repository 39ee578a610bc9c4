"""Attack: results that lie about their size or never end, so a grader that converts,
iterates or measures them spends its time (or memory) on them. relu returns an object
whose __len__ says 10**9 and whose __getitem__ answers anything with 0.0; sigmoid an
endless generator; tanh a callable that returns the right values when called (a grader
that calls what it gets back would run it); step a list subclass whose __iter__ never
ends; softmax an object whose __array__ returns a fresh 1 GB array each time.

Expected: each of those tests fails quickly (no per-item round trips, no gigabytes in the
grader), the others pass.
"""
import itertools as _it


class _Liar:
    def __len__(self):
        return 10 ** 9

    def __getitem__(self, i):
        return 0.0

    shape = (2, 5)
    dtype = np.dtype(float)


class _EndlessList(list):
    def __iter__(self):
        return _it.repeat(0.0)

    def __len__(self):
        return 10


class _HugeArray:
    def __array__(self, dtype=None, copy=None):
        return np.zeros((1 << 27,))   # 1 GiB of float64 per request


_tanh = tanh


def relu(z):
    return _Liar()


def sigmoid(z):
    return (0.5 for _ in _it.count())


def tanh(z):
    return lambda *a, **k: _tanh(z)


def step(z):
    return _EndlessList([0.0] * 10)


def softmax(z):
    return _HugeArray()
