"""Compute what Keras's own LSTM layer gives on seeded inputs, OFFLINE, for the lstm suite.

    .venv/bin/python bench/lstm_keras_reference.py [out.json]   # default: the suite's JSON

The grader process never imports TensorFlow (docs/SUITES.md), so keras.layers.LSTM is run
here once and its outputs stored in ``grader/suites/lstm/keras_reference.json``; the suite
compares the student's ``lstm_forward`` with them. ``tests/test_lstm_exercise.py``
regenerates the file with the installed Keras and fails when it no longer matches (a library
contract: a Keras release that changed the LSTM's equations or its weight layout shows there).

The weight mapping (``grader.suites.lstm.sequence_model.params_to_keras``): Keras keeps
    kernel            (n_x, 4 n_h)   multiplies x_t
    recurrent_kernel  (n_h, 4 n_h)   multiplies h_prev
    bias              (4 n_h,)
with the four gates side by side in the order i, f, c, o (columns k*n_h:(k+1)*n_h for the
k-th). The exercise's W<g> (n_h + n_x, n_h) acts on [h_prev, x_t], h first, so
    W<g> = vstack(recurrent_kernel[:, gate g], kernel[:, gate g]),  b<g> = bias[gate g].

Each case: keras.layers.LSTM(n_h, return_sequences=True, return_state=True) in float64 with
those weights, run on seeded X (m, T, n_x) from the initial state (h0, c0) (zeros or
``initial_state=[h0, c0]``); stored: X, h0, c0, the exercise's params, and Keras's
(all hidden states H, last h, last c). It lives outside the grader package: the student
edition ships nothing of it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grader.suites.lstm.sequence_model import params_to_keras  # noqa: E402

OUT = ROOT / "grader" / "suites" / "lstm" / "keras_reference.json"
# (name, m, T, n_x, n_h, seed, initial state given)
CASES = [("zeros_state", 3, 7, 2, 4, 11, False),
         ("given_state", 2, 12, 3, 5, 12, True)]
DIGITS = 12   # stored values are rounded to 12 significant digits (compact, still exact enough)


def rounded(a) -> list:
    return np.asarray(a, dtype=np.float64).round(DIGITS).tolist()


def case(name, m, T, n_x, n_h, seed, given_state):
    import keras

    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, (m, T, n_x)).round(6)
    params = {}
    for g in "fico":
        params[f"W{g}"] = rng.normal(0.0, 0.6, (n_h + n_x, n_h)).round(6)
        params[f"b{g}"] = rng.normal(0.0, 0.5, n_h).round(6)
    h0 = rng.normal(0.0, 0.5, (m, n_h)).round(6) if given_state else np.zeros((m, n_h))
    c0 = rng.normal(0.0, 1.0, (m, n_h)).round(6) if given_state else np.zeros((m, n_h))
    layer = keras.layers.LSTM(n_h, return_sequences=True, return_state=True, dtype="float64")
    layer.build((m, T, n_x))
    layer.set_weights(list(params_to_keras(params, n_x)))
    if given_state:
        H, h_T, c_T = layer(X, initial_state=[h0, c0])
    else:
        H, h_T, c_T = layer(X)
    return name, {
        "X": rounded(X), "h0": rounded(h0), "c0": rounded(c0),
        "params": {k: rounded(v) for k, v in params.items()},
        "H": rounded(H), "h_T": rounded(h_T), "c_T": rounded(c_T),
    }


def generate() -> dict:
    import keras

    keras.config.set_floatx("float64")
    data = {"keras": keras.__version__,
            "layer": "keras.layers.LSTM(n_h, return_sequences=True, return_state=True)",
            "cases": dict(case(*spec) for spec in CASES)}
    return data


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else OUT
    out.write_text(json.dumps(generate(), separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
