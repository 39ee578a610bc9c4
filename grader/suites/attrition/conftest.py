"""Data and the one expensive step of the attrition suite: the student's pipeline, run once.

Student code gets the table in the layout of IBM's WA_Fn-UseC_-HR-Employee-Attrition.csv
(35 columns, int64 codes for the ordinal answers), the file courses hand out; it is rebuilt
from the pinned vendored copy by grader.datasets.load_attrition (see docs/DATA.md).
Held-out labels never reach the student's worker: the test frame is sent without its
"Attrition" column and the predictions are scored here with scikit-learn.
"""
from types import SimpleNamespace

import numpy as np
import pytest

from grader.checks import CheckFailed, describe, expect_dtype, expect_shape, expect_true
from grader.proxy import RemoteHandle, StudentProblem
from grader.suites.keras_model import network_scores, training_loss
from grader.suites.outcome import Once

SPLIT_SEED = 0


@pytest.fixture(scope="package")
def attrition(data_source):
    """The IBM HR table in IBM's layout, split 80/20 (stratified, seed 0), with trusted 0/1
    targets computed here. IBM's table is public with its labels, so the held-out rows are
    varied (grader.datasets.vary_attrition_rows: random order, jittered continuous columns,
    fresh EmployeeNumber, from the installation's secret key) and match no public row."""
    from grader.datasets import (attrition_split, held_out_rng, load_attrition,
                                 vary_attrition_rows)

    df = load_attrition(layout="ibm")
    data_source["attrition"] = str(df.attrs.get("source", "vendored"))
    train_df, test_df = attrition_split(df, test_size=0.2, seed=SPLIT_SEED)
    test_df = vary_attrition_rows(test_df, held_out_rng("attrition"))
    return SimpleNamespace(
        df=df, train=train_df, test=test_df,
        test_features=test_df.drop(columns=["Attrition"]),
        y_train=(train_df["Attrition"] == "Yes").to_numpy().astype(int),
        y_test=(test_df["Attrition"] == "Yes").to_numpy().astype(int),
    )


def features(student, attrition):
    """The student's (X_train, X_test), checked enough to train on."""
    call = "preprocess(train_df, test_df)"
    result = student.preprocess(attrition.train, attrition.test_features)
    expect_true(isinstance(result, (tuple, list)) and len(result) == 2,
                f"{call}: expected a pair (X_train, X_test)")
    for name, value in zip(("X_train", "X_test"), result):
        if isinstance(value, RemoteHandle) and str(value._type_name).startswith("sklearn."):
            raise CheckFailed(
                f"{call}: {name} is a scikit-learn {value._type_name.rsplit('.', 1)[-1]}, "
                "not the transformed data — return transformer.fit_transform(train) and "
                "transformer.transform(test), 2-D float arrays")
        expect_true(isinstance(value, np.ndarray) and value.ndim == 2,
                    f"{call}: {name} should be a 2-D float array (rows x features), got "
                    f"{describe(value)} — return numpy arrays (e.g. frame.to_numpy())")
        expect_dtype(value, "f", call, name=name)
    X_train = expect_shape(result[0], (len(attrition.train), result[0].shape[1]), call,
                           name="X_train")
    X_test = expect_shape(result[1], (len(attrition.test), X_train.shape[1]), call,
                          name="X_test")
    return X_train, X_test


def expect_keras_model(model, call):
    """``model`` unless it is plainly not a Keras model: a scikit-learn estimator or Pipeline
    returned where the stub asks for a Keras model gets a sentence, not an AttributeError in
    a later check. Any other object in the worker passes (a keras.Model subclass of the
    student's own is a Keras model too); the checks that use it say what is missing."""
    if not isinstance(model, RemoteHandle):
        raise CheckFailed(f"{call}: expected a compiled Keras model, got {describe(model)} — "
                          "return the model you built and compiled")
    kind = str(model._type_name)
    if kind.startswith("sklearn."):
        name = kind.rsplit(".", 1)[-1]
        raise CheckFailed(
            f"{call}: returned a scikit-learn {name}, not a Keras model — this exercise asks "
            "for a compiled keras.Sequential (Dense(16, relu) -> Dense(1, sigmoid)); the "
            "scikit-learn scaling and encoding belong in preprocess(), which returns arrays")
    return model


@pytest.fixture(scope="package")
def keras_model_check():
    """:func:`expect_keras_model`, for the tests of the package (a fixture, because the
    suite's test modules do not import the conftest)."""
    return expect_keras_model


@pytest.fixture(scope="package")
def student_features(student, attrition):
    """Once: the student's (X_train, X_test) for the standard split."""
    return Once(lambda: features(student, attrition))


@pytest.fixture(scope="package")
def training_measured():
    """The loss of the network's own weights on the training rows before and after train()
    (keras_model.training_loss), or why it could not be measured; filled by ``trained``."""
    return {}


@pytest.fixture(scope="package")
def trained(student, attrition, student_features, training_measured):
    """The student's pipeline: preprocess, build_model, train (30 epochs), predict held-out rows.

    Training uses the trusted 0/1 targets, so a bug in encode_target costs points in its own
    test only. Returns a :class:`Once` whose value is (model, history, held-out probabilities).
    """
    def measure(model, X, when):
        # the History is the student's report; this is the grader's own measurement
        if "error" in training_measured:
            return
        try:
            training_measured[when] = training_loss(model, X, attrition.y_train,
                                                    "train(model, X, y)", "binary", rows=2000)
        except (CheckFailed, StudentProblem) as exc:
            training_measured["error"] = str(exc)
        except (ValueError, TypeError, ArithmeticError) as exc:  # layers that do not chain
            training_measured["error"] = (f"the network's forward pass could not be computed "
                                          f"from its weights ({type(exc).__name__})")

    def pipeline():
        X_train, X_test = student_features.get()
        model = expect_keras_model(student.build_model(X_train.shape[1]),
                                   f"build_model({X_train.shape[1]})")
        measure(model, X_train, "before")
        history = student.train(model, X_train, attrition.y_train)  # defaults: 30 epochs, batch 32
        measure(model, X_train, "after")
        # The network's forward pass on the student's held-out features, computed HERE from
        # its Dense layers' weights (numpy) and checked against model.predict on a probe
        # batch: the score is the network's, not whatever a model class's predict() says.
        # (The features themselves come from the student's preprocess(): see docs/SECURITY.md.)
        probs = network_scores(model, X_test, "model.predict(X_test)", (X_train.shape[1],))
        return model, history, probs
    return Once(pipeline)
