"""Hidden suite: the LSTM cell and forward pass in numpy, Keras's LSTM, a sequence model.

The numpy functions are checked against the reference solution (its numpy functions only:
the solution imports Keras inside its Keras functions, never at import) and against Keras's
own ``keras.layers.LSTM``, whose outputs ``bench/lstm_keras_reference.py`` computed offline
into ``keras_reference.json`` (this process never imports TensorFlow). The sequence model is
built and trained in the student's worker; its held-out accuracy is computed here from its
layers' weights (``sequence_model.read_sequence_model``, the LSTM through the reference's
``lstm_forward``) and cross-checked with ``model.predict`` on probe sequences.

A known mistake is shown as the reference's own output on changed inputs (the weight rows of
h and x exchanged, the forget and input weights exchanged, no previous cell state) or as
algebra on the reference's results (a tanh where a sigmoid was due), never as a copy of the
solution with one term changed (docs/SUITES.md).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix

from grader.checks import (
    CheckFailed,
    constant,
    describe,
    expect_array,
    expect_inputs_untouched,
    expect_keys,
    expect_shape,
    expect_true,
    matches,
)
from grader.proxy import StudentError
from grader.suites.keras_model import (cross_checked, history_series, loss_spec, optimizer_name,
                                       probe)
from grader.suites.lstm.sequence_model import N_X, T, read_sequence_model

GATE_KEYS = ("forget", "input", "candidate", "output")
EPOCHS = 10            # train_sequence_model's default; the suite relies on it
KERAS_FILE = Path(__file__).with_name("keras_reference.json")
MODEL_CALL = f"build_sequence_model({T}, {N_X})"


# ---- inputs ------------------------------------------------------------------------------------
def lstm_case(seed, m, n_x, n_h, steps=None):
    """Read-only inputs: (x_t or X, h, c, params); X (m, steps, n_x) when steps is given."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, (m, n_x) if steps is None else (m, steps, n_x))
    h = rng.normal(0.0, 0.5, (m, n_h))
    c = rng.normal(0.0, 1.0, (m, n_h))
    params = {}
    for g in "fico":
        params[f"W{g}"] = constant(rng.normal(0.0, 0.7, (n_h + n_x, n_h)))
        params[f"b{g}"] = constant(rng.normal(0.0, 0.5, n_h))
    return constant(x), constant(h), constant(c), params


def rows_exchanged(params, n_x):
    """Weights that give, in the documented [h, x] layout, what [x, h] @ W gives."""
    return {k: np.concatenate([v[n_x:], v[:n_x]]) if k.startswith("W") else np.array(v)
            for k, v in params.items()}


def forget_input_exchanged(params):
    names = {"Wf": "Wi", "Wi": "Wf", "bf": "bi", "bi": "bf"}
    return {k: np.array(params[names.get(k, k)]) for k in params}


def tanh_of_logit(s):
    """tanh(a) for the a with sigmoid(a) = s."""
    return (2.0 * s - 1.0) / (s ** 2 + (1.0 - s) ** 2)


def sigmoid_of_artanh(t):
    """sigmoid(a) for the a with tanh(a) = t."""
    return 1.0 / (1.0 + np.sqrt((1.0 - t) / (1.0 + t)))


def triple(result, call):
    if not (isinstance(result, tuple) and len(result) == 3):
        raise CheckFailed(f"{call}: returned {describe(result)}; expected a tuple "
                          "(h_t, c_t, gates) — return h_t, c_t, gates")
    return result


def attempted(fn, *args):
    """Call a function whose results an earlier test already charged: an unattempted stub
    still fails here, any other error is that earlier mistake's (one mistake, one deduction)."""
    try:
        fn(*args)
    except StudentError as exc:
        if exc.not_implemented:
            raise


def pair(result, call):
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailed(f"{call}: returned {describe(result)}; expected a pair (H, c_T) — "
                          "return H, c_T")
    return result


