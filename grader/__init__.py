"""Exercises and a sandboxed autograder for an introductory deep-learning course.

In a notebook, ``from grader import check; check("neuron")`` runs the public tests on the
notebook's current definitions. Importing the package stays light: no TensorFlow, no pytest.
"""
# the function, not the grader.check module: a lazy __getattr__ would hand back the module
# once anything (the command line) has imported it
from grader.check import check

__all__ = ["check"]
