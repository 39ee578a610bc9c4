"""Hidden suite: optimizer steps and losses (numpy), against closed forms and Keras.

The trajectories' gradients are in test_optimizers_grader_only.py (grader-only).
The closed-form tests run the first steps of each optimizer from ``state=None`` against the
reference solution; the ``*_matches_keras`` tests follow Keras's own optimizers (SGD,
SGD with momentum, RMSprop, Adam) step by step on a quadratic and on a tiny network, from
trajectories computed offline by ``bench/optimizers_keras_reference.py`` into
``keras_trajectories.json`` (this process never imports TensorFlow). A trajectory test whose optimizer already lost points in its closed-form test
checks the form of the steps only (one mistake, one deduction).
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.checks import (
    CheckFailed,
    describe,
    expect_array,
    expect_finite,
    expect_inputs_untouched,
    expect_keys,
    expect_no_float_warnings,
    expect_responds,
    expect_scalar,
    expect_shape,
    matches,
    negated,
    scaled_by,
)
from grader.proxy import observe

STEP_FUNCTIONS = {"sgd": "sgd_step", "momentum": "momentum_step", "rmsprop": "rmsprop_step",
                  "adam": "adam_step"}
STATE_HINT = ("is the state carried over from one step to the next (return the new state and "
              "use the one you are given)?")
TRAJECTORY_TOL = dict(rtol=1e-7, atol=1e-9)  # Keras in float64 agrees with numpy to round-off


# ---- helpers -----------------------------------------------------------------------------------
def _fresh(params):
    """Writable float copies (the closed-form tests must not fail on an in-place update:
    the purity test alone charges that)."""
    return {k: np.array(v, dtype=float) for k, v in params.items()}


def call_text(fn, hp):
    args = ", ".join(f"{k}={v:g}" for k, v in hp.items())
    return f"{fn}(params, grads, state, {args})"


def split_step(got, params, call):
    """(new_params, new_state) from what a step returned, checked for form."""
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailed(f"{call}: returned {describe(got)}; expected a pair "
                          f"(new_params, new_state) — return new_params, new_state")
    new_params = expect_keys(got[0], list(params), call)
    for key, value in params.items():
        expect_shape(new_params[key], np.shape(value), call, name=f"new_params[{key!r}]")
    return new_params, got[1]


def flat(params, keys):
    return np.concatenate([np.ravel(np.asarray(params[k], dtype=float)) for k in keys])


def expect_params(got, expected, call, *, mistakes=(), tol=None, hints=()):
    """Every array of ``got`` equals ``expected``; ``mistakes``: [(params of a known mistake,
    hint)] compared on all arrays at once."""
    keys = list(expected)
    diagnose = [matches(flat(other, keys), hint) for other, hint in mistakes]
    for key in keys:
        try:
            expect_array(got[key], expected[key], call=call, name=f"new_params[{key!r}]",
                         **(tol or {}))
        except CheckFailed:
            expect_array(flat(got, keys), flat(expected, keys), call=call,
                         name="new_params (all arrays)", diagnose=diagnose, hints=hints,
                         **(tol or {}))
            raise


try:  # grader-only (see test_optimizers_grader_only.py): the student edition has none of it
    from grader.suites.optimizers.test_optimizers_grader_only import (
        TRAJECTORIES_FILE,
        load,
        network_grads,
        quadratic_grads,
    )
except ImportError:
    pass


# ---- the diagnoses: typical mistakes, as the reference's own steps on changed inputs ----------
# A public test keeps its helpers in the student edition, where `reference` answers from
# values frozen against the solutions: so a mistaken rule is never re-implemented here (that
# would ship the solution with one term changed). It is the reference's step with a changed
# gradient, hyper-parameter or state, or follows from the reference's own steps by algebra.
def reference_run(reference, fn, params, grads_seq, hp, *, grads_sign=1.0, hp_at=None,
                  state_at=None):
    """[(params, state) after each step] of the reference from state=None; ``hp_at(t, hp)``
    and ``state_at(t, state)`` change the hyper-parameters and the state given at step t."""
    out, p, state = [], params, None
    for t, grads in enumerate(grads_seq, start=1):
        given = state_at(t, state) if state_at and state is not None else state
        p, state = getattr(reference, fn)(p, {k: grads_sign * v for k, v in grads.items()},
                                          given, **(hp_at(t, hp) if hp_at else hp))
        # writable copies: the edition's frozen values come back read-only, and the flag is
        # part of the digest that finds the next call's recorded value
        p, state = _writable(p), _writable(state)
        out.append((p, state))
    return out


def _writable(value):
    if isinstance(value, np.ndarray):
        return np.array(value)
    if isinstance(value, dict):
        return {k: _writable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_writable(v) for v in value)
    return value


def from_steps(params, run, delta):
    """The parameters of a rule whose step t is ``delta(t, reference step, state)``."""
    out, p, previous = [], params, params
    for t, (ref_params, state) in enumerate(run, start=1):
        step = {k: delta(t, k, np.asarray(ref_params[k]) - np.asarray(previous[k]), state)
                for k in params}
        p = {k: np.asarray(p[k]) + step[k] for k in params}
        previous = ref_params
        out.append(p)
    return out


def _params_of(run):
    return [p for p, _ in run]


def sgd_mistakes(reference, fn, params, grads_seq, hp, run):
    return [
        (_params_of(reference_run(reference, fn, params, grads_seq, hp, grads_sign=-1.0)),
         "did you add the gradient? step against it: p - lr * g"),
        (_params_of(reference_run(reference, fn, params, grads_seq, {**hp, "lr": 1.0})),
         "did you forget the learning rate lr?"),
    ]


def momentum_mistakes(reference, fn, params, grads_seq, hp, run):
    lr, mu = hp["lr"], hp["momentum"]
    return [
        (_params_of(reference_run(reference, fn, params, grads_seq, hp, grads_sign=-1.0)),
         "momentum sign? v = momentum * v - lr * g, then p = p + v"),
        (_params_of(reference_run(reference, fn, params, grads_seq, {**hp, "momentum": 0.0})),
         "the velocity is not used: keep v in the state and add momentum * v every step"),
        (_params_of(reference_run(reference, fn, params, grads_seq,
                                  {**hp, "lr": lr * (1 - mu)})),
         "no (1 - momentum) factor on the gradient: v = momentum * v - lr * g"),
    ]


def rmsprop_mistakes(reference, fn, params, grads_seq, hp, run):
    lr, rho, eps = hp["lr"], hp["rho"], hp["eps"]
    # The reference's step is -lr * g / sqrt(s + eps), so s + eps = (lr * g / step)**2.
    def no_sqrt(t, k, step, state):
        return step ** 2 / (lr * grads_seq[t - 1][k]) * -1.0

    def eps_outside(t, k, step, state):
        s = (lr * grads_seq[t - 1][k] / step) ** 2 - eps
        return -lr * grads_seq[t - 1][k] / (np.sqrt(np.maximum(s, 0.0)) + eps)

    return [
        (from_steps(params, run, no_sqrt), "forgot sqrt? divide by sqrt(s + eps)"),
        (from_steps(params, run, eps_outside), "eps outside the square root? this exercise "
                                               "follows Keras: sqrt(s + eps), not sqrt(s) + eps"),
        (_params_of(reference_run(reference, fn, params, grads_seq, {**hp, "rho": 1 - rho})),
         "rho weights the OLD average: s = rho * s + (1 - rho) * g**2"),
        (_params_of(reference_run(reference, fn, params, grads_seq, hp,
                                  state_at=lambda t, state: None)), STATE_HINT),
    ]


def adam_mistakes(reference, fn, params, grads_seq, hp, run):
    b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]

    def second_moment(state, k):  # the reference's state: {"t", "m", "v"}
        return np.asarray(state["v"][k])

    def no_sqrt(t, k, step, state):  # step * (sqrt(v) + eps) / (v + eps)
        v = second_moment(state, k)
        return step * (np.sqrt(v) + eps) / (v + eps)

    return [
        (_params_of(reference_run(reference, fn, params, grads_seq, hp, hp_at=lambda t, h: {
            **h, "lr": h["lr"] * (1 - b1 ** t) / np.sqrt(1 - b2 ** t)})),
         "no bias correction? divide by (1 - beta1**t) and multiply by sqrt(1 - beta2**t), "
         "t counting from 1"),
        (from_steps(params, run, no_sqrt), "forgot sqrt? divide by sqrt(v) + eps, not v + eps"),
        (_params_of(reference_run(reference, fn, params, grads_seq, hp, hp_at=lambda t, h: {
            **h, "eps": h["eps"] * np.sqrt(1 - b2 ** t)})),
         "eps added to sqrt(v_hat), as in the paper's Algorithm 1? this exercise follows "
         "Keras: p - alpha * m / (sqrt(v) + eps), eps added before the correction "
         "alpha = lr * sqrt(1 - beta2**t) / (1 - beta1**t)"),
        (_params_of(reference_run(reference, fn, params, grads_seq, hp,
                                  state_at=lambda t, state: {**state, "t": 0})),
         "the step count t must grow by one each step (t = 1 on the first)"),
    ]


SGD_MISTAKES, MOMENTUM_MISTAKES = sgd_mistakes, momentum_mistakes
RMSPROP_MISTAKES, ADAM_MISTAKES = rmsprop_mistakes, adam_mistakes


def problem_params(seed=0):
    """Parameters of two shapes and three different gradient dicts (n != k shows transposes)."""
    rng = np.random.default_rng(seed)
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    grads_seq = [{"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)} for _ in range(3)]
    return params, grads_seq


def check_first_steps(student, reference, name, hp, mistakes, seed):
    """Three steps from state=None with fixed gradients, against the reference, step by step."""
    fn = STEP_FUNCTIONS[name]
    call = call_text(fn, hp)
    params, grads_seq = problem_params(seed)
    run = reference_run(reference, fn, params, grads_seq, hp)
    expected = _params_of(run)
    wrong = mistakes(reference, fn, params, grads_seq, hp, run)
    mine, state = _fresh(params), None
    for step, grads in enumerate(grads_seq):
        where = f"{call}, step {step + 1} of {len(grads_seq)}" + (
            " (state=None)" if step == 0 else " (the state your previous step returned)")
        mine, state = split_step(getattr(student, fn)(mine, _fresh(grads), state, **hp),
                                 params, where)
        expect_params(mine, expected[step], where,
                      mistakes=[(w[step], hint) for w, hint in wrong],
                      hints=[STATE_HINT] if step else [])
        mine = _fresh(mine)


# ---- closed forms: the first steps -------------------------------------------------------------
@pytest.mark.public
def test_sgd_step(student, reference):
    """sgd_step() moves every parameter by -lr * gradient and keeps the dict's keys"""
    check_first_steps(student, reference, "sgd", {"lr": 0.1}, SGD_MISTAKES, seed=1)


