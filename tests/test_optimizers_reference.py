"""The optimizers exercise's references: Keras's trajectories, the reference solution, variants.

- instant: the stored trajectories (grader/suites/optimizers/keras_trajectories.json, written
  by bench/optimizers_keras_reference.py) are
  followed by the reference solution to round-off; the suite's numpy backpropagation equals
  TensorFlow's gradients stored beside them; importing the suite imports no TensorFlow;
- a library contract (imports Keras): the trajectories regenerated with the installed Keras
  equal the stored ones, and the reference losses equal keras.losses' on ordinary
  probabilities (slow: TensorFlow's import and 32 small optimizer runs);
- slow: the correct variants in tests/submissions/variants/optimizers_*/ get full marks.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from grader import assignment
from grader.suites.optimizers import test_optimizers_grader_only as suite

ROOT = assignment.PROJECT_ROOT
VARIANTS_DIR = ROOT / "tests" / "submissions" / "variants"
VARIANTS = sorted(p.name for p in VARIANTS_DIR.glob("optimizers_*") if p.is_dir())
STEPS = {"sgd": "sgd_step", "momentum": "momentum_step", "rmsprop": "rmsprop_step",
         "adam": "adam_step"}


@pytest.fixture(scope="module")
def solution():
    spec = importlib.util.spec_from_file_location("optimizers_solution",
                                                  ROOT / "solutions" / "optimizers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stored():
    return suite.load()


def arrays(d):
    return {k: np.asarray(v, dtype=float) for k, v in d.items()}


def follow(step, hp, problem, data):
    """The reference's parameters after each step, gradients at its own parameters."""
    params, state, out = arrays(data["start"]), None, []
    X, y = np.asarray(data.get("X", 0.0)), np.asarray(data.get("y", 0.0))
    for _ in data["paths"]["sgd"]:
        grads = (suite.quadratic_grads(params, data) if problem == "quadratic"
                 else suite.network_grads(params, X, y))
        params, state = step(params, grads, state, **hp)
        out.append(params)
    return out


@pytest.mark.parametrize("name", sorted(STEPS))
@pytest.mark.parametrize("problem", ["quadratic", "network"])
def test_reference_solution_follows_keras(solution, stored, name, problem):
    hp = stored["optimizers"][name]
    mine = follow(getattr(solution, STEPS[name]), hp, problem, stored[problem])
    keras_path = stored[problem]["paths"][name]
    assert len(mine) == len(keras_path) >= 10
    start = arrays(stored[problem]["start"])
    for step, (got, want) in enumerate(zip(mine, keras_path), start=1):
        for key, value in arrays(want).items():
            assert np.allclose(got[key], value, rtol=1e-12, atol=1e-14), (name, step, key)
    moved = max(np.abs(arrays(keras_path[-1])[k] - start[k]).max() for k in start)
    assert moved > 0.1, f"{name} barely moves on the {problem}: the test would not see much"


def test_suite_backprop_equals_tensorflow_gradients(stored):
    data = stored["network"]
    X, y = np.asarray(data["X"]), np.asarray(data["y"])
    for name, grads_seq in data["tf_grads"].items():
        params_seq = [data["start"]] + data["paths"][name][:-1]
        for params, tf_grads in zip(params_seq, grads_seq):
            mine = suite.network_grads(arrays(params), X, y)
            for key, value in arrays(tf_grads).items():
                assert np.allclose(mine[key], value, rtol=1e-10, atol=1e-13), (name, key)


def test_keras_hyper_parameters_are_exact_in_float32(stored):
    """Keras casts momentum and the betas through float32: the stored ones must survive it."""
    for name, hp in stored["optimizers"].items():
        for key in ("momentum", "beta1", "beta2"):
            if key in hp:
                assert float(np.float32(hp[key])) == hp[key], (name, key)


def test_grading_the_suite_imports_no_tensorflow():
    code = ("import sys; import grader.suites.optimizers.test_optimizers; "
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


# ---- a library contract: the installed Keras ------------------------------------------------------
@pytest.mark.slow
def test_trajectories_regenerated_with_installed_keras_match(tmp_path, stored):
    """Regenerates the JSON in a subprocess (floatx float64 is process-wide) and compares."""
    pytest.importorskip("keras")
    out = tmp_path / "fresh.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "optimizers_keras_reference.py"),
                          str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    fresh = json.loads(out.read_text(encoding="utf-8"))
    assert fresh["optimizers"] == stored["optimizers"]
    for problem in ("quadratic", "network"):
        for name in STEPS:
            for step, (a, b) in enumerate(zip(fresh[problem]["paths"][name],
                                              stored[problem]["paths"][name]), start=1):
                for key in a:
                    assert np.allclose(a[key], b[key], rtol=1e-10, atol=1e-12), \
                        (f"Keras {fresh['keras_version']} ({stored['keras_version']} stored): "
                         f"{name} on the {problem} differs at step {step}, {key}; if Keras "
                         "changed its update rule, update solutions/optimizers.py's docstring "
                         "and rerun bench/optimizers_keras_reference.py")


@pytest.mark.slow
def test_reference_losses_equal_keras_losses(solution):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    y, pred = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    assert np.isclose(solution.mse(y, pred),
                      float(keras.losses.MeanSquaredError()(y, pred)), rtol=1e-5)
    yb = (rng.random((8, 1)) < 0.5).astype("float32")
    pb = rng.uniform(0.05, 0.95, size=(8, 1)).astype("float32")
    assert np.isclose(solution.binary_cross_entropy(yb, pb),
                      float(keras.losses.BinaryCrossentropy()(yb, pb)), rtol=1e-5)
    yc = np.eye(4, dtype="float32")[rng.integers(0, 4, size=5)]
    z = rng.normal(size=(5, 4))
    pc = (np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)).astype("float32")
    assert np.isclose(solution.categorical_cross_entropy(yc, pc),
                      float(keras.losses.CategoricalCrossentropy()(yc, pc)), rtol=1e-5)
    assert keras.config.epsilon() == solution.EPSILON  # the clipping bound the docstring states


# ---- correct variants ----------------------------------------------------------------------------
def test_three_correct_variants_in_their_own_folders():
    assert len(VARIANTS) >= 3, VARIANTS
    for variant in VARIANTS:
        files = sorted(p.name for p in (VARIANTS_DIR / variant).iterdir()
                       if p.name != "__pycache__")
        assert files == ["optimizers.py"], (variant, files)
        source = (VARIANTS_DIR / variant / "optimizers.py").read_text(encoding="utf-8")
        assert "NotImplementedError" not in source and "BEGIN SOLUTION" not in source


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_correct_variant_gets_full_marks(variant):
    from grader.grading import grade

    ex = grade(VARIANTS_DIR / variant, exercises=["optimizers"]).exercise("optimizers")
    lost = [(t.id, t.message) for t in ex.tests if t.points < t.max_points]
    assert ex.status == "graded" and lost == [], lost
    assert sum(t.points for t in ex.tests) == sum(t.max_points for t in ex.tests) > 0
