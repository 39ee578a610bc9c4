"""Hidden suite for the neuron exercise: a single neuron and a dense layer."""
