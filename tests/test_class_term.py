"""A term with a real class (issue 14): what a TA receives and does, from the class folder to
the finalised gradebook.

The fast tests work on files and hand-made results (no grading); the one slow module fixture
grades the class of tests/fixtures/class/ once (neuron + perceptron: numpy only, ~30 s on two
cores) and the slow tests walk the term on it: batch -> answers sheet -> class grades file ->
gradebook and summary -> finalise.
"""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import answers, batch, gradebook, manual
from grader.locate import locate, untouched_functions
from grader.results import ExerciseResult, Result
from grader.results import TestResult as OneTest  # not a pytest class

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "class"
STUBS = ROOT / "exercises"
SOLUTIONS = ROOT / "solutions"
NEURON_Q = [q["id"] for q in manual.questions_for("neuron")]
PERCEPTRON_Q = [q["id"] for q in manual.questions_for("perceptron")]
WRITTEN_MAX = sum(q["points"] for n in ("neuron", "perceptron") for q in manual.questions_for(n))


def load_builder():
    spec = importlib.util.spec_from_file_location("class_fixture", FIXTURE / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_grader(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


# ---- answers wherever they are -----------------------------------------------------------------

def test_answers_md_one_heading_per_question(tmp_path):
    path = tmp_path / "ANSWERS.md"
    path.write_text(
        "# Answers\n\nintro that belongs to no question\n\n"
        "## `neuron-bias`:\nfirst line\n\n### a sub-heading stays in the answer\nmore\n"
        "```\n## neuron-stability is not a heading inside a code fence\n```\n"
        "## Neuron-Nonlinearity (3 points)\n\n"           # empty: not an answer
        "## neuron-stability\n_Write your answer here._\n"  # the placeholder: not an answer
        "## perceptron-beyond\n<b>bold</b> & more\n")
    got = manual.parse_answers_file(path, NEURON_Q + PERCEPTRON_Q)
    assert set(got) == {"neuron-bias", "perceptron-beyond"}
    assert got["neuron-bias"].startswith("first line")
    assert "### a sub-heading stays in the answer" in got["neuron-bias"]
    assert "code fence" in got["neuron-bias"]
    assert got["perceptron-beyond"] == "<b>bold</b> & more"   # kept as text; escaped on output


def test_a_hostile_answers_file_is_read_in_bounded_time(tmp_path):
    """The trusted process reads ANSWERS.md: no regex backtracking on a megabyte of '#'."""
    import time

    path = tmp_path / "ANSWERS.md"
    path.write_text("# " + "#" * 1_000_000 + "x\n## neuron-bias\n\x1b[31mok\u202e\n")
    started = time.monotonic()
    got = manual.parse_answers_file(path, NEURON_Q)
    assert time.monotonic() - started < 5
    # the escape sequence is removed, the bidi override replaced (grader.safe_text)
    assert got == {"neuron-bias": "ok\ufffd"}


def test_answers_come_from_the_notebook_even_when_the_code_is_the_py(tmp_path):
    builder = load_builder()
    sub = tmp_path / "alice"
    builder.write(sub, {"neuron.py": builder.solution("neuron"),
                        "neuron.ipynb": builder.answered_notebook(
                            "neuron", {"neuron-bias": "in the notebook"}),
                        "answers.md": "## neuron-stability\nin the answers file\n"
                                      "## neuron-bias\nalso here\n"})
    loc = locate(sub, "neuron")
    assert loc.rel == "neuron.py"                             # the code is graded from the .py
    got = {a["question"]: a for a in manual.find_answers(sub, "neuron", loc)}
    assert got["neuron-stability"]["answer"] == "in the answers file"
    assert got["neuron-stability"]["source"] == "answers.md (heading neuron-stability)"
    both = got["neuron-bias"]
    assert "in the notebook" in both["answer"] and "also here" in both["answer"]
    assert "answered in both neuron.ipynb and answers.md" in both["note"]
    missing = got["neuron-nonlinearity"]
    assert not missing["answered"] and missing["points"] is None
    assert "no answer found: looked for an answer cell in neuron.ipynb and a " \
           "'## neuron-nonlinearity' heading in answers.md" == missing["note"]


def test_a_py_only_submission_lists_every_question_unanswered(tmp_path):
    sub = tmp_path / "erin"
    sub.mkdir()
    (sub / "perceptron.py").write_text(SOLUTIONS.joinpath("perceptron.py").read_text())
    got = manual.find_answers(sub, "perceptron", locate(sub, "perceptron"))
    assert [a["question"] for a in got] == PERCEPTRON_Q
    assert not any(a["answered"] for a in got)
    assert all("(not submitted)" in a["note"] for a in got)


def test_single_student_manual_grades_now_reach_a_py_only_submission(tmp_path):
    """`grade --manual` refused "not a notebook?"; the maximum stays that of everyone."""
    sub = tmp_path / "sub"
    sub.mkdir()
    entries = manual.find_answers(sub, "perceptron", None)
    result = Result("erin", exercises=[ExerciseResult(
        "perceptron", "graded", tests=[OneTest("perceptron::t", "t", 15, 15, "passed")],
        manual=entries)])
    result.total()
    before = result.max_score
    assert before == 15 + sum(q["points"] for q in manual.questions_for("perceptron"))
    grades = tmp_path / "g.csv"
    grades.write_text(f"exercise,question,points,comment\nperceptron,{PERCEPTRON_Q[0]},1,"
                      f"answered on paper\n")
    manual.apply_grades(result, manual.read_grades(grades), grades)
    result.total()
    assert result.score == 16 and result.max_score == before


def test_grader_check_says_where_each_answer_was_found_and_which_are_missing(tmp_path):
    from grader.check import run_public_tests

    builder = load_builder()
    sub = builder.write(tmp_path / "bob", {
        "Neuron.py": builder.solution("neuron"),
        "ANSWERS.md": "## neuron-bias\nthe boundary moves off the origin\n"})
    report = run_public_tests(sub, ["neuron"])
    text = report.to_text()
    assert "written answers (graded by hand): 1 of 3 found" in text
    assert "[found]   neuron-bias: in ANSWERS.md (heading neuron-bias)" in text
    assert "[missing] neuron-stability: write it in the answer cell of neuron.ipynb or " \
           "under a '## neuron-stability' heading in ANSWERS.md" in text
    assert "- neuron: 1 of 3 found; missing: neuron\\-nonlinearity, neuron\\-stability" in \
        report.to_markdown()                              # the GitHub step summary
    # the public-only result (for CI) scores the public tests alone
    assert report.result.max_score == sum(t.max_points for t in report.exercises[0].tests)


# ---- file names, debris, stubs -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Neuron.py", "NEURON.ipynb", "neuron (1).py", "neuron-2.py",
                                  "neuron_final.ipynb", "neuron copy.py", "neuron_v2.py"])
