"""The lstm exercise: its stored Keras reference, its data, its reading of Keras models, variants.

- instant: the reference solution follows the stored outputs of keras.layers.LSTM
  (grader/suites/lstm/keras_reference.json, written by bench/lstm_keras_reference.py) to
  round-off; the gate-layout mapping is a bijection; the solution and the suite import no
  TensorFlow (the suite uses the solution's numpy functions through `reference`); the task's
  data is deterministic, balanced and needs memory (the last step says nothing of the label);
- a library contract (imports Keras): the stored outputs regenerated with the installed Keras
  equal the stored ones, and the suite's numpy reading of a Keras LSTM model (weights mapped,
  Dense after it) equals model.predict;
- slow: the correct variants in tests/submissions/variants/lstm_*/ get full marks.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from grader import assignment
from grader.suites.lstm import sequence_model as sm

ROOT = assignment.PROJECT_ROOT
VARIANTS_DIR = ROOT / "tests" / "submissions" / "variants"
VARIANTS = sorted(p.name for p in VARIANTS_DIR.glob("lstm_*") if p.is_dir())
KERAS_FILE = ROOT / "grader" / "suites" / "lstm" / "keras_reference.json"


@pytest.fixture(scope="module")
def solution():
    spec = importlib.util.spec_from_file_location("lstm_solution", ROOT / "solutions" / "lstm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stored():
    return json.loads(KERAS_FILE.read_text(encoding="utf-8"))


def arrays(case):
    X, h0, c0 = (np.asarray(case[k], dtype=float) for k in ("X", "h0", "c0"))
    params = {k: np.asarray(v, dtype=float) for k, v in case["params"].items()}
    return X, h0, c0, params


def test_reference_solution_follows_keras(solution, stored):
    assert len(stored["cases"]) >= 2
    for name, case in stored["cases"].items():
        X, h0, c0, params = arrays(case)
        H, c_T = solution.lstm_forward(X, h0, c0, params)
        np.testing.assert_allclose(H, case["H"], rtol=1e-9, atol=1e-11, err_msg=name)
        np.testing.assert_allclose(H[:, -1], case["h_T"], rtol=1e-9, atol=1e-11, err_msg=name)
        np.testing.assert_allclose(c_T, case["c_T"], rtol=1e-9, atol=1e-11, err_msg=name)
    assert any(np.any(np.asarray(c["h0"]) != 0) for c in stored["cases"].values())


def test_the_suite_catches_a_forward_pass_off_the_keras_layout(solution, stored):
    """The stored case tells the documented gate layout from its likely misreadings."""
    case = next(iter(stored["cases"].values()))
    X, h0, c0, params = arrays(case)
    n_x = X.shape[2]
    wrong = {
        "x rows first": {k: np.concatenate([v[n_x:], v[:n_x]]) if k[0] == "W" else v
                         for k, v in params.items()},
        "i and f exchanged": {**params, "Wf": params["Wi"], "Wi": params["Wf"],
                              "bf": params["bi"], "bi": params["bf"]},
    }
    for name, other in wrong.items():
        H, _ = solution.lstm_forward(X, h0, c0, other)
        assert not np.allclose(H, case["H"], rtol=1e-7, atol=1e-9), name


def test_gate_layout_mapping_round_trips():
    rng = np.random.default_rng(0)
    n_x, n_h = 3, 5
    params = {f"W{g}": rng.normal(size=(n_h + n_x, n_h)) for g in "fico"}
    params.update({f"b{g}": rng.normal(size=n_h) for g in "fico"})
    kernel, recurrent, bias = sm.params_to_keras(params, n_x)
    assert kernel.shape == (n_x, 4 * n_h) and recurrent.shape == (n_h, 4 * n_h)
    # Keras's order i, f, c, o: the forget gate's bias is the second block
    np.testing.assert_array_equal(bias[n_h:2 * n_h], params["bf"])
    np.testing.assert_array_equal(kernel[:, 3 * n_h:], params["Wo"][n_h:])
    back = sm.keras_to_params(kernel, recurrent, bias)
    assert set(back) == set(params)
    for key in params:
        np.testing.assert_array_equal(back[key], params[key])


def test_no_tensorflow_in_the_grader():
    """The suite (and the solution, which it reads through `reference`) import no TensorFlow."""
    code = ("import sys, importlib.util; import grader.suites.lstm.test_lstm; "
            "spec = importlib.util.spec_from_file_location('s', 'solutions/lstm.py'); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "bad = [k for k in ('tensorflow', 'keras') if k in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_reference_fixture_gives_numpy_functions_only(solution):
    from grader.pytest_plugin import NUMPY_REFERENCES, NumpyOnlyReference

    ref = NumpyOnlyReference(solution, "lstm")
    assert ref.lstm_forward is solution.lstm_forward
    with pytest.raises(RuntimeError, match="numpy functions"):
        ref.build_sequence_model   # noqa: B018 -- would import TensorFlow
    assert NUMPY_REFERENCES["lstm"] == {"lstm_cell_forward", "lstm_forward"}


def test_the_task_needs_memory():
    X, y = sm.training_sequences()
    X2, y2 = sm.training_sequences()
    np.testing.assert_array_equal(X, X2)
    assert X.shape == (sm.N_TRAIN, sm.T, sm.N_X) and X.dtype == np.float32
    assert y.shape == (sm.N_TRAIN,) and set(np.unique(y)) == {0.0, 1.0}
    assert 0.45 < y.mean() < 0.55
    np.testing.assert_array_equal(y, (X[:, 0, 0] > 0).astype(np.float32))
    assert np.all(np.abs(X[:, 0, 0]) >= 0.5)
    # the last step is independent of the label: no threshold on it does better than chance
    last = X[:, -1, 0]
    best = max(np.mean((last > t) == y) for t in np.quantile(last, np.linspace(0, 1, 41)))
    assert max(best, 1 - best) < 0.56


def test_held_out_sequences_are_not_the_training_ones(monkeypatch):
    from grader.datasets import held_out_key

    monkeypatch.setenv("GRADER_HELD_OUT_KEY", "a key for this test")
    held_out_key.cache_clear()
    Xh, yh = sm.held_out_sequences()
    X, _ = sm.training_sequences()
    assert Xh.shape == (sm.N_HELD_OUT, sm.T, sm.N_X)
    assert not np.isin(Xh[:, 0, 0], X[:, 0, 0]).any()
    monkeypatch.setenv("GRADER_HELD_OUT_KEY", "another key")
    held_out_key.cache_clear()
    try:
        assert not np.array_equal(sm.held_out_sequences()[0], Xh)
    finally:
        monkeypatch.undo()
        held_out_key.cache_clear()


# ---- library contracts: the installed Keras -------------------------------------------------
@pytest.mark.slow
def test_keras_reference_regenerated_with_installed_keras_matches(tmp_path, stored):
    """Regenerates the JSON in a subprocess (floatx float64 is process-wide) and compares."""
    pytest.importorskip("keras")
    out = tmp_path / "fresh.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "lstm_keras_reference.py"),
                          str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    fresh = json.loads(out.read_text(encoding="utf-8"))
    assert fresh["cases"].keys() == stored["cases"].keys()
    for name, case in stored["cases"].items():
        for key in ("X", "h0", "c0"):
            np.testing.assert_array_equal(fresh["cases"][name][key], case[key])
        for key in ("H", "h_T", "c_T"):
            np.testing.assert_allclose(fresh["cases"][name][key], case[key], rtol=1e-9,
                                       atol=1e-11, err_msg=f"{name}: {key}")


@pytest.mark.slow
def test_numpy_reading_of_a_keras_model_equals_predict(solution):
    """What the held-out test computes from a model's weights is what the model predicts:
    stacked LSTMs (return_sequences), a Dropout, a Dense with an Activation layer after it."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((sm.T, 2)),
        keras.layers.LSTM(6, return_sequences=True),
        keras.layers.Dropout(0.2),
        keras.layers.LSTM(5),
        keras.layers.Dense(3, activation="relu"),
        keras.layers.Dense(1),
        keras.layers.Activation("sigmoid"),
    ])
    # non-zero biases and a larger forget bias, so every weight block matters
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([w + np.random.default_rng(1).normal(0, 0.3, w.shape)
                               for w in weights])
    X = np.random.default_rng(0).normal(size=(8, sm.T, 2)).astype("float32")
    net = sm.read_sequence_model(model, "model")
    assert net.computable and net.lstm_units == [6, 5] and net.kinds[:2] == ["LSTM", "LSTM"]
    ours = net.scores(X, solution.lstm_forward)
    np.testing.assert_allclose(ours, model.predict(X, verbose=0), rtol=1e-4, atol=1e-5)
    gru = keras.Sequential([keras.Input((sm.T, 1)), keras.layers.GRU(4), keras.layers.Dense(1)])
    assert sm.read_sequence_model(gru, "model").problems == ["GRU"]


# ---- correct variants ---------------------------------------------------------------------------
def test_three_correct_variants_in_their_own_folders():
    assert len(VARIANTS) >= 3, VARIANTS
    for variant in VARIANTS:
        files = sorted(p.name for p in (VARIANTS_DIR / variant).iterdir()
                       if p.name != "__pycache__")
        assert files == ["lstm.py"], (variant, files)
        source = (VARIANTS_DIR / variant / "lstm.py").read_text(encoding="utf-8")
        assert "NotImplementedError" not in source and "BEGIN SOLUTION" not in source


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_correct_variant_gets_full_marks(variant):
    from grader.grading import grade

    ex = grade(VARIANTS_DIR / variant, exercises=["lstm"]).exercise("lstm")
    lost = [(t.id, t.message) for t in ex.tests if t.points < t.max_points]
    assert ex.status == "graded" and lost == [], lost
    assert sum(t.points for t in ex.tests) == sum(t.max_points for t in ex.tests) > 0
