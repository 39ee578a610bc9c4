"""Attack: preprocess() returns zeros of a plausible shape (no target column, finite, of order
1), encode_target zeros, and a correct network trained on them: it answers "No" for
everyone, 84 % accurate (see neuron.py next to it).

Expected: the preprocess tests and the held-out accuracy earn nothing; the model structure
and "outputs probabilities" are what it really does right.
"""
import numpy as np
from tensorflow import keras


def encode_target(df):
    return np.zeros(len(df), dtype=int)


def preprocess(train_df, test_df):
    return np.zeros((len(train_df), 50)), np.zeros((len(test_df), 50))


def build_model(n_features):
    model = keras.Sequential([keras.Input((n_features,)),
                              keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def train(model, X, y, epochs=30, batch_size=32):
    return model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