@pytest.mark.public
@pytest.mark.points(2)
def test_momentum_step(student, reference):
    """momentum_step() keeps a velocity: three steps from state=None match the closed form"""
    check_first_steps(student, reference, "momentum", {"lr": 0.1, "momentum": 0.9},
                      MOMENTUM_MISTAKES, seed=2)


@pytest.mark.public
@pytest.mark.points(2)
def test_rmsprop_step(student, reference):
    """rmsprop_step() scales by sqrt(s + eps), s a running average of squared gradients"""
    check_first_steps(student, reference, "rmsprop", {"lr": 0.01, "rho": 0.9, "eps": 1e-7},
                      RMSPROP_MISTAKES, seed=3)
    # A large eps shows where it is added (the rule is Keras's, stated in the docstring).
    check_first_steps(student, reference, "rmsprop", {"lr": 0.01, "rho": 0.9, "eps": 0.1},
                      RMSPROP_MISTAKES, seed=4)


@pytest.mark.public
@pytest.mark.points(3)
def test_adam_step(student, reference):
    """adam_step() with bias correction: three steps from state=None match Keras's formula"""
    check_first_steps(student, reference, "adam",
                      {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7},
                      ADAM_MISTAKES, seed=5)
    check_first_steps(student, reference, "adam",
                      {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 0.1},
                      ADAM_MISTAKES, seed=6)


