"""Calibrate the lstm suite's accuracy threshold: the reference over seeds, and baselines.

    .venv/bin/python bench/lstm_calibrate.py [--seeds 5]

For each seed: Keras's seed (initialisation, shuffling) and the held-out sequences (the
suite draws them from the installation's secret key; here from default_rng(1000 + seed)).
The training sequences are the suite's own (fixed seed). Measured, as the suite measures it:
the held-out accuracy of build_sequence_model + train_sequence_model (defaults), scored by
the numpy forward pass of the trained weights (the reference's lstm_forward) and checked
against model.predict. Baselines: a dense network on the LAST step alone (what a model
without memory can do), and the reference LSTM after one epoch. Prints figures for
docs/CALIBRATION.md; grader/suites/thresholds.toml is updated by hand.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from grader.suites.lstm.sequence_model import (  # noqa: E402
    N_HELD_OUT, N_X, T, make_sequences, read_sequence_model, training_sequences)


def solution():
    spec = importlib.util.spec_from_file_location("lstm_solution", ROOT / "solutions" / "lstm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    import keras

    ref = solution()
    X, y = training_sequences()
    rows = {"reference": [], "reference, 1 epoch": [], "dense on the last step": []}
    for seed in range(args.seeds):
        Xh, yh = make_sequences(N_HELD_OUT, np.random.default_rng(1000 + seed))
        keras.utils.set_random_seed(seed)
        model = ref.build_sequence_model(T, N_X)
        start = time.perf_counter()
        ref.train_sequence_model(model, X, y)
        fit = time.perf_counter() - start
        probs = read_sequence_model(model, "calibration").scores(Xh, ref.lstm_forward)
        assert np.allclose(probs[:32], model.predict(Xh[:32], verbose=0), atol=1e-3)
        rows["reference"].append(float(np.mean((probs[:, 0] > 0.5) == yh)))

        keras.utils.set_random_seed(seed)
        model = ref.build_sequence_model(T, N_X)
        ref.train_sequence_model(model, X, y, epochs=1)
        rows["reference, 1 epoch"].append(
            float(np.mean((model.predict(Xh, verbose=0)[:, 0] > 0.5) == yh)))

        keras.utils.set_random_seed(seed)
        dense = keras.Sequential([keras.Input((N_X,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        dense.compile(optimizer="adam", loss="binary_crossentropy")
        dense.fit(X[:, -1, :], y, epochs=10, batch_size=32, verbose=0)
        rows["dense on the last step"].append(
            float(np.mean((dense.predict(Xh[:, -1, :], verbose=0)[:, 0] > 0.5) == yh)))
        print(f"seed {seed}: " + ", ".join(f"{k} {v[-1]:.4f}" for k, v in rows.items())
              + f" (fit {fit:.1f} s)", flush=True)
    for name, values in rows.items():
        mean, std = statistics.mean(values), statistics.stdev(values)
        print(f"{name}: {mean:.4f} +- {std:.4f} (min {min(values):.4f}); mean - 3 std = "
              f"{mean - 3 * std:.4f}; per seed {', '.join(f'{v:.4f}' for v in values)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
