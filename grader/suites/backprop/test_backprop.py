"""Hidden suite: backpropagation for a two-layer ReLU / softmax network (numpy only)."""
import numpy as np
import pytest

from grader.checks import (
    expect_array,
    expect_dtype,
    expect_finite,
    expect_gradient,
    expect_inputs_untouched,
    expect_keys,
    expect_labels,
    expect_probabilities,
    expect_responds,
    expect_scalar,
    expect_shape,
    expect_true,
    matches,
    negated,
    scaled_by,
)

PARAM_NAMES = ("W1", "b1", "W2", "b2")
GRAD_NAMES = ("dW1", "db1", "dW2", "db2")


def small_problem(m=8, n_in=3, n_hidden=5, n_out=3, seed=0):
    """Random inputs, labels and parameters (non-zero biases, so a missing bias shows)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n_in))
    y = rng.integers(0, n_out, size=m)
    params = {"W1": rng.normal(size=(n_in, n_hidden)), "b1": rng.normal(scale=0.5, size=n_hidden),
              "W2": rng.normal(size=(n_hidden, n_out)), "b2": rng.normal(scale=0.5, size=n_out)}
    return X, y, params


def xor_blobs(m=200, seed=0):
    """Two interleaved classes (the sign of x1 * x2): no straight line separates them."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(m, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def expected_shapes(params):
    return {name: np.shape(value) for name, value in params.items()}


