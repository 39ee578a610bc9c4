"""Hidden suite: convolution and pooling in numpy, then a Keras CNN for handwritten digits.

The numpy functions are checked against the reference solution on small fixed inputs (its
numpy functions only: this process never imports TensorFlow) and against Keras's own Conv2D
and MaxPooling2D, whose outputs on seeded inputs were computed offline by
``bench/cnn_keras_reference.py`` into ``keras_reference.json``. The model is built and trained
in the student's worker; its held-out accuracy is computed here from a numpy forward pass of
its layers' weights (network.py), cross-checked with its own predict().
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix

from grader.checks import (
    CheckFailed,
    constant,
    expect_array,
    expect_inputs_untouched,
    expect_shape,
    expect_true,
    matches,
)
from grader.suites.keras_model import (
    gives_probabilities,
    history_series,
    loss_spec,
    output_verdict,
    probe,
    read_model,
    softmax,
)

try:
    from grader.suites.sample_grid import sample_predictions
except ImportError:  # pragma: no cover
    sample_predictions = None

KERAS_FILE = Path(__file__).resolve().parent / "keras_reference.json"
INPUTS = (28, 28, 1)
INPUT_HINT = ("the model must take images of shape (28, 28, 1): start it with "
              "keras.Input((28, 28, 1)) (or give no input shape)")
CONV_KINDS = ("Conv2D", "Convolution2D")
POOL_KINDS = ("MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D")


def _seeded(seed, shape, scale=1.0):
    """Fixed inputs on a grid of 1/16 (exact in binary), read-only."""
    rng = np.random.default_rng(seed)
    return constant(np.round(rng.normal(size=shape) * scale * 16) / 16)


# Shared read-only inputs of the public tests.
X_ONE = _seeded(1, (1, 5, 6, 1))
W_ONE = constant(np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 0.5], [-2.0, 0.0, 3.0]])
                 .reshape(3, 3, 1, 1))
B_ONE = constant([0.75])
X_CH = _seeded(2, (2, 5, 5, 3))
W_CH = _seeded(3, (3, 3, 3, 3))
B_CH = constant([0.5, -1.0, 0.25])
# (X, W, b, stride, padding): strides, paddings, kernels 2, 3 and 5, rectangular images
STRIDE_PAD_CASES = [
    (_seeded(4, (2, 7, 7, 2)), _seeded(5, (3, 3, 2, 2)), constant([0.5, -0.5]), 2, 0),
    (_seeded(6, (1, 5, 6, 2)), _seeded(7, (3, 3, 2, 3)), constant([1.0, 0.0, -1.0]), 1, 1),
    (_seeded(8, (1, 8, 7, 1)), _seeded(9, (2, 2, 1, 2)), constant([0.25, 0.75]), 2, 1),
    (_seeded(10, (2, 6, 6, 1)), _seeded(11, (5, 5, 1, 2)), constant([-0.5, 0.5]), 1, 2),
]
X_POOL = _seeded(12, (2, 6, 6, 3))
# (X, size, stride): overlapping windows, stride 1, windows that do not tile the image
POOL_CASES = [
    (_seeded(13, (1, 7, 9, 2)), 3, 2),
    (_seeded(14, (2, 5, 4, 2)), 2, 1),
    (_seeded(15, (1, 9, 8, 3)), 3, 3),
]


def conv_call(stride=1, padding=0):
    return f"conv2d_forward(X, W, b, stride={stride}, padding={padding})"


def pool_call(size=2, stride=2):
    return f"maxpool_forward(X, size={size}, stride={stride})"


# ---- diagnoses: shapes of known mistakes, values from the reference on changed inputs -------
def conv_shape_hints(X, W, stride, padding):
    """[(wrong shape, hint)] for the usual output-size mistakes of a convolution."""
    m, H, Wd, _ = np.shape(X)
    kh, kw, _, c_out = np.shape(W)

    def shape(h, w):
        return (m, h, w, c_out)
    p, s = padding, stride
    right = shape((H + 2 * p - kh) // s + 1, (Wd + 2 * p - kw) // s + 1)
    candidates = [
        (shape(H + 2 * p - kh + 1, Wd + 2 * p - kw + 1),
         "the size is that of stride 1: move the window by `stride` pixels, "
         "H_out = (H + 2*padding - kh) // stride + 1"),
        (shape((H - kh) // s + 1, (Wd - kw) // s + 1),
         "the size is that without padding: add `padding` zero rows and columns on each side "
         "first (np.pad)"),
        (shape((H + p - kh) // s + 1, (Wd + p - kw) // s + 1),
         "the size is that of padding on one side only: pad `padding` pixels on EACH side "
         "(top and bottom, left and right)"),
        (shape((H + 2 * p - kh) // s, (Wd + 2 * p - kw) // s),
         "one row and column short: H_out = (H + 2*padding - kh) // stride + 1 (the +1 counts "
         "the first window)"),
        (shape(-(-(H + 2 * p - kh) // s) + 1, -(-(Wd + 2 * p - kw) // s) + 1),
         "the size is rounded up: H_out = (H + 2*padding - kh) // stride + 1 rounds down (a "
         "window must fit inside the padded image)"),
        ((m, c_out, right[1], right[2]),
         "the channels are on axis 1; the output is channels last, (m, H_out, W_out, C_out)"),
        ((m, right[1], right[2], np.shape(X)[-1]),
         "the output has C_in channels: it needs one channel per filter, W.shape[3]"),
    ]
    return [(c, hint) for c, hint in candidates if c != right]


def pool_shape_hints(X, size, stride):
    m, H, Wd, C = np.shape(X)
    right = (m, (H - size) // stride + 1, (Wd - size) // stride + 1, C)
    candidates = [
        ((m, (H - size) // size + 1, (Wd - size) // size + 1, C),
         "the windows move by `size`: move them by `stride` (they overlap when stride < size)"),
        ((m, H - size + 1, Wd - size + 1, C),
         "the size is that of stride 1: move the window by `stride` pixels"),
        ((m, H // size, Wd // size, C),
         "H_out = (H - size) // stride + 1; H // size only holds when stride == size"),
        ((m, (H - size) // stride, (Wd - size) // stride, C),
         "one row and column short: H_out = (H - size) // stride + 1"),
        ((m, right[1], right[2], 1), "pool each channel separately: the maximum is over the "
                                     "window only, never across channels"),
        ((m, right[1], right[2]), "pool each channel separately and keep the channel axis: "
                                  "(m, H_out, W_out, C)"),
        ((m, H, (Wd - size) // stride + 1, (C - size) // stride + 1),
         "the windows slide over the width and the channels: pool axes 1 and 2 (height and "
         "width), channels last"),
    ]
    return [(c, hint) for c, hint in candidates if c != right]


def checked_shape(got, expected_shape, call, candidates, name=""):
    """expect_shape with the hint of the known mistake whose shape ``got`` has."""
    shape = tuple(np.shape(got)) if isinstance(got, np.ndarray) else None
    hints = [hint for wrong, hint in candidates if shape == tuple(wrong)][:1]
    return expect_shape(got, expected_shape, call, name=name, hints=hints)


def mean_kernel(channels, size):
    """A convolution kernel that averages each channel over size x size (no mixing)."""
    W = np.zeros((size, size, channels, channels))
    W[:, :, np.arange(channels), np.arange(channels)] = 1.0 / (size * size)
    return W


def conv_mistakes(reference, X, W, b, stride, padding):
    """Values of the convolution's known mistakes (the reference on changed inputs)."""
    W, b = np.asarray(W), np.asarray(b)
    flipped = np.array(W[::-1, ::-1])
    out = [
        (reference.conv2d_forward(X, flipped, b, stride=stride, padding=padding),
         "did you flip the kernel? a CNN's convolution is a cross-correlation: "
         "W[di, dj] multiplies X[i*stride + di, j*stride + dj], no flip"),
        (reference.conv2d_forward(X, W, np.zeros_like(b), stride=stride, padding=padding),
         "did you forget the bias b (one number per filter, added to every pixel)?"),
    ]
    if W.shape[0] == W.shape[1]:
        out.append((reference.conv2d_forward(X, np.array(W.transpose(1, 0, 2, 3)), b,
                                             stride=stride, padding=padding),
                    "the kernel's rows and columns are swapped: W[di, dj] moves down di rows "
                    "and right dj columns"))
    if W.shape[2] == W.shape[3]:
        eye = np.eye(W.shape[2])[None, None]
        out += [
            (reference.conv2d_forward(X, np.array(W.transpose(0, 1, 3, 2)), b, stride=stride,
                                      padding=padding),
             "W is (kh, kw, C_in, C_out): input channel on axis 2, filter on axis 3 — "
             "W[:, :, c, f] is filter f's weights for input channel c"),
            (reference.conv2d_forward(X, W * eye, b, stride=stride, padding=padding),
             "each filter must sum over ALL input channels, not only its own: "
             "sum over c of X[..., c] * W[:, :, c, f]"),
        ]
    return out