@pytest.mark.points(2)
def test_steps_do_not_modify_inputs(student):
    """the four step functions leave params, grads and state unchanged (pure functions)"""
    params, grads_seq = problem_params(seed=7)
    hps = {"sgd": {"lr": 0.1}, "momentum": {"lr": 0.1, "momentum": 0.9},
           "rmsprop": {"lr": 0.01}, "adam": {"lr": 0.01}}
    for name, fn in STEP_FUNCTIONS.items():
        call = f"{fn}(params, grads, state)"
        first = expect_inputs_untouched(getattr(student, fn), params, grads_seq[0], None,
                                        call=f"{fn}(params, grads, None)",
                                        names=["params", "grads", "state"], **hps[name])
        state = first[1] if isinstance(first, tuple) and len(first) == 2 else None
        expect_inputs_untouched(getattr(student, fn), params, grads_seq[1], state, call=call,
                                names=["params", "grads", "state"], **hps[name])
        # returning the inputs untouched leaves them unchanged too: the step must move
        expect_responds(getattr(student, fn), [params, grads_seq[0], None],
                        [params, grads_seq[1], None], call=f"{fn}(params, grads, None)",
                        why="the step must be computed from grads (two different gradients "
                            "give two different steps)", **hps[name])


# ---- Keras's trajectories ----------------------------------------------------------------------
DATA = load() if TRAJECTORIES_FILE.is_file() else None  # bench/ writes it on a first run


