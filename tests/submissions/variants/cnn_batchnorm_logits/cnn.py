"""A correct cnn submission: loops over the kernel offsets (each a shifted slice times one
kernel tap, an einsum over channels) and one over pooling offsets; the model uses
padding="same", BatchNormalization, a ReLU layer, Dropout and a linear output with the
softmax in the loss (from_logits=True)."""
import numpy as np


def conv2d_forward(X, W, b, stride=1, padding=0):
    X = np.asarray(X, dtype=float)
    m, H, Wd, _ = X.shape
    kh, kw, _, c_out = W.shape
    Xp = np.zeros((m, H + 2 * padding, Wd + 2 * padding, X.shape[3]))
    Xp[:, padding:padding + H, padding:padding + Wd, :] = X
    h_out = (H + 2 * padding - kh) // stride + 1
    w_out = (Wd + 2 * padding - kw) // stride + 1
    Z = np.zeros((m, h_out, w_out, c_out)) + np.reshape(b, (1, 1, 1, c_out))
    for di in range(kh):
        for dj in range(kw):
            patch = Xp[:, di:di + stride * (h_out - 1) + 1:stride,
                       dj:dj + stride * (w_out - 1) + 1:stride, :]
            Z += np.einsum("nhwc,cf->nhwf", patch, W[di, dj])
    return Z


def maxpool_forward(X, size=2, stride=2):
    X = np.asarray(X, dtype=float)
    h_out = (X.shape[1] - size) // stride + 1
    w_out = (X.shape[2] - size) // stride + 1
    out = np.full((X.shape[0], h_out, w_out, X.shape[3]), -np.inf)
    for di in range(size):
        for dj in range(size):
            out = np.maximum(out, X[:, di:di + stride * (h_out - 1) + 1:stride,
                                    dj:dj + stride * (w_out - 1) + 1:stride, :])
    return out


def build_cnn():
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(16, 3, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(10),
    ])
    model.compile(optimizer="adam",
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def train_cnn(model, X, Y, epochs=10, batch_size=32):
    return model.fit(X, Y, epochs=epochs, batch_size=batch_size, verbose=0)