# ---- the cell ----------------------------------------------------------------------------------
@pytest.mark.public
@pytest.mark.points(3)
def test_cell_forward(student, reference):
    """lstm_cell_forward() gives the four gates, the new cell state and the new hidden state"""
    call = "lstm_cell_forward(x_t, h_prev, c_prev, params)"
    n_x, n_h = 3, 4
    x, h, c, params = lstm_case(1, 5, n_x, n_h)
    h_t, c_t, gates = triple(student.lstm_cell_forward(x, h, c, params), call)
    ref_h, ref_c, ref_gates = reference.lstm_cell_forward(x, h, c, params)
    _, _, xh_gates = reference.lstm_cell_forward(x, h, c, rows_exchanged(params, n_x))
    sw_h, sw_c, sw_gates = reference.lstm_cell_forward(x, h, c, forget_input_exchanged(params))

    order_hint = ("did you concatenate [x_t, h_prev]? the documented order is "
                  "z = [h_prev, x_t], h_prev first (its rows come first in every W)")
    swap_hint = "did you exchange the forget and input gates (Wf with Wi)?"
    gates = expect_keys(gates, GATE_KEYS, call)
    for key in GATE_KEYS:
        expected = np.asarray(ref_gates[key])
        act = ([matches(sigmoid_of_artanh(expected), "the candidate uses tanh, not a sigmoid")]
               if key == "candidate" else
               [matches(tanh_of_logit(expected), f"the {key} gate uses a sigmoid, not tanh: "
                                                 "its values lie in (0, 1)")])
        others = [matches(np.asarray(ref_gates[o]), f"these are the values of the {o} gate: "
                                                    "are the keys (or weights) mixed up?")
                  for o in GATE_KEYS if o != key]
        expect_array(gates[key], expected, call, name=f"gates[{key!r}]", rtol=1e-6,
                     atol=1e-9, check_dtype=False,
                     diagnose=[*act, matches(np.asarray(xh_gates[key]), order_hint),
                               matches(np.asarray(sw_gates[key]), swap_hint), *others],
                     otherwise=["each gate is act(z @ W + b) with z = [h_prev, x_t]"])

    _, no_prev_c, _ = reference.lstm_cell_forward(x, h, np.zeros_like(c), params)
    expect_array(c_t, ref_c, call, name="c_t", rtol=1e-6, atol=1e-9, check_dtype=False,
                 diagnose=[matches(no_prev_c, "c_prev is missing: c_t = f * c_prev + i * c_hat "
                                              "keeps part of the old cell state"),
                           matches(sw_c, "did you exchange f and i? the forget gate scales "
                                         "c_prev, the input gate scales the candidate"),
                           matches(ref_h, "this is h_t: return (h_t, c_t, gates) in that order")],
                 otherwise=["c_t = f * c_prev + i * c_hat"])
    o = np.asarray(ref_gates["output"])
    expect_array(h_t, ref_h, call, name="h_t", rtol=1e-6, atol=1e-9, check_dtype=False,
                 diagnose=[matches(o * np.asarray(ref_c),
                                   "h_t = o * tanh(c_t): did you forget the tanh?"),
                           matches(np.tanh(np.asarray(ref_c)), "the output gate is missing: "
                                                               "h_t = o * tanh(c_t)"),
                           matches(ref_c, "this is c_t: return (h_t, c_t, gates) in that order")],
                 otherwise=["h_t = o * tanh(c_t)"])


# ---- the forward pass --------------------------------------------------------------------------
def own_cell_chain(student, X, h0, c0, params):
    """H and the last c from the student's own lstm_cell_forward, each step fed the state the
    one before returned (the subject of the forward test when the cell was charged)."""
    states, outs = (np.array(h0), np.array(c0)), []
    for step in range(X.shape[1]):
        result = student.lstm_cell_forward(np.array(X[:, step, :]), *states, params)
        states = (np.asarray(result[0], dtype=float), np.asarray(result[1], dtype=float))
        outs.append(states[0])
    return np.stack(outs, axis=1), states[1]


def forward_mistakes(reference, X, h0, c0, params, ref_H):
    """Diagnoses of lstm_forward's H, each the reference's output on changed inputs."""
    m, steps, _ = X.shape
    each_from_start = np.stack([np.asarray(reference.lstm_cell_forward(
        np.array(X[:, t, :]), h0, c0, params)[0]) for t in range(steps)], axis=1)
    found = [matches(each_from_start, "every step starts again from h0 and c0: feed each step "
                                      "the h and c the step before returned")]
    if m == steps:
        swapped_H, _ = reference.lstm_forward(np.array(X.swapaxes(0, 1)), h0, c0, params)
        swapped_H = np.asarray(swapped_H)
        hint = ("X is batch first, (m, T, n_x): step t is X[:, t, :], not X[t] (that is "
                "sequence t)")
        found += [matches(swapped_H, hint), matches(swapped_H.swapaxes(0, 1), hint),
                  matches(np.asarray(ref_H).swapaxes(0, 1),
                          "H is (m, T, n_h) with H[:, t] the state after step t: did you "
                          "stack the steps along the first axis?")]
    return found


