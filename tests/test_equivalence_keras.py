"""The equivalence rule (docs/SUITES.md): every formulation the docstring allows grades the same.

Three layers of evidence:
- the readers of grader/suites/keras_model.py on real Keras models written in many styles,
  in this process (no training: building, compiling and one predict each), so the serialised
  forms they parse are the installed Keras's own;
- the circles suite's readers (the fitted MLP inside a Pipeline, the grid layout);
- slow: every correct variant submission in tests/submissions/variants/ graded as a whole
  through grader.grading.grade, which must give it full marks on its exercise.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.checks import CheckFailed
from grader.grading import grade

VARIANTS_DIR = Path(__file__).parent / "submissions" / "variants"
EXERCISES = ("mnist_ann", "circles")      # the variants of other exercises have their tests
VARIANTS = sorted(p.name for p in VARIANTS_DIR.iterdir()
                  if p.is_dir() and p.name.startswith(tuple(f"{e}_" for e in EXERCISES)))


def exercise_of(variant: str) -> str:
    """tests/submissions/variants/<exercise>_<style>/ holds <exercise>.py."""
    for name in EXERCISES:
        if variant.startswith(name + "_"):
            return name
    raise AssertionError(f"{variant}: name a variant <exercise>_<style>")


# ---- the variant submissions ----------------------------------------------------------------

def test_variants_cover_each_exercise_in_three_styles():
    per_exercise: dict[str, int] = {}
    for variant in VARIANTS:
        per_exercise[exercise_of(variant)] = per_exercise.get(exercise_of(variant), 0) + 1
    assert per_exercise.get("mnist_ann", 0) >= 3 and per_exercise.get("circles", 0) >= 3, \
        per_exercise


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_is_one_exercise_file(variant):
    files = sorted(p.name for p in (VARIANTS_DIR / variant).iterdir()
                   if p.name != "__pycache__")
    assert files == [f"{exercise_of(variant)}.py"], files
    source = (VARIANTS_DIR / variant / files[0]).read_text(encoding="utf-8")
    assert "NotImplementedError" not in source and "BEGIN SOLUTION" not in source


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_gets_full_marks(variant):
    name = exercise_of(variant)
    result = grade(VARIANTS_DIR / variant, exercises=[name])
    ex = result.exercise(name)
    assert ex.status == "graded", ex.message
    lost = [(t.id, t.points, t.max_points, t.message) for t in ex.tests
            if t.points < t.max_points]
    # full marks on the tests; written answers (pending for a hand grader) are not graded here
    earned = sum(t.points for t in ex.tests)
    assert lost == [] and earned == sum(t.max_points for t in ex.tests) > 0, lost
    assert ex.score == earned


# ---- keras_model's readers on real Keras models -----------------------------------------------

keras = pytest.importorskip("keras")
layers = keras.layers

from grader.suites.keras_model import (  # noqa: E402
    canonical,
    compile_config,
    dense_stack,
    gives_probabilities,
    infer_activations,
    loss_spec,
    optimizer_name,
    output_verdict,
    probe,
    read_model,
    softmax,
)


def tutorial_nested():
    import tensorflow as tf
    model = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(784,)),
                                 tf.keras.layers.Dense(128, activation="relu"),
                                 tf.keras.layers.Dropout(0.2),
                                 tf.keras.layers.Dense(10)])
    outer = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
    outer.compile(optimizer="adam", loss=tf.keras.losses.CategoricalCrossentropy())
    return outer


def activation_layers():
    model = keras.Sequential([keras.Input((784,)), layers.Dense(128), layers.Activation("relu"),
                              layers.Dense(10), layers.Activation("softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss=keras.losses.categorical_crossentropy)
    return model


def tf_functions_unbuilt():
    import tensorflow as tf
    model = keras.Sequential([layers.Dense(128, activation=tf.nn.relu),
                              layers.Dense(10, activation=tf.nn.softmax)])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def functional_logits():
    inputs = keras.Input((784,))
    hidden = layers.ReLU()(layers.Dense(128)(inputs))
    outputs = layers.Dense(10)(layers.Dropout(0.3)(hidden))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, name="xent"))
    return model


def functional_nested():
    inner = keras.Sequential([keras.Input((784,)), layers.Dense(128, activation="relu")])
    inputs = keras.Input((784,))
    outputs = layers.Dense(10, activation=keras.activations.softmax)(inner(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=["categorical_crossentropy"])
    return model


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(128, activation="relu")
        self.out = layers.Dense(10)

    def call(self, x):
        return keras.activations.softmax(self.out(self.hidden(x)))


def subclassed():
    model = Subclassed()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


SAME_NETWORK = [tutorial_nested, activation_layers, tf_functions_unbuilt, functional_logits,
                functional_nested]


@pytest.mark.parametrize("build", SAME_NETWORK, ids=lambda f: f.__name__)
def test_every_formulation_reads_as_the_same_network(build):
    model = build()
    out = probe(model, (784,), "build_model()")        # builds the unbuilt one
    reading = read_model(model, "build_model()")
    assert reading.dense == [(128, "relu"), (10, reading.dense[-1][1])]
    assert reading.extras == []
    assert model.count_params() == 101_770
    loss = loss_spec(model, "build_model()")
    assert loss.name == "categoricalcrossentropy"
    assert optimizer_name(model, "build_model()") == "adam"
    assert out.shape == (4, 10)
    verdict = output_verdict(reading.dense[-1][1], out, loss)
    assert verdict == ("logits" if build is functional_logits else "softmax")
    if build is not functional_logits:
        assert reading.dense[-1][1] == "softmax"


class ActivationsInCall(keras.Model):
    def __init__(self, hidden="relu"):
        super().__init__()
        self.hidden, self.activation = layers.Dense(128), hidden
        self.drop = layers.Dropout(0.5)
        self.out = layers.Dense(10)

    def call(self, x, training=False):
        h = keras.activations.get(self.activation)(self.hidden(x))
        return keras.activations.softmax(self.out(self.drop(h, training=training)))


def test_a_subclassed_model_is_read_through_its_layers_and_its_output():
    model = subclassed()
    out = probe(model, (784,), "build_model()")
    reading = read_model(model, "build_model()")
    assert reading.subclassed and reading.dense == [(128, "relu"), (10, "linear")]
    assert gives_probabilities(out)                  # the softmax inside call() is seen
    assert output_verdict("linear", out, loss_spec(model, "build_model()")) == "softmax"
    assert infer_activations(reading, (784,), out, "m").dense == [(128, "relu"),
                                                                  (10, "softmax")]


@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_activations_applied_in_call_are_found_from_the_weights(hidden):
    model = ActivationsInCall(hidden)
    out = probe(model, (784,), "m")
    reading = read_model(model, "m")
    assert reading.dense == [(128, "linear"), (10, "linear")]
    assert infer_activations(reading, (784,), out, "m").dense == [(128, hidden),
                                                                  (10, "softmax")]
    plain = read_model(activation_layers(), "m")     # not subclassed: the layers say it all
    assert infer_activations(plain, (784,), out, "m") is plain


def test_mistakes_still_read_as_mistakes():
    def compiled(model, **kwargs):
        model.compile(optimizer=kwargs.get("optimizer", "adam"),
                      loss=kwargs.get("loss", "categorical_crossentropy"))
        return model

    no_softmax = compiled(keras.Sequential([keras.Input((784,)), layers.Dense(128, "relu"),
                                            layers.Dense(10)]))
    out = probe(no_softmax, (784,), "m")
    assert output_verdict("linear", out, loss_spec(no_softmax, "m")) == "no-softmax"

    double = compiled(keras.Sequential([keras.Input((784,)), layers.Dense(10, "softmax")]),
                      loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    out = probe(double, (784,), "m")
    assert output_verdict("softmax", out, loss_spec(double, "m")) == "double-softmax"

    sigmoid = compiled(keras.Sequential([keras.Input((784,)), layers.Dense(10, "sigmoid")]),
                       loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    out = probe(sigmoid, (784,), "m")
    assert output_verdict("sigmoid", out, loss_spec(sigmoid, "m")) == "no-softmax"

    twice = keras.Sequential([keras.Input((784,)), layers.Dense(10, activation="softmax"),
                              layers.Softmax()])
    assert dense_stack(twice, "m") == [(10, "softmax then softmax")]
    extra = keras.Sequential([keras.Input((784,)), layers.Dense(128, "relu"),
                              layers.BatchNormalization(), layers.Dense(10, "softmax")])
    assert read_model(extra, "m").extras == ["BatchNormalization"]

    sparse = compiled(keras.Sequential([keras.Input((784,)), layers.Dense(10, "softmax")]),
                      loss=keras.losses.SparseCategoricalCrossentropy(), optimizer="sgd")
    assert loss_spec(sparse, "m").name == "sparsecategoricalcrossentropy"
    assert optimizer_name(sparse, "m") == "sgd"


def test_an_uncompiled_model_is_a_sentence_not_a_crash():
    model = keras.Sequential([keras.Input((784,)), layers.Dense(10, "softmax")])
    with pytest.raises(CheckFailed, match="not compiled"):
        compile_config(model, "build_model()")
    with pytest.raises(CheckFailed, match="not a Keras model|did not return a Keras model"):
        read_model(np.zeros(3), "build_model()")


def test_names_and_probabilities():
    assert canonical("softmax_v2") == canonical("Softmax") == "softmax"
    assert canonical("categorical_crossentropy") == canonical("CategoricalCrossentropy")
    scores = np.array([[1.0, 2.0, -3.0], [0.0, 0.0, 0.0]])
    probs = softmax(scores)
    assert gives_probabilities(probs) and not gives_probabilities(scores)
    assert np.allclose(probs.sum(axis=1), 1) and probs[0].argmax() == 1


# ---- circles: the fitted network, whatever wraps it; the grid in either layout ---------------

def test_circles_reads_the_fitted_network():
    from sklearn.datasets import make_circles
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from grader.suites.circles.readers import mlp_of

    X, y = make_circles(60, noise=0.1, factor=0.5, random_state=0)
    for sizes in (5, (5,), [5]):
        fitted = MLPClassifier(sizes, max_iter=50, random_state=0).fit(X, y)
        assert mlp_of(fitted, "fit_mlp")[1:] == ((5,), "relu")
    pipeline = make_pipeline(StandardScaler(),
                             MLPClassifier([5], max_iter=50, random_state=0)).fit(X, y)
    assert mlp_of(pipeline, "fit_mlp")[1] == (5,)
    two = MLPClassifier((5, 5), max_iter=50, random_state=0).fit(X, y)
    assert mlp_of(two, "fit_mlp")[1] == (5, 5)
    with pytest.raises(CheckFailed, match="not been fitted"):
        mlp_of(MLPClassifier(5), "fit_mlp")
    with pytest.raises(CheckFailed, match="expected a fitted MLPClassifier"):
        mlp_of(np.zeros(3), "fit_mlp")


def test_circles_grid_layouts():
    from grader.suites.circles.readers import grid_layout

    a, b = np.linspace(0, 1, 5), np.linspace(-1, 2, 4)
    assert grid_layout(*np.meshgrid(a, b)) == "xy"
    assert grid_layout(*np.meshgrid(a, b, indexing="ij")) == "ij"
    xx, yy = np.meshgrid(a, a)
    assert grid_layout(xx, xx.copy()) is None
    assert grid_layout(*np.mgrid[0:1:5j, -1:2:5j]) == "ij"


def test_what_is_not_a_keras_model_reads_as_a_sentence():
    class Odd:                      # a layer whose config is not what Keras would send
        _type_name = "student.Odd"

        def get_config(self):
            return {"units": "many", "activation": object()}

    class FakeModel:
        _type_name = "keras.src.models.sequential.Sequential"
        layers = [Odd()]

    for returned in (None, {"layers": 3}, 42):
        with pytest.raises(CheckFailed, match="did not return a Keras model"):
            read_model(returned, "build_model()")
    reading = read_model(FakeModel(), "build_model()")
    assert reading.dense == [] and reading.extras == ["Odd"] and not reading.subclassed
    with pytest.raises(CheckFailed, match="did not return a Keras model"):
        probe(np.zeros(3), (784,), "build_model()")