def test_renamed_and_downloaded_files_are_found(tmp_path, name):
    (tmp_path / name).write_text("x = 1\n")
    found = locate(tmp_path, "neuron")
    assert found.rel == name and "by its name" in found.reason


def test_the_exact_name_wins_a_tie_and_debris_is_never_a_candidate(tmp_path):
    for name in ("neuron.py", "neuron (1).py"):
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "._neuron.py").write_bytes(b"\x00\x05\x16\x07")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "neuron.py").write_text("x = 1\n")
    found = locate(tmp_path, "neuron")
    assert found.rel == "neuron.py" and found.candidates == ["neuron.py", "neuron (1).py"]
    assert "exact file name" in found.reason


def test_a_wrapped_folder_is_looked_into(tmp_path):
    (tmp_path / "alice-main" / "exercises").mkdir(parents=True)
    (tmp_path / "alice-main" / "exercises" / "neuron.py").write_text("x = 1\n")
    (tmp_path / ".DS_Store").write_bytes(b"Bud1")
    assert locate(tmp_path, "neuron").rel == "alice-main/exercises/neuron.py"


def test_nothing_found_lists_the_files_and_the_closest_name(tmp_path):
    for name in ("neuro.py", "notes.txt", "Thumbs.db"):
        (tmp_path / name).write_text("x")
    reason = locate(tmp_path, "neuron").reason
    assert "the submission holds neuro.py, notes.txt" in reason and "Thumbs.db" not in reason
    assert "did you mean neuro.py?" in reason


