"""A correct mnist_ann.py after TensorFlow's beginner tutorial, logits kept: a Sequential
whose last Dense(10) is linear (activation=None), activations given as tf.nn functions and
a ReLU layer, the softmax left to the loss (from_logits=True), the one-hot targets from
tf.one_hot turned into numpy."""
import tensorflow as tf


def preprocess(images, labels):
    x = tf.reshape(tf.cast(images, tf.float32) / 255.0, (-1, 784)).numpy()
    y = tf.one_hot(labels, 10).numpy()
    return x, y


def build_model():
    model = tf.keras.Sequential([
        tf.keras.layers.Input(shape=(784,)),
        tf.keras.layers.Dense(128, activation=None),
        tf.keras.layers.ReLU(),
        tf.keras.layers.Dense(10, activation=None),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3),
                  loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.CategoricalAccuracy()])
    return model


def train(model, X, Y, epochs=5, batch_size=32):
    return model.fit(X, Y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
