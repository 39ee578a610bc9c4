"""The lstm exercise in the style of deeplearning.ai's "Building your Recurrent Neural Network
- Step by Step": features in rows and examples in columns (a_prev is (n_a, m)), the gates
computed as W @ concat with concat = [a_prev; xt], and an explicit loop over the time steps
filling a preallocated array. The exercise's layout (examples in rows, z @ W) is converted at
the boundaries. Keras part: keras.Sequential with an Input layer."""
import numpy as np
import keras


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_cell_forward(x_t, h_prev, c_prev, params):
    xt, a_prev, c_prev_T = x_t.T, h_prev.T, c_prev.T          # (n_x, m), (n_a, m)
    n_x, m = xt.shape
    n_a = a_prev.shape[0]
    Wf, Wi, Wc, Wo = (params[k].T for k in ("Wf", "Wi", "Wc", "Wo"))   # (n_a, n_a + n_x)
    bf, bi, bc, bo = (params[k].reshape(n_a, 1) for k in ("bf", "bi", "bc", "bo"))
    concat = np.zeros((n_a + n_x, m))
    concat[:n_a, :] = a_prev
    concat[n_a:, :] = xt
    ft = sigmoid(np.dot(Wf, concat) + bf)
    it = sigmoid(np.dot(Wi, concat) + bi)
    cct = np.tanh(np.dot(Wc, concat) + bc)
    c_next = ft * c_prev_T + it * cct
    ot = sigmoid(np.dot(Wo, concat) + bo)
    a_next = ot * np.tanh(c_next)
    gates = {"forget": ft.T, "input": it.T, "candidate": cct.T, "output": ot.T}
    return a_next.T, c_next.T, gates


def lstm_forward(X, h0, c0, params):
    m, T_x, n_x = X.shape
    n_a = h0.shape[1]
    a = np.zeros((m, T_x, n_a))
    a_next, c_next = h0, c0
    for t in range(T_x):
        xt = X[:, t, :]
        a_next, c_next, _ = lstm_cell_forward(xt, a_next, c_next, params)
        a[:, t, :] = a_next
    return a, c_next


def build_sequence_model(T, n_x):
    model = keras.Sequential([
        keras.Input(shape=(T, n_x)),
        keras.layers.LSTM(32),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    opt = keras.optimizers.Adam(learning_rate=0.002, clipnorm=1.0)
    model.compile(loss="binary_crossentropy", optimizer=opt, metrics=["accuracy"])
    return model


def train_sequence_model(model, X, y, epochs=10, batch_size=32):
    history = model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return history
