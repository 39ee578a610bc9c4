"""The lstm exercise in the style of Chollet's "Deep Learning with Python" (the numpy RNN of
chapter 10): separate input and recurrent matrices W and U per gate, a loop over the
sequence collecting successive outputs, np.stack at the end; scipy's expit as the sigmoid.
Keras part: no input shape (built at the first fit), two stacked LSTM layers, the first with
return_sequences=True, and an Activation layer after a linear Dense(1)."""
import numpy as np
from scipy.special import expit


def lstm_cell_forward(x_t, h_prev, c_prev, params):
    n_h = h_prev.shape[1]
    gate = {}
    for name, key in (("forget", "f"), ("input", "i"), ("candidate", "c"), ("output", "o")):
        U, W = params["W" + key][:n_h], params["W" + key][n_h:]   # recurrent, input
        a = np.dot(x_t, W) + np.dot(h_prev, U) + params["b" + key]
        gate[name] = np.tanh(a) if name == "candidate" else expit(a)
    state_c = gate["forget"] * c_prev + gate["input"] * gate["candidate"]
    output_t = gate["output"] * np.tanh(state_c)
    return output_t, state_c, gate


def lstm_forward(X, h0, c0, params):
    state_h, state_c = h0, c0
    successive_outputs = []
    for input_t in np.moveaxis(X, 1, 0):          # (m, n_x) per time step
        state_h, state_c, _ = lstm_cell_forward(input_t, state_h, state_c, params)
        successive_outputs.append(state_h)
    return np.stack(successive_outputs, axis=1), state_c


def build_sequence_model(T, n_x):
    from tensorflow import keras
    from tensorflow.keras import layers

    model = keras.Sequential()
    model.add(layers.LSTM(32, return_sequences=True))
    model.add(layers.LSTM(32))
    model.add(layers.Dense(1))
    model.add(layers.Activation("sigmoid"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.002, clipnorm=1.0),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def train_sequence_model(model, X, y, epochs=10, batch_size=32):
    return model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
