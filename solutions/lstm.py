"""The LSTM: gates, a forward pass in numpy, and a Keras model that remembers.

A recurrent network reads a sequence x_1, ..., x_T one step at a time and carries a state
from step to step. A simple RNN keeps one vector h and multiplies it by the same matrix at
every step, so gradients over many steps shrink (or blow up) geometrically. The LSTM (Long
Short-Term Memory, Hochreiter & Schmidhuber 1997) adds a second state, the cell c, which is
changed only by adding and scaling, under the control of three gates:

    z      = [h_prev, x_t]                  concatenation along the feature axis, h FIRST
    f      = sigmoid(z @ Wf + bf)           forget gate: how much of c_prev to keep
    i      = sigmoid(z @ Wi + bi)           input gate: how much of the candidate to write
    c_hat  = tanh(z @ Wc + bc)              candidate values
    o      = sigmoid(z @ Wo + bo)           output gate: how much of the cell to show
    c_t    = f * c_prev + i * c_hat         (elementwise products)
    h_t    = o * tanh(c_t)

Shapes (m sequences in a batch, n_x input features, n_h hidden units):
    x_t (m, n_x); h_prev, c_prev, h_t, c_t (m, n_h); z (m, n_h + n_x);
    Wf, Wi, Wc, Wo (n_h + n_x, n_h), each acting on z from the right (z @ W);
    bf, bi, bc, bo (n_h,).
The first n_h rows of each W multiply h_prev, the last n_x rows multiply x_t.

Keras's layers.LSTM computes exactly this, with its weights stored differently: a kernel
(n_x, 4 n_h) for the input, a recurrent_kernel (n_h, 4 n_h) for h and a bias (4 n_h,), each
holding the four gates side by side in the order i, f, c, o. So our Wf is Keras's
recurrent_kernel[:, n_h:2n_h] stacked on top of kernel[:, n_h:2n_h], and bf is
bias[n_h:2n_h] (the test suite checks your forward pass against Keras's own LSTM).

The last part trains a Keras LSTM on a task that needs memory (see build_sequence_model).
"""
import numpy as np


def lstm_cell_forward(x_t, h_prev, c_prev, params):
    """One LSTM step: returns (h_t, c_t, gates).

    x_t: (m, n_x) inputs of this step; h_prev, c_prev: (m, n_h) hidden and cell state of the
    previous step. params: dict with "Wf", "Wi", "Wc", "Wo" of shape (n_h + n_x, n_h) and
    "bf", "bi", "bc", "bo" of shape (n_h,). With z = [h_prev, x_t] (np.concatenate along
    axis 1, h_prev FIRST):

        f = sigmoid(z @ Wf + bf)    i = sigmoid(z @ Wi + bi)    o = sigmoid(z @ Wo + bo)
        c_hat = tanh(z @ Wc + bc)
        c_t = f * c_prev + i * c_hat
        h_t = o * tanh(c_t)

    sigmoid(a) = 1 / (1 + exp(-a)). Returns h_t and c_t, float arrays (m, n_h), and gates, a
    dict {"forget": f, "input": i, "candidate": c_hat, "output": o} of the ACTIVATED gate
    values, each (m, n_h). Does not modify its arguments.
    """
    # BEGIN SOLUTION
    z = np.concatenate([h_prev, x_t], axis=1)
    sigmoid = lambda a: 0.5 * (1.0 + np.tanh(0.5 * a))  # noqa: E731 -- 1/(1+exp(-a)), no overflow
    f = sigmoid(z @ params["Wf"] + params["bf"])
    i = sigmoid(z @ params["Wi"] + params["bi"])
    c_hat = np.tanh(z @ params["Wc"] + params["bc"])
    o = sigmoid(z @ params["Wo"] + params["bo"])
    c_t = i * c_hat + f * c_prev   # keep part of the old cell, add part of the new
    h_t = o * np.tanh(c_t)
    return h_t, c_t, {"forget": f, "input": i, "candidate": c_hat, "output": o}
    # END SOLUTION


def lstm_forward(X, h0, c0, params):
    """The LSTM over a whole batch of sequences: returns (H, c_T).

    X: (m, T, n_x), batch first (X[:, t] is the input of step t, as in Keras); h0, c0:
    (m, n_h) initial states; params as for lstm_cell_forward. Runs lstm_cell_forward for
    t = 0, ..., T-1, each step starting from the h and c the previous step returned.
    Returns H, the hidden states of EVERY step, (m, T, n_h) with H[:, t] = h after step t
    (what Keras's LSTM(return_sequences=True) returns), and c_T, the cell state after the
    last step, (m, n_h). Does not modify its arguments.
    """
    # BEGIN SOLUTION
    m, T, _ = X.shape
    h, c = h0, c0
    H = np.zeros((m, T, h0.shape[1]))
    for t in range(T):
        h, c, _ = lstm_cell_forward(X[:, t, :], h, c, params)
        H[:, t, :] = h
    return H, c
    # END SOLUTION


def build_sequence_model(T, n_x):
    """A compiled Keras model that reads a sequence and says whether its FIRST value is positive.

    The task (the grader makes the data): each sequence X[k] has T steps of n_x = 1 feature.
    Its first value X[k, 0, 0] is the signal, +1 or -1 times a size between 0.5 and 1.5;
    every later value is noise from a standard normal distribution. The label y[k] is 1.0
    when the signal is positive and 0.0 otherwise (float32, shape (m,)). The last steps say
    nothing about the label: the model has to carry the first value through T steps of
    noise, which is what an LSTM's cell is for (a model that looks at the last step only
    guesses: 50 %).

    The model: input (T, n_x) -> keras.layers.LSTM(32) -> Dense(1, activation="sigmoid"),
    outputting the probability that the label is 1, shape (m, 1). Compile it with the
    binary cross-entropy (loss="binary_crossentropy"), metrics=["accuracy"] and
    keras.optimizers.Adam(learning_rate=0.002, clipnorm=1.0): a modest step size and a
    clipped gradient norm keep a recurrent network from jumping away from what it learned
    (with larger steps it sometimes forgets the task halfway through training). Returns the
    model.

    Also accepted: keras.Sequential or the functional API; keras.Input((T, n_x)) or no
    input shape; any number of LSTM units (32 learns reliably in the epochs given), stacked
    LSTM layers (return_sequences=True on all but the last); Dropout; a linear Dense(1)
    with keras.losses.BinaryCrossentropy(from_logits=True). The LSTM keeps Keras's
    activations (tanh, sigmoid gates): the grader recomputes your trained network's
    predictions from its weights with the equations above.
    """
    import keras  # here, not at the top: the numpy part of this file runs without Keras
    from keras import layers

    # BEGIN SOLUTION
    model = keras.Sequential([
        keras.Input((T, n_x)),
        layers.LSTM(32),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.002, clipnorm=1.0),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION


def train_sequence_model(model, X, y, epochs=10, batch_size=32):
    """Fit the model on sequences X (m, T, n_x) with labels y (m,) and return the keras
    History (history.history holds the loss and accuracy of every epoch). Pass verbose=0 to
    keep output quiet.
    """
    # BEGIN SOLUTION
    return model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
    # END SOLUTION
