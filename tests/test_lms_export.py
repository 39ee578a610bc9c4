"""Roster and LMS exports, on hand-made batch folders (no grading).

The layouts tested are the documented ones: Canvas's gradebook import CSV (the columns of a
Canvas gradebook export: Student, ID, SIS User ID, SIS Login ID, Section, then
"<assignment> (<id>)", with the "Points Possible" row) and Moodle's CSV grade import (an
identifier column mapped in the import dialog, a grade item column, a feedback column).
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader import batch, gradebook, lms_export, roster
from grader.results import ExerciseResult, Result
from grader.results import TestResult as OneTest

ROOT = Path(__file__).resolve().parents[1]
ROSTER = ROOT / "tests" / "fixtures" / "roster" / "roster.csv"


def _result(name: str, points: float, *, late: dict | None = None, pending: bool = False
            ) -> Result:
    tests = [OneTest("neuron::test_relu", "relu", points, 10.0,
                        "passed" if points == 10 else "failed")]
    manual = [{"question": "neuron-bias", "prompt": "?", "answer": "a", "answered": True,
               "max_points": 2.0, "points": None if pending else 1.5, "comment": "",
               "answer_sha256": "x"}]
    result = Result(name, exercises=[ExerciseResult("neuron", "graded", tests=tests,
                                                    manual=manual, file="neuron.py")],
                    late=late or {})
    result.total()
    return result


@pytest.fixture
def results(tmp_path) -> Path:
    """s001 on time, s002 late (-20 %), frank not on the roster, s009 and others: no
    submission; the roster kept as a batch keeps it."""
    out = tmp_path / "results"
    late = {"submitted_at": "2026-12-03T10:00:00+00:00", "deadline": "2026-12-01T23:59:00+01:00",
            "days_late": 2, "penalty_percent": 20.0, "accepted": True, "status": "late",
            "source": "submissions manifest"}
    for name, points, kwargs in (("s001", 10.0, {}), ("s002", 7.5, {"late": late}),
                                 ("frank", 4.0, {"pending": True})):
        (out / name).mkdir(parents=True)
        _result(name, points, **kwargs).write(out / name / "result.json")
    roster.write_roster(roster.read_roster(ROSTER), out / roster.ROSTER_NAME)
    return out


def _read(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding=encoding), newline="")))


# ---- the roster --------------------------------------------------------------------------------

def test_roster_columns_by_their_usual_names_and_quoted_names_survive():
    r = roster.read_roster(ROSTER)
    assert [s.id for s in r.students][:3] == ["s001", "s002", "s003"]
    hank = r.students[-1]
    assert hank.name == 'O\'Hara, "Hank"' and hank.github == "hank" and hank.section == "B"
    assert r.students[5].extension == "2"


@pytest.mark.parametrize("name, expected", [
    ("s001", "s001"), ("alice", "s001"),            # id; email's part before '@'
    ("alice-gh", "s001"), ("hw1-alice-gh", "s001"),  # GitHub login; GitHub Classroom repo
    ("Carol", "s003"), ("bob@example.edu", "s002"), ("Erin", "s005"),  # login, email, name
    ("Green, Grace", "s007"), ("frank", None), ("", None),
    ("Green, Grace_1234567_assignsubmission_file_", "s007"),   # Moodle's download all
    ("Nobody Here_99_assignsubmission_file_", None)])
def test_a_submission_name_finds_its_student(name, expected):
    student = roster.read_roster(ROSTER).match(name)
    assert (student.id if student else None) == expected


@pytest.mark.parametrize("text, fragment", [
    ("name,email\nA,a@x\n", "no 'id' column"),
    ("id,name\ns1,A\ns1,B\n", "already on line 2"),
    ("id,github\ns1,gh\ns2,GH\n", "GitHub login 'GH' is also s1's"),
    ("id,extension\ns1,next week\n", "extension 'next week'"),
    ("id,name\n,A\n", "line 2: no id"),
])
def test_a_bad_roster_says_which_line_and_why(text, fragment):
    with pytest.raises(roster.RosterError, match=fragment.replace("(", r"\(")):
        roster.parse_roster(text)


def test_semicolon_roster_with_bom(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes("\ufeffStudent ID;Name;E-mail\ns1;Zoë Ünal;z@x.org\n".encode())
    s = roster.read_roster(path).students[0]
    assert (s.id, s.name, s.email) == ("s1", "Zoë Ünal", "z@x.org")


def test_batch_submissions_take_roster_ids_and_strays_are_warned(tmp_path):
    for name in ("alice", "Bob Baker", "frank"):
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "neuron.py").write_text("x = 1\n")
    subs, _ = batch.discover(tmp_path / "class")
    r = roster.parse_roster("id,name,email\ns001,Alice,alice@x.org\ns002,Bob Baker,b@x.org\n"
                            "s003,Carol,c@x.org\n")
    mapped, warnings = roster.assign(subs, r)
    assert [(s.id, s.name) for s in mapped] == [("frank", "frank"), ("s001", "alice"),
                                                ("s002", "Bob Baker")]
    assert warnings == ["frank: not on the roster; graded under its own name"]
    assert [s.id for s in roster.missing(r, [s.id for s in mapped])] == ["s003"]


def test_gradebook_carries_roster_columns_late_columns_and_no_submission_rows(results):
    rows = roster.with_roster(gradebook.collect([results]), results)
    gradebook.write_outputs(gradebook.collect([results]), results)
    book = {r["id"]: r for r in gradebook.read_gradebook(results / "gradebook.csv")}
    header = list(next(csv.reader(open(results / "gradebook.csv", encoding="utf-8"))))
    assert header[:5] == ["id", "name", "email", "section", "github"]
    assert header[header.index("percent") + 1:][:4] == list(gradebook.LATE_COLUMNS)
    assert book["s001"]["name"] == "Archer, Alice" and book["s001"]["status"] == "graded"
    assert book["s002"]["late_penalty"] == "20" and book["s002"]["days_late"] == "2"
    assert book["s002"]["total"] == "7.2"          # (7.5 + 1.5) - 20 %: 9 - 1.8
    assert "late 2 days (submissions manifest): -20 %" in book["s002"]["note"]
    assert book["frank"]["name"] == "" and "not on the roster" in book["frank"]["note"]
    missing = {i for i, r in book.items() if r["status"] == "no_submission"}
    assert missing == {"s003", "dave", "s005", "s007", "s009"}
    assert book["s009"]["total"] == "" and book["s009"]["note"] == "no submission"
    assert len(rows) == len(book)
    html = (results / "summary.html").read_text()
    assert "5 no submission" in html


# ---- Canvas ------------------------------------------------------------------------------------

def test_canvas_layout(results, tmp_path):
    path, warnings = lms_export.write_export(results, "canvas", tmp_path / "canvas.csv",
                                             assignment="Neural nets, part 1",
                                             assignment_id="4711", bom=True)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")              # --bom: as Canvas's Excel setting
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    rows = _read(path, "utf-8-sig")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "Neural nets, part 1 (4711)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "12"]
    assert all(len(r) == 6 for r in rows)
    by_sis = {r[2]: r for r in rows[2:]}
    assert by_sis["s001"] == ["Archer, Alice", "", "s001", "alice@example.edu", "A", "11.5"]
    assert by_sis["s002"][5] == "7.2"
    assert by_sis["s009"] == ['O\'Hara, "Hank"', "", "s009", "hank@example.edu", "B", ""]
    assert by_sis["frank"][0] == "frank" and by_sis["frank"][5] == "4"
    # quoting: the name with a comma and quotes is one quoted field in the file
    assert '"O\'Hara, ""Hank"""' in raw.decode("utf-8-sig")
    assert any("frank: not on the roster" in w for w in warnings)
    assert any("written answers to grade" in w and "frank" in w for w in warnings)


