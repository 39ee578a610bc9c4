"""Hidden suite for the perceptron exercise: Rosenblatt's perceptron."""