def check_forward(student, reference, prerequisites, X, h0, c0, params, call,
                  diagnose_mistakes=True):
    m, steps, _ = X.shape
    n_h = h0.shape[1]
    H, c_T = pair(student.lstm_forward(X, h0, c0, params), call)
    if isinstance(H, np.ndarray) and H.shape == (m, n_h):
        raise CheckFailed(f"{call}: H has shape {H.shape}, one hidden state; expected "
                          f"({m}, {steps}, {n_h}) — return the hidden state of EVERY step "
                          "(H[:, t] = h after step t), not only the last one")
    H = expect_shape(H, (m, steps, n_h), call, name="H",
                     hints=["H is (m, T, n_h), batch first like X"])
    c_T = expect_shape(c_T, (m, n_h), call, name="c_T")
    ref_H, ref_c = reference.lstm_forward(X, h0, c0, params)
    if prerequisites.any("test_cell_forward"):
        # the cell already lost points: the loop is judged on the student's own cell
        if np.allclose(H, ref_H, rtol=1e-6, atol=1e-9) and np.allclose(c_T, ref_c, rtol=1e-6,
                                                                      atol=1e-9):
            return
        own_H, own_c = own_cell_chain(student, X, h0, c0, params)
        prerequisites.excuse("lstm_cell_forward's values", "test_cell_forward")
        hint = ("compared with your own lstm_cell_forward run step by step: feed each step "
                "the h and c the step before returned and keep every h")
        expect_array(H, own_H, call, name="H", rtol=1e-6, atol=1e-9, check_dtype=False,
                     hints=[hint])
        expect_array(c_T, own_c, call, name="c_T", rtol=1e-6, atol=1e-9, check_dtype=False,
                     hints=[hint])
        return
    diagnose = forward_mistakes(reference, X, h0, c0, params, ref_H) if diagnose_mistakes \
        else []
    expect_array(H, ref_H, call, name="H", rtol=1e-6, atol=1e-9, check_dtype=False,
                 diagnose=diagnose, otherwise=["H[:, t] is h after step t, starting from h0, c0"])
    expect_array(c_T, ref_c, call, name="c_T", rtol=1e-6, atol=1e-9, check_dtype=False,
                 diagnose=[matches(np.asarray(ref_H)[:, -1], "this is the last h: return the "
                                                             "last CELL state c_T")],
                 otherwise=["c_T is the cell state after the last step"])


@pytest.mark.public
@pytest.mark.points(3)
@pytest.mark.depends_on("test_cell_forward")
def test_forward_values(student, reference, prerequisites):
    """lstm_forward() runs the cell over every step and returns all hidden states and c_T"""
    call = "lstm_forward(X, h0, c0, params)"
    X, h0, c0, params = lstm_case(2, 4, 2, 3, steps=4)      # square: m == T, see the hints
    check_forward(student, reference, prerequisites, X, h0, c0, params, call)
    X, h0, c0, params = lstm_case(3, 3, 2, 4, steps=6)
    check_forward(student, reference, prerequisites, X, h0, c0, params, call)


@pytest.mark.points(2)
@pytest.mark.depends_on("test_cell_forward", "test_forward_values")
def test_forward_other_shapes(student, reference, prerequisites):
    """lstm_forward() works for one unit and one feature, long sequences and wide layers"""
    cases = [(4, 1, 1, 1, 1), (5, 6, 3, 8, 25), (6, 2, 5, 2, 3), (7, 1, 2, 3, 40)]
    for seed, m, n_x, n_h, steps in cases:
        X, h0, c0, params = lstm_case(seed, m, n_x, n_h, steps=steps)
        call = f"lstm_forward(X, h0, c0, params) with X of shape {X.shape} and n_h={n_h}"
        if prerequisites.any("test_forward_values"):
            prerequisites.excuse("the forward pass", "test_forward_values")
            attempted(student.lstm_forward, X, h0, c0, params)
            continue
        check_forward(student, reference, prerequisites, X, h0, c0, params, call,
                      diagnose_mistakes=False)


