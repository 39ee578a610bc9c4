"""The lstm exercise vectorised the way Keras stores an LSTM: the four gate matrices joined
side by side into one (n_h + n_x, 4 n_h) matrix (one product per step, then np.split), the
input's contribution for every step computed at once with np.einsum before the loop. Keras
part: the functional API, a linear output and BinaryCrossentropy(from_logits=True)."""
import numpy as np
import keras
from keras import layers

ORDER = ("i", "f", "c", "o")


def _stacked(params):
    W = np.hstack([params["W" + g] for g in ORDER])
    b = np.concatenate([params["b" + g] for g in ORDER])
    return W, b


def _step(pre, c_prev):
    a_i, a_f, a_c, a_o = np.split(pre, 4, axis=-1)
    i, f, o = (np.exp(-np.logaddexp(0.0, -a)) for a in (a_i, a_f, a_o))   # stable sigmoid
    cand = np.tanh(a_c)
    c = f * c_prev + i * cand
    return o * np.tanh(c), c, {"forget": f, "input": i, "candidate": cand, "output": o}


def lstm_cell_forward(x_t, h_prev, c_prev, params):
    W, b = _stacked(params)
    n_h = h_prev.shape[-1]
    pre = h_prev @ W[:n_h] + x_t @ W[n_h:] + b
    return _step(pre, c_prev)


def lstm_forward(X, h0, c0, params):
    W, b = _stacked(params)
    n_h = h0.shape[-1]
    from_x = np.einsum("mtx,xg->mtg", X, W[n_h:]) + b      # every step's input part
    h, c, hs = h0, c0, []
    for t in range(X.shape[1]):
        h, c, _ = _step(from_x[:, t] + h @ W[:n_h], c)
        hs.append(h)
    return np.stack(hs, axis=1), c


def build_sequence_model(T, n_x):
    inputs = keras.Input((T, n_x))
    x = layers.LSTM(32)(inputs)
    logits = layers.Dense(1)(x)
    model = keras.Model(inputs, logits)
    model.compile(optimizer=keras.optimizers.Adam(0.002, clipnorm=1.0),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
    return model


def train_sequence_model(model, X, y, epochs=10, batch_size=32):
    return model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
