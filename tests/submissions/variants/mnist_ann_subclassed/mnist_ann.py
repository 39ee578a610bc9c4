"""Correct, a subclassed keras.Model (the "expert" half of TensorFlow's quickstart): layers
created in __init__ without activations, ReLU and softmax applied in call() with tf.nn, no
input shape (Keras builds the model at its first call), Dropout active only in training,
the loss as its class name, float64 pixels, one-hot targets from tf.one_hot (a tensor)."""
import tensorflow as tf


class DigitNet(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = tf.keras.layers.Dense(128)
        self.dropout = tf.keras.layers.Dropout(0.1)
        self.scores = tf.keras.layers.Dense(10)

    def call(self, x, training=False):
        h = tf.nn.relu(self.hidden(x))
        h = self.dropout(h, training=training)
        return tf.nn.softmax(self.scores(h))


def preprocess(images, labels):
    X = images.reshape(len(images), 784).astype("float64") / 255.0
    Y = tf.one_hot(labels, depth=10)
    return X, Y


def build_model():
    model = DigitNet()
    model.compile(optimizer="adam", loss="CategoricalCrossentropy", metrics=["accuracy"])
    return model


def train(model, X, Y, epochs=5, batch_size=32):
    return model.fit(X, Y, epochs=epochs, batch_size=batch_size, verbose=0)
