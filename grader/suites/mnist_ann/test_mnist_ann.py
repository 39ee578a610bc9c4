"""Hidden suite: a Keras ANN for handwritten digits.

The model is built and trained in the student's worker and reached through a remote handle;
this module never imports TensorFlow. Accuracy is computed here from the network's forward
pass, recomputed in numpy from its layers' weights (conftest.held_out_probs).
"""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix

from grader.checks import (
    CheckFailed,
    expect_array,
    expect_probabilities,
    expect_shape,
    expect_true,
    matches,
)
from grader.proxy import StudentError
from grader.suites.keras_model import (
    dense_forward,
    expect_training_lowered_loss,
    history_series,
    infer_activations,
    loss_spec,
    optimizer_name,
    output_verdict,
    probe,
    probe_inputs,
    read_model,
    to_numpy,
)

try:
    from grader.suites.sample_grid import sample_predictions
except ImportError:  # pragma: no cover
    sample_predictions = None

EPOCHS = 5             # train()'s default; the suite relies on it
INPUTS = (784,)        # preprocess() gives rows of 784 pixels; the model takes them
N_PARAMS = 784 * 128 + 128 + 128 * 10 + 10   # 101,770
INPUT_HINT = ("the model must take the rows of 784 pixels that preprocess() returns: start it "
              "with keras.Input((784,)) (or give no input shape)")
SUBCLASS_NOTE = (" (your model subclasses keras.Model: the grader reads the Dense layers it "
                 "creates, in order, and the activations that reproduce its output; if call() "
                 "does more than Dense layers and activations, give the layers their "
                 "activation= arguments and keep call() a plain chain)")


def sample(mnist, n=20):
    return mnist.x_train[:n], mnist.y_train[:n]


def pair(result, call):
    """(X, Y); TensorFlow tensors (tf.one_hot) read as the arrays they hold."""
    expect_true(isinstance(result, (tuple, list)) and len(result) == 2,
                f"{call}: expected a pair (X, Y)")
    return to_numpy(result[0]), to_numpy(result[1])


def built_model(student, call):
    """build_model(), read as layers and run once on a probe batch (which also builds a model
    declared without an input shape, as its first fit would)."""
    model = student.build_model()
    reading = read_model(model, call)
    out = probe(model, INPUTS, call, hint=INPUT_HINT)
    return model, infer_activations(reading, INPUTS, out, call), out


def count_params(model, call):
    try:
        return int(model.count_params())
    except (StudentError, AttributeError, TypeError, ValueError) as exc:
        raise CheckFailed(f"{call}: model.count_params() failed ("
                          f"{getattr(exc, 'type_name', type(exc).__name__)}) — return a Keras "
                          "model that takes rows of 784 pixels") from None


@pytest.mark.public
@pytest.mark.points(2)
def test_preprocess_images(student, mnist):
    """preprocess() flattens the images to float rows of 784 pixels scaled to [0, 1]"""
    images, labels = sample(mnist)
    call = "preprocess(images, labels)"
    X, _ = pair(student.preprocess(images, labels), call)
    flat = images.reshape(len(images), -1).astype(np.float64)
    if isinstance(X, np.ndarray) and X.shape == images.shape:
        expect_true(False, f"{call}: X has shape {X.shape}, the images as they came; expected "
                           f"({len(images)}, 784) — preprocess() flattens each image to one row "
                           "of 784 pixels (images.reshape(len(images), -1)), as the docstring "
                           "asks; a Flatten layer in the model does not replace this")
    X = expect_shape(X, (len(images), 784), call, name="X")
    expect_true(X.dtype.kind == "f",
                f"{call}: X has dtype {X.dtype}; expected floats (float32 or float64) — "
                "convert with .astype('float32') before dividing by 255")
    expect_array(X, flat / 255.0, call, name="X", rtol=1e-6, atol=1e-6, check_dtype=False,
                 diagnose=[matches(flat, "divide the pixel values by 255 so they lie in [0, 1]"),
                           matches(flat / flat.max(axis=1, keepdims=True),
                                   "divide by 255 for every image, not by each image's own "
                                   "maximum")])


@pytest.mark.public
@pytest.mark.points(2)
def test_preprocess_labels(student, mnist):
    """preprocess() turns the labels into one-hot rows of length 10"""
    images, labels = sample(mnist)
    call = "preprocess(images, labels)"
    _, Y = pair(student.preprocess(images, labels), call)
    if isinstance(Y, np.ndarray) and Y.shape == (len(labels),):
        expect_true(False, f"{call}: Y has shape {Y.shape}, the plain labels; expected one-hot "
                           f"rows of shape ({len(labels)}, 10), as the docstring asks (the "
                           "categorical cross-entropy takes one-hot targets) — use "
                           "keras.utils.to_categorical(labels, 10)")
    Y = expect_shape(Y, (len(labels), 10), call, name="Y",
                     hints=["pass num_classes=10: to_categorical(labels) alone makes as many "
                            "columns as the largest label in the batch + 1"])
    expect_true(Y.dtype.kind in "fiu",
                f"{call}: Y has dtype {Y.dtype}; expected numbers (floats: float32 or float64)")
    expect_array(Y, np.eye(10)[labels], call, name="Y", check_dtype=False,
                 hints=["row i should be all zeros except a 1 in column labels[i]"])