def earlier_forms(reference, X, W, b, stride, padding):
    """The results of the mistakes charged by the first conv tests (kernel flipped, bias
    missing, both), with this test's stride and padding: computed whether or not they are
    needed, so the student edition's frozen reference holds them too."""
    W, b = np.asarray(W), np.asarray(b)
    flipped, zero = np.array(W[::-1, ::-1]), np.zeros_like(b)
    return [reference.conv2d_forward(X, W2, b2, stride=stride, padding=padding)
            for W2, b2 in ((flipped, b), (W, zero), (flipped, zero))]


def equals_one_of(got, forms):
    return isinstance(got, np.ndarray) and got.dtype.kind in "fiu" and any(
        got.shape == f.shape and np.allclose(got, f, rtol=1e-6, atol=1e-8) for f in forms)


# ---- conv2d_forward ---------------------------------------------------------------------------
@pytest.mark.public
@pytest.mark.points(2)
def test_conv2d_single_channel(student, reference):
    """conv2d_forward() slides one 3x3 filter over one grey image (stride 1, no padding)"""
    call = conv_call()
    got = student.conv2d_forward(X_ONE, W_ONE, B_ONE)
    want = reference.conv2d_forward(X_ONE, W_ONE, B_ONE)
    checked_shape(got, want.shape, call, conv_shape_hints(X_ONE, W_ONE, 1, 0))
    expect_array(got, want, call, check_dtype=False,
                 diagnose=[matches(v, h) for v, h in conv_mistakes(reference, X_ONE, W_ONE,
                                                                   B_ONE, 1, 0)],
                 otherwise=["Z[n, i, j, f] = b[f] + sum over di, dj, c of "
                            "X[n, i + di, j + dj, c] * W[di, dj, c, f]"])