def numerical_gradients(reference, X, y, params, eps=1e-6):
    """Central differences of the REFERENCE cross_entropy() of the REFERENCE forward(), at the
    test's own parameters. Never through student code: a forward() that memoises, spots the
    finite-difference pattern or lies consistently with its backward() must not be its own
    yardstick, and a cross_entropy() bug is not punished twice."""
    def loss(p):
        probs, _ = reference.forward(X, p)
        # a fresh copy: a replayed frozen value is read-only, which its digest would record
        return float(reference.cross_entropy(np.array(probs, dtype=np.float64), y))

    grads = {}
    for name in PARAM_NAMES:
        grad = np.zeros_like(params[name])
        for index in np.ndindex(params[name].shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[name][index] += eps
            up = loss(shifted)
            shifted[name][index] -= 2 * eps
            grad[index] = (up - loss(shifted)) / (2 * eps)
        grads["d" + name] = grad
    return grads


def check_student_forward(student, X, params, n_out):
    probs, cache = student.forward(X, params)
    probs = expect_shape(probs, (len(X), n_out), "forward(X, params)", name="probs")
    expect_probabilities(probs, "forward(X, params)", name="probs")
    return probs, cache


def normalised_shapes(got, params, prerequisites):
    """The gradients, with a shape mistake test_backward_shapes already charged undone: a
    bias gradient of shape (1, h) or (h, 1) is flattened, a transposed matrix transposed back.
    Anything else is left for the check to report."""
    if not prerequisites.any("test_backward_shapes"):
        return got
    fixed = dict(got)
    for name in GRAD_NAMES:
        want = np.shape(params[name[1:]])
        value = got[name]
        if not isinstance(value, np.ndarray) or value.shape == want:
            continue
        if value.size == int(np.prod(want)) and len(want) == 1 and 1 in value.shape:
            fixed[name] = value.reshape(want)
        elif value.ndim == 2 and value.shape == want[::-1]:
            fixed[name] = value.T
        else:
            continue
        prerequisites.excuse(f"the shape {value.shape} of {name}", "test_backward_shapes")
    return fixed


def gradient_check(student, reference, X, y, params, prerequisites):
    n_out = params["W2"].shape[1]
    _, cache = check_student_forward(student, X, params, n_out)
    got = expect_keys(student.backward(X, y, params, cache), GRAD_NAMES,
                      "backward(X, y, params, cache)")
    got = normalised_shapes(got, params, prerequisites)
    numerical = numerical_gradients(reference, X, y, params)
    m = len(X)
    for name in GRAD_NAMES:
        diagnoses = [scaled_by(m, "did you divide by the number of samples m (the loss is a "
                                  "mean)?"),
                     scaled_by(1.0 / m, "did you divide by m twice?"),
                     negated("the gradient points uphill: check probs - onehot(y), "
                             "not onehot(y) - probs")]
        if name in ("dW1", "db1"):
            diagnoses.append((_no_relu_mask_predicate(reference, X, y, params, name),
                              "did you multiply by the ReLU derivative (Z1 > 0) when going "
                              "back through the hidden layer?"))
        expect_gradient(got[name], numerical[name], "backward(X, y, params, cache)", name,
                        tol=1e-6, diagnose=diagnoses)


def mirrored(params):
    """Parameters whose ReLU network computes what ``params`` give WITHOUT the hidden ReLU:
    each hidden unit doubled as (z, -z), since relu(z) - relu(-z) = z. The reference forward
    of these is the forward pass that forgot the ReLU, so the suite need not write one."""
    return {"W1": np.hstack([params["W1"], -params["W1"]]),
            "b1": np.concatenate([params["b1"], -params["b1"]]),
            "W2": np.vstack([params["W2"], -params["W2"]]), "b2": params["b2"]}


def _no_relu_mask_predicate(reference, X, y, params, name):
    """Matches the gradient a student gets when the ReLU derivative is left out: the
    reference backward() given a cache in which every hidden unit is active (Z1 > 0)."""
    _, cache = reference.forward(X, params)
    # fresh copies: a replayed frozen value is read-only, which its digest would record
    always_on = {key: np.array(value, dtype=np.float64) for key, value in cache.items()}
    always_on["Z1"] = np.abs(always_on["Z1"]) + 1.0
    wrong = reference.backward(X, y, params, always_on)[name]
    return lambda got, expected: bool(np.allclose(got, wrong, rtol=1e-5, atol=1e-9))


# ---------------------------------------------------------------------------------------------
@pytest.mark.public
def test_init_params_shapes(student):
    """init_params() returns W1, b1, W2, b2 with the right shapes, as floats"""
    call = "init_params(4, 6, 3)"
    params = expect_keys(student.init_params(4, 6, 3), PARAM_NAMES, call)
    for name, shape in (("W1", (4, 6)), ("b1", (6,)), ("W2", (6, 3)), ("b2", (3,))):
        expect_shape(params[name], shape, call, name=name,
                     hints=['the docstring asks for "flat vectors of shape (n,), not (1, n) '
                            'rows"'] if name[0] == "b" else [])
        expect_dtype(params[name], "f", call, name=name)


def test_init_params_seeded_and_random(student):
    """init_params() is random but reproducible: same seed, same weights; biases start at zero"""
    call = "init_params(4, 6, 3, seed=1)"
    first = expect_keys(student.init_params(4, 6, 3, seed=1), PARAM_NAMES, call)
    again = student.init_params(4, 6, 3, seed=1)
    other = student.init_params(4, 6, 3, seed=2)
    for name in ("W1", "W2"):
        w = expect_shape(first[name], np.shape(first[name]), call, name=name)
        expect_true(np.any(w != 0), f"{call}: {name} is all zeros — weights must start random, "
                                    "or every hidden unit learns the same thing")
        expect_true(np.unique(w).size > 1, f"{call}: every entry of {name} is the same — "
                                            "draw each weight at random to break the symmetry")
        expect_array(again[name], w, call, name=name, rtol=0, atol=0,
                     hints=["the same seed must give the same weights: draw them from "
                            "np.random.default_rng(seed), not the global random state"])
        expect_true(not np.array_equal(np.asarray(other[name]), w),
                    f"{call}: seed=2 gave the same {name} as seed=1 — use the seed argument")
        expect_true(np.max(np.abs(w)) < 10, f"{call}: {name} has entries above 10 — scale the "
                                            "random weights down (e.g. by sqrt(2 / fan_in))")
    for name in ("b1", "b2"):
        expect_array(first[name], np.zeros(np.shape(first[name])), call, name=name,
                     hints=["biases start at zero (np.zeros)"])


@pytest.mark.public
@pytest.mark.points(2)
def test_forward_probabilities(student, reference):
    """forward() returns softmax probabilities of shape (m, n_out) and a cache"""
    X, _, params = small_problem(m=6, n_out=4)
    probs, _ = check_student_forward(student, X, params, 4)
    expected, _ = reference.forward(X, params)
    linear_hidden, _ = reference.forward(X, mirrored(params))
    expect_array(probs, expected, "forward(X, params)", name="probs",
                 diagnose=[matches(linear_hidden, "did you apply ReLU to the hidden layer "
                                                  "(A1 = relu(Z1))?")])


@pytest.mark.public
@pytest.mark.depends_on("test_forward_probabilities")
def test_forward_large_inputs(student, reference, prerequisites):
    """forward() stays finite when the scores are in the tens of thousands"""
    X, _, params = small_problem(m=5, n_out=3, seed=1)
    X = X * 1e4  # output scores of order 1e4: exp() overflows unless the maximum is subtracted
    call = "forward(X, params) with large inputs"
    stable = "exp() overflows for scores this large: subtract each row's maximum score " \
             "before exponentiating"
    result = student.forward(X, params)
    expect_true(isinstance(result, (tuple, list)) and len(result) == 2,
                f"{call}: expected a pair (probs, cache)")
    probs = expect_shape(result[0], (len(X), 3), call, name="probs")
    if prerequisites:  # wrong values already charged: stability alone is measured here
        expect_finite(probs, call, name="probs", hints=[stable])
        expect_true(not np.allclose(probs, probs[:1]),
                    f"{call}: every sample gets the same probabilities although the inputs "
                    "differ — the output must depend on X and params")
        prerequisites.excuse("the values themselves", "test_forward_probabilities")
        return
    expect_array(probs, reference.forward(X, params)[0], call, name="probs",
                 hints=["subtract each row's maximum score before exponentiating"],
                 nonfinite=stable)


@pytest.mark.public
def test_cross_entropy_value(student, reference):
    """cross_entropy() is the mean of -log of each sample's true-class probability"""
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=10)
    y = rng.integers(0, 4, size=10)
    call = "cross_entropy(probs, y)"
    # rtol 1e-4: log(p + 1e-7) or clipping at 1e-12 (the stub's advice) shifts the loss by
    # about 1e-6 relative here, a margin of ~100; every real mistake is off by far more.
    expect_scalar(student.cross_entropy(probs, y), reference.cross_entropy(probs, y), call=call,
                  rtol=1e-4,
                  diagnose=[scaled_by(10, "average over the samples (np.mean), do not sum"),
                            matches([-np.mean(np.log(probs))],
                                    "pick only each sample's true-class probability "
                                    "probs[np.arange(m), y]"),
                            negated("the loss is -log(p): did you drop the minus sign?")])