def follow_keras(student, name, problem, prerequisites, test):
    """Run the student's step along one stored Keras trajectory, from the same start with the
    gradients at the student's own parameters; compare every step."""
    fn = STEP_FUNCTIONS[name]
    hp = DATA["optimizers"][name]
    data = DATA[problem]
    path = data["paths"][name]
    start = {k: np.asarray(v, dtype=float) for k, v in data["start"].items()}
    if problem == "quadratic":
        def grads_at(p):
            return quadratic_grads(p, data)
        where_text = "on the quadratic"
    else:
        X, y = np.asarray(data["X"]), np.asarray(data["y"])

        def grads_at(p):
            return network_grads(p, X, y)
        where_text = "on a 2-4-1 tanh network (mean squared error)"
    charged = prerequisites.counted(test)
    mine, state = start, None
    for step, keras_params in enumerate(path):
        where = f"{call_text(fn, hp)} {where_text}, step {step + 1} of {len(path)}"
        grads = grads_at(mine)
        mine, state = split_step(getattr(student, fn)(_fresh(mine), grads, state, **hp),
                                 start, where)
        if charged:  # the rule itself was charged: the form of every step only
            mine = {k: np.asarray(v, dtype=float) for k, v in mine.items()}
            if not all(np.isfinite(v).all() for v in mine.values()):
                break  # a wrong rule may diverge; its mistake is counted in the closed form
            continue
        expected = {k: np.asarray(v) for k, v in keras_params.items()}
        expect_params(mine, expected, where + " (compared with Keras)", tol=TRAJECTORY_TOL,
                      hints=[STATE_HINT if step >= 3 else
                             "follow the docstring's formula exactly"])
        mine = _fresh(mine)
    if charged:
        # the excused branch still measures something: steps that return their parameters
        # unchanged (or anything that ignores grads) never leave the start
        moved = any(np.shape(mine.get(k)) != np.shape(v)
                    or not np.allclose(np.asarray(mine.get(k), dtype=float), v)
                    for k, v in ((k, np.asarray(v, dtype=float)) for k, v in start.items()))
        if not moved:
            raise CheckFailed(f"{call_text(fn, hp)} {where_text}: the parameters never moved "
                              f"from their start in {len(path)} steps — the step must be "
                              "computed from grads")
        prerequisites.excuse("the values along Keras's trajectory", test)


def check_trajectories(student, name, prerequisites, test):
    for problem in ("quadratic", "network"):
        follow_keras(student, name, problem, prerequisites, test)


