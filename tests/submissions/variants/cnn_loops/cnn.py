"""A correct cnn submission in the style of deeplearning.ai's "Convolution model - Step by
Step": zero_pad and conv_single_step helpers, explicit loops over examples, output pixels and
filters; a Sequential model with input_shape= on its first layer."""
import numpy as np


def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant",
                  constant_values=(0, 0))


def conv_single_step(a_slice_prev, W, b):
    s = np.multiply(a_slice_prev, W)
    Z = np.sum(s)
    return Z + float(b)


def conv2d_forward(X, W, b, stride=1, padding=0):
    (m, n_H_prev, n_W_prev, n_C_prev) = X.shape
    (f_h, f_w, n_C_prev, n_C) = W.shape
    n_H = int((n_H_prev - f_h + 2 * padding) / stride) + 1
    n_W = int((n_W_prev - f_w + 2 * padding) / stride) + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(X, padding)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f_h
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f_w
                for c in range(n_C):
                    a_slice_prev = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[c])
    return Z


def maxpool_forward(X, size=2, stride=2):
    (m, n_H_prev, n_W_prev, n_C_prev) = X.shape
    n_H = int(1 + (n_H_prev - size) / stride)
    n_W = int(1 + (n_W_prev - size) / stride)
    n_C = n_C_prev
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + size
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + size
                for c in range(n_C):
                    a_prev_slice = X[i, vert_start:vert_end, horiz_start:horiz_end, c]
                    A[i, h, w, c] = np.max(a_prev_slice)
    return A


def build_cnn():
    import keras
    from keras import layers

    model = keras.Sequential()
    model.add(layers.Conv2D(16, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001),
                  loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
    return model


def train_cnn(model, X, Y, epochs=10, batch_size=32):
    history = model.fit(X, Y, epochs=epochs, batch_size=batch_size, verbose=0)
    return history
