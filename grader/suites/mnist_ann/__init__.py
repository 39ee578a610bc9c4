"""Hidden suite for the mnist_ann exercise: the Keras MNIST classifier."""
