"""The class similarity report: copydetect's winnowing over what students wrote, the stub
excluded, notebooks included; evidence on a page with the student code escaped."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from grader import gradebook, similarity
from grader.results import ExerciseResult, Result
from grader.results import TestResult as OneTest

ROOT = Path(__file__).resolve().parents[1]
STUB = (ROOT / "exercises" / "neuron.py").read_text()

# A student's own work: long enough to be well over copydetect's noise threshold.
OWN_A = '''

def train_loop(data, labels, rate=0.1, epochs=20):
    weights = np.zeros(data.shape[1])
    bias = 0.0
    history = []
    for epoch in range(epochs):
        mistakes = 0
        for row, target in zip(data, labels):
            guess = 1 if row @ weights + bias > 0 else 0
            if guess != target:
                weights = weights + rate * (target - guess) * row
                bias = bias + rate * (target - guess)
                mistakes += 1
        history.append(mistakes)
        if mistakes == 0:
            break
    return weights, bias, history
'''
# The same code, names and comments changed: winnowing sees through that.
OWN_A_RENAMED = OWN_A.replace("weights", "w").replace("bias", "b0").replace(
    "history", "errs").replace("mistakes", "n_wrong").replace("row", "xi") + \
    "# my own work, honest\n"
OWN_C = '''

def normalise(table):
    low, high = table.min(axis=0), table.max(axis=0)
    return (table - low) / np.where(high > low, high - low, 1.0)
'''
OWN_D = '''

def one_hot(labels, classes):
    out = np.zeros((len(labels), classes))
    out[np.arange(len(labels)), labels] = 1.0
    return out
'''
BODIES = [
    "return np.maximum(z, 0.0)", "return 1.0 / (1.0 + np.exp(-z))", "return np.tanh(z)",
    "return (z >= 0).astype(float)", "e = np.exp(z - z.max(axis=-1, keepdims=True))\n"
    "    return e / e.sum(axis=-1, keepdims=True)", "return x @ w + b", "return f(x @ w + b)"]


def filled_stub(own: str) -> str:
    """The stub with every NotImplementedError replaced (the same way for everyone: the
    course's structure), plus ``own``."""
    text, bodies = STUB, iter(BODIES)
    text = re.sub(r'raise NotImplementedError\([^)]*\)', lambda m: next(bodies, "return None"),
                  text)
    return text + own


def notebook(code: str) -> str:
    return json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["# Neuron\n", "Answer below."], "metadata": {}},
        {"cell_type": "code", "source": code.splitlines(keepends=True), "metadata": {},
         "outputs": [], "execution_count": None}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _write(out: Path, student: str, file: str, text: str, *, snapshot: bool = True) -> None:
    folder = out / student
    folder.mkdir(parents=True)
    ex = ExerciseResult("neuron", "graded", file=file,
                        tests=[OneTest("neuron::t", "t", 1.0, 1.0, "passed")])
    result = Result(student, exercises=[ex])
    result.total()
    result.write(folder / "result.json")
    if snapshot:
        (folder / "submitted").mkdir()
        (folder / "submitted" / file).write_text(text)
    (folder / "report.html").write_text("<!DOCTYPE html><title>r</title>")


@pytest.fixture
def results(tmp_path) -> Path:
    out = tmp_path / "results"
    _write(out, "ann", "neuron.py", filled_stub(OWN_A))
    _write(out, "ben", "Neuron (1).py", filled_stub(OWN_A_RENAMED) +
           'label = "</pre><script>alert(1)</script><b>bold</b>"\n')
    _write(out, "cid", "neuron.py", STUB + OWN_C)      # the stub as handed out, plus their own
    _write(out, "dee", "neuron.py", STUB + OWN_D)
    _write(out, "eve", "neuron.ipynb", notebook(OWN_A))
    # a folder graded straight from its source folder (no snapshot): read from there
    src = tmp_path / "class" / "fay"
    src.mkdir(parents=True)
    (src / "neuron.py").write_text(STUB + OWN_C.replace("table", "t"))
    _write(out, "fay", "neuron.py", "", snapshot=False)
    (out / "fay" / "source.json").write_text(json.dumps({"source": str(src), "kind": "folder"}))
    return out


def _pairs(pairs) -> set[frozenset]:
    return {frozenset((p["a"].student, p["b"].student)) for p in pairs}


def test_notebook_code_cells_only():
    assert similarity.notebook_code(notebook("x = 1\n")) == "x = 1\n\n"


def test_copied_code_is_found_through_renaming_notebooks_included(results):
    entries, notes = similarity.gather(results)
    assert sorted(e.student for e in entries) == ["ann", "ben", "cid", "dee", "eve", "fay"]
    assert notes == []
    pairs = similarity.compare(entries, threshold=0.5)
    found = _pairs(pairs)
    assert {frozenset(("ann", "ben")), frozenset(("ann", "eve")), frozenset(("ben", "eve")),
            frozenset(("cid", "fay"))} <= found
    assert not found & {frozenset(("cid", "dee")), frozenset(("ann", "cid")),
                        frozenset(("ann", "dee")), frozenset(("dee", "fay"))}
    top = pairs[0]
    assert top["similarity"] >= 0.8
    assert pairs == sorted(pairs, key=lambda p: -p["similarity"])
    shared = "".join(t for t, hit in top["segments_a"] if hit)
    assert "for epoch in range(epochs)" in shared or "for epoch in range(" in shared
    # the segments cut the student's text without losing or adding a character
    assert "".join(t for t, _ in top["segments_a"]) == top["a"].text
    assert "".join(t for t, _ in top["segments_b"]) == top["b"].text


def test_the_stub_handed_out_is_not_evidence(results, monkeypatch):
    entries, _ = similarity.gather(results)
    with_stub = similarity.compare(entries, threshold=0.3, top=100)
    monkeypatch.setattr(similarity, "stub_texts", lambda exercise: [])
    without_stub = similarity.compare(entries, threshold=0.3, top=100)
    # the course's own code makes cid and dee look alike only when it is not excluded
    assert frozenset(("cid", "dee")) in _pairs(without_stub)
    assert frozenset(("cid", "dee")) not in _pairs(with_stub)


def test_page_and_csv_escape_student_code_and_summary_links_them(results):
    done = similarity.write_report(results, threshold=0.5)
    html = (results / "similarity.html").read_text()
    assert "<script" not in html.lower() and "<b>bold" not in html
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Evidence for a human, not a verdict" in html
    assert 'href="ann/report.html"' in html and "<mark>" in html
    rows = list(csv.DictReader(open(results / "similarity.csv", encoding="utf-8")))
    assert len(rows) == len(done["pairs"]) >= 4
    assert {"student_a", "student_b", "similarity", "shared_tokens"} <= set(rows[0])
    summary = (results / "summary.html").read_text()
    assert 'href="similarity.html"' in summary
    # evidence only: no result changed
    assert all(Result.read(results / s / "result.json").score == 1.0
               for s in ("ann", "ben", "eve"))
    assert not any("similar" in r["note"] for r in gradebook.read_gradebook(
        results / "gradebook.csv"))


def test_an_unreadable_file_is_listed_not_compared(results):
    (results / "dee" / "submitted" / "neuron.py").unlink()
    entries, notes = similarity.gather(results)
    assert "dee" not in {e.student for e in entries}
    assert notes and notes[0].startswith("dee: neuron (neuron.py) could not be read")
