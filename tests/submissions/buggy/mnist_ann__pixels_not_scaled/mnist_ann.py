"""An artificial neural network for handwritten digits (MNIST), in Keras.

Each image is 28 x 28 grey pixels (0 = black .. 255 = white) showing a digit 0-9.
A dense network does not know about 2-D structure, so we flatten each image into
a vector of 784 numbers, and divide by 255 so every input lies in [0, 1]: inputs
of similar, small size make gradient descent behave.

The labels become one-hot vectors: 3 -> [0,0,0,1,0,0,0,0,0,0]. The network has
    784 inputs -> Dense(128, relu) -> Dense(10, softmax)
Each Dense layer computes f(X W + b); the softmax turns the 10 scores into
probabilities (it subtracts the maximum score internally so large scores cannot
overflow). Training minimises the categorical cross-entropy -sum_j y_j log p_j,
with Adam, an adaptive version of gradient descent (w_new = w_old - lr * dL/dw,
with a per-weight step size). Parameter count: 784*128 + 128 + 128*10 + 10 = 101,770.

An epoch is one pass over the training set in mini-batches of batch_size images;
after each batch the weights take one step.
"""
import keras
from keras import layers


def preprocess(images, labels):
    """Turn raw images and labels into network inputs and targets: returns (X, Y).

    images: uint8 array (m, 28, 28) with values 0..255.
    labels: int array (m,) with values 0..9.
    X: float32 (m, 784), values in [0, 1] (convert to float before dividing).
    Y: one-hot float32 (m, 10); keras.utils.to_categorical does this.
    """
    # BEGIN SOLUTION
    X = images.reshape(len(images), -1).astype("float32")  # BUG: not divided by 255
    Y = keras.utils.to_categorical(labels, num_classes=10).astype("float32")
    return X, Y
    # END SOLUTION


def build_model():
    """A compiled Keras model: 784 -> Dense(128, relu) -> Dense(10, softmax).

    Use keras.Sequential with keras.Input((784,)) first, then compile with
    optimizer="adam", loss="categorical_crossentropy" (one-hot targets) and
    metrics=["accuracy"]. Returns the model.
    """
    # BEGIN SOLUTION
    model = keras.Sequential([
        keras.Input((784,)),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION


def train(model, X, Y, epochs=5, batch_size=32):
    """Fit the model on (X, Y) and return the keras History (history.history
    holds the loss and accuracy of every epoch). Pass verbose=0 to keep output quiet.
    """
    # BEGIN SOLUTION
    return model.fit(X, Y, epochs=epochs, batch_size=batch_size, verbose=0)
    # END SOLUTION
