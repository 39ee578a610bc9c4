"""Correct, a Sequential model declared without an input shape (Keras builds it at its first
call, as in the first chapters of "Deep Learning with Python", 2nd edition), a list of layers
added with .add(), TensorFlow's own activation functions (tf.nn.relu, tf.nn.softmax), the
loss as a class name, float64 pixels."""
import tensorflow as tf
from tensorflow import keras


def preprocess(images, labels):
    X = images.reshape(len(images), 784).astype("float64") / 255.0
    Y = keras.utils.to_categorical(labels, 10)
    return X, Y


def build_model():
    model = keras.Sequential()
    model.add(keras.layers.Dense(128, activation=tf.nn.relu))
    model.add(keras.layers.Dense(10, activation=tf.nn.softmax))
    model.compile(optimizer="adam", loss="CategoricalCrossentropy", metrics=["accuracy"])
    return model


def train(model, X, Y, epochs=5, batch_size=32):
    return model.fit(X, Y, epochs=epochs, batch_size=batch_size, verbose=0)