@pytest.mark.points(2)
@pytest.mark.depends_on("test_sgd_step")
def test_sgd_matches_keras(student, prerequisites):
    """sgd_step() follows Keras's SGD step by step on a quadratic and a tiny network"""
    check_trajectories(student, "sgd", prerequisites, "test_sgd_step")


@pytest.mark.points(2)
@pytest.mark.depends_on("test_momentum_step")
def test_momentum_matches_keras(student, prerequisites):
    """momentum_step() follows Keras's SGD(momentum) step by step"""
    check_trajectories(student, "momentum", prerequisites, "test_momentum_step")


@pytest.mark.points(2)
@pytest.mark.depends_on("test_rmsprop_step")
def test_rmsprop_matches_keras(student, prerequisites):
    """rmsprop_step() follows Keras's RMSprop step by step"""
    check_trajectories(student, "rmsprop", prerequisites, "test_rmsprop_step")


@pytest.mark.points(2)
@pytest.mark.depends_on("test_adam_step")
def test_adam_matches_keras(student, prerequisites):
    """adam_step() follows Keras's Adam step by step"""
    check_trajectories(student, "adam", prerequisites, "test_adam_step")


# ---- losses ------------------------------------------------------------------------------------
def regression_batch():
    rng = np.random.default_rng(8)
    return rng.normal(size=(6, 3)), rng.normal(size=(6, 3))


def binary_batch():
    rng = np.random.default_rng(9)
    y = (rng.random(8) < 0.5).astype(float)
    y[:2] = [0.0, 1.0]
    return y, rng.uniform(0.05, 0.95, size=8)


def categorical_batch(m=5, k=4):
    rng = np.random.default_rng(10)
    y = np.eye(k)[rng.integers(0, k, size=m)]
    z = rng.normal(size=(m, k))
    return y, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


SUM_NOT_MEAN = "did you sum over the batch instead of averaging?"
CLIP_HINT = ("clip the probabilities to [EPSILON, 1 - EPSILON] first "
             "(np.clip(p, EPSILON, 1 - EPSILON)): log(0) is -inf")


@pytest.mark.public
def test_mse(student, reference):
    """mse() is the mean of the squared differences, as a single number"""
    y, pred = regression_batch()
    for call, args in (("mse(y_true, y_pred) with shape (6, 3)", (y, pred)),
                       ("mse(y_true, y_pred) with shape (6,)", (y[:, 0], pred[:, 0]))):
        want = reference.mse(*args)
        expect_scalar(student.mse(*args), want, call=call, diagnose=[
            matches([want * args[0].size], SUM_NOT_MEAN),
            matches([np.mean(np.abs(args[1] - args[0]))], "forgot to square the differences?"),
            matches([want / 2], "no factor 1/2: mse is the plain mean of the squares")])


@pytest.mark.public
def test_mse_grad(student, reference):
    """mse_grad() is 2 * (y_pred - y_true) / N, the gradient of the mean"""
    y, pred = regression_batch()
    call = "mse_grad(y_true, y_pred)"
    expect_array(student.mse_grad(y, pred), reference.mse_grad(y, pred), call=call, diagnose=[
        scaled_by(0.5, "missing the factor 2 from the derivative of the square?"),
        scaled_by(y.size, "divide by N, the number of entries: mse is a mean"),
        scaled_by(y.size / 2, "the gradient of the mean is 2 * (y_pred - y_true) / N"),
        negated("y_pred - y_true, not y_true - y_pred: the gradient points uphill"),
        scaled_by(y.shape[1], "divide by N = y_pred.size, every entry, not only the rows")])


@pytest.mark.public
def test_binary_cross_entropy(student, reference):
    """binary_cross_entropy() is the mean of -(y log p + (1 - y) log(1 - p))"""
    y, p = binary_batch()
    call = "binary_cross_entropy(y_true, p)"
    want = reference.binary_cross_entropy(y, p)
    expect_scalar(student.binary_cross_entropy(y, p), want, call=call, diagnose=[
        matches([want * y.size], SUM_NOT_MEAN),
        matches([-want], "forgot the minus sign? the loss is -(y log p + (1 - y) log(1 - p))"),
        matches([want / np.log(2)], "use the natural log (np.log), not log2"),
        matches([want / np.log(10)], "use the natural log (np.log), not log10")])


