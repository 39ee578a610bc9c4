"""The cnn exercise: its stored Keras references, the grader's CNN forward pass, variants.

- instant: the reference solution reproduces the stored Keras outputs
  (grader/suites/cnn/keras_reference.json, written by bench/cnn_keras_reference.py) to
  round-off; the file stays small; importing the suite imports no TensorFlow;
- a library contract (slow, imports Keras): the outputs regenerated with the installed Keras
  equal the stored ones; the grader's numpy forward of a Keras CNN (grader/suites/cnn/
  network.py, which scores held-out accuracy) equals Keras's predict for every layer kind
  it computes, "same" padding with strides included;
- slow: the correct variants in tests/submissions/variants/cnn_*/ get full marks.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from grader import assignment

ROOT = assignment.PROJECT_ROOT
STORED = ROOT / "grader" / "suites" / "cnn" / "keras_reference.json"
VARIANTS_DIR = ROOT / "tests" / "submissions" / "variants"
VARIANTS = sorted(p.name for p in VARIANTS_DIR.glob("cnn_*") if p.is_dir())


@pytest.fixture(scope="module")
def solution():
    spec = importlib.util.spec_from_file_location("cnn_solution", ROOT / "solutions" / "cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stored():
    return json.loads(STORED.read_text(encoding="utf-8"))


def test_reference_solution_reproduces_keras(solution, stored):
    paddings = set()
    for name, case in stored["conv"].items():
        X, W, b = (np.asarray(case[k]) for k in ("X", "W", "b"))
        got = solution.conv2d_forward(X, W, b, stride=case["stride"], padding=case["padding"])
        assert np.allclose(got, case["out"], rtol=1e-12, atol=1e-12), name
        paddings.add((case["keras"]["padding"], case["stride"]))
    assert {("valid", 1), ("valid", 2), ("same", 1)} <= paddings
    for name, case in stored["pool"].items():
        got = solution.maxpool_forward(np.asarray(case["X"]), size=case["size"],
                                       stride=case["stride"])
        assert np.allclose(got, case["out"], rtol=1e-12, atol=1e-12), name
    assert any(c["size"] != c["stride"] for c in stored["pool"].values())


def test_stored_reference_is_small():
    assert STORED.stat().st_size < 50_000


def test_grading_the_suite_imports_no_tensorflow():
    code = ("import sys; import grader.suites.cnn.test_cnn, grader.suites.cnn.network; "
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_importing_the_solution_imports_no_tensorflow():
    """The grader's `reference` for cnn is the solution module (numpy functions only)."""
    code = ("import sys, importlib.util as u; "
            f"s = u.spec_from_file_location('s', {str(ROOT / 'solutions' / 'cnn.py')!r}); "
            "m = u.module_from_spec(s); s.loader.exec_module(m); "
            "bad = [x for x in ('tensorflow', 'keras') if x in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


# ---- library contracts: the installed Keras -----------------------------------------------------
@pytest.mark.slow
def test_keras_reference_regenerated_with_installed_keras_matches(tmp_path, stored):
    """Regenerates the JSON in a subprocess (floatx float64 is process-wide) and compares."""
    pytest.importorskip("keras")
    out = tmp_path / "fresh.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "cnn_keras_reference.py"),
                          str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    fresh = json.loads(out.read_text(encoding="utf-8"))
    for kind in ("conv", "pool"):
        assert fresh[kind].keys() == stored[kind].keys()
        for name, case in stored[kind].items():
            new = fresh[kind][name]
            for key in case:
                if key == "out":
                    assert np.allclose(new[key], case[key], rtol=1e-10, atol=1e-12), \
                        (f"Keras {fresh['keras_version']} ({stored['keras_version']} stored): "
                         f"{kind} case {name} differs; if Keras changed its layout or padding "
                         "rule, update solutions/cnn.py's docstring and rerun "
                         "bench/cnn_keras_reference.py")
                else:
                    assert new[key] == case[key], (kind, name, key)


@pytest.mark.slow
def test_grader_forward_equals_keras_predict(solution):
    """network.py's numpy forward (with the reference's conv and pooling) equals predict() for
    every layer kind it computes: "same" padding with odd and even sizes and strides, max and
    average pooling, BatchNormalization at inference, Rescaling, activation layers, Dense."""
    keras = pytest.importorskip("keras")
    from keras import layers

    from grader.suites.cnn.network import network_scores

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Rescaling(2.0, offset=-1.0),
        layers.Conv2D(6, 3, strides=2, padding="same", activation="tanh"),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D(2, strides=1, padding="same"),
        layers.Conv2D(8, (4, 4), padding="same"),
        layers.Activation("relu"),
        layers.AveragePooling2D(2),
        layers.Dropout(0.3),
        layers.Conv2D(8, 3, strides=2, padding="valid", activation="relu"),
        layers.Flatten(),
        layers.Dense(12, activation="sigmoid"),
        layers.Dense(10),
        layers.Softmax(),
    ])
    bn = model.layers[2]
    gamma, beta, mean, var = bn.get_weights()
    rng = np.random.default_rng(1)
    bn.set_weights([gamma + rng.normal(size=gamma.shape) * 0.2, rng.normal(size=beta.shape),
                    rng.normal(size=mean.shape) * 0.1, rng.uniform(0.5, 2.0, var.shape)])
    x = rng.random((40, 28, 28, 1)).astype("float32")
    ours = network_scores(model, x, "model.predict(X)", solution.conv2d_forward,
                          solution.maxpool_forward)
    theirs = model.predict(x, verbose=0)
    assert ours.shape == (40, 10)
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-5)

    functional_in = keras.Input((28, 28, 1))
    h = layers.Conv2D(4, 5, padding="same", activation="relu")(functional_in)
    h = layers.GlobalAveragePooling2D()(h)
    functional = keras.Model(functional_in, layers.Dense(10, activation="softmax")(h))
    assert np.allclose(network_scores(functional, x, "model.predict(X)",
                                      solution.conv2d_forward, solution.maxpool_forward),
                       functional.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_grader_forward_refuses_layers_it_cannot_compute(solution):
    keras = pytest.importorskip("keras")
    from keras import layers

    from grader.checks import CheckFailed
    from grader.suites.cnn.network import network_scores

    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3, dilation_rate=2),
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
    with pytest.raises(CheckFailed, match="dilation_rate"):
        network_scores(model, np.zeros((2, 28, 28, 1), "float32"), "model.predict(X)",
                       solution.conv2d_forward, solution.maxpool_forward)
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.DepthwiseConv2D(3),
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
    with pytest.raises(CheckFailed, match="DepthwiseConv2D"):
        network_scores(model, np.zeros((2, 28, 28, 1), "float32"), "model.predict(X)",
                       solution.conv2d_forward, solution.maxpool_forward)


# ---- correct variants ----------------------------------------------------------------------------
def test_three_correct_variants_in_their_own_folders():
    assert len(VARIANTS) >= 3, VARIANTS
    for variant in VARIANTS:
        files = sorted(p.name for p in (VARIANTS_DIR / variant).iterdir()
                       if p.name != "__pycache__")
        assert files == ["cnn.py"], (variant, files)
        source = (VARIANTS_DIR / variant / "cnn.py").read_text(encoding="utf-8")
        assert "NotImplementedError" not in source and "BEGIN SOLUTION" not in source


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_correct_variant_gets_full_marks(variant):
    from grader.grading import grade

    ex = grade(VARIANTS_DIR / variant, exercises=["cnn"]).exercise("cnn")
    lost = [(t.id, t.message) for t in ex.tests if t.points < t.max_points]
    assert ex.status == "graded" and lost == [], lost
    assert sum(t.points for t in ex.tests) == sum(t.max_points for t in ex.tests) > 0
