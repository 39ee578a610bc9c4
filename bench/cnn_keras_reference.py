"""Compute Keras's Conv2D and MaxPooling2D outputs for the cnn suite, OFFLINE.

    .venv/bin/python bench/cnn_keras_reference.py            # rewrites the suite's JSON
    .venv/bin/python bench/cnn_keras_reference.py out.json   # writes elsewhere (the test)

The grader process never imports TensorFlow (docs/SUITES.md), so what keras.layers.Conv2D and
keras.layers.MaxPooling2D compute on a few fixed, seeded inputs is stored once in
``grader/suites/cnn/keras_reference.json``; the hidden suite compares the student's
conv2d_forward / maxpool_forward with it. ``tests/test_cnn_exercise.py`` regenerates the file
with the installed Keras and fails when it no longer matches (a library contract: a Keras
release that changed its layout or padding rule shows up there, not in grading).

Each case says how the student's function is called for the same computation:
Keras's padding="valid" is padding=0; padding="same" at stride 1 with an odd kernel k is
padding=(k - 1) // 2. Layers run in float64, so the stored values are exact to round-off.
It lives outside the grader package: the student edition ships nothing of it.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "grader" / "suites" / "cnn" / "keras_reference.json"

# (name, input shape (m, H, W, C_in), kernel size, C_out, Keras strides, Keras padding)
CONV_CASES = [
    ("valid_k3_s1", (2, 6, 7, 2), 3, 3, 1, "valid"),
    ("valid_k3_s2", (2, 7, 7, 2), 3, 2, 2, "valid"),
    ("valid_k2_s2", (1, 6, 8, 3), 2, 4, 2, "valid"),
    ("same_k3_s1", (2, 5, 6, 2), 3, 3, 1, "same"),
    ("same_k5_s1", (1, 6, 6, 1), 5, 2, 1, "same"),
]
# (name, input shape (m, H, W, C), pool size, strides); Keras padding="valid"
POOL_CASES = [
    ("size2_s2", (2, 6, 6, 3), 2, 2),
    ("size3_s2", (1, 7, 9, 2), 3, 2),
    ("size2_s1", (2, 5, 4, 2), 2, 1),
]
SEED = 2024


def student_padding(kind: str, kernel: int) -> int:
    return 0 if kind == "valid" else (kernel - 1) // 2


def rounded(a: np.ndarray) -> list:
    """Inputs on a grid of 1/64 (exact in binary), so the JSON holds short numbers."""
    return np.asarray(a).tolist()


def build() -> dict:
    import keras

    keras.config.set_floatx("float64")
    rng = np.random.default_rng(SEED)
    conv, pool = {}, {}
    for name, shape, k, filters, stride, padding in CONV_CASES:
        X = np.round(rng.normal(size=shape) * 64) / 64
        W = np.round(rng.normal(size=(k, k, shape[-1], filters)) * 64) / 64
        b = np.round(rng.normal(size=filters) * 64) / 64
        layer = keras.layers.Conv2D(filters, k, strides=stride, padding=padding,
                                    dtype="float64")
        layer.build(shape)
        layer.set_weights([W, b])
        Z = np.asarray(layer(X), dtype=np.float64)
        conv[name] = {"keras": {"kernel_size": k, "filters": filters, "strides": stride,
                                "padding": padding},
                      "stride": stride, "padding": student_padding(padding, k),
                      "X": rounded(X), "W": rounded(W), "b": rounded(b), "out": Z.tolist()}
    for name, shape, size, stride in POOL_CASES:
        X = np.round(rng.normal(size=shape) * 64) / 64
        layer = keras.layers.MaxPooling2D(pool_size=size, strides=stride, padding="valid",
                                          dtype="float64")
        P = np.asarray(layer(X), dtype=np.float64)
        pool[name] = {"keras": {"pool_size": size, "strides": stride, "padding": "valid"},
                      "size": size, "stride": stride, "X": rounded(X), "out": P.tolist()}
    return {"keras_version": keras.__version__, "seed": SEED, "conv": conv, "pool": pool}


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.write_text(json.dumps(build(), separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv)
