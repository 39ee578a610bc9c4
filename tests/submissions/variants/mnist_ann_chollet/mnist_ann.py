"""Correct, in the style of Chollet's "Deep Learning with Python": keras.Input with the size
written as 28 * 28, Dense layers followed by separate Activation layers, an optimizer object
with its learning rate, the loss as a function, float64 targets from to_categorical."""
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras.utils import to_categorical


def preprocess(images, labels):
    images = images.reshape((len(images), 28 * 28))
    images = images.astype("float32") / 255
    return images, to_categorical(labels, 10)


def build_model():
    model = keras.Sequential([
        keras.Input(shape=(28 * 28,)),
        layers.Dense(128),
        layers.Activation("relu"),
        layers.Dense(10),
        layers.Activation("softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.categorical_crossentropy,
                  metrics=["accuracy"])
    return model


def train(model, X, Y, epochs=5, batch_size=32):
    return model.fit(X, Y, epochs=epochs, batch_size=batch_size, verbose=0)