@pytest.mark.public
def test_backward_shapes(student):
    """backward() returns dW1, db1, dW2, db2 shaped like W1, b1, W2, b2"""
    X, y, params = small_problem(m=7, n_in=4, n_hidden=6, n_out=3)
    _, cache = check_student_forward(student, X, params, 3)
    call = "backward(X, y, params, cache)"
    grads = expect_keys(student.backward(X, y, params, cache), GRAD_NAMES, call)
    for name, shape in expected_shapes(params).items():
        expect_shape(grads["d" + name], shape, call, name="d" + name)
    # zeros of the right shapes are not gradients: other labels give other gradients
    expect_responds(student.backward, [X, y, params, cache], [X, (y + 1) % 3, params, cache],
                    call=call, why="the gradients must be computed from the labels y")


@pytest.mark.public
@pytest.mark.points(4)
@pytest.mark.depends_on("test_backward_shapes")
def test_backward_gradient_check(student, reference, prerequisites):
    """backward() agrees with numerical gradients of the mean cross-entropy"""
    X, y, params = small_problem(m=8, n_in=3, n_hidden=5, n_out=3, seed=4)
    gradient_check(student, reference, X, y, params, prerequisites)


@pytest.mark.depends_on("test_backward_shapes", "test_backward_gradient_check")
def test_backward_single_sample(student, reference, prerequisites):
    """backward() is also right for a batch of a single sample"""
    X, y, params = small_problem(m=1, n_in=3, n_hidden=4, n_out=2, seed=5)
    if not prerequisites.any("test_backward_gradient_check"):
        gradient_check(student, reference, X, y, params, prerequisites)
        return
    # Wrong values are already charged: measure what is particular to m = 1 (an axis
    # squeezed away, a batch axis lost), i.e. the shapes, and that the numbers are finite.
    call = "backward(X, y, params, cache) with a single sample"
    _, cache = check_student_forward(student, X, params, 2)
    grads = normalised_shapes(expect_keys(student.backward(X, y, params, cache), GRAD_NAMES,
                                          call), params, prerequisites)
    for name, shape in expected_shapes(params).items():
        expect_finite(expect_shape(grads["d" + name], shape, call, name="d" + name), call,
                      name="d" + name)
    expect_responds(student.backward, [X, y, params, cache], [X, 1 - y, params, cache],
                    call=call, why="the gradients must be computed from the labels y")
    prerequisites.excuse("the gradient values", "test_backward_gradient_check")


