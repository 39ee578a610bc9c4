"""Hidden suite: a Keras ANN for handwritten digits.

The model is built and trained in the student's worker and reached through a remote handle;
this module never imports TensorFlow. Accuracy is computed here from model.predict(...).
"""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix

from grader.checks import (
    expect_array,
    expect_probabilities,
    expect_shape,
    expect_true,
    matches,
)
from grader.suites.keras_model import (
    dense_stack,
    history_series,
    loss_name,
    optimizer_name,
)

EPOCHS = 5             # train()'s default; the suite relies on it
N_PARAMS = 784 * 128 + 128 + 128 * 10 + 10   # 101,770


def sample(mnist, n=20):
    return mnist.x_train[:n], mnist.y_train[:n]


def pair(result, call):
    expect_true(isinstance(result, (tuple, list)) and len(result) == 2,
                f"{call}: expected a pair (X, Y)")
    return result


@pytest.mark.public
@pytest.mark.points(2)
def test_preprocess_images(student, mnist):
    """preprocess() flattens the images to float32 rows of 784 pixels scaled to [0, 1]"""
    images, labels = sample(mnist)
    call = "preprocess(images, labels)"
    X, _ = pair(student.preprocess(images, labels), call)
    flat = images.reshape(len(images), -1).astype(np.float64)
    X = expect_shape(X, (len(images), 784), call, name="X")
    expect_true(X.dtype == np.float32,
                f"{call}: X has dtype {X.dtype}; use float32 (.astype('float32')), "
                "the precision Keras computes in")
    expect_array(X, flat / 255.0, call, name="X", rtol=1e-6, atol=1e-6, check_dtype=False,
                 diagnose=[matches(flat, "divide the pixel values by 255 so they lie in [0, 1]"),
                           matches(flat / flat.max(axis=1, keepdims=True),
                                   "divide by 255 for every image, not by each image's own "
                                   "maximum")])


@pytest.mark.public
@pytest.mark.points(2)
def test_preprocess_labels(student, mnist):
    """preprocess() turns the labels into one-hot float32 rows of length 10"""
    images, labels = sample(mnist)
    call = "preprocess(images, labels)"
    _, Y = pair(student.preprocess(images, labels), call)
    if isinstance(Y, np.ndarray) and Y.shape == (len(labels),):
        expect_true(False, f"{call}: Y has shape {Y.shape}, the plain labels; expected one-hot "
                           f"rows of shape ({len(labels)}, 10) — "
                           "use keras.utils.to_categorical(labels, 10)")
    Y = expect_shape(Y, (len(labels), 10), call, name="Y")
    expect_true(Y.dtype == np.float32, f"{call}: Y has dtype {Y.dtype}; use float32")
    expect_array(Y, np.eye(10)[labels], call, name="Y", check_dtype=False,
                 hints=["row i should be all zeros except a 1 in column labels[i]"])


@pytest.mark.public
@pytest.mark.points(2)
def test_model_structure(student):
    """build_model() is 784 inputs -> Dense(128, relu) -> Dense(10, softmax)"""
    call = "build_model()"
    model = student.build_model()
    stack = dense_stack(model, call)
    expect_true(len(stack) == 2,
                f"{call}: found {len(stack)} Dense layers {stack}; expected two, "
                "Dense(128, relu) then Dense(10, softmax)")
    expect_true(stack[0] == (128, "relu"),
                f"{call}: the hidden layer is Dense({stack[0][0]}, {stack[0][1]}); expected "
                "Dense(128, activation='relu')")
    expect_true(stack[1] == (10, "softmax"),
                f"{call}: the output layer is Dense({stack[1][0]}, {stack[1][1]}); expected "
                "Dense(10, activation='softmax'), one probability per digit")
    shape = model.input_shape
    expect_true(isinstance(shape, (tuple, list)) and len(shape) == 2 and shape[-1] == 784,
                f"{call}: the model takes inputs of shape {shape}; expected (None, 784) — "
                "start with keras.Input((784,))")


def test_parameter_count(student):
    """build_model() has 101,770 parameters (784*128 + 128 + 128*10 + 10)"""
    count = student.build_model().count_params()
    expect_true(int(count) == N_PARAMS,
                f"build_model(): count_params() is {int(count):,}; 784 -> 128 -> 10 with biases "
                f"has {N_PARAMS:,} — are the layer sizes and the input size right?")


def test_compiled_loss_and_optimizer(student):
    """build_model() is compiled with Adam and the categorical cross-entropy"""
    call = "build_model()"
    model = student.build_model()
    loss = loss_name(model, call)
    expect_true(loss == "categoricalcrossentropy",
                f"{call}: compiled with loss {loss!r}; one-hot targets need "
                "loss='categorical_crossentropy'"
                + (" (sparse_categorical_crossentropy is for integer labels)"
                   if "sparse" in loss else ""))
    optimizer = optimizer_name(model, call)
    expect_true(optimizer == "adam", f"{call}: compiled with optimizer {optimizer!r}; "
                                     "use optimizer='adam'")


@pytest.mark.points(2)
def test_training_history(trained, record):
    """train() runs 5 epochs by default and the training loss goes down"""
    call = "train(model, X, Y)"
    _, history = trained.get()
    series = history_series(history, call)
    losses = series["loss"]
    record.figure("learning_curves", {"series": series,
                                      "title": "Training curves of train(model, X, Y)"})
    expect_true(len(losses) == EPOCHS,
                f"{call}: the History has {len(losses)} epochs; the default is epochs=5 — "
                "pass epochs=epochs to model.fit")
    expect_true(all(np.isfinite(losses)), f"{call}: the loss became NaN or inf — are the "
                                          "pixels scaled to [0, 1]?")
    expect_true(losses[-1] < losses[0],
                f"{call}: the loss did not fall ({losses[0]:.3f} -> {losses[-1]:.3f})")


def test_predictions_are_probabilities(held_out_probs, mnist):
    """the trained model outputs 10 class probabilities per image"""
    probs = expect_shape(held_out_probs.get(), (len(mnist.x_test), 10), "model.predict(X)")
    expect_probabilities(probs, "model.predict(X)")


@pytest.mark.points(8)
def test_held_out_accuracy(held_out_probs, mnist, threshold, record):
    """the trained model recognises held-out digits it never saw"""
    probs = expect_shape(held_out_probs.get(), (len(mnist.x_test), 10), "model.predict(X)")
    expect_true(np.all(np.isfinite(probs)), "model.predict(X): the predictions contain NaN")
    predicted = probs.argmax(axis=1)
    accuracy = accuracy_score(mnist.y_test, predicted)
    record.metric("accuracy", accuracy)
    record.figure("confusion_matrix", {
        "labels": list(range(10)),
        "matrix": confusion_matrix(mnist.y_test, predicted, labels=range(10)).tolist(),
        "title": f"Held-out digits ({len(predicted):,} images)"})
    threshold("accuracy", accuracy)
