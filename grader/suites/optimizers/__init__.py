"""Hidden suite for the optimizers exercise: update rules and losses, against Keras."""