@pytest.mark.public
@pytest.mark.points(2)
@pytest.mark.depends_on("test_conv2d_single_channel")
def test_conv2d_channels(student, reference, prerequisites):
    """conv2d_forward() sums over the input channels, one output channel per filter"""
    call = conv_call()
    got = student.conv2d_forward(X_CH, W_CH, B_CH)
    want = reference.conv2d_forward(X_CH, W_CH, B_CH)
    checked_shape(got, want.shape, call, conv_shape_hints(X_CH, W_CH, 1, 0))
    forms = earlier_forms(reference, X_CH, W_CH, B_CH, 1, 0)
    if prerequisites.any("test_conv2d_single_channel") and equals_one_of(got, forms):
        prerequisites.excuse("the kernel's orientation and the bias",
                             "test_conv2d_single_channel")
        return
    expect_array(got, want, call, check_dtype=False,
                 diagnose=[matches(v, h) for v, h in conv_mistakes(reference, X_CH, W_CH, B_CH,
                                                                   1, 0)])


@pytest.mark.public
@pytest.mark.points(3)
@pytest.mark.depends_on("test_conv2d_single_channel", "test_conv2d_channels")
def test_conv2d_stride_and_padding(student, reference, prerequisites):
    """conv2d_forward() pads with zeros on each side and moves the window by the stride"""
    earlier = prerequisites.any("test_conv2d_single_channel", "test_conv2d_channels")
    excused = False
    for X, W, b, stride, padding in STRIDE_PAD_CASES:
        call = conv_call(stride, padding)
        got = student.conv2d_forward(X, W, b, stride=stride, padding=padding)
        want = reference.conv2d_forward(X, W, b, stride=stride, padding=padding)
        checked_shape(got, want.shape, call, conv_shape_hints(X, W, stride, padding))
        forms = earlier_forms(reference, X, W, b, stride, padding)
        if earlier and equals_one_of(got, forms):
            excused = True
            continue
        at_stride_1 = reference.conv2d_forward(X, W, b, stride=1, padding=padding)
        diagnose = [matches(at_stride_1[:, :want.shape[1], :want.shape[2]],
                            "the windows start every pixel: the window of output (i, j) starts "
                            "at row i*stride, column j*stride")] if stride > 1 else []
        if padding:
            twice = reference.conv2d_forward(
                np.pad(np.asarray(X), ((0, 0), (2 * padding, 0), (2 * padding, 0), (0, 0))),
                W, b, stride=stride, padding=0)[:, :want.shape[1], :want.shape[2]]
            diagnose += [matches(twice, "the zeros are all on the top and left: pad `padding` "
                                        "pixels on each side")]
        diagnose += [matches(v, h) for v, h in conv_mistakes(reference, X, W, b, stride,
                                                             padding)]
        expect_array(got, want, call, check_dtype=False, diagnose=diagnose,
                     otherwise=["pad with np.pad(X, ((0, 0), (p, p), (p, p), (0, 0))) (zeros), "
                                "then take the window at rows i*stride .. i*stride + kh - 1"])
    if excused:
        prerequisites.excuse("the kernel's orientation and the bias",
                             "test_conv2d_single_channel", "test_conv2d_channels")


