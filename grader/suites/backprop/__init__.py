"""Hidden suite for the backprop exercise: backpropagation for a two-layer network."""
