"""Hidden suite for the attrition exercise: the employee-attrition classifier."""
