"""Hostile classes found after tests/test_hostile_variants.py: attacks that earned points by
a claim a test read instead of measuring, or that lie to whatever compares, prints or frees
what they return. Fixtures live in tests/submissions/hostile_classes/ (each file says what it
tries and what must hold); docs/SECURITY.md lists each class with its fix.

- made_up_history/: mnist_ann and attrition whose train() fits nothing and returns a History
  with a falling loss it made up; the mnist model's count_params() answers 101,770 for a
  784 -> 64 -> 10 network; the untrained attrition network says "leaves" for most employees
  (an F1 of leavers no better than "everyone leaves").
- perceptron_made_up_xor_run.py: a fit() that reports mistakes in every XOR epoch without
  running them, with the update rule right and with it wrong (already charged).
- constant_answers/: neuron, perceptron, backprop, circles, optimizers and attrition whose
  every function returns a constant of the right form (or its argument untouched): tests of a
  side property ("leaves its inputs unchanged", "drops the target", "values of order 1"), the
  branches a charged prerequisite excuses, and accuracy for "always No" used to pass them.
- neuron_always_raises.py: a neuron_forward that raises ValueError for every input, so the
  error-case test sees its error without the function telling bad names from good ones.
- neuron_lying_objects.py: ndarray/float subclasses that equal everything, raising or 10 MB
  reprs, dicts with tuple keys, recursive lists, generators, structured arrays, a __del__
  that sleeps an hour, SIGTERM ignored, an atexit hook that sleeps, ANSI/HTML on stderr;
  graded through the CLI in the default sandbox.

Each attacked test must earn nothing (what an untouched stub earns there) and grading must end
with result.json written and the documented exit code.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from grader.grading import grade

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ROOT / "tests" / "submissions" / "hostile_classes"
SOLUTIONS = ROOT / "solutions"


def student_copy(exercise: str) -> str:
    """solutions/<exercise>.py as a student's file would hold it: no solution markers."""
    lines = (SOLUTIONS / f"{exercise}.py").read_text().splitlines()
    return "\n".join(l for l in lines if l.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))


def graded_tests(result, exercise: str) -> dict:
    return {t.id.split("::", 1)[1]: t for t in result.exercise(exercise).tests}


# ---- Keras: a History is a claim; the loss is measured on the network's weights ---------------
@pytest.fixture(scope="module")
def made_up_history(tmp_path_factory):
    folder = tmp_path_factory.mktemp("made_up_history") / "submission"
    shutil.copytree(CLASSES / "made_up_history", folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    result = grade(folder, exercises=["mnist_ann", "attrition"])
    out = folder.parent / "out"
    result.write(out / "result.json")
    return result, out


@pytest.mark.slow
@pytest.mark.parametrize("exercise", ["mnist_ann", "attrition"])
def test_made_up_history_earns_nothing(made_up_history, exercise):
    result, out = made_up_history
    assert result.exercise(exercise).status == "graded"
    history = graded_tests(result, exercise)["test_training_history"]
    assert history.points == 0 and history.outcome == "failed", (history.outcome,
                                                                 history.message)
    assert "computed from its weights" in history.message, history.message
    assert json.loads((out / "result.json").read_text())["exercises"]


@pytest.mark.slow
def test_claimed_parameter_count_earns_nothing(made_up_history):
    result, _ = made_up_history
    count = graded_tests(result, "mnist_ann")["test_parameter_count"]
    assert count.points == 0 and "Dense layers hold 50,890 weights" in count.message, \
        (count.outcome, count.message)


@pytest.mark.slow
def test_no_f1_credit_for_saying_everyone_leaves(made_up_history):
    result, _ = made_up_history
    f1 = graded_tests(result, "attrition")["test_held_out_f1_of_leavers"]
    assert f1.points == 0 and f1.outcome == "failed", (f1.outcome, f1.message)


def test_f1_floor_is_above_everyone_leaves():
    """The floor of the leavers' F1 lies above 2r / (1 + r), the F1 of predicting "leaves" for
    everyone with r = 16% leavers (IBM's table), so no label-blind rule earns credit."""
    spec = tomllib.loads((ROOT / "grader" / "suites" / "thresholds.toml").read_text())
    rate = 237 / 1470
    assert spec["attrition"]["f1_yes"]["default"]["floor"] > 2 * rate / (1 + rate)


# ---- perceptron: errors_ is a claim; the XOR run is measured by its weights -----------------
@pytest.fixture(scope="module")
def made_up_xor_runs(tmp_path_factory):
    attack = (CLASSES / "perceptron_made_up_xor_run.py").read_text()
    right = student_copy("perceptron")
    bug = tomllib.loads((ROOT / "tests" / "submissions" / "buggy" / "bugs.toml").read_text())
    change = bug["perceptron__sign_flipped"]["change"][0]
    assert change["old"] in right
    wrong = right.replace(change["old"], change["new"])
    results = {}
    for name, source in (("rule_right", right), ("rule_wrong", wrong)):
        folder = tmp_path_factory.mktemp(name)
        (folder / "perceptron.py").write_text(source + "\n\n" + attack)
        results[name] = graded_tests(grade(folder, exercises=["perceptron"]), "perceptron")
    return results


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["rule_right", "rule_wrong"])
def test_made_up_xor_run_earns_nothing(made_up_xor_runs, rule):
    tests = made_up_xor_runs[rule]
    xor = tests["test_never_converges_on_xor"]
    assert xor.points == 0 and xor.outcome == "failed", (xor.outcome, xor.message)
    if rule == "rule_right":  # the attack touched nothing else
        lost = [n for n, t in tests.items() if t.points < t.max_points]
        assert lost == ["test_never_converges_on_xor"], lost