def test_untouched_stubs_are_not_attempted_and_one_function_is_an_attempt(tmp_path):
    stub = STUBS.joinpath("neuron.py").read_text()
    (tmp_path / "neuron.py").write_text("# my notes\n" + stub)
    located = locate(tmp_path, "neuron")
    assert not located.attempted and "relu" in located.not_attempted_because
    shutil.copy(STUBS / "neuron.ipynb", tmp_path / "neuron.ipynb")   # the notebook stub too
    assert untouched_functions(tmp_path / "neuron.ipynb", "neuron")
    ok = "    return np.maximum(np.asarray(z, dtype=float), 0.0)\n"
    head, tail = stub.split("def relu(z):", 1)
    body_end = tail.index("\n\n\ndef ")
    relu = tail[:body_end].rsplit("    raise NotImplementedError", 1)[0] + ok
    (tmp_path / "neuron.py").write_text(head + "def relu(z):" + relu + tail[body_end:])
    assert locate(tmp_path, "neuron").attempted
    assert not untouched_functions(SOLUTIONS / "perceptron.py", "perceptron")
    # code written above a raise that was left in is an attempt too
    (tmp_path / "neuron.py").write_text(stub.replace(
        "    raise NotImplementedError(", "    z = abs(z)\n    raise NotImplementedError("))
    assert locate(tmp_path, "neuron").attempted


def test_the_class_folder_has_one_row_per_student(tmp_path):
    expected = load_builder().build(tmp_path / "class")
    subs, ignored = batch.discover(tmp_path / "class")
    assert [s.id for s in subs] == expected["ids"]            # no __MACOSX, no carol-2
    carol = next(s for s in subs if s.id == "carol")
    assert carol.kind == "folder" and "ignored carol.zip" in carol.warnings[0]
    assert ignored == []                                      # debris is not even "ignored"


# ---- the class grades file, on hand-made results -------------------------------------------------

def _result(name: str, answered: dict[str, str], neuron_status: str = "graded") -> Result:
    entries = []
    for q in manual.questions_for("neuron"):
        text = answered.get(q["id"], "")
        entries.append({"question": q["id"], "prompt": q["prompt"], "answer": text,
                        "max_points": float(q["points"]), "answered": bool(text),
                        "source": "ANSWERS.md" if text else "", "note": "", "points": None,
                        "comment": "", "answer_sha256": str(len(text))})
    tests = [OneTest("neuron::test_relu_values", "relu", 0.0 if name == "ben" else 1.0, 1.0,
                     "failed" if name == "ben" else "passed",
                     "relu(z): values differ" if name == "ben" else "")]
    ex = ExerciseResult("neuron", neuron_status, tests=tests, manual=entries)
    result = Result(name, exercises=[ex])
    result.total()
    return result


@pytest.fixture
def results(tmp_path) -> Path:
    out = tmp_path / "results"
    for name, answered, status in (
            ("ann", {"neuron-bias": "b shifts the boundary", "neuron-stability": "overflow"},
             "graded"),
            ("ben", {"neuron-bias": "=cmd|' /C calc'!A0"}, "graded"),
            ("cid", {}, "not_attempted")):
        (out / name).mkdir(parents=True)
        _result(name, answered, status).write(out / name / "result.json")
    (out / "dee").mkdir()
    (out / "dee" / "error.txt").write_text("timed out\n")
    return out


