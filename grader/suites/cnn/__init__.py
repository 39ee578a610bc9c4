"""Hidden suite for the cnn exercise."""