@pytest.mark.public
@pytest.mark.depends_on("test_binary_cross_entropy")
def test_binary_cross_entropy_extreme(student, reference, prerequisites):
    """binary_cross_entropy() stays finite, without warnings, for p exactly 0 and 1"""
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.6])  # two right and certain, two wrong and certain
    call = "binary_cross_entropy(y_true, p) with p exactly 0 and 1"
    with observe() as seen:
        got = student.binary_cross_entropy(y, p)
    if prerequisites:
        expect_finite(got, call, hints=[CLIP_HINT])
        expect_responds(student.binary_cross_entropy, [y, p], [y, p[::-1]], call=call,
                        why="the result must be computed from y_true and p")
        prerequisites.excuse("the value itself", "test_binary_cross_entropy")
    else:
        expect_finite(got, call, hints=[CLIP_HINT])
        expect_scalar(got, reference.binary_cross_entropy(y, p), call=call, rtol=1e-5,
                      hints=[CLIP_HINT + ", with EPSILON = 1e-7"])
    expect_no_float_warnings(seen.warnings, call, hints=[CLIP_HINT])


@pytest.mark.public
def test_binary_cross_entropy_grad(student, reference):
    """binary_cross_entropy_grad() is (p - y) / (p (1 - p)) / N"""
    y, p = binary_batch()
    call = "binary_cross_entropy_grad(y_true, p)"
    expect_array(student.binary_cross_entropy_grad(y, p),
                 reference.binary_cross_entropy_grad(y, p), call=call, diagnose=[
                     scaled_by(y.size, "divide by N: the loss is a mean"),
                     negated("the gradient of -log(p) is -1/p: check the signs")])


@pytest.mark.depends_on("test_binary_cross_entropy_grad")
def test_binary_cross_entropy_grad_extreme(student, reference, prerequisites):
    """binary_cross_entropy_grad() stays finite, without warnings, for p exactly 0 and 1"""
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.4])
    call = "binary_cross_entropy_grad(y_true, p) with p exactly 0 and 1"
    with observe() as seen:
        got = student.binary_cross_entropy_grad(y, p)
    if prerequisites:
        expect_shape(got, p.shape, call)
        expect_finite(got, call, hints=[CLIP_HINT])
        expect_responds(student.binary_cross_entropy_grad, [y, p], [y, p[::-1]], call=call,
                        why="the result must be computed from y_true and p")
        prerequisites.excuse("the values themselves", "test_binary_cross_entropy_grad")
    else:
        expect_array(got, reference.binary_cross_entropy_grad(y, p), call=call, rtol=1e-5,
                     hints=[CLIP_HINT], nonfinite="division by p = 0 or 1 - p = 0: " + CLIP_HINT)
    expect_no_float_warnings(seen.warnings, call, hints=[CLIP_HINT])


@pytest.mark.public
def test_categorical_cross_entropy(student, reference):
    """categorical_cross_entropy() sums over the classes and averages over the samples"""
    y, p = categorical_batch()
    call = "categorical_cross_entropy(y_true, p)"
    want = reference.categorical_cross_entropy(y, p)
    expect_scalar(student.categorical_cross_entropy(y, p), want, call=call, diagnose=[
        matches([want * y.shape[0]], SUM_NOT_MEAN),
        matches([want / y.shape[1]], "sum over the k classes, then average over the m "
                                     "samples (not a mean over every entry)"),
        matches([-want], "forgot the minus sign? the loss is -sum y log p")])