def test_conv2d_does_not_modify_inputs(student):
    """conv2d_forward() leaves X, W and b unchanged"""
    X, W, b, stride, padding = STRIDE_PAD_CASES[1]
    expect_inputs_untouched(student.conv2d_forward, X, W, b, stride, padding,
                            call=conv_call(stride, padding), names=["X", "W", "b"])


def expect_layout(got, shape, call, channels):
    """``got`` is (m, ?, ?, C) with the batch and channel counts of ``shape`` (channels last):
    what a Keras test checks when the values and output sizes were charged earlier."""
    arr = got if isinstance(got, np.ndarray) else None
    expect_true(arr is not None and arr.ndim == 4 and arr.dtype.kind in "fiu"
                and arr.shape[0] == shape[0] and arr.shape[3] == shape[3],
                f"{call}: expected an array (m, H_out, W_out, C) with m = {shape[0]} and "
                f"C = {shape[3]} ({channels}), channels last as Keras lays them out; got "
                f"{'shape ' + str(arr.shape) if arr is not None else type(got).__name__}")


def keras_reference():
    return json.loads(KERAS_FILE.read_text(encoding="utf-8"))


@pytest.mark.points(2)
@pytest.mark.depends_on("test_conv2d_single_channel", "test_conv2d_channels",
                        "test_conv2d_stride_and_padding")
def test_conv2d_matches_keras(student, prerequisites):
    """conv2d_forward() computes what keras.layers.Conv2D computes with the same weights"""
    earlier = prerequisites.any("test_conv2d_single_channel", "test_conv2d_channels",
                                "test_conv2d_stride_and_padding")
    for name, case in keras_reference()["conv"].items():
        X, W, b = (np.asarray(case[k]) for k in ("X", "W", "b"))
        stride, padding = case["stride"], case["padding"]
        keras_args = case["keras"]
        call = (f"{conv_call(stride, padding)} (Keras: Conv2D({keras_args['filters']}, "
                f"{keras_args['kernel_size']}, strides={keras_args['strides']}, "
                f"padding={keras_args['padding']!r}))")
        got = student.conv2d_forward(X, W, b, stride=stride, padding=padding)
        want = np.asarray(case["out"])
        if earlier:   # values and sizes already charged: Keras's layout, channels last
            expect_layout(got, want.shape, call, "one channel per filter, W.shape[3]")
            continue
        expect_array(got, want, call, rtol=1e-9, atol=1e-9, check_dtype=False,
                     hints=["W is laid out as Keras stores it, (kh, kw, C_in, C_out); "
                            "padding='same' at stride 1 is padding=(k - 1) // 2"])
    if earlier:
        prerequisites.excuse("the values", "test_conv2d_single_channel", "test_conv2d_channels",
                             "test_conv2d_stride_and_padding")


# ---- maxpool_forward ---------------------------------------------------------------------------
def pool_mistakes(reference, X, size, stride):
    """Values of pooling's known mistakes, from the reference on changed inputs."""
    X = np.asarray(X)
    C = X.shape[-1]
    return [
        (reference.conv2d_forward(X, mean_kernel(C, size), np.zeros(C), stride=stride,
                                  padding=0),
         "did you average the window? max pooling keeps its LARGEST value (np.max)"),
        (-reference.maxpool_forward(-X, size=size, stride=stride),
         "did you take the smallest value? max pooling keeps the largest (np.max)"),
    ]


