"""A correct mnist_ann.py in the style of Geron's "Hands-On Machine Learning": Sequential()
filled with add(), an InputLayer, he_normal initialisation, one-hot targets from np.eye,
an Adam object, metrics as a metric object, and a validation split held out while fitting."""
import numpy as np
from tensorflow import keras


def preprocess(images, labels):
    X = images.reshape(images.shape[0], -1).astype(np.float32) / 255.0
    Y = np.eye(10, dtype=np.float32)[labels]
    return X, Y


def build_model():
    model = keras.models.Sequential()
    model.add(keras.layers.InputLayer(shape=[784]))
    model.add(keras.layers.Dense(128, activation="relu", kernel_initializer="he_normal"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
    return model


def train(model, X, Y, epochs=5, batch_size=32):
    history = model.fit(X, Y, epochs=epochs, batch_size=batch_size,
                        validation_split=0.1, verbose=0)
    return history
