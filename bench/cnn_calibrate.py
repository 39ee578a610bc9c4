"""Calibrate the cnn exercise's held-out accuracy threshold: the reference over several seeds.

    .venv/bin/python bench/cnn_calibrate.py [--seeds 5] [--epochs 8] [--batch-size 32]
    .venv/bin/python bench/cnn_calibrate.py --module tests/submissions/variants/cnn_loops/cnn.py

A trusted developer tool (it imports solutions/cnn.py in this process). It runs what the suite
runs (build_cnn, train_cnn with the suite's epochs and batch size on the training images,
predictions on the held-out images as graded: grader.datasets.held_out_mnist) and prints the
accuracy per seed, its mean and standard deviation, the target the rule gives (mean - 3 std,
rounded down to 0.01) and the wall time per run. The figures go into docs/CALIBRATION.md and
grader/suites/thresholds.toml by hand.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None, help="default: the suite's")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the suite's")
    parser.add_argument("--module", default=str(ROOT / "solutions" / "cnn.py"),
                        help="a cnn.py to measure instead of the reference (e.g. a variant)")
    args = parser.parse_args()

    import keras
    from sklearn.metrics import accuracy_score

    from grader.datasets import held_out_mnist, load_mnist
    from grader.suites.cnn.conftest import TRAIN_BATCH_SIZE, TRAIN_EPOCHS, training_inputs

    epochs = args.epochs or TRAIN_EPOCHS
    batch_size = args.batch_size or TRAIN_BATCH_SIZE
    spec = importlib.util.spec_from_file_location("reference_cnn", args.module)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    data = held_out_mnist(load_mnist())
    X, Y = training_inputs(data)
    X_test = (data.x_test[..., None] / 255.0).astype(np.float32)
    scores = []
    for seed in range(args.seeds):
        keras.utils.set_random_seed(seed)
        start = time.perf_counter()
        model = ref.build_cnn()
        ref.train_cnn(model, X, Y, epochs=epochs, batch_size=batch_size)
        probs = model.predict(X_test, verbose=0)
        scores.append(accuracy_score(data.y_test, probs.argmax(axis=1)))
        print(f"seed {seed}: accuracy {scores[-1]:.4f} ({time.perf_counter() - start:.1f} s)",
              flush=True)
    mean, std = statistics.mean(scores), statistics.stdev(scores) if len(scores) > 1 else 0.0
    target = min(math.floor((mean - 3 * std) * 100) / 100, 0.99)
    print(f"source {data.source}, epochs {epochs}, batch_size {batch_size}: "
          f"mean {mean:.4f} std {std:.4f} -> target {target:.2f}; "
          f"per seed {', '.join(f'{s:.4f}' for s in scores)}")


if __name__ == "__main__":
    main()