def test_inputs_untouched(student):
    """lstm_cell_forward() and lstm_forward() leave their arguments unchanged"""
    x, h, c, params = lstm_case(8, 3, 2, 3)
    expect_inputs_untouched(student.lstm_cell_forward, x, h, c, params,
                            call="lstm_cell_forward(x_t, h_prev, c_prev, params)",
                            names=["x_t", "h_prev", "c_prev", "params"])
    X, h0, c0, params = lstm_case(9, 4, 2, 3, steps=4)
    expect_inputs_untouched(student.lstm_forward, X, h0, c0, params,
                            call="lstm_forward(X, h0, c0, params)",
                            names=["X", "h0", "c0", "params"])


@pytest.mark.points(2)
@pytest.mark.depends_on("test_cell_forward", "test_forward_values")
def test_forward_matches_keras(student, prerequisites):
    """lstm_forward() equals keras.layers.LSTM given the same weights"""
    # Keras's kernel, recurrent_kernel and bias (gates i, f, c, o) mapped to the exercise's
    # params by bench/lstm_keras_reference.py (sequence_model.params_to_keras)
    cases = json.loads(KERAS_FILE.read_text(encoding="utf-8"))["cases"]
    for name, case in cases.items():
        X, h0, c0 = (constant(case[k]) for k in ("X", "h0", "c0"))
        params = {k: constant(v) for k, v in case["params"].items()}
        call = f"lstm_forward(X, h0, c0, params) with X of shape {X.shape}"
        if prerequisites:
            prerequisites.excuse("agreement with Keras's LSTM", "test_cell_forward",
                                 "test_forward_values")
            attempted(student.lstm_forward, X, h0, c0, params)
            continue
        H, c_T = pair(student.lstm_forward(X, h0, c0, params), call)
        H = expect_shape(H, np.shape(case["H"]), call, name="H")
        c_T = expect_shape(c_T, np.shape(case["c_T"]), call, name="c_T")
        hint = ("keras.layers.LSTM computes the equations of the instructions; compare your "
                "gates and the order of [h_prev, x_t]")
        expect_array(H, case["H"], call, name="H (against keras.layers.LSTM)", rtol=1e-7,
                     atol=1e-9, check_dtype=False, hints=[hint])
        expect_array(c_T, case["c_T"], call, name="c_T (against keras.layers.LSTM)",
                     rtol=1e-7, atol=1e-9, check_dtype=False, hints=[hint])


# ---- the Keras sequence model ------------------------------------------------------------------
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


def from_logits(model):
    try:
        return loss_spec(model, MODEL_CALL).from_logits
    except CheckFailed:
        return False


@pytest.mark.public
@pytest.mark.points(2)
def test_model_structure(student):
    """build_sequence_model() reads the sequence with an LSTM and outputs one probability"""
    call = MODEL_CALL
    model = student.build_sequence_model(T, N_X)
    out = probe(model, (T, N_X), call,    # first: it builds a model given no input shape
                hint=f"the model takes sequences of shape (T, n_x) = ({T}, {N_X}): start it "
                     f"with keras.Input((T, n_x)) (or give no input shape)")
    net = read_sequence_model(model, call)
    expect_true(net.lstm_units, f"{call}: found no LSTM layer (layers: "
                                f"{', '.join(net.kinds) or 'none'}); expected "
                                "keras.layers.LSTM(...) reading the sequence")
    expect_true(not net.problems,
                f"{call}: the model holds layers the grader does not compute "
                f"({', '.join(net.problems[:3])}); expected LSTM layers with Keras's "
                "activations (tanh, sigmoid gates) and Dense layers")
    expect_true(out.shape == (len(out), 1),
                f"{call}: for a batch of {len(out)} sequences the model outputs shape "
                f"{out.shape}; expected ({len(out)}, 1), one probability per sequence"
                + (" — the last LSTM must not return sequences (return_sequences=False "
                   "on the last one)" if out.ndim == 3 else ""))
    last = net.steps[-1]
    expect_true(last[0] == "dense",
                f"{call}: the model ends with an LSTM; expected Dense(1, activation="
                "'sigmoid') after it")
    activation = last[3][-1] if last[3] else "linear"
    logits = from_logits(model)
    expect_true(activation != "sigmoid" or not logits,
                f"{call}: the output layer already applies a sigmoid and the loss is compiled "
                "with from_logits=True, which applies it again — drop from_logits=True")
    expect_true(activation == "sigmoid" or (activation == "linear" and logits),
                f"{call}: the output layer is Dense(1, {activation}); expected Dense(1, "
                "activation='sigmoid'), the probability that the label is 1 (or a linear "
                "Dense(1) with keras.losses.BinaryCrossentropy(from_logits=True))")


