"""Data and the one expensive step of the MNIST suite: training the student's model once.

The training labels go to the student's worker (it needs them to learn); the held-out labels
never do: test images are preprocessed with dummy labels and scored here with scikit-learn.
"""
import numpy as np
import pytest

from grader.checks import CheckFailed
from grader.proxy import StudentProblem
from grader.suites.keras_model import (gives_probabilities, loss_spec, network_scores, softmax,
                                         training_loss)
from grader.suites.outcome import Once


@pytest.fixture(scope="package")
def mnist(data_source):
    """MNIST from grader.datasets; its source id picks the thresholds (full or offline subset).

    The held-out images are public with their labels, so the worker gets them varied
    (grader.datasets.held_out_mnist: random order, noise from the installation's secret key)
    and no table of public images answers them; their labels stay here as ever.
    """
    from grader.datasets import held_out_mnist, load_mnist

    data = held_out_mnist(load_mnist())
    data_source["mnist"] = data.source
    return data


@pytest.fixture(scope="package")
def training_measured():
    """What ``trained`` measured of the training itself: the loss of the network's own weights
    on its first training rows before and after train() (keras_model.training_loss), or the
    reason it could not. Filled when the pipeline runs."""
    return {}


@pytest.fixture(scope="package")
def trained(student, mnist, training_measured):
    """(model, history) from the student's own pipeline: preprocess, build_model, train (5 epochs).

    Run once; a failure is replayed inside every test that needs the model, so each of them
    fails with the student-facing message instead of erroring in setup. The History is the
    student's report; ``training_measured`` gets the loss the grader computes from the
    network's weights before and after train(), so a History without training earns nothing.
    """
    def measure(model, X, when):
        if "error" in training_measured:
            return
        try:
            training_measured[when] = training_loss(model, X, mnist.y_train,
                                                    "train(model, X, Y)", "categorical")
        except (CheckFailed, StudentProblem) as exc:
            training_measured["error"] = str(exc)
        except (ValueError, TypeError, ArithmeticError) as exc:  # layers that do not chain
            training_measured["error"] = (f"the network's forward pass could not be computed "
                                          f"from its weights ({type(exc).__name__})")

    def pipeline():
        X, Y = student.preprocess(mnist.x_train, mnist.y_train)
        model = student.build_model()
        measure(model, X, "before")
        history = student.train(model, X, Y)  # the API's defaults: epochs=5, batch_size=32
        measure(model, X, "after")
        return model, history
    return Once(pipeline)


def held_out_features(student, mnist, X_test):
    """The held-out rows the network is scored on. preprocess() is student code, so when it
    does what the docstring fixes (flattened 784-pixel rows / 255) on training images, the
    held-out rows are made here the same way: a preprocess() that treats held-out images
    differently (e.g. swaps each for a training image it memorised) changes nothing. With a
    preprocess() mistake (already charged), the student's own rows keep model and data alike."""
    images = mnist.x_train[:32]
    X, _ = student.preprocess(images, mnist.y_train[:32])
    flat = images.reshape(len(images), -1).astype(np.float64)
    if isinstance(X, np.ndarray) and X.shape == flat.shape and X.dtype.kind == "f" \
            and np.allclose(X, flat / 255.0, rtol=1e-6, atol=1e-6):
        return (mnist.x_test.reshape(len(mnist.x_test), -1) / 255.0).astype(np.float32)
    return X_test


@pytest.fixture(scope="package")
def held_out_probs(student, mnist, trained):
    """Predicted class probabilities for the held-out images (their labels stay here).

    A model that outputs logits and is compiled with from_logits=True (the softmax lives in
    its loss, as the docstring allows) gets that softmax applied here.
    """
    def predict():
        model, _ = trained.get()
        dummy = np.zeros(len(mnist.x_test), dtype=int)
        X_test, _ = student.preprocess(mnist.x_test, dummy)
        X_test = held_out_features(student, mnist, X_test)
        # The network's forward pass computed HERE from its layers' weights (numpy), checked
        # against model.predict on a probe batch: the score is the network's, not whatever a
        # model class's predict() says (a nearest-neighbour lookup, a table).
        scores = network_scores(model, X_test, "model.predict(X)", (784,))
        try:
            from_logits = loss_spec(model, "build_model()").from_logits
        except CheckFailed:
            from_logits = False
        if from_logits and isinstance(scores, np.ndarray) and scores.ndim == 2 \
                and scores.dtype.kind == "f" and not gives_probabilities(scores):
            return softmax(scores)
        return scores
    return Once(predict)
