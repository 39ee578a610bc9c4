"""Data and the one expensive step of the cnn suite: training the student's CNN once.

The training images and their one-hot labels go to the student's worker (it needs them to
learn), prepared here as train_cnn's docstring fixes them: (m, 28, 28, 1) floats in [0, 1] and
one-hot rows (m, 10). The held-out labels never do: the held-out images are scored here.
"""
import numpy as np
import pytest

from grader.suites.outcome import Once

# The suite trains with these, not train_cnn's defaults, to keep grading fast (the docstring
# tells the student to use the epochs and batch_size given).
TRAIN_EPOCHS = 8
TRAIN_BATCH_SIZE = 32


def training_inputs(data):
    """(X, Y) as train_cnn's docstring states them: images (m, 28, 28, 1) / 255 as float32,
    one-hot labels (m, 10) as float32."""
    X = (np.asarray(data.x_train, dtype=np.float32)[..., None] / 255.0).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[np.asarray(data.y_train)]
    return X, Y


def held_out_inputs(data):
    """The held-out images (varied by grader.datasets.held_out_mnist) as the model takes them."""
    return (np.asarray(data.x_test, dtype=np.float32)[..., None] / 255.0).astype(np.float32)


@pytest.fixture(scope="package")
def mnist(data_source):
    """MNIST from grader.datasets, held-out images varied with the installation's key (as in
    the mnist_ann suite); its source id picks the thresholds (full or offline subset)."""
    from grader.datasets import held_out_mnist, load_mnist

    data = held_out_mnist(load_mnist())
    data_source["mnist"] = data.source
    return data


@pytest.fixture(scope="package")
def trained(student, mnist):
    """(model, history): build_cnn() trained by train_cnn() on the training images, with the
    suite's epochs and batch size. Run once; a failure is replayed inside every test that
    needs the model, so each fails with the student-facing message."""
    def pipeline():
        X, Y = training_inputs(mnist)
        model = student.build_cnn()
        history = student.train_cnn(model, X, Y, epochs=TRAIN_EPOCHS,
                                    batch_size=TRAIN_BATCH_SIZE)
        return model, history
    return Once(pipeline)