def test_answers_sheet_side_by_side_and_its_csv_is_the_grades_template(results):
    csv_path, html_path, n = answers.write_sheet(results)
    assert n == 3
    rows = list(csv.DictReader(csv_path.open(newline="")))
    assert list(rows[0]) == answers.SHEET_COLUMNS
    # grouped by question, then student: one question across the class at a time
    assert [(r["question"], r["student"]) for r in rows[:3]] == \
        [("neuron-bias", "ann"), ("neuron-bias", "ben"), ("neuron-bias", "cid")]
    ben = rows[1]
    assert ben["answer"].startswith("'=cmd")                  # no formula in a spreadsheet
    html = html_path.read_text()
    assert html.index('id="q-neuron-bias"') < html.index('id="q-neuron-nonlinearity"')
    assert "b shifts the boundary" in html and "no answer" in html


def test_grades_file_applied_without_grading_then_finalised(results):
    csv_path, _, _ = answers.write_sheet(results)
    rows = list(csv.DictReader(csv_path.open(newline="")))
    for row in rows:                  # the TA grades neuron-bias for everyone who answered
        if row["question"] == "neuron-bias" and row["answered"] == "yes":
            row["points"], row["comment"] = ("2", "good") if row["student"] == "ann" else \
                ("0.5", "=not a formula")
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=answers.SHEET_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    maxima = {r.id: r.max_total for r in gradebook.collect(results) if r.result}
    done = answers.apply_class_grades(results, csv_path)
    assert (done["applied"], done["students"]) == (2, 2)
    book = {r["id"]: r for r in gradebook.read_gradebook(results / "gradebook.csv")}
    assert (book["ann"]["auto"], book["ann"]["written"], book["ann"]["pending"]) == \
        ("1", "2", "5")
    ben = Result.read(results / "ben" / "result.json").exercise("neuron").manual[0]
    assert (ben["points"], ben["comment"]) == (0.5, "=not a formula")   # round-tripped
    assert (results / "summary.html").is_file() and (results / "test_failures.csv").is_file()

    done = answers.apply_class_grades(results, None, finalise=True)
    reasons = {(f["student"], f["question"]): f["reason"] for f in done["finalised"]}
    assert reasons[("ann", "neuron-stability")] == manual.FINAL_UNGRADED
    assert reasons[("ann", "neuron-nonlinearity")] == manual.FINAL_UNANSWERED
    assert ("ann", "neuron-bias") not in reasons               # graded points are kept
    after = {r.id: r for r in gradebook.collect(results)}
    assert all(after[i].pending == 0 for i in ("ann", "ben", "cid"))
    assert {i: after[i].max_total for i in maxima} == maxima    # the maximum never moves
    bias = next(q for q in gradebook.question_stats([r for r in after.values() if r.result])
                if q["question"] == "neuron-bias")
    assert (bias["graded"], bias["finalised"], bias["pending"]) == (2, 1, 0)
    entry = Result.read(results / "cid" / "result.json").exercise("neuron").manual[0]
    assert entry["points"] == 0 and "no answer was submitted" in entry["comment"]


@pytest.mark.parametrize("text, fragment", [
    ("student,question,points\nzed,neuron-bias,1\n", "no student 'zed'"),
    ("student,question,points\nanx,neuron-bias,1\n", "did you mean ann?"),
    ("student,question,points\ndee,neuron-bias,1\n", "has no result (grading failed)"),
    ("student,question,points\nann,neuron-bais,1\n", "did you mean neuron-bias?"),
    ("student,question,points\nann,neuron-bias,9\n", "outside 0..2"),
    ("student,question,points\nann,neuron-bias,x\n", "is not a number"),
    ("student,question,points\nann,neuron-bias,1\nann,neuron-bias,2\n", "already has 1"),
    ("student,exercise,question,points\nann,perceptron,neuron-bias,1\n", "belongs to neuron"),
    ("student,question,points\nann,perceptron-beyond,1\n", "perceptron was not graded"),
])
def test_a_bad_grades_file_changes_nothing_and_says_why(results, tmp_path, text, fragment):
    grades = tmp_path / "grades.csv"
    grades.write_text(text)
    before = (results / "ann" / "result.json").read_bytes()
    with pytest.raises(answers.GradesError) as info:
        answers.apply_class_grades(results, grades)
    assert fragment in str(info.value) and str(grades) in str(info.value)
    assert (results / "ann" / "result.json").read_bytes() == before
    assert not (results / "gradebook.csv").exists()


