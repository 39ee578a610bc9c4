"""Which file answers which exercise (grader/locate.py), rule by rule of its docstring."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.assignment import PROJECT_ROOT
from grader.locate import candidate_paths, locate

STUB = '"""stub"""\n\ndef relu(z):\n    raise NotImplementedError\n\n\n' \
       'def sigmoid(z):\n    raise NotImplementedError\n'
HALF_DONE = 'def relu(z):\n    return z * (z > 0)\n\n\ndef sigmoid(z):\n    raise ' \
            'NotImplementedError("todo")\n'
DONE = "import numpy as np\n\ndef relu(z):\n    return np.maximum(z, 0)\n\n\n" \
       "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"


def notebook(*cells: str) -> str:
    """A minimal nbformat-4 notebook whose code cells hold ``cells``."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "code", "source": c, "metadata": {},
                                  "outputs": [], "execution_count": None} for c in cells]})


@pytest.fixture
def stubs(tmp_path) -> Path:
    """A course exercises/ folder holding the generated stubs."""
    folder = tmp_path / "course-stubs"
    folder.mkdir()
    (folder / "neuron.py").write_text(STUB)
    (folder / "neuron.ipynb").write_text(notebook(STUB))
    return folder


@pytest.fixture
def sub(tmp_path) -> Path:
    folder = tmp_path / "submission"
    (folder / "exercises").mkdir(parents=True)
    return folder


def put(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_candidates_are_the_four_paths_in_order():
    assert candidate_paths("neuron") == ["neuron.py", "neuron.ipynb", "exercises/neuron.py",
                                         "exercises/neuron.ipynb"]


@pytest.mark.parametrize("rel", candidate_paths("neuron"))
def test_each_candidate_is_found_on_its_own(sub, stubs, rel):
    text = notebook(DONE) if rel.endswith(".ipynb") else DONE
    put(sub, rel, text)
    found = locate(sub, "neuron", stubs)
    assert found.found and found.rel == rel
    assert found.path == (sub / rel).resolve()
    assert found.reason == f"{rel} is the only candidate"
    assert found.candidates == [rel]


def test_missing_names_every_path_looked_for(sub, stubs):
    put(sub, "neuronn.py", DONE)                         # near misses do not count
    put(sub, "my_neuron.py", DONE)
    found = locate(sub, "neuron", stubs)
    assert not found.found and found.path is None and found.rel is None
    for rel in candidate_paths("neuron"):
        assert rel in found.reason
    assert found.reason.startswith("no file found")
    # ... and it lists what was there, with the closest name
    assert "the submission holds exercises/, my_neuron.py, neuronn.py" in found.reason
    assert "did you mean neuronn.py" in found.reason


def test_untouched_stub_loses_to_an_edited_file(sub, stubs):
    put(sub, "neuron.py", STUB)                          # byte-identical to the course stub
    put(sub, "exercises/neuron.ipynb", notebook(STUB.replace("stub", "my notes")
                                                + "\n# raise NotImplementedError later\n"))
    found = locate(sub, "neuron", stubs)
    # the edited notebook has *more* NotImplementedError than the stub and still wins
    assert found.rel == "exercises/neuron.ipynb"
    assert "untouched stubs" in found.reason
    assert found.candidates == ["exercises/neuron.ipynb", "neuron.py"]


def test_only_an_untouched_stub_is_still_chosen_and_says_so(sub, stubs):
    put(sub, "neuron.py", STUB)
    found = locate(sub, "neuron", stubs)
    assert found.rel == "neuron.py" and "untouched stub" in found.reason


def test_fewest_not_implemented_wins(sub, stubs):
    put(sub, "neuron.py", HALF_DONE)                     # 1 left
    put(sub, "exercises/neuron.py", DONE)                # 0 left
    put(sub, "neuron.ipynb", notebook(STUB + "\n#edited\n"))   # 2 left
    found = locate(sub, "neuron", stubs)
    assert found.rel == "exercises/neuron.py"
    assert "fewest NotImplementedError" in found.reason
    assert found.candidates == ["exercises/neuron.py", "neuron.py", "neuron.ipynb"]


def test_notebook_with_more_work_beats_the_untouched_py_template(sub, stubs):
    """The docstring's example: the student filled in the notebook, not the .py."""
    put(sub, "neuron.py", STUB)
    put(sub, "neuron.ipynb", notebook(DONE))
    assert locate(sub, "neuron", stubs).rel == "neuron.ipynb"


def test_ties_go_to_the_root_then_py(sub, stubs):
    for rel in candidate_paths("neuron"):
        put(sub, rel, notebook(DONE) if rel.endswith(".ipynb") else DONE)
    found = locate(sub, "neuron", stubs)
    assert found.rel == "neuron.py"
    assert "root before exercises/, .py before .ipynb" in found.reason
    (sub / "neuron.py").unlink()
    assert locate(sub, "neuron", stubs).rel == "neuron.ipynb"      # root .ipynb before exercises/
    (sub / "neuron.ipynb").unlink()
    assert locate(sub, "neuron", stubs).rel == "exercises/neuron.py"


def test_symlink_to_outside_is_ignored_with_a_reason(sub, stubs, tmp_path):
    outside = put(tmp_path / "elsewhere", "neuron.py", DONE)
    (sub / "neuron.py").symlink_to(outside)
    found = locate(sub, "neuron", stubs)
    assert not found.found
    assert "neuron.py (a link to outside the submission)" in found.reason
    put(sub, "exercises/neuron.py", HALF_DONE)
    found = locate(sub, "neuron", stubs)
    assert found.rel == "exercises/neuron.py"            # the real file, not the link
    assert found.path == (sub / "exercises" / "neuron.py").resolve()


def test_symlink_inside_the_submission_is_followed(sub, stubs):
    target = put(sub, "lib/neuron_impl.py", DONE)
    (sub / "neuron.py").symlink_to(Path("lib") / "neuron_impl.py")
    found = locate(sub, "neuron", stubs)
    assert found.rel == "neuron.py" and found.path == target.resolve()


def test_a_directory_named_like_the_file_is_not_a_candidate(sub, stubs):
    (sub / "neuron.py").mkdir()
    assert not locate(sub, "neuron", stubs).found


def test_default_stubs_are_the_course_exercises(tmp_path):
    """With the real exercises/ folder: a copied stub loses to a copied solution."""
    sub = tmp_path / "student"
    (sub / "exercises").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "exercises" / "perceptron.py", sub / "perceptron.py")
    shutil.copy(PROJECT_ROOT / "solutions" / "perceptron.py",
                sub / "exercises" / "perceptron.py")
    found = locate(sub, "perceptron")
    assert found.rel == "exercises/perceptron.py"
    assert "untouched stubs" in found.reason