@pytest.mark.public
@pytest.mark.points(2)
def test_model_structure(student):
    """build_model() is 784 inputs -> Dense(128, relu) -> Dense(10, softmax)"""
    call = "build_model()"
    model, reading, out = built_model(student, call)
    note = SUBCLASS_NOTE if reading.subclassed else ""
    expect_true(out.ndim == 2 and out.shape == (len(out), 10),
                f"{call}: for a batch of {len(out)} images the model outputs shape {out.shape}; "
                f"expected ({len(out)}, 10), one output per digit")
    stack = reading.dense
    expect_true(len(stack) == 2,
                f"{call}: found {len(stack)} Dense layers ({reading.describe_dense()}); "
                "expected two, Dense(128, relu) then Dense(10, softmax)" + note)
    expect_true(stack[0] == (128, "relu"),
                f"{call}: the hidden layer is Dense({stack[0][0]}, {stack[0][1]}); expected "
                "Dense(128, activation='relu')" + note)
    expect_true(stack[1][0] == 10,
                f"{call}: the output layer is Dense({stack[1][0]}, {stack[1][1]}); expected "
                "Dense(10, activation='softmax'), one probability per digit")
    try:
        loss = loss_spec(model, call)
    except CheckFailed:
        loss = None           # not compiled: the compile check says so, not this one
    verdict = output_verdict(stack[1][1], out, loss)
    expect_true(verdict != "double-softmax",
                f"{call}: the output layer already gives probabilities (softmax), and the loss "
                "is compiled with from_logits=True, which applies the softmax a second time — "
                "drop from_logits=True, or make the last layer a linear Dense(10)")
    expect_true(verdict != "no-softmax",
                f"{call}: the output layer is Dense(10, {stack[1][1]}) and its outputs are not "
                "probabilities; expected Dense(10, activation='softmax'), one probability per "
                "digit (or a linear Dense(10) with "
                "loss=keras.losses.CategoricalCrossentropy(from_logits=True))" + note)
    if reading.extras and count_params(model, call) == N_PARAMS:
        expect_true(False, f"{call}: the model has other layers ({', '.join(reading.extras)}) "
                           "besides Dense(128, relu) and Dense(10, softmax); only Dropout may "
                           "come between them")


def test_parameter_count(student):
    """build_model() has 101,770 parameters (784*128 + 128 + 128*10 + 10)"""
    call = "build_model()"
    model = student.build_model()
    try:
        probe(model, INPUTS, call)   # builds a model declared without an input shape
    except CheckFailed:
        pass                         # the structure check says why; count what is there
    count = count_params(model, call)
    expect_true(count == N_PARAMS,
                f"{call}: count_params() is {count:,}; 784 -> 128 -> 10 with biases "
                f"has {N_PARAMS:,} — are the layer sizes and the input size right?")
    # count_params() is the model's word: where the grader can recompute the network from
    # its Dense layers' weights (and predict() agrees), the weights are counted here too
    try:
        forward = dense_forward(model, call, INPUTS)
    except CheckFailed:
        return          # layers the grader cannot recompute: the structure test names them
    out = probe(model, INPUTS, call)
    try:
        ours = forward.scores(probe_inputs(INPUTS))
    except (ValueError, TypeError, ArithmeticError):
        ours = None     # Dense layers that do not chain on 784 inputs: not this network
    expect_true(ours is not None and ours.shape == out.shape
                and bool(np.allclose(ours, out, rtol=1e-3, atol=1e-3)),
                f"{call}: model.predict(X) does not match the network's own forward pass (its "
                "Dense layers' weights and activations) — return the Keras model itself")
    weights = sum(W.size + b.size for W, b, _ in forward.layers)
    expect_true(weights == N_PARAMS,
                f"{call}: count_params() says {count:,}, but the Dense layers hold {weights:,} "
                "weights — return the Keras model itself, with its own count_params()")


def integer_targets(student, mnist):
    """Whether the student's preprocess() gives plain integer labels (shape (m,)): then a
    sparse loss matches its own targets, and only the labels check charges the missing
    one-hot encoding (one mistake, one deduction)."""
    images, labels = sample(mnist)
    try:
        _, Y = pair(student.preprocess(images, labels), "preprocess(images, labels)")
    except (CheckFailed, StudentError):
        return False
    return isinstance(Y, np.ndarray) and Y.shape == (len(labels),)


def test_compiled_loss_and_optimizer(student, mnist):
    """build_model() is compiled with Adam and the categorical cross-entropy"""
    call = "build_model()"
    model = student.build_model()
    loss = loss_spec(model, call).name
    consistent = loss == "sparsecategoricalcrossentropy" and integer_targets(student, mnist)
    expect_true(loss == "categoricalcrossentropy" or consistent,
                f"{call}: compiled with loss {loss!r}; preprocess() returns one-hot targets, as "
                "the docstring asks, and they need the categorical cross-entropy "
                "(loss='categorical_crossentropy' or keras.losses.CategoricalCrossentropy())"
                + (" — sparse_categorical_crossentropy is for integer labels"
                   if "sparse" in loss else ""))
    optimizer = optimizer_name(model, call)
    expect_true(optimizer == "adam", f"{call}: compiled with optimizer {optimizer!r}; "
                                     "use Adam: optimizer='adam' or keras.optimizers.Adam(...)")


@pytest.mark.points(2)
def test_training_history(trained, training_measured, record):
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
    # the History is the student's report: the fall is measured on the network's weights
    expect_training_lowered_loss(training_measured, call)


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
    if sample_predictions is not None:  # a few held-out digits, mistakes first (24 at most)
        record.figure("sample_predictions",
                      sample_predictions(mnist.x_test, mnist.y_test, predicted))
    threshold("accuracy", accuracy)
