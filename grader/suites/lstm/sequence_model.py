"""The lstm suite's data and its reading of a student's Keras sequence model.

The task (build_sequence_model's docstring): sequences of T steps of one feature; the first
value is the signal, +-U(0.5, 1.5), every later value standard normal noise; the label is 1.0
when the signal is positive. Training sequences come from a fixed seed; held-out sequences
from the installation's secret key (grader.datasets.held_out_rng), so no table of sequences
answers them, and their labels never cross into the worker.

Keras's LSTM keeps its weights as kernel (n_x, 4 n_h), recurrent_kernel (n_h, 4 n_h) and
bias (4 n_h,), the gates side by side in the order i, f, c, o. ``keras_to_params`` maps them
to the exercise's layout (one (n_h + n_x, n_h) matrix per gate acting on [h_prev, x_t], h
first), and ``params_to_keras`` back. Nothing here computes an LSTM: ``SequenceNetwork.scores``
takes the LSTM forward pass as an argument (the hidden test passes the reference's).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from grader.checks import CheckFailed
from grader.proxy import StudentError
from grader.suites.keras_model import (
    _ACTIVATIONS,
    IDENTITY_AT_INFERENCE,
    _activation_of_layer,
    _serialised_name,
    canonical,
    sublayers,
    type_name,
)
from grader.safe_text import short

T = 20                 # steps per sequence
N_X = 1                # features per step
N_TRAIN = 2000
N_HELD_OUT = 1000
TRAIN_SEED = 20240611
GATES = "ifco"         # Keras's order of the four gates in kernel, recurrent_kernel and bias


def make_sequences(n: int, rng: np.random.Generator, steps: int = T
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(X float32 (n, steps, 1), y float32 (n,)): the first value's sign is the label."""
    X = rng.normal(0.0, 1.0, (n, steps, N_X))
    sign = rng.choice([-1.0, 1.0], n)
    X[:, 0, 0] = sign * rng.uniform(0.5, 1.5, n)
    return X.astype(np.float32), (sign > 0).astype(np.float32)


def training_sequences() -> tuple[np.ndarray, np.ndarray]:
    return make_sequences(N_TRAIN, np.random.default_rng(TRAIN_SEED))


def held_out_sequences() -> tuple[np.ndarray, np.ndarray]:
    from grader.datasets import held_out_rng

    return make_sequences(N_HELD_OUT, held_out_rng("lstm:first-sign"))


# ---- Keras's gate layout <-> the exercise's ----------------------------------------------------
def keras_to_params(kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray | None
                    ) -> dict[str, np.ndarray]:
    """The exercise's params from a Keras LSTM's [kernel, recurrent_kernel, bias]:
    W<g> = recurrent_kernel[:, gate] stacked on kernel[:, gate] (h rows first), b<g> =
    bias[gate], gate g the k-th block of n_h columns in Keras's order i, f, c, o."""
    n_h = recurrent.shape[0]
    if bias is None:
        bias = np.zeros(4 * n_h)
    params = {}
    for k, gate in enumerate(GATES):
        cols = slice(k * n_h, (k + 1) * n_h)
        params[f"W{gate}"] = np.concatenate([recurrent[:, cols], kernel[:, cols]], axis=0)
        params[f"b{gate}"] = np.array(bias[cols])
    return params


