"""Hidden suite for the circles exercise: the MLP on concentric circles."""