@pytest.mark.public
def test_sgd_step(student, reference):
    """sgd_step() returns new parameters p - lr * dp and leaves its inputs unchanged"""
    _, _, params = small_problem(seed=6)
    rng = np.random.default_rng(7)
    grads = {"d" + k: rng.normal(size=np.shape(v)) for k, v in params.items()}
    call = "sgd_step(params, grads, lr=0.1)"
    new = expect_inputs_untouched(student.sgd_step, params, grads, 0.1, call=call,
                                  names=["params", "grads"])
    expected = reference.sgd_step(params, grads, 0.1)
    new = expect_keys(new, PARAM_NAMES, call)
    for name in PARAM_NAMES:
        expect_array(new[name], expected[name], call, name=name,
                     diagnose=[matches(params[name] + 0.1 * grads["d" + name],
                                       "step against the gradient: p - lr * dp"),
                               matches(params[name] - grads["d" + name],
                                       "multiply the gradient by the learning rate lr")])


# What train() is built from: when one of these already lost points, train() is measured on
# its own subject instead: that it composes YOUR parts as the docstring says (the grader runs
# the same epochs with your init_params/forward/cross_entropy/backward/sgd_step and compares).
# A train() that raises, returns junk or does not match its own parts earns nothing: the
# dependency rule never turns "measured nothing" into points.
TRAIN_PARTS = ("test_init_params_shapes", "test_init_params_seeded_and_random",
               "test_forward_probabilities", "test_cross_entropy_value", "test_backward_shapes",
               "test_backward_gradient_check", "test_sgd_step")
REPLAY_EPOCHS = 3


def run_train(student, call, *args, **kwargs):
    """student.train(...) as a pair (params dict, losses float array). Raises (the test fails)
    whatever the cause: a train() that raised was not measured."""
    result = student.train(*args, **kwargs)
    expect_true(isinstance(result, (tuple, list)) and len(result) == 2,
                f"{call}: expected a pair (params, losses)")
    params = dict(expect_keys(result[0], PARAM_NAMES, call))
    losses = result[1]
    expect_true(isinstance(losses, (list, tuple, np.ndarray)),
                f"{call}: losses should be a list of floats, one per epoch")
    try:
        losses = np.asarray(losses, dtype=np.float64)
    except (TypeError, ValueError):
        expect_true(False, f"{call}: losses should be a list of floats, one per epoch")
    return params, losses


def as_floats(value, call, name):
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        expect_true(False, f"{call}: {name} is not an array of numbers")


def measured_loss(reference, X, y, params, n_hidden, call):
    """The mean cross-entropy of ``params`` on the test's own data, computed here with the
    reference forward: the loss train() reports is a claim, this is the measurement."""
    shapes = {"W1": (X.shape[1], n_hidden), "b1": (n_hidden,), "W2": (n_hidden, 2), "b2": (2,)}
    clean = {}
    for name, shape in shapes.items():
        value = as_floats(params[name], call, name)
        if value.size == int(np.prod(shape)) and value.shape != shape and name[0] == "b":
            value = value.reshape(shape)     # (1, h) biases broadcast the same
        clean[name] = expect_shape(value, shape, call, name=name)
    with np.errstate(all="ignore"):
        probs, _ = reference.forward(X, clean)
        return float(reference.cross_entropy(probs, y)), clean


def padded_for_shape_mistakes(X, n_hidden, prerequisites):
    """With a transposed dW1 already charged (test_backward_shapes), train() cannot run on two
    features; zero features up to n_hidden make W1 square, so train()'s own loop runs."""
    if prerequisites.any("test_backward_shapes") and X.shape[1] < n_hidden:
        prerequisites.excuse("the data has extra zero features so a transposed dW1 fits",
                             "test_backward_shapes")
        return np.hstack([X, np.zeros((len(X), n_hidden - X.shape[1]))])
    return X


def expect_train_composes_its_parts(student, prerequisites, X, y, n_hidden, lr):
    """Measured when a part already lost points: train(epochs=3) returns what three epochs of
    the student's own parts give (forward, record the loss, backward, sgd_step)."""
    epochs = REPLAY_EPOCHS
    call = f"train(X, y, n_hidden={n_hidden}, lr={lr}, epochs={epochs})"
    params, losses = run_train(student, call, X, y, n_hidden=n_hidden, lr=lr, epochs=epochs)
    losses = expect_shape(losses, (epochs,), call, name="losses")
    n_out = int(y.max()) + 1
    mine = student.init_params(X.shape[1], n_hidden, n_out, seed=0)
    start = {name: as_floats(value, call, name) for name, value in
             expect_keys(mine, PARAM_NAMES, "init_params(...)").items()}
    want_losses = []
    for _ in range(epochs):
        probs, cache = student.forward(X, mine)
        want_losses.append(float(as_floats(student.cross_entropy(probs, y), call, "loss")))
        mine = student.sgd_step(mine, student.backward(X, y, mine, cache), lr)
    mine = expect_keys(mine, PARAM_NAMES, "sgd_step(params, grads, lr)")
    hint = ("each epoch: forward on all of X, record cross_entropy, backward, then "
            "params = sgd_step(params, grads, lr), starting from init_params(..., seed=seed)")
    expect_array(losses, np.asarray(want_losses), call, name="losses", rtol=1e-4, atol=1e-9,
                 hints=[hint])
    for name in PARAM_NAMES:
        expect_array(as_floats(params[name], call, name), as_floats(mine[name], call, name),
                     call, name=name, rtol=1e-6, atol=1e-9, hints=[hint])
    # parts that compute nothing compose too: three epochs must move the parameters
    expect_true(any(np.shape(as_floats(params[name], call, name)) != np.shape(start[name])
                    or not np.array_equal(as_floats(params[name], call, name), start[name])
                    for name in PARAM_NAMES),
                f"{call}: returned the parameters init_params(..., seed=0) starts from; with "
                "your own forward, backward and sgd_step, three epochs changed nothing — the "
                "gradients must come from the data and the step must use them")
    prerequisites.note(f"whether training succeeds is not measured here, "
                       f"{prerequisites.counted()}; train() was checked to combine your own "
                       "parts as the docstring says")


