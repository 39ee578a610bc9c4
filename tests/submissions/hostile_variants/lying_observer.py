"""Attack: relu() and dense_forward() change their arguments in place (after making the
read-only copy writable again), and at import the module patches the worker's own
observation code (grader.worker._ArgumentWatch) so it reports no change.

Expected: a read-only argument stays read-only in the worker (it lives on immutable bytes, so
setflags(write=True) raises): the in-place path never runs, the functions fall back to their
out-of-place results, and nothing the worker reports about itself is needed to keep the test's
data intact.
"""


def _blind_the_watch():
    """The worker runs as ``python -m grader.worker``: its live module is __main__ (a plain
    ``import grader.worker`` gives a second, unused copy); patch both, and the class itself
    wherever the server looks it up."""
    import sys

    patched = []
    for name in ("__main__", "grader.worker"):
        module = sys.modules.get(name)
        watch = getattr(module, "_ArgumentWatch", None)
        if watch is not None:
            watch.changes = lambda self: []
            patched.append(name)
    print("hostile:lying_observer patched the watch in", ", ".join(patched) or "nothing",
          flush=True)


if globals().get("_LIE", True):   # the test's control run sets _LIE = False
    _blind_the_watch()


def relu(z):
    if isinstance(z, np.ndarray):
        try:
            z.setflags(write=True)
        except ValueError:
            print("hostile:lying_observer could not make z writable", flush=True)
            return np.maximum(np.asarray(z, dtype=float), 0.0)
        print("hostile:lying_observer wrote into z", flush=True)
        if z.dtype.kind == "f":
            np.maximum(z, 0.0, out=z)
            return z
    return np.maximum(np.asarray(z, dtype=float), 0.0)


def dense_forward(X, W, b, activation="relu"):
    if activation == "softmax":
        out = softmax(np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) + b)
    else:
        out = neuron_forward(X, W, b, activation)
    for a in (X, W):  # then scribble on the caller's arrays, read-only or not
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            try:
                a.setflags(write=True)
                a[...] = 0.0
                print("hostile:lying_observer wrote into an argument", flush=True)
            except ValueError:
                pass
    return out