@pytest.mark.depends_on("test_categorical_cross_entropy")
def test_categorical_cross_entropy_extreme(student, reference, prerequisites):
    """categorical_cross_entropy() stays finite, without warnings, when some p are 0 or 1"""
    y = np.eye(3)[[0, 1, 2, 0]]
    p = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.0, 0.5, 0.5]])
    call = "categorical_cross_entropy(y_true, p) with probabilities exactly 0 and 1"
    with observe() as seen:
        got = student.categorical_cross_entropy(y, p)
    if prerequisites:
        expect_finite(got, call, hints=[CLIP_HINT])
        expect_responds(student.categorical_cross_entropy, [y, p], [y, p[::-1]], call=call,
                        why="the result must be computed from y_true and p")
        prerequisites.excuse("the value itself", "test_categorical_cross_entropy")
    else:
        expect_finite(got, call, hints=[CLIP_HINT])
        expect_scalar(got, reference.categorical_cross_entropy(y, p), call=call, rtol=1e-5,
                      hints=[CLIP_HINT + ", with EPSILON = 1e-7"])
    expect_no_float_warnings(seen.warnings, call, hints=[
        CLIP_HINT + "; 0 * log(0) is nan in numpy even where y = 0"])


@pytest.mark.public
def test_categorical_cross_entropy_grad(student, reference):
    """categorical_cross_entropy_grad() is -y / p / m"""
    y, p = categorical_batch()
    call = "categorical_cross_entropy_grad(y_true, p)"
    expect_array(student.categorical_cross_entropy_grad(y, p),
                 reference.categorical_cross_entropy_grad(y, p), call=call, diagnose=[
                     scaled_by(y.shape[0], "divide by m, the number of samples"),
                     scaled_by(1 / y.shape[1], "divide by m (the rows), not by every entry"),
                     negated("the gradient of -log(p) is -1/p: check the sign"),
                     matches(p - y, "p - y is the gradient with respect to the softmax's "
                                    "scores; this one is with respect to p")])


@pytest.mark.depends_on("test_categorical_cross_entropy_grad")
def test_categorical_cross_entropy_grad_extreme(student, reference, prerequisites):
    """categorical_cross_entropy_grad() stays finite, without warnings, when some p are 0"""
    y = np.eye(3)[[0, 1, 2]]
    p = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    call = "categorical_cross_entropy_grad(y_true, p) with probabilities exactly 0 and 1"
    with observe() as seen:
        got = student.categorical_cross_entropy_grad(y, p)
    if prerequisites:
        expect_shape(got, p.shape, call)
        expect_finite(got, call, hints=[CLIP_HINT])
        expect_responds(student.categorical_cross_entropy_grad, [y, p], [y, p[::-1]], call=call,
                        why="the result must be computed from y_true and p")
        prerequisites.excuse("the values themselves", "test_categorical_cross_entropy_grad")
    else:
        expect_array(got, reference.categorical_cross_entropy_grad(y, p), call=call,
                     rtol=1e-5, hints=[CLIP_HINT], nonfinite="division by p = 0: " + CLIP_HINT)
    expect_no_float_warnings(seen.warnings, call, hints=[CLIP_HINT])


def test_losses_do_not_modify_inputs(student):
    """the losses and their gradients leave y_true and the predictions unchanged"""
    y, p = binary_batch()
    yc, pc = categorical_batch()
    yr, pr = regression_batch()
    p = p.copy()
    p[0] = 0.0  # something to clip
    pc = pc.copy()
    pc[0] = [1.0, 0.0, 0.0, 0.0]
    for fn, args in (("mse", (yr, pr)), ("mse_grad", (yr, pr)),
                     ("binary_cross_entropy", (y, p)), ("binary_cross_entropy_grad", (y, p)),
                     ("categorical_cross_entropy", (yc, pc)),
                     ("categorical_cross_entropy_grad", (yc, pc))):
        expect_inputs_untouched(getattr(student, fn), *args, call=f"{fn}(y_true, y_pred)",
                                names=["y_true", "y_pred"])
        # a constant leaves its inputs unchanged too: the loss must follow y_pred
        moved = np.clip(args[1] * 0.5 + 0.25, 0.05, 0.95) if fn != "mse" and fn != "mse_grad" \
            else args[1] + 1.0
        expect_responds(getattr(student, fn), list(args), [args[0], moved],
                        call=f"{fn}(y_true, y_pred)",
                        why="the result must be computed from y_pred")