# ---- lying objects, slow deaths, ignored signals, escapes on stderr (CLI, default sandbox) --
ATTACKED = ("test_relu_does_not_modify_input", "test_relu_values", "test_sigmoid_values",
            "test_sigmoid_extreme_inputs", "test_step_values", "test_softmax_values",
            "test_softmax_extreme_inputs", "test_neuron_single_sample", "test_neuron_batch",
            "test_dense_forward_values", "test_dense_forward_softmax",
            "test_dense_forward_single_sample_batch", "test_dense_forward_does_not_modify_inputs")
CONTROL = ("\x1b", "\x07")
MARKUP = ("<script>alert", "<h1>PASSED")


@pytest.fixture(scope="module")
def lying_objects(tmp_path_factory):
    base = tmp_path_factory.mktemp("lying_objects")
    folder = base / "submission"
    folder.mkdir()
    (folder / "neuron.py").write_text(student_copy("neuron") + "\n\n" +
                                      (CLASSES / "neuron_lying_objects.py").read_text())
    out = base / "out"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(folder), "--exercise",
                           "neuron", "--out", str(out)], capture_output=True, text=True,
                          timeout=300, check=False, cwd=base)
    return proc, out, time.monotonic() - t0


@pytest.mark.slow
def test_lying_objects_earn_nothing_and_grading_ends(lying_objects):
    proc, out, elapsed = lying_objects
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert elapsed < 180, elapsed          # one call's limit for the hour-long __del__
    data = json.loads((out / "result.json").read_text())
    tests = {t["id"].split("::", 1)[1]: t for t in data["exercises"][0]["tests"]}
    earned = {n: tests[n]["points"] for n in ATTACKED if tests[n]["points"] > 0}
    assert earned == {}, earned
    errors = {n: t["message"][:200] for n, t in tests.items() if t["outcome"] == "error"}
    assert errors == {}, errors                        # every lie is a failure, not a fault
    assert tests["test_tanh_values"]["outcome"] == "passed"   # the reference's own tanh
    # escapes nowhere; markup only as text (result.json is data, the report escapes it)
    report = (out / "report.html").read_text()
    found = [c for c in CONTROL if c in json.dumps(data, ensure_ascii=False) + report
             + proc.stdout + proc.stderr]
    found += [m for m in MARKUP if m in report + proc.stdout]
    assert found == [], found
    assert len((out / "result.json").read_bytes()) < 1 << 20


# ---- an error-case test needs the good case too --------------------------------------------
@pytest.mark.slow
def test_always_raising_earns_no_error_case_points(tmp_path):
    (tmp_path / "neuron.py").write_text(student_copy("neuron") + "\n\n" +
                                        (CLASSES / "neuron_always_raises.py").read_text())
    tests = graded_tests(grade(tmp_path, exercises=["neuron"]), "neuron")
    case = tests["test_neuron_unknown_activation"]
    assert case.points == 0 and "for a valid input" in case.message, (case.outcome,
                                                                       case.message)
    assert tests["test_relu_values"].outcome == "passed"   # the rest of the file is honest


