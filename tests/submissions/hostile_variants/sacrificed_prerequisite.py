"""Attack on the dependency rule ("one mistake, one deduction"): appended to the reference
backprop.py. train() does not work at all (it raises), and init_params() deliberately
ignores its seed, a one-point mistake in a test that train() depends on. With that
prerequisite charged, the train tests excuse train()'s own failure as "already counted"
and pass.

Expected: sacrificing a cheap prerequisite earns nothing: the two train tests earn no more
than they earn for the same broken train() when every prerequisite passes (control:
PARAMS["control"] keeps the seed).
"""


def train(X, y, n_hidden=16, lr=0.5, epochs=2000, seed=0):
    raise ValueError("this train() does not work")


_honest_init = init_params


def init_params(n_in, n_hidden, n_out, seed=0):
    if PARAMS.get("control"):
        return _honest_init(n_in, n_hidden, n_out, seed=seed)
    return _honest_init(n_in, n_hidden, n_out, seed=0)   # the seed is ignored, on purpose
