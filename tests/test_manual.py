"""Written answers: extracted from notebooks, graded by hand, kept across regrades."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader import assignment, manual
from grader.results import ExerciseResult, Result

ROOT = assignment.PROJECT_ROOT
TEMPLATE = ROOT / "exercises" / "perceptron.ipynb"
QUESTIONS = [q["id"] for q in manual.questions_for("perceptron")]


def notebook_with(tmp_path: Path, answers: dict[str, str], *, drop_marker: str = "",
                  duplicate: str = "", solved: bool = False) -> Path:
    """The perceptron template with some answers written (and student-style damage)."""
    nb = json.loads(TEMPLATE.read_text())
    cells = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("grader", {})
        qid = meta.get("question")
        if solved and meta.get("role") == "definition":
            cell["source"] = ""
        if qid in answers:
            cell["source"] = answers[qid]
        if qid and qid == drop_marker:
            cell["metadata"] = {}
        cells.append(cell)
        if qid and qid == duplicate:
            cells.append({**cell, "id": cell["id"] + "-copy", "source": "A second try."})
    if solved:
        first = next(c for c in cells if c.get("metadata", {}).get("grader", {}).get("role")
                     == "definition")
        first["source"] = (ROOT / "solutions" / "perceptron.py").read_text()
    nb["cells"] = cells
    path = tmp_path / "perceptron.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_questions_come_from_questions_yaml():
    assert len(QUESTIONS) >= 2
    assert all(q["points"] > 0 for q in manual.questions_for("perceptron"))


def test_answers_are_found_by_their_marker_and_unanswered_ones_flagged(tmp_path):
    path = notebook_with(tmp_path, {QUESTIONS[0]: "AND and OR are separable; XOR is not."})
    got = {a["question"]: a for a in manual.extract_answers(path, "perceptron")}
    assert got[QUESTIONS[0]]["answered"] and "XOR is not" in got[QUESTIONS[0]]["answer"]
    assert not got[QUESTIONS[1]]["answered"] and got[QUESTIONS[1]]["answer"] == ""
    assert all(a["points"] is None for a in got.values())


def test_points_come_from_the_course_not_from_the_students_metadata(tmp_path):
    path = notebook_with(tmp_path, {QUESTIONS[0]: "answer"})
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("grader", {}).get("question") == QUESTIONS[0]:
            cell["metadata"]["grader"]["points"] = 1000
    path.write_text(json.dumps(nb))
    first = manual.extract_answers(path, "perceptron")[0]
    assert first["max_points"] == manual.questions_for("perceptron")[0]["points"]


def test_a_lost_marker_falls_back_to_the_cell_after_the_question(tmp_path):
    path = notebook_with(tmp_path, {QUESTIONS[0]: "still my answer"}, drop_marker=QUESTIONS[0])
    first = manual.extract_answers(path, "perceptron")[0]
    assert first["answer"] == "still my answer" and "marker was lost" in first["note"]


def test_duplicated_answer_cells_are_all_shown(tmp_path):
    path = notebook_with(tmp_path, {QUESTIONS[0]: "First try."}, duplicate=QUESTIONS[0])
    first = manual.extract_answers(path, "perceptron")[0]
    assert "First try." in first["answer"] and "A second try." in first["answer"]
    assert "2 answer cells" in first["note"]


def test_a_broken_notebook_yields_unanswered_questions_not_a_crash(tmp_path):
    path = tmp_path / "perceptron.ipynb"
    path.write_bytes(b"\x89PNG not json")
    answers = manual.extract_answers(path, "perceptron")
    assert [a["answered"] for a in answers] == [False] * len(QUESTIONS)
    assert all(a["note"] == "no answer cell found" for a in answers)


@pytest.mark.parametrize("suffix,text", [
    (".csv", "exercise,question,points,comment\nperceptron,{q},2,Nice\n"),
    (".json", '[{{"exercise": "perceptron", "question": "{q}", "points": 2, "comment": "Nice"}}]'),
    (".yaml", "- exercise: perceptron\n  question: {q}\n  points: 2\n  comment: Nice\n"),
])
def test_grades_files_in_three_formats(tmp_path, suffix, text):
    path = tmp_path / f"grades{suffix}"
    path.write_text(text.format(q=QUESTIONS[0]))
    rows = manual.read_grades(path)
    assert [(r["exercise"], r["question"], r["points"], r["comment"]) for r in rows] == \
        [("perceptron", QUESTIONS[0], 2.0, "Nice")]
    manual.check_grades(rows, path)


@pytest.mark.parametrize("text,fragment", [
    ("exercise,question,points\nperceptron,nope,1\n", "no written question 'nope'"),
    ("exercise,question,points\nperceptron,{q},99\n", "outside 0.."),
    ("exercise,question,points\nperceptron,{q},lots\n", "is not a number"),
    ("exercise,points\nperceptron,1\n", "needs exercise, question and points"),
])
def test_bad_grades_files_name_the_file_and_row(tmp_path, text, fragment):
    path = tmp_path / "grades.csv"
    path.write_text(text.format(q=QUESTIONS[0]))
    with pytest.raises(manual.ManualGradesError) as info:
        manual.check_grades(manual.read_grades(path), path)
    assert fragment in str(info.value) and str(path) in str(info.value)


def _result(answer: str) -> Result:
    entries = [{"question": q, "prompt": "p", "max_points": 3.0, "answer": answer,
                "answered": True, "points": None, "comment": "", "note": "",
                "answer_sha256": str(hash(answer))} for q in QUESTIONS]
    return Result("alice", exercises=[ExerciseResult("perceptron", "graded", manual=entries)])


def test_manual_points_count_once_graded_and_survive_an_unchanged_regrade(tmp_path):
    first = _result("same answer")
    first.total()
    # every written question counts in the maximum from the start (schema 1.2): the same
    # maximum for every student, graded or not
    assert (first.score, first.max_score) == (0, 6) and first.exercises[0].manual_pending == 6
    path = tmp_path / "g.csv"
    path.write_text(f"exercise,question,points,comment\nperceptron,{QUESTIONS[0]},2,ok\n")
    manual.apply_grades(first, manual.read_grades(path), path)
    first.total()
    assert (first.score, first.max_score) == (2.0, 6.0)

    again = _result("same answer")
    manual.carry_over(again, Result.from_dict(json.loads(json.dumps(first.to_dict()))))
    again.total()
    assert (again.score, again.exercises[0].manual[0]["comment"]) == (2.0, "ok")

    changed = _result("a rewritten answer")
    manual.carry_over(changed, first)
    changed.total()
    assert changed.score == 0 and "grade it again" in changed.exercises[0].manual[0]["note"]


@pytest.mark.slow
def test_grade_with_manual_file_end_to_end(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    notebook_with(sub, {QUESTIONS[0]: "<script>alert(1)</script> separable"}, solved=True)
    grades = tmp_path / "grades.yaml"
    grades.write_text(f"- {{exercise: perceptron, question: {QUESTIONS[0]}, points: 1.5, "
                      f"comment: see me}}\n")
    out = tmp_path / "out"

    def grade(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "grader", "grade", str(sub), "--exercise",
                               "perceptron", "--out", str(out), *extra],
                              capture_output=True, text=True, timeout=300)

    assert grade("--manual", str(grades)).returncode == 0
    result = Result.read(out / "result.json")
    ex = result.exercise("perceptron")
    auto = sum(t.max_points for t in ex.tests)
    assert ex.score == auto + 1.5 and ex.manual_pending > 0
    html = (out / "report.html").read_text()
    assert "see me" in html and "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    assert grade().returncode == 0  # a regrade without the file keeps the manual points
    assert Result.read(out / "result.json").exercise("perceptron").score == auto + 1.5