def test_expect_no_raise():
    from grader.checks import CheckFailed, expect_no_raise

    def strict(name):
        if name not in ("relu", "linear"):
            raise ValueError(name)
        return 1.0

    def stub(name):
        raise NotImplementedError

    assert expect_no_raise(ValueError, strict, "relu", call="f") == 1.0
    with pytest.raises(CheckFailed, match="raised ValueError for a valid input"):
        expect_no_raise(ValueError, strict, "nope", call="f")
    assert expect_no_raise(ValueError, lambda: {}["x"], call="f") is None  # not its business
    with pytest.raises(NotImplementedError):
        expect_no_raise(ValueError, stub, "relu", call="f")


# ---- constant answers: side-property tests and excused branches need computed results ------
CONSTANT_ATTACKED = {
    "neuron": ["test_relu_does_not_modify_input", "test_softmax_extreme_inputs",
               "test_dense_forward_softmax", "test_dense_forward_single_sample_batch",
               "test_dense_forward_does_not_modify_inputs"],
    "perceptron": ["test_net_input", "test_predict", "test_converges_on_and_and_or",
                   "test_fit_does_not_modify_data"],
    "circles": ["test_decision_grid_shape"],
    "attrition": ["test_encode_target", "test_preprocess_shapes",
                  "test_preprocess_drops_the_target",
                  "test_preprocess_fitted_on_training_rows_only",
                  "test_preprocess_scales_and_one_hot_encodes", "test_training_history",
                  "test_held_out_roc_auc", "test_held_out_accuracy",
                  "test_held_out_f1_of_leavers"],
    "backprop": ["test_backward_shapes", "test_backward_single_sample",
                 "test_train_lowers_the_loss", "test_train_solves_nonlinear_problem"],
    "optimizers": ["test_steps_do_not_modify_inputs", "test_sgd_matches_keras",
                   "test_momentum_matches_keras", "test_rmsprop_matches_keras",
                   "test_adam_matches_keras", "test_binary_cross_entropy_extreme",
                   "test_binary_cross_entropy_grad_extreme",
                   "test_categorical_cross_entropy_extreme",
                   "test_categorical_cross_entropy_grad_extreme",
                   "test_losses_do_not_modify_inputs"],
}


@pytest.fixture(scope="module")
def constant_answers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("constant_answers") / "submission"
    shutil.copytree(CLASSES / "constant_answers", folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return grade(folder, exercises=list(CONSTANT_ATTACKED))


@pytest.mark.slow
@pytest.mark.parametrize("exercise", list(CONSTANT_ATTACKED))
def test_constant_answers_earn_nothing(constant_answers, exercise):
    tests = graded_tests(constant_answers, exercise)
    earned = {n: (tests[n].points, tests[n].message[:160]) for n in CONSTANT_ATTACKED[exercise]
              if tests[n].points > 0}
    assert earned == {}, earned
    errors = {n: t.message[:160] for n, t in tests.items() if t.outcome == "error"}
    assert errors == {}, errors
    # what is left is what the constants really do: attributes set, nothing else
    rest = {n: t.points for n, t in tests.items() if t.points > 0}
    # (perceptron's attributes are set; zeros of backprop's shapes have those shapes)
    assert rest == {"perceptron": {"test_fit_attributes": 1.0},
                    "backprop": {"test_init_params_shapes": 1.0},
                    "circles": {"test_make_data_default": 1.0},
                    "attrition": {"test_model_structure": 2.0,
                                  "test_predictions_are_probabilities": 1.0},
                    }.get(exercise, {}), rest


def test_expect_responds():
    from grader.checks import CheckFailed, expect_responds

    nan = float("nan")
    for constant in (lambda z: np.zeros(3), lambda z: 0.0, lambda z: nan,
                     lambda z: np.full(3, nan), lambda z: ({"w": np.ones(2)}, None)):
        with pytest.raises(CheckFailed, match="same result for two different inputs"):
            expect_responds(constant, [np.ones(3)], [np.zeros(3)], call="f(z)")
    for honest in (lambda z: z * 2, lambda z: float(z.sum()), lambda z: ({"w": z}, None),
                   lambda z: np.where(z > 0, nan, 1.0)):
        expect_responds(honest, [np.ones(3)], [np.zeros(3)], call="f(z)")
