# Generated from solutions/cnn.py by `grader generate` — fill in every NotImplementedError.
"""Convolution and pooling: a convolutional network (CNN) for handwritten digits.

A dense network sees an image as 784 unrelated numbers. A convolutional layer instead slides
small filters (kernels) over the image: each filter looks at a kh x kw window of all input
channels at once, and the SAME weights are used at every position. It detects a local pattern
(an edge, a stroke end) wherever it occurs, with far fewer parameters than a Dense layer.

Conventions (those of Keras, "channels last"):
- images X: shape (m, H, W, C): m images, H rows, W columns, C channels (1 for grey digits);
- kernel W: shape (kh, kw, C_in, C_out), as keras.layers.Conv2D stores it
  (layer.get_weights()[0]); bias b: shape (C_out,), one number per filter.

Convolution as deep-learning libraries compute it is a cross-correlation (the kernel is NOT
flipped): output pixel (i, j) of filter f is
    Z[n, i, j, f] = b[f] + sum over di < kh, dj < kw, c < C_in of
                    Xp[n, i*s + di, j*s + dj, c] * W[di, dj, c, f]
where s is the stride and Xp is X with `padding` rows/columns of zeros added on EACH side
(top and bottom, left and right). The output has
    H_out = (H + 2*padding - kh) // stride + 1      (W_out likewise with kw).
Keras's padding="valid" is padding=0; padding="same" with an odd kernel and stride 1 is
padding=(k - 1) // 2: the output keeps the input's height and width.

Max pooling keeps the largest value of each size x size window, channel by channel:
    P[n, i, j, c] = max over di, dj < size of X[n, i*s + di, j*s + dj, c],
    H_out = (H - size) // stride + 1.
Small shifts of a pattern often leave a window's maximum unchanged; pooling also shrinks the
maps, so later layers see a wider part of the image.

The last part builds the network in Keras (as in Chollet's "Deep Learning with Python"):
    Input(28, 28, 1) -> Conv2D(16, 3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(10, softmax)
and trains it on the same digits as the mnist_ann exercise.
"""
import numpy as np


def conv2d_forward(X, W, b, stride=1, padding=0):
    """Forward pass of a 2-D convolution layer (cross-correlation, no kernel flip), no activation.

    X: floats (m, H, W, C_in); W: kernel (kh, kw, C_in, C_out), Keras's layout; b: (C_out,).
    stride: step of the window (the same along rows and columns); padding: number of zero
    rows/columns added on EACH side of the height and width before sliding (0 = Keras's
    "valid"). Returns Z of shape (m, H_out, W_out, C_out) with
    H_out = (H + 2*padding - kh) // stride + 1 and W_out = (W + 2*padding - kw) // stride + 1,
    Z[n, i, j, f] = b[f] + sum of Xp[n, i*stride + di, j*stride + dj, c] * W[di, dj, c, f].
    X, W and b are not modified.
    """
    raise NotImplementedError(
        "conv2d_forward: Forward pass of a 2-D convolution layer (cross-correlation, no kernel "
        "flip), no activation."
    )


def maxpool_forward(X, size=2, stride=2):
    """Max pooling over size x size windows moved by stride, channel by channel.

    X: floats (m, H, W, C). Returns (m, H_out, W_out, C) with H_out = (H - size) // stride + 1
    (W_out likewise): each output is the largest value of its window, taken separately in
    every channel (never across channels). X is not modified.
    """
    raise NotImplementedError(
        "maxpool_forward: Max pooling over size x size windows moved by stride, channel by "
        "channel."
    )


def build_cnn():
    """A compiled Keras CNN for 28 x 28 grey digits with 10 outputs, one probability per digit.

    Input(28, 28, 1) -> Conv2D(16, 3, activation="relu") -> MaxPooling2D(2) -> Flatten
    -> Dense(10, activation="softmax"), compiled with optimizer="adam",
    loss="categorical_crossentropy" (one-hot targets, as mnist_ann's) and metrics=["accuracy"].

    Any textbook CNN counts: more Conv2D / MaxPooling2D blocks (Chollet's book stacks three
    convolutions), padding="same", strides, a hidden Dense layer, Dropout or
    BatchNormalization; activation="relu" or a ReLU / Activation layer; the softmax on the
    last Dense or as a Softmax layer (or a linear Dense(10) with
    keras.losses.CategoricalCrossentropy(from_logits=True)); keras.Sequential or the
    functional API; keras.Input((28, 28, 1)) or input_shape=(28, 28, 1). It must hold at least
    one Conv2D and one pooling layer (MaxPooling2D or AveragePooling2D), take images of shape
    (28, 28, 1) and be compiled with the categorical cross-entropy; any optimizer (Adam,
    RMSprop as in Chollet's book, ...). Keep it small (8-32 filters): it trains in seconds.
    Returns the model.
    """
    import keras               # here, not at the top: the numpy part runs without TensorFlow
    from keras import layers

    raise NotImplementedError(
        "build_cnn: A compiled Keras CNN for 28 x 28 grey digits with 10 outputs, one probability "
        "per digit."
    )


def train_cnn(model, X, Y, epochs=10, batch_size=32):
    """Fit the model on (X, Y) for `epochs` epochs in mini-batches of `batch_size`; return the
    keras History (history.history holds the loss and accuracy of every epoch).

    X: floats (m, 28, 28, 1) in [0, 1]: mnist_ann's preprocess() rows reshaped with
    X.reshape(-1, 28, 28, 1) (or images[..., None] / 255). Y: one-hot rows (m, 10), exactly
    what mnist_ann's preprocess() returns (keras.utils.to_categorical(labels, 10)).
    Use the epochs and batch_size you are given; pass verbose=0 to keep output quiet.
    """
    raise NotImplementedError(
        "train_cnn: Fit the model on (X, Y) for `epochs` epochs in mini-batches of `batch_size`; "
        "return the keras History (history.history holds the loss and accuracy of every epoch)."
    )
