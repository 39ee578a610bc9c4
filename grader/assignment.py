"""The assignment's catalog: which exercises exist and what grading each one needs.

Everything that iterates over exercises (locating, generation, grading, reports) reads this
list, so adding an exercise starts here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent
SUITES_DIR = PACKAGE_DIR / "suites"
# The student edition (grader.student_edition) carries the public tests only, their frozen
# expected values and the stubs; this file marks it.
EDITION_MARKER = SUITES_DIR / "STUDENT_EDITION"
STUDENT_EDITION = EDITION_MARKER.is_file()
# The untouched exercise stubs: packaged in the student edition, exercises/ in this project.
STUBS_DIR = PACKAGE_DIR / "stubs" if STUDENT_EDITION else PROJECT_ROOT / "exercises"


FROZEN_VALUES_FILE = "expected.json"


def frozen_values_path(name: str, suites_dir: Path = SUITES_DIR) -> Path:
    """Where the student edition keeps an exercise's frozen reference values."""
    return suites_dir / name / FROZEN_VALUES_FILE


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    uses_tensorflow: bool = False
    time_budget: float = 120.0  # seconds of wall time for the whole exercise's suite
    call_timeout: float = 30.0  # seconds for one call into student code
    dataset: str | None = None  # which data source decides its thresholds


EXERCISES: tuple[Exercise, ...] = (
    Exercise("neuron", "A single neuron and a dense layer"),
    Exercise("backprop", "Backpropagation for a two-layer network", time_budget=180.0),
    Exercise("perceptron", "Rosenblatt's perceptron"),
    Exercise("mnist_ann", "An MNIST classifier in Keras", uses_tensorflow=True,
             time_budget=600.0, call_timeout=300.0, dataset="mnist"),
    Exercise("attrition", "Employee attrition (IBM HR data)", uses_tensorflow=True,
             time_budget=600.0, call_timeout=300.0, dataset="attrition"),
    Exercise("circles", "An MLP on concentric circles", time_budget=240.0, call_timeout=120.0),
    Exercise("optimizers", "Optimizers and losses: SGD, momentum, RMSprop, Adam"),
    Exercise("cnn", "Convolution and pooling: a CNN for MNIST", uses_tensorflow=True,
             time_budget=600.0, call_timeout=300.0, dataset="mnist"),
    Exercise("lstm", "The LSTM: gates, a forward pass and a sequence model", uses_tensorflow=True,
             time_budget=600.0, call_timeout=300.0),
)
EXERCISE_NAMES: tuple[str, ...] = tuple(e.name for e in EXERCISES)
BY_NAME: dict[str, Exercise] = {e.name: e for e in EXERCISES}


def get(name: str) -> Exercise:
    """The exercise called ``name``; a ValueError listing the valid names otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"unknown exercise {name!r}; choose from: {', '.join(EXERCISE_NAMES)}"
        ) from None
