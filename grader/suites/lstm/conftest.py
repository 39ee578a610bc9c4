"""Data and the one expensive step of the lstm suite: training the student's model once.

The training sequences and labels go to the student's worker (it needs them to learn); the
held-out sequences come from the installation's secret key and their labels never leave
this process (scored here with scikit-learn).
"""
import pytest

from grader.suites.lstm.sequence_model import N_X, T, held_out_sequences, training_sequences
from grader.suites.outcome import Once


@pytest.fixture(scope="package")
def sequences():
    """{"train": (X, y), "held_out": (X, y)}, X float32 (m, T, 1), y float32 (m,)."""
    return {"train": training_sequences(), "held_out": held_out_sequences()}


@pytest.fixture(scope="package")
def trained(student, sequences):
    """(model, history) from build_sequence_model(T, 1) and train_sequence_model with its
    defaults, run once; a failure is replayed in every test that needs the model."""
    def pipeline():
        X, y = sequences["train"]
        model = student.build_sequence_model(T, N_X)
        history = student.train_sequence_model(model, X, y)
        return model, history
    return Once(pipeline)