def test_canvas_without_assignment_id_and_missing_as_zero(results, tmp_path):
    path, _ = lms_export.write_export(results, "canvas", tmp_path / "c.csv", assignment="HW1",
                                      missing_zero=True)
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")    # plain UTF-8 by default
    rows = _read(path, "utf-8-sig")
    assert rows[0][-1] == "HW1"
    assert {r[2]: r[5] for r in rows[2:]}["s009"] == "0"


# ---- Moodle ------------------------------------------------------------------------------------

def test_moodle_layout_by_email_with_feedback(results, tmp_path):
    path, _ = lms_export.write_export(results, "moodle", tmp_path / "m.csv", assignment="HW1")
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = _read(path)
    assert rows[0] == ["Email address", "Full name", "HW1", "Feedback: HW1"]
    assert all(len(r) == 4 for r in rows)
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["alice@example.edu"][1:3] == ["Archer, Alice", "11.5"]
    assert by_id["bob@example.edu"][2] == "7.2"
    assert "late 2 day(s): -20 %" in by_id["bob@example.edu"][3]
    assert by_id["hank@example.edu"][2:] == ["", "No submission."]
    assert "not graded yet" in by_id["frank"][3]


@pytest.mark.parametrize("identify_by, key, header", [
    ("idnumber", "s001", "ID number"), ("username", "alice", "Username")])