def test_grades_are_not_applied_while_a_batch_writes_there(results, tmp_path):
    grades = tmp_path / "grades.csv"
    grades.write_text("student,question,points\nann,neuron-bias,1\n")
    with batch.locked(results):
        with pytest.raises(answers.GradesError, match="another batch is writing there"):
            answers.apply_class_grades(results, grades)
    assert answers.apply_class_grades(results, grades)["applied"] == 1


def test_yaml_grades_file_and_empty_points_are_skipped(results, tmp_path):
    grades = tmp_path / "grades.yaml"
    grades.write_text("grades:\n  - {student: ann, question: neuron-bias, points: 1.5}\n"
                      "  - {student: ben, question: neuron-bias, points: ''}\n")
    assert answers.apply_class_grades(results, grades)["applied"] == 1


# ---- drill-down -------------------------------------------------------------------------------

def test_drilldown_names_who_lost_points_and_ignores_exercises_that_did_not_run(results):
    rows = gradebook.collect(results)
    table = gradebook.drilldown_table(rows)
    assert table[0] == ["test", "exercise", "title", "student", "outcome", "points",
                        "max_points", "message"]
    assert [(line[0], line[3], line[7]) for line in table[1:]] == \
        [("neuron::test_relu_values", "ben", "relu(z): values differ")]
    # cid's exercise was not attempted: its test neither "ran" nor lost points
    view = gradebook.summary_view(rows)
    (test,) = view["tests"]
    assert test["n"] == 2 and [loss["student"] for loss in test["lost"]] == ["ben"]
    assert test["messages"] == [{"message": "relu(z): values differ", "count": 1}]
    html = gradebook.render_summary(rows)
    assert "1 lost points" in html and gradebook.DRILLDOWN_NAME in html


# ---- the term, end to end on the class fixture ---------------------------------------------------

@pytest.fixture(scope="module")
def term(tmp_path_factory):
    """The class graded once by `grader batch` (two jobs)."""
    base = tmp_path_factory.mktemp("term")
    expected = load_builder().build(base / "class")
    out = base / "results"
    done = run_grader("batch", base / "class", "--out", out, "--jobs", 2,
                      "--exercise", "neuron", "--exercise", "perceptron")
    return expected, out, done


@pytest.mark.slow
def test_term_batch_one_row_per_student_same_maximum(term):
    expected, out, done = term
    assert done.returncode == 0, done.stderr
    assert "warning: carol: the same student was submitted 2 times" in done.stderr
    book = {r["id"]: r for r in gradebook.read_gradebook(out / "gradebook.csv")}
    assert list(book) == expected["ids"]
    for sid, status in expected["status"].items():
        assert book[sid]["status"] == status, (sid, book[sid])
    assert {float(r["max"]) for r in book.values()} == {36 + WRITTEN_MAX}   # one maximum
    for sid, files in expected["files"].items():
        assert (book[sid]["neuron_file"], book[sid]["perceptron_file"]) == files
    assert "ignored carol.zip" in book["carol"]["note"]
    source = json.loads((out / "carol" / "source.json").read_text())
    assert source["name"] == "carol" and "carol.zip" in source["warnings"][0]
    dave = Result.read(out / "dave" / "result.json")
    assert [ex.status for ex in dave.exercises] == ["not_attempted", "not_attempted"]
    frank = Result.read(out / "frank" / "result.json").exercise("neuron")
    assert frank.status == "missing" and "did you mean neuro.py?" in frank.message
    # written answers: where they were found, for every question, answered or not
    for sid, where in expected["answers"].items():
        result = Result.read(out / sid / "result.json")
        got = {m["question"]: m for ex in result.exercises for m in ex.manual}
        assert set(got) == set(where)
        for qid, source in where.items():
            if source is None:
                assert not got[qid]["answered"], (sid, qid)
            else:
                assert got[qid]["answered"] and source in got[qid]["source"], (sid, qid)
    assert float(book["alice"]["pending"]) == WRITTEN_MAX and book["alice"]["written"] == "0"


