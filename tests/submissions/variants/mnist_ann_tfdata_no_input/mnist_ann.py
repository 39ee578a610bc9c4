"""A correct mnist_ann.py in the style of Chollet's "Deep Learning with Python" (2nd ed.):
keras.Sequential with no input shape (built at the first batch), pixels reshaped with
28 * 28, to_categorical targets, and training from a tf.data pipeline batched with
batch_size."""
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers


def preprocess(images, labels):
    X = images.reshape((images.shape[0], 28 * 28)).astype("float32") / 255
    Y = keras.utils.to_categorical(labels, 10)
    return X, Y


def build_model():
    model = keras.Sequential([
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam",
                  loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def train(model, X, Y, epochs=5, batch_size=32):
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(1024, seed=0)
    return model.fit(dataset.batch(batch_size), epochs=epochs, verbose=0)