@pytest.mark.public
@pytest.mark.points(2)
def test_maxpool_values(student, reference):
    """maxpool_forward() keeps the largest value of each 2x2 window, channel by channel"""
    call = pool_call()
    got = student.maxpool_forward(X_POOL, size=2, stride=2)
    want = reference.maxpool_forward(X_POOL, size=2, stride=2)
    checked_shape(got, want.shape, call, pool_shape_hints(X_POOL, 2, 2))
    expect_array(got, want, call, check_dtype=False,
                 diagnose=[matches(v, h) for v, h in pool_mistakes(reference, X_POOL, 2, 2)],
                 otherwise=["P[n, i, j, c] = max over di, dj < size of "
                            "X[n, i*stride + di, j*stride + dj, c]"])


@pytest.mark.public
@pytest.mark.points(2)
@pytest.mark.depends_on("test_maxpool_values")
def test_maxpool_size_and_stride(student, reference, prerequisites):
    """maxpool_forward() uses the window size and stride it is given (overlapping windows too)"""
    earlier = prerequisites.any("test_maxpool_values")
    excused = False
    for X, size, stride in POOL_CASES:
        call = pool_call(size, stride)
        got = student.maxpool_forward(X, size=size, stride=stride)
        want = reference.maxpool_forward(X, size=size, stride=stride)
        checked_shape(got, want.shape, call, pool_shape_hints(X, size, stride))
        mistakes = pool_mistakes(reference, X, size, stride)
        if earlier and equals_one_of(got, [v for v, _ in mistakes]):
            excused = True
            continue
        expect_array(got, want, call, check_dtype=False,
                     diagnose=[matches(v, h) for v, h in mistakes],
                     otherwise=["the window of output (i, j) covers rows i*stride .. "
                                "i*stride + size - 1 (and the same for columns)"])
    if excused:
        prerequisites.excuse("the pooling rule", "test_maxpool_values")


def test_maxpool_does_not_modify_input(student):
    """maxpool_forward() leaves X unchanged"""
    X, size, stride = POOL_CASES[0]
    expect_inputs_untouched(student.maxpool_forward, X, size, stride,
                            call=pool_call(size, stride), names=["X"])


@pytest.mark.depends_on("test_maxpool_values", "test_maxpool_size_and_stride")
def test_maxpool_matches_keras(student, prerequisites):
    """maxpool_forward() computes what keras.layers.MaxPooling2D computes"""
    earlier = prerequisites.any("test_maxpool_values", "test_maxpool_size_and_stride")
    for name, case in keras_reference()["pool"].items():
        X, size, stride = np.asarray(case["X"]), case["size"], case["stride"]
        call = (f"{pool_call(size, stride)} (Keras: MaxPooling2D(pool_size={size}, "
                f"strides={stride}))")
        got = student.maxpool_forward(X, size=size, stride=stride)
        want = np.asarray(case["out"])
        if earlier:   # values and sizes already charged: Keras's layout, channels last
            expect_layout(got, want.shape, call, "the channels of X, pooled one by one")
            continue
        expect_array(got, want, call, rtol=1e-12, atol=1e-12, check_dtype=False)
    if earlier:
        prerequisites.excuse("the values", "test_maxpool_values", "test_maxpool_size_and_stride")


# ---- the Keras CNN ------------------------------------------------------------------------------
def layer_kinds(reading_extras):
    """Class names of the non-Dense layers read_model found ('Conv2D(relu)' -> 'Conv2D')."""
    return [kind.split("(", 1)[0] for kind in reading_extras]


