"""Correct, in the style of TensorFlow's beginner tutorial ("TensorFlow 2 quickstart for
beginners"): tf.keras, x / 255.0 (float64), a Flatten layer in front of already-flat rows,
Dropout, a linear Dense(10) wrapped with a Softmax layer in an outer Sequential
(probability_model), a loss object, float64 one-hot targets from to_categorical."""
import tensorflow as tf


def preprocess(images, labels):
    x = images.reshape(-1, 28 * 28) / 255.0
    y = tf.keras.utils.to_categorical(labels, num_classes=10)
    return x, y


def build_model():
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(784,)),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10),
    ])
    probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
    probability_model.compile(optimizer='adam',
                              loss=tf.keras.losses.CategoricalCrossentropy(),
                              metrics=['accuracy'])
    return probability_model


def train(model, X, Y, epochs=5, batch_size=32):
    history = model.fit(X, Y, epochs=epochs, batch_size=batch_size, verbose=0)
    return history