@pytest.mark.slow
def test_term_summary_ran_counts_and_drilldown(term):
    expected, out, _ = term
    view = gradebook.summary_view(gradebook.collect(out))
    relu = next(t for t in view["tests"] if t["id"] == "neuron::test_relu_values")
    # dave (not attempted) and frank (no neuron file) did not run it
    assert relu["n"] == len(expected["ids"]) - 2
    assert [loss["student"] for loss in relu["lost"]] == expected["relu_losers"]
    assert relu["messages"][0]["count"] == 2
    with (out / gradebook.DRILLDOWN_NAME).open(newline="") as fh:
        lines = [r for r in csv.DictReader(fh) if r["test"] == "neuron::test_relu_values"]
    assert [r["student"] for r in lines] == expected["relu_losers"]
    assert all(r["message"] for r in lines)
    html = (out / "summary.html").read_text()
    assert "__MACOSX" not in html and "1 not attempted" in html


@pytest.mark.slow
def test_term_answers_grades_and_finalise_through_the_cli(term, tmp_path):
    _, out, _ = term
    shutil.copytree(out, tmp_path / "results")
    out = tmp_path / "results"
    done = run_grader("answers", out)
    assert done.returncode == 0, done.stderr
    html = (out / "answers.html").read_text()
    assert "&lt;script&gt;alert(&#34;bob&#34;)" in html and "<script>alert" not in html
    rows = list(csv.DictReader((out / "answers.csv").open(newline="")))
    for row in rows:
        if row["answered"] == "yes":
            row["points"], row["comment"] = row["max_points"], "full marks"
    grades = tmp_path / "grades.csv"
    with grades.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=answers.SHEET_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    done = run_grader("grades", "apply", out, grades)
    assert done.returncode == 0, done.stderr
    book = {r["id"]: r for r in gradebook.read_gradebook(out / "gradebook.csv")}
    assert (book["alice"]["total"], book["alice"]["percent"]) == (str(36 + WRITTEN_MAX), "100")
    assert float(book["bob"]["written"]) == 2 + 3 and float(book["bob"]["pending"]) > 0
    assert "full marks" in (out / "alice" / "report.html").read_text()

    done = run_grader("grades", "apply", out, "--finalise")
    assert done.returncode == 0, done.stderr
    assert "bob  neuron-nonlinearity: no answer was submitted" in done.stdout
    book = {r["id"]: r for r in gradebook.read_gradebook(out / "gradebook.csv")}
    assert all(r["pending"] == "0" for r in book.values())
    assert {float(r["max"]) for r in book.values()} == {36 + WRITTEN_MAX}
    assert json.loads((out / "erin" / "result.json").read_text())["schema_version"] == "1.2"


@pytest.mark.slow
@pytest.mark.browser
def test_term_pages_open_offline_in_chromium(term, tmp_path):
    from browser import chromium_or_skip

    _, out, _ = term
    shutil.copytree(out, tmp_path / "results")
    out = tmp_path / "results"
    assert run_grader("answers", out).returncode == 0
    with chromium_or_skip() as browser:
        for page_name in ("summary.html", "answers.html"):
            page = browser.load(out / page_name)
            assert not page.errors, (page_name, page.errors)
            assert all(url.startswith("file://") for url in page.requests), page.requests
            assert browser.evaluate("document.scripts.length") == 0
            text = browser.evaluate("document.body.innerText")
            if page_name == "answers.html":
                assert '<script>alert("bob")</script>' in text   # shown as text, not run
            else:
                assert "lost points" in text and "grace" in text