@pytest.mark.public
@pytest.mark.points(2)
def test_cnn_structure(student):
    """build_cnn() is a CNN: Conv2D and pooling layers, then 10 softmax outputs"""
    call = "build_cnn()"
    model = student.build_cnn()
    reading = read_model(model, call)
    out = probe(model, INPUTS, call, hint=INPUT_HINT)
    kinds = layer_kinds(reading.extras)
    expect_true(out.ndim == 2 and out.shape == (len(out), 10),
                f"{call}: for a batch of {len(out)} images the model outputs shape {out.shape}; "
                f"expected ({len(out)}, 10), one output per digit — end with Flatten and "
                "Dense(10, activation='softmax')")
    expect_true(any(k in CONV_KINDS for k in kinds),
                f"{call}: the model has no Conv2D layer (found: "
                f"{', '.join(kinds) or 'none besides Dense'}); a CNN starts with "
                "layers.Conv2D(filters, kernel_size, activation='relu')")
    expect_true(any(k in POOL_KINDS for k in kinds),
                f"{call}: the model has no pooling layer; put layers.MaxPooling2D(2) after the "
                "Conv2D (it halves the maps and tolerates small shifts)")
    expect_true(bool(reading.dense) and reading.dense[-1][0] == 10,
                f"{call}: the last Dense layer is "
                f"{reading.describe_dense() if reading.dense else 'missing'}; expected "
                "Dense(10, activation='softmax'), one probability per digit")
    try:
        loss = loss_spec(model, call)
    except CheckFailed:
        loss = None           # not compiled: the compile check says so, not this one
    verdict = output_verdict(reading.dense[-1][1], out, loss)
    expect_true(verdict != "double-softmax",
                f"{call}: the output layer already gives probabilities (softmax), and the loss "
                "is compiled with from_logits=True, which applies the softmax a second time — "
                "drop from_logits=True, or make the last layer a linear Dense(10)")
    expect_true(verdict != "no-softmax",
                f"{call}: the output layer is Dense(10, {reading.dense[-1][1]}) and its outputs "
                "are not probabilities; expected Dense(10, activation='softmax') (or a linear "
                "Dense(10) with loss=keras.losses.CategoricalCrossentropy(from_logits=True))")


def test_compiled_loss(student):
    """build_cnn() is compiled with the categorical cross-entropy (one-hot targets)"""
    call = "build_cnn()"
    loss = loss_spec(student.build_cnn(), call).name
    expect_true(loss == "categoricalcrossentropy",
                f"{call}: compiled with loss {loss!r}; train_cnn() is given one-hot targets "
                "(m, 10), as mnist_ann's preprocess() makes them, and they need the "
                "categorical cross-entropy (loss='categorical_crossentropy')"
                + (" — sparse_categorical_crossentropy is for integer labels"
                   if "sparse" in loss else ""))


@pytest.mark.points(2)
def test_training_history(trained, record):
    """train_cnn() trains for the epochs it is given and the training loss goes down"""
    from grader.suites.cnn.conftest import TRAIN_EPOCHS

    call = f"train_cnn(model, X, Y, epochs={TRAIN_EPOCHS}, batch_size=...)"
    _, history = trained.get()
    series = history_series(history, call)
    losses = series["loss"]
    record.figure("learning_curves", {"series": series,
                                      "title": "Training curves of train_cnn(model, X, Y)"})
    expect_true(len(losses) == TRAIN_EPOCHS,
                f"{call}: the History has {len(losses)} epochs; expected {TRAIN_EPOCHS}, the "
                "epochs it was given — pass epochs=epochs to model.fit")
    expect_true(all(np.isfinite(losses)), f"{call}: the loss became NaN or inf")
    expect_true(losses[-1] < losses[0],
                f"{call}: the loss did not fall ({losses[0]:.3f} -> {losses[-1]:.3f})")


@pytest.mark.points(8)
def test_held_out_accuracy(student, reference, trained, mnist, threshold, record):
    """the trained CNN recognises held-out digits it never saw"""
    from grader.suites.cnn.conftest import held_out_inputs
    from grader.suites.cnn.network import network_scores

    call = "model.predict(X)"
    model, _ = trained.get()
    X_test = held_out_inputs(mnist)
    # The CNN's forward pass computed HERE from its layers' weights (numpy), checked against
    # model.predict on a probe batch: the score is the network's, not whatever predict() says.
    scores = network_scores(model, X_test, call, reference.conv2d_forward,
                            reference.maxpool_forward)
    try:
        from_logits = loss_spec(model, "build_cnn()").from_logits
    except CheckFailed:
        from_logits = False
    if from_logits and not gives_probabilities(scores):
        scores = softmax(scores)
    probs = expect_shape(scores, (len(X_test), 10), call)
    expect_true(np.all(np.isfinite(probs)), f"{call}: the predictions contain NaN or inf")
    predicted = probs.argmax(axis=1)
    y_true = np.asarray(mnist.y_test)
    accuracy = accuracy_score(y_true, predicted)
    record.metric("accuracy", accuracy)
    record.figure("confusion_matrix", {
        "labels": list(range(10)),
        "matrix": confusion_matrix(y_true, predicted, labels=range(10)).tolist(),
        "title": f"Held-out digits ({len(predicted):,} images)"})
    if sample_predictions is not None:
        record.figure("sample_predictions", sample_predictions(np.asarray(mnist.x_test),
                                                               y_true, predicted))
    threshold("accuracy", accuracy)
