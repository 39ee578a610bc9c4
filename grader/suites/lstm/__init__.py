"""Hidden suite for the lstm exercise: an LSTM in numpy, checked against Keras, and a Keras
sequence model scored on held-out sequences."""
