"""The dependency rule (one mistake, one deduction) and the checks that cannot be forged, for
the numpy exercises neuron, backprop and perceptron.

- instant: the ``Prerequisites`` helper and the plugin's ``depends_on`` validation, and every
  ``depends_on`` of the suites names an earlier test of its file;
- slow: crafted submissions graded whole (a naive sigmoid, a step returning integers with
  step(0) = 0, a perceptron starting from random weights, (1, h) biases, a backward() that
  agrees with a lying forward(), NaN weights), and the correct variants in
  tests/submissions/variants/ of these exercises, which must get full marks.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader import assignment
from grader.checks import Prerequisites
from grader.grading import grade
from grader.pytest_plugin import check_dependencies

ROOT = assignment.PROJECT_ROOT
SOLUTIONS = ROOT / "solutions"
VARIANTS_DIR = ROOT / "tests" / "submissions" / "variants"
EXERCISES = ("neuron", "backprop", "perceptron")


# ---- the helper and the marker -----------------------------------------------------------
def test_prerequisites_name_what_failed_and_keep_notes():
    pre = Prerequisites(("test_a", "test_b", "test_c"), failed={"test_b", "test_x"})
    assert pre and pre.failed == ("test_b",)
    assert pre.any("test_a") == "" and pre.any("test_a", "test_b") == "test_b"
    assert pre.counted() == "already counted in test_b"
    assert pre.counted("test_a") == ""
    pre.excuse("the dtype", "test_a")  # nothing failed there: no note
    pre.excuse("the dtype", "test_b")
    pre.excuse("the dtype", "test_b")  # said once
    assert pre.notes == ["the dtype: already counted in test_b"]
    with pytest.raises(ValueError, match="not a depends_on"):
        pre.any("test_unknown")
    assert not Prerequisites(("test_a",), failed=())


def test_topics_group_prerequisites_and_the_edition_is_lenient():
    pre = Prerequisites(("test_a",), failed={"test_r2"},
                        topics={"relu": ("test_r1", "test_r2"), "step": "test_s"})
    assert pre.names == ("test_a", "test_r1", "test_r2", "test_s")
    assert pre.any("relu") == "test_r2" and pre.any("step") == "" and pre.any() == "test_r2"
    assert pre.counted("relu") == "already counted in test_r2"
    with pytest.raises(ValueError):
        pre.any("errors_")
    edition = Prerequisites(("test_a",), failed=(), lenient=True)  # hidden tests were cut
    assert edition.any("errors_") == "" and edition.counted("errors_") == ""


def _item(module, name, deps=(), topics=None, before=(), topic=None):
    markers = {}
    if deps or topics:
        markers["depends_on"] = SimpleNamespace(args=tuple(deps), kwargs=dict(topics or {}))
    if before:
        markers["prerequisite_of"] = SimpleNamespace(args=tuple(before),
                                                     kwargs={"topic": topic} if topic else {})
    return SimpleNamespace(module=module, name=name, originalname=name, nodeid=f"x::{name}",
                           get_closest_marker=markers.get)


def test_depends_on_must_name_an_earlier_test_of_the_same_file():
    module = SimpleNamespace(test_first=1, helper=2, test_second=3)
    check_dependencies([_item(module, "test_first"), _item(module, "test_second", ["test_first"])])
    for bad in (["test_second"], ["test_nowhere"], [3]):
        with pytest.raises(pytest.UsageError, match="defined earlier"):
            check_dependencies([_item(module, "test_second", bad)])
    # the file's definitions decide, not the selection: -m public keeps the verdict
    check_dependencies([_item(module, "test_second", ["test_first"])])
    check_dependencies([_item(module, "test_second", topics={"x": ("test_first",)})])
    with pytest.raises(pytest.UsageError, match="defined earlier"):
        check_dependencies([_item(module, "test_first", topics={"x": "test_second"})])
    # a hidden prerequisite names the later tests it is a prerequisite of
    check_dependencies([_item(module, "test_first", before=["test_second"], topic="relu")])
    with pytest.raises(pytest.UsageError, match="defined later"):
        check_dependencies([_item(module, "test_second", before=["test_first"])])


def test_every_suite_dependency_is_valid_and_used(monkeypatch):
    import importlib
    # the suites' markers are registered by the grading plugin, not by this project's pytest
    monkeypatch.setattr(pytest.mark, "_config", None)
    found = 0
    for name in EXERCISES:
        module = importlib.import_module(f"grader.suites.{name}.test_{name}")
        items = []
        for attr, fn in vars(module).items():
            if attr.startswith("test_") and callable(fn):
                marks = {m.name: m for m in getattr(fn, "pytestmark", [])}
                dep, before = marks.get("depends_on"), marks.get("prerequisite_of")
                if dep:
                    found += 1
                    assert "prerequisites" in fn.__code__.co_varnames, \
                        f"{attr} is marked depends_on but never asks which prerequisite failed"
                items.append(_item(module, attr, dep.args if dep else (),
                                   dep.kwargs if dep else None,
                                   before.args if before else (),
                                   before.kwargs.get("topic") if before else None))
        check_dependencies(items)
    assert found >= 10


# ---- crafted submissions --------------------------------------------------------------------
def variant_of(exercise: str, *changes: tuple[str, str]) -> str:
    text = (SOLUTIONS / f"{exercise}.py").read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


NAIVE_SIGMOID_INT_STEP = variant_of(
    "neuron",
    ("    e = np.exp(-np.abs(z))\n    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))\n",
     "    return 1 / (1 + np.exp(-z))\n"),
    ("    return np.where(np.asarray(z) >= 0, 1.0, 0.0)\n",
     "    return (np.asarray(z) > 0).astype(int)\n"))

# forward() lies (a linear model, no hidden layer at all) and backward() returns the exact
# gradients of that lie: a gradient check through the student's own forward() would pass.
LYING_BACKPROP = variant_of(
    "backprop",
    ("    Z1 = X @ params[\"W1\"] + params[\"b1\"]\n    A1 = np.maximum(Z1, 0.0)\n"
     "    Z2 = A1 @ params[\"W2\"] + params[\"b2\"]\n",
     "    Z1 = X @ params[\"W1\"]\n    A1 = Z1\n    Z2 = A1 @ params[\"W2\"] + params[\"b2\"]\n"),
    ("    dZ1 = dA1 * (cache[\"Z1\"] > 0)\n", "    dZ1 = dA1\n"),
    ("        \"db1\": dZ1.sum(axis=0),\n", "        \"db1\": 0.0 * dZ1.sum(axis=0),\n"))

RASCHKA_RANDOM_START = variant_of(
    "perceptron",
    ("        self.weights_ = np.zeros(X.shape[1], dtype=np.float64)\n        self.bias_ = 0.0\n",
     "        rgen = np.random.RandomState(1)\n"
     "        w_ = rgen.normal(loc=0.0, scale=0.01, size=1 + X.shape[1])\n"
     "        self.weights_, self.bias_ = w_[1:], float(w_[0])\n"))

ROW_BIASES = variant_of(
    "backprop",
    ("        \"b1\": np.zeros(n_hidden),\n", "        \"b1\": np.zeros((1, n_hidden)),\n"),
    ("        \"b2\": np.zeros(n_out),\n", "        \"b2\": np.zeros((1, n_out)),\n"))

NAN_PERCEPTRON = variant_of(
    "perceptron",
    ("        return self\n        # END SOLUTION",
     "        self.weights_ = np.full(X.shape[1], np.nan)\n        return self\n"
     "        # END SOLUTION"),
    ("        return np.where(self.net_input(X) >= 0, 1, 0).astype(int)\n",
     "        return np.zeros(len(X), dtype=int)\n"))


def graded(tmp: Path, files: dict[str, str]):
    tmp.mkdir(parents=True)
    for name, text in files.items():
        (tmp / f"{name}.py").write_text(text, encoding="utf-8")
    result = grade(tmp, exercises=list(files))
    tests = {}
    for name in files:
        exercise = result.exercise(name)
        assert exercise.status == "graded", exercise.message
        tests.update({t.id.split("::")[-1]: t for t in exercise.tests})
    return tests


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    base = tmp_path_factory.mktemp("crafted")
    first = graded(base / "a", {"neuron": NAIVE_SIGMOID_INT_STEP, "backprop": LYING_BACKPROP,
                                "perceptron": RASCHKA_RANDOM_START})
    second = graded(base / "b", {"backprop": ROW_BIASES, "perceptron": NAN_PERCEPTRON})
    return first, second


def lost(tests) -> dict[str, str]:
    return {name: t.message for name, t in tests.items() if t.points < t.max_points}


@pytest.mark.slow
def test_naive_sigmoid_is_charged_once_for_its_overflow_warning(crafted):
    tests = crafted[0]
    message = tests["test_sigmoid_extreme_inputs"].message
    assert tests["test_sigmoid_extreme_inputs"].points == 0
    assert "overflow encountered in exp" in message and "does not overflow" in message
    for name in ("test_sigmoid_values", "test_neuron_single_sample", "test_neuron_batch",
                 "test_dense_forward_values"):
        assert tests[name].points == tests[name].max_points, (name, tests[name].message)


@pytest.mark.slow
def test_integer_step_with_strict_zero_hears_both_and_is_charged_once(crafted):
    tests = crafted[0]
    message = tests["test_step_values"].message
    assert tests["test_step_values"].points == 0
    assert re.search(r"returned dtype int\d+; the docstring asks for \"a float array",
                     message), message
    assert "z >= 0, not z > 0" in message, message
    neuron = {k: v for k, v in tests.items() if v.id.startswith("neuron::")}
    assert set(lost(neuron)) == {"test_sigmoid_extreme_inputs", "test_step_values"}
    for name in ("test_neuron_single_sample", "test_neuron_batch"):
        assert "already counted in test_step_values" in tests[name].message


@pytest.mark.slow
def test_random_start_hears_about_its_start_only(crafted):
    tests = crafted[0]
    message = tests["test_one_epoch_on_and"].message
    assert tests["test_one_epoch_on_and"].points == 0
    assert "does not start at zero" in message, message
    said = message.split(" on the AND gate: ", 1)[1]  # after the call it names
    assert not re.search(r"learning rate|shuffl|\blr\b|sign|>= 0", said), message
    for name, text in lost(tests).items():  # no other test blames the rate or the order
        if tests[name].id.startswith("perceptron::"):
            assert not re.search(r"learning rate|shuffl", text), (name, text)


@pytest.mark.slow
def test_a_backward_consistent_with_a_lying_forward_earns_nothing(crafted):
    tests = crafted[0]
    assert tests["test_forward_probabilities"].points == 0  # the lie itself
    for name in ("test_backward_gradient_check",):
        assert tests[name].points == 0, tests[name].message
        assert "numerical gradient" in tests[name].message


@pytest.mark.slow
def test_row_biases_are_charged_once_and_training_is_measured(crafted):
    tests = crafted[1]
    backprop = {k: v for k, v in tests.items() if v.id.startswith("backprop::")}
    assert set(lost(backprop)) == {"test_init_params_shapes"}, lost(backprop)
    assert "already counted in test_init_params_shapes" in \
        backprop["test_train_solves_nonlinear_problem"].message


@pytest.mark.slow
def test_nan_compared_with_nan_earns_nothing(crafted):
    tests = crafted[1]
    for name in ("test_net_input", "test_predict"):
        assert tests[name].points == 0, (name, tests[name].message)
        assert "NaN" in tests[name].message


# ---- correct variants --------------------------------------------------------------------------
VARIANTS = sorted(d.name for d in VARIANTS_DIR.iterdir()
                  if d.is_dir() and d.name.split("_")[0] in EXERCISES) \
    if VARIANTS_DIR.is_dir() else []


def test_three_correct_variants_per_exercise():
    for exercise in EXERCISES:
        mine = [v for v in VARIANTS if v.startswith(exercise + "_")]
        assert len(mine) >= 3, (exercise, mine)
        for v in mine:
            assert [p.name for p in (VARIANTS_DIR / v).glob("*.py")] == [f"{exercise}.py"]


@pytest.fixture(scope="module")
def variant_results(tmp_path_factory):
    """All variants of an exercise graded in one submission per style index (fewer runs)."""
    base = tmp_path_factory.mktemp("variants")
    results = {}
    by_round: dict[int, dict[str, str]] = {}
    for exercise in EXERCISES:
        styles = [v for v in VARIANTS if v.startswith(exercise + "_")]
        for i, style in enumerate(styles):
            by_round.setdefault(i, {})[style] = exercise
    for i, styles in sorted(by_round.items()):
        folder = base / f"round{i}"
        folder.mkdir()
        for style, exercise in styles.items():
            shutil.copy(VARIANTS_DIR / style / f"{exercise}.py", folder / f"{exercise}.py")
        result = grade(folder, exercises=list(styles.values()))
        for style, exercise in styles.items():
            results[style] = result.exercise(exercise)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("style", VARIANTS)
def test_correct_variant_gets_full_marks(style, variant_results):
    exercise = variant_results[style]
    lost_points = [(t.id, t.message) for t in exercise.tests if t.points < t.max_points]
    assert exercise.status == "graded" and lost_points == [], lost_points
    earned = sum(t.points for t in exercise.tests)  # manual questions are graded by hand
    assert earned == sum(t.max_points for t in exercise.tests) > 0


# ---- partial credit names the metric that fell short, its value and target, nothing else ------
@pytest.mark.slow
def test_partial_credit_names_only_the_metric_that_fell_short(tmp_path):
    source = variant_of("circles", ('        solver="lbfgs",\n', '        solver="adam",\n'),
                        ("        max_iter=2000,\n", "        max_iter=600,\n"))
    tests = graded(tmp_path / "s", {"circles": source})  # adam stops early: ~0.93 accuracy
    partial = {name: t.message for name, t in tests.items() if t.outcome == "partial"}
    assert partial, {name: t.message for name, t in tests.items()}
    for name, message in partial.items():
        assert re.fullmatch(r"Partial credit: \d+% of the points: (\w+) is \d\.\d{3}, full "
                            r"credit from \d\.\d{3}\.", message), (name, message)
    assert "best_accuracy" not in partial.get("test_fit_mlp_fits_the_circles", "")


@pytest.mark.slow
def test_untouched_stubs_earn_nothing_from_the_fallbacks():
    """A prerequisite that failed because nothing is written yet excuses nothing: every
    fallback still calls the student's code, whose NotImplementedError then fails it."""
    result = grade(ROOT / "exercises", exercises=list(EXERCISES))
    for exercise in result.exercises:
        assert exercise.status == "not_attempted", exercise.name
        assert [t.id for t in exercise.tests if t.points > 0] == []