def test_moodle_other_identifiers(results, tmp_path, identify_by, key, header):
    path, _ = lms_export.write_export(results, "moodle", tmp_path / "m.csv", assignment="HW1",
                                      identify_by=identify_by, feedback=False)
    rows = _read(path)
    assert rows[0] == [header, "Full name", "HW1"]
    assert {r[0]: r[2] for r in rows[1:]}[key] == "11.5"


def test_a_student_chosen_id_cannot_become_a_formula(tmp_path):
    out = tmp_path / "results"
    (out / "=cmd").mkdir(parents=True)
    _result("=cmd", 10).write(out / "=cmd" / "result.json")
    rows = _read(lms_export.write_export(out, "moodle", tmp_path / "m.csv",
                                         assignment="HW1")[0])
    assert rows[1][0] == "'=cmd" and rows[1][1] == "'=cmd"


# ---- the command -------------------------------------------------------------------------------

def _grader(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_export_command_writes_both_and_keeps_its_other_formats(results, tmp_path):
    done = _grader("export", results, "--format", "canvas", "--assignment", "HW1",
                   "--assignment-id", "9", "--out", tmp_path / "c.csv")
    assert done.returncode == 0, done.stderr
    assert _read(tmp_path / "c.csv", "utf-8-sig")[0][-1] == "HW1 (9)"
    assert "warning: frank: not on the roster" in done.stderr
    done = _grader("export", results, "--format", "moodle", "--identify-by", "idnumber")
    assert done.returncode == 0, done.stderr
    assert _read(results / "moodle.csv")[0][0] == "ID number"
    done = _grader("export", results / "s001", "--format", "gradescope")
    assert done.returncode == 0 and json.loads(done.stdout)["score"] == 11.5
    done = _grader("export", results, results, "--format", "canvas")
    assert done.returncode == 2 and "one batch output folder" in done.stderr


def test_a_shard_lists_no_missing_students_and_merge_brings_the_roster(results, tmp_path):
    from grader.term import Term

    Term(roster=roster.read_roster(ROSTER), shard="1/2").save(results)
    rows = roster.with_roster(gradebook.collect([results]), results)
    assert {r.id for r in rows} == {"s001", "s002", "frank"}      # others may be in shard 2
    assert rows[0].roster or rows[1].roster                        # still the roster's columns
    merged = gradebook.merge([results], tmp_path / "merged")
    gradebook.write_outputs(merged, tmp_path / "merged")
    book = gradebook.read_gradebook(tmp_path / "merged" / "gradebook.csv")
    assert {r["id"] for r in book if r["status"] == "no_submission"} == {
        "s003", "dave", "s005", "s007", "s009"}
    assert json.loads((tmp_path / "merged" / "term.json").read_text())["shard"] is None
