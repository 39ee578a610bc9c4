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
    X: floats (m, 784), values in [0, 1]: flatten each image to one row of 784 pixels
       (the network has 784 inputs) and divide by 255. float32, the precision Keras
       computes in, or float64 both work.
    Y: one-hot rows (m, 10) of floats, 1.0 in the column of the label. One-hot is
       required: build_model() uses the categorical cross-entropy, which takes one-hot
       targets. keras.utils.to_categorical(labels, 10) does this (it returns float64;
       float32 works too).
    """
    # BEGIN SOLUTION
    X = images.reshape(len(images), -1).astype("float32") / 255.0
    Y = keras.utils.to_categorical(labels, num_classes=10).astype("float32")
    return X, Y
    # END SOLUTION


def build_model():
    """A compiled Keras model: 784 -> Dense(128, relu) -> Dense(10, softmax).

    For example keras.Sequential with keras.Input((784,)) first, compiled with
    optimizer="adam", loss="categorical_crossentropy" (one-hot targets) and
    metrics=["accuracy"]. Returns the model.

    Any way of writing this network counts: keras.Sequential or the functional API;
    keras.Input((784,)), input_shape=(784,) or no input shape; activation="relu" or an
    Activation / ReLU layer after Dense(128); Dense(10, activation="softmax") or Dense(10)
    followed by a Softmax layer, also as keras.Sequential([model, layers.Softmax()]);
    Dropout between the layers. The model must take rows of 784 pixels, as preprocess()
    returns them. The output may instead be the 10 raw scores of a linear Dense(10) when
    the loss applies the softmax: keras.losses.CategoricalCrossentropy(from_logits=True).
    The optimizer is Adam ("adam" or keras.optimizers.Adam(...), any learning rate); the
    loss is the categorical cross-entropy, as a string, a loss object or a function.
    A subclass of keras.Model works too when its call() chains its Dense layers (with
    activations on the layers or applied in call()).
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