# ---- a start already charged: the rule is measured from the student's own start ---------------
SEEDED_START = ("self.weights_ = np.zeros(X.shape[1], dtype=np.float64)",
                "self.weights_ = np.random.RandomState(1).normal(scale=0.01, size=X.shape[1])")
FLIPPED_RULE = ("update = float(self.lr * (target - y_hat))",
                "update = float(self.lr * (y_hat - target))")


def _perceptron(tmp_path, name, *changes):
    source = (ROOT / "solutions" / "perceptron.py").read_text()
    for old, new in changes:
        assert old in source
        source = source.replace(old, new)
    folder = tmp_path / name
    folder.mkdir()
    (folder / "perceptron.py").write_text(source)
    result = grade(folder, exercises=["perceptron"])
    return {t.id.split("::")[1]: t for t in result.exercises[0].tests}


@pytest.mark.slow
def test_a_seeded_start_is_charged_once_and_a_broken_rule_earns_no_excuse(tmp_path):
    """Raschka-style seeded random weights: only the start is charged, and the rule on random
    data is measured from that start. The same start with a broken rule earns nothing there:
    a test that cannot measure its subject never passes by excuse."""
    seeded = _perceptron(tmp_path, "seeded", SEEDED_START)
    lost = sorted(name for name, t in seeded.items() if t.points < t.max_points)
    assert lost == ["test_one_epoch_on_and"], lost
    assert "already counted in test_one_epoch_on_and" in \
        seeded["test_rule_on_random_separable_data"].message
    broken = _perceptron(tmp_path, "broken", SEEDED_START, FLIPPED_RULE)
    assert broken["test_rule_on_random_separable_data"].points == 0