def params_to_keras(params: dict[str, np.ndarray], n_x: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[kernel, recurrent_kernel, bias] of a Keras LSTM computing the same as ``params``."""
    n_h = params["Wf"].shape[1]
    kernel = np.concatenate([params[f"W{g}"][n_h:] for g in GATES], axis=1)
    recurrent = np.concatenate([params[f"W{g}"][:n_h] for g in GATES], axis=1)
    bias = np.concatenate([params[f"b{g}"] for g in GATES])
    assert kernel.shape == (n_x, 4 * n_h)
    return kernel, recurrent, bias


# ---- reading the student's model ---------------------------------------------------------------
@dataclass
class SequenceNetwork:
    """The model as layers the grader computes: ("lstm", params, return_sequences) and
    ("dense", W, b, activations); ``kinds`` every layer read, ``problems`` what cannot be
    computed here (an empty list: ``scores`` is the network's own computation)."""
    steps: list[tuple] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lstm_units: list[int] = field(default_factory=list)

    @property
    def computable(self) -> bool:
        return not self.problems and bool(self.steps)

    def scores(self, X: np.ndarray, lstm_forward: Callable) -> np.ndarray:
        h = np.asarray(X, dtype=np.float64)
        with np.errstate(all="ignore"):
            for step in self.steps:
                if step[0] == "lstm":
                    _, params, sequences = step
                    n_h = params["Wf"].shape[1]
                    zeros = np.zeros((len(h), n_h))
                    H, _ = lstm_forward(h, zeros, zeros.copy(), params)
                    h = np.asarray(H) if sequences else np.asarray(H)[:, -1, :]
                else:
                    _, W, b, activations = step
                    h = h @ W + b
                    for name in activations:
                        h = _ACTIVATIONS[name](h)
        return h


def _weights(layer: Any) -> list | None:
    try:
        values = layer.get_weights()
    except (StudentError, AttributeError, TypeError):
        return None
    if isinstance(values, (list, tuple)) and all(
            isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in values):
        return [v.astype(np.float64) for v in values]
    return None


def read_sequence_model(model: Any, call: str, max_layers: int = 50) -> SequenceNetwork:
    """The model's layers, nested models flattened, identity-at-inference layers skipped,
    activation layers folded into the Dense before them; LSTM layers read with their weights
    mapped to the exercise's layout. Other layers (GRU, Bidirectional, Conv1D, ...) are named
    in ``problems``: the grader does not compute them."""
    net = SequenceNetwork()
    count = [0]

    def walk(obj: Any, depth: int) -> None:
        layers = sublayers(obj)
        if layers is None:
            raise CheckFailed(f"{call}: did not return a Keras model (it has no list of layers)")
        for layer in layers:
            count[0] += 1
            if count[0] > max_layers or depth > 6:
                raise CheckFailed(f"{call}: the model has more than {max_layers} layers")
            kind = type_name(layer)
            if kind in IDENTITY_AT_INFERENCE:
                continue
            if sublayers(layer) is not None and kind not in ("LSTM", "RNN", "Bidirectional"):
                walk(layer, depth + 1)
                continue
            net.kinds.append(kind)
            try:
                config = layer.get_config()
            except StudentError:
                config = None
            config = config if isinstance(config, dict) else {}
            if kind == "LSTM":
                read_lstm(layer, config)
            elif kind == "Dense":
                read_dense(layer, config)
            else:
                activation = _activation_of_layer(kind, config)
                if activation in _ACTIVATIONS and net.steps and net.steps[-1][0] == "dense":
                    net.steps[-1][3].append(activation)
                else:
                    net.problems.append(kind)

    def read_lstm(layer: Any, config: dict) -> None:
        units = config.get("units")
        activation = canonical(_serialised_name(config.get("activation", "tanh")))
        gates = canonical(_serialised_name(config.get("recurrent_activation", "sigmoid")))
        values = _weights(layer)
        if isinstance(units, int):
            net.lstm_units.append(units)
        if activation != "tanh" or gates != "sigmoid":
            net.problems.append(f"LSTM(activation={activation}, "
                                f"recurrent_activation={gates})")
            return
        if config.get("go_backwards") or config.get("stateful"):
            net.problems.append("LSTM(go_backwards/stateful)")
            return
        if not values or len(values) not in (2, 3) or values[1].ndim != 2:
            net.problems.append("LSTM (weights unreadable)")
            return
        kernel, recurrent = values[0], values[1]
        bias = values[2] if len(values) == 3 else None
        n_h = recurrent.shape[0]
        if kernel.ndim != 2 or kernel.shape[1] != 4 * n_h or recurrent.shape[1] != 4 * n_h \
                or (bias is not None and bias.shape != (4 * n_h,)):
            net.problems.append("LSTM (weights of an unexpected shape)")
            return
        net.steps.append(("lstm", keras_to_params(kernel, recurrent, bias),
                          bool(config.get("return_sequences"))))

    def read_dense(layer: Any, config: dict) -> None:
        values = _weights(layer)
        activation = canonical(_serialised_name(config.get("activation")))
        if not values or len(values) not in (1, 2) or values[0].ndim != 2:
            net.problems.append("Dense (weights unreadable)")
            return
        if activation not in _ACTIVATIONS:
            net.problems.append(f"Dense(activation={short(activation, 30)})")
            return
        W = values[0]
        b = values[1] if len(values) == 2 else np.zeros(W.shape[1])
        net.steps.append(("dense", W, b, [] if activation == "linear" else [activation]))

    walk(model, 0)
    return net
