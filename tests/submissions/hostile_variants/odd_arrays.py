"""Attack: results whose memory layout or type is unusual, to trip the wire or the checks.
Correct values in odd layouts (these should simply pass): relu returns big-endian '>f8';
sigmoid a Fortran-ordered array seen through negative strides; neuron_forward a 0-d
float128 for one sample. Wrong values dressed up as right (these must fail): tanh returns a
masked array whose (wrong) data is all masked, so masked comparisons "agree"; step returns a
bool array; softmax returns a 2-d array of float16 NaNs next to +inf; dense_forward returns
an empty array of shape (0, 2**40) for softmax and a broadcast (stride 0) view of one wrong
row otherwise.

Expected: the odd-but-correct results earn their points, the wrong ones earn nothing, the
grader neither crashes nor allocates the announced shape.
"""
import numpy.ma as _ma

_h = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "step": step, "softmax": softmax,
      "neuron_forward": neuron_forward}
_honest_relu, _honest_sigmoid = relu, sigmoid


def relu(z):
    return _honest_relu(z).astype(">f8")


def sigmoid(z):
    out = np.asfortranarray(_honest_sigmoid(z)[..., ::-1])
    return out[..., ::-1]


def tanh(z):
    z = np.asarray(z, dtype=float)
    return _ma.masked_array(np.zeros_like(z), mask=np.ones(z.shape, dtype=bool))


def step(z):
    return np.asarray(z) >= 0


def softmax(z):
    z = np.asarray(z, dtype=float)
    out = np.full(z.shape, np.nan, dtype=np.float16)
    out[..., 0] = np.inf
    return out


def _honest_layer(X, W, b, activation):
    """The reference computation, with the reference activations (not the ones above)."""
    z = np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) + b
    if activation == "linear":
        return z
    if activation not in _h:
        raise ValueError(f"unknown activation {activation!r}")
    return _h[activation](z)


def neuron_forward(x, w, b, activation="sigmoid"):
    out = _honest_layer(x, w, b, activation)
    if np.ndim(out) == 0:
        return np.array(out, dtype=np.longdouble)   # a 0-d float128, not the float asked
    return out


def dense_forward(X, W, b, activation="relu"):
    if activation == "softmax":
        return np.empty((0, 2 ** 40))
    row = np.ones(np.shape(W)[-1])
    return np.broadcast_to(row, (np.shape(X)[0], row.size))