def test_compiled_loss_and_optimizer(student):
    """build_sequence_model() is compiled with Adam and the binary cross-entropy"""
    call = MODEL_CALL
    model = student.build_sequence_model(T, N_X)
    loss = loss_spec(model, call).name
    expect_true(loss == "binarycrossentropy",
                f"{call}: compiled with loss {loss!r}; the labels are 0/1 and the model "
                "outputs one probability: use loss='binary_crossentropy'")
    optimizer = optimizer_name(model, call)
    expect_true(optimizer == "adam", f"{call}: compiled with optimizer {optimizer!r}; use "
                                     "keras.optimizers.Adam(learning_rate=0.002, clipnorm=1.0)")


@pytest.mark.points(2)
def test_training_history(trained, record):
    """train_sequence_model() runs 10 epochs by default and the training loss goes down"""
    call = "train_sequence_model(model, X, y)"
    _, history = trained.get()
    series = history_series(history, call)
    losses = series["loss"]
    record.figure("learning_curves", {"series": series,
                                      "title": "Training curves of train_sequence_model"})
    expect_true(len(losses) == EPOCHS,
                f"{call}: the History has {len(losses)} epochs; the default is epochs=10 — "
                "pass epochs=epochs to model.fit")
    expect_true(all(np.isfinite(losses)), f"{call}: the loss became NaN or inf")
    expect_true(losses[-1] < losses[0],
                f"{call}: the loss did not fall ({losses[0]:.3f} -> {losses[-1]:.3f})")


def held_out_probabilities(student, model, X, reference, prerequisites):
    """P(label 1) for the held-out sequences: the network's forward pass computed here from
    its layers' weights (the LSTM by the reference's lstm_forward), cross-checked with
    model.predict on probe sequences. A model whose layers the grader cannot compute (charged
    by test_model_structure) is scored by its own predict()."""
    call = "model.predict(X)"
    net = read_sequence_model(model, MODEL_CALL)
    if not net.computable:
        if not prerequisites.any("test_model_structure"):
            raise CheckFailed(f"{MODEL_CALL}: the model's layers could not be read "
                              f"({', '.join(net.problems[:3]) or 'no layers'})")
        prerequisites.excuse("the model's layers", "test_model_structure")
        try:
            scores = model.predict(X, verbose=0)
        except StudentError as exc:
            raise CheckFailed(f"{call}: the model could not predict ({exc.type_name})"
                              ) from None
        scores = np.asarray(scores, dtype=np.float64) if isinstance(scores, np.ndarray) \
            else scores
    else:
        scores = cross_checked(model, X, net.scores(X, reference.lstm_forward), call,
                               "its LSTM and Dense weights", items="sequences")
    scores = expect_shape(scores, (len(X), 1), call)
    if from_logits(model):   # a linear output whose sigmoid is in the loss, as allowed
        last = net.steps[-1] if net.computable else None
        linear = (last is not None and last[0] == "dense" and not last[3]) if last else \
            not np.all((scores >= 0) & (scores <= 1))
        if linear:
            scores = sigmoid(scores)
    return scores[:, 0]


@pytest.mark.points(6)
@pytest.mark.depends_on("test_model_structure")
def test_held_out_accuracy(student, trained, sequences, reference, prerequisites, threshold,
                           record):
    """the trained model tells the sign of the first value of held-out sequences"""
    model, _ = trained.get()
    X, y = sequences["held_out"]
    probs = held_out_probabilities(student, model, X, reference, prerequisites)
    expect_true(np.all(np.isfinite(probs)), "model.predict(X): the predictions contain NaN")
    predicted = (probs > 0.5).astype(int)
    accuracy = accuracy_score(y.astype(int), predicted)
    record.metric("accuracy", accuracy)
    record.figure("confusion_matrix", {
        "labels": [0, 1],
        "matrix": confusion_matrix(y.astype(int), predicted, labels=[0, 1]).tolist(),
        "title": f"Held-out sequences ({len(predicted):,})"})
    threshold("accuracy", accuracy)