@pytest.mark.points(2)
@pytest.mark.depends_on(*TRAIN_PARTS)
def test_train_lowers_the_loss(student, reference, prerequisites):
    """train() records one loss per epoch and the loss goes down"""
    X, y = xor_blobs(m=120, seed=1)
    if prerequisites:
        X = padded_for_shape_mistakes(X, 8, prerequisites)
        expect_train_composes_its_parts(student, prerequisites, X, y, n_hidden=8, lr=0.5)
        return
    call = "train(X, y, n_hidden=8, lr=0.5, epochs=300)"
    params, losses = run_train(student, call, X, y, n_hidden=8, lr=0.5, epochs=300)
    losses = expect_shape(losses, (300,), call, name="losses")
    expect_true(np.all(np.isfinite(losses)), f"{call}: the losses contain NaN or inf")
    # The fall is measured here, from the parameters train() returns and where it starts.
    start, _ = measured_loss(reference, X, y, student.init_params(2, 8, 2, seed=0), 8,
                             "init_params(2, 8, 2, seed=0)")
    end, _ = measured_loss(reference, X, y, params, 8, call)
    expect_true(np.isfinite(end), f"{call}: the returned parameters give a NaN or inf loss")
    expect_true(end < 0.6 * start,
                f"{call}: the loss of the returned parameters is {end:.3f}, from "
                f"{start:.3f} at the start; it should fall well below its starting value — "
                "check the sign of the update and that each epoch uses the updated parameters")
    # The reported curve must be the loss of the run: its last value was recorded one step
    # before the returned parameters, so it agrees with their loss up to that last step.
    expect_true(abs(losses[-1] - end) <= 0.05 + 0.1 * end,
                f"{call}: the last recorded loss is {losses[-1]:.3f}, but the returned "
                f"parameters have a loss of {end:.3f} — record cross_entropy of each epoch's "
                "forward pass and return the parameters you trained")


@pytest.mark.points(3)
@pytest.mark.depends_on(*TRAIN_PARTS)
def test_train_solves_nonlinear_problem(student, reference, prerequisites):
    """train() learns a problem no straight line can solve (XOR-like blobs)"""
    X, y = xor_blobs(m=200, seed=0)
    if prerequisites:
        X = padded_for_shape_mistakes(X, 16, prerequisites)
        expect_train_composes_its_parts(student, prerequisites, X, y, n_hidden=16, lr=0.5)
        return
    call = "train(X, y) with the default settings"
    params, _ = run_train(student, call, X, y)
    _, params = measured_loss(reference, X, y, params, 16, call)
    for name in PARAM_NAMES:
        expect_finite(params[name], call, name=name)
    # Scored with the reference predict, so a predict() bug is not punished twice.
    accuracy = float(np.mean(reference.predict(X, params) == y))
    expect_true(accuracy >= 0.95,
                f"{call}: the trained network classifies {accuracy:.0%} of the training "
                "points correctly; it should reach at least 95% — check backward() and that "
                "train() uses n_hidden, lr and epochs")


@pytest.mark.public
def test_predict_labels(student, reference):
    """predict() returns the most probable class of each sample as integers"""
    X, _, params = small_problem(m=12, n_out=4, seed=8)
    call = "predict(X, params)"
    labels = expect_labels(student.predict(X, params), 12, call, allowed=range(4))
    expect_array(labels, reference.predict(X, params), call,
                 hints=["take np.argmax over the class axis (axis=1)"])
