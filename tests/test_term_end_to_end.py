"""A term with a real class, end to end, in the order docs/INSTRUCTORS.md walks it:

roster -> batch with a deadline and late policy -> answers sheet -> class grades file (and
finalise) -> gradebook -> Canvas and Moodle files -> regrade of single students -> similarity
report -> every page checked in headless Chromium.

The class is tests/fixtures/class (numpy exercises only: neuron and perceptron) with the roster
of tests/fixtures/roster: submissions found by email, GitHub login, id and name; a student not
on the roster (frank, whose folder is a git repository committed late); a roster student with
no submission (s009); an extension (s007); a manifest of submission times. One slow test grades
it once (~40 s on two cores); the fast tests cover merge --newest and the browser driver.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader import answers, gradebook
from grader.results import ExerciseResult, Result
from grader.results import TestResult as OneTest

ROOT = Path(__file__).resolve().parents[1]
CLASS = ROOT / "tests" / "fixtures" / "class"
ROSTER = ROOT / "tests" / "fixtures" / "roster" / "roster.csv"
POLICY = "grace=15m,per_day=10%,cap=50%"
sys.path.insert(0, str(Path(__file__).parent))


def grader(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    done = subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)
    return done


def build_class(dest: Path) -> dict:
    spec = importlib.util.spec_from_file_location("class_fixture", CLASS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(dest)


def git_commit(folder: Path, when: datetime) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "f", "GIT_AUTHOR_EMAIL": "f@x",
           "GIT_COMMITTER_NAME": "f", "GIT_COMMITTER_EMAIL": "f@x",
           "GIT_AUTHOR_DATE": when.isoformat(), "GIT_COMMITTER_DATE": when.isoformat()}
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "hand-in"]):
        subprocess.run(["git", "-C", str(folder), *cmd], check=True, env=env,
                       capture_output=True)


def book_of(out: Path) -> dict[str, dict[str, str]]:
    return {r["id"]: r for r in gradebook.read_gradebook(out / "gradebook.csv")}


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_term_end_to_end(tmp_path):
    # ---- the class, its roster, the deadline and when each student handed in ----------------
    build_class(tmp_path / "class")
    # the deadline is ahead of the files' own times, so file times read as on time
    deadline = (datetime.now(timezone.utc) + timedelta(days=3)).replace(microsecond=0)
    git_commit(tmp_path / "class" / "frank", deadline + timedelta(days=1, hours=1))  # 2 days late
    manifest = tmp_path / "submitted.csv"
    manifest.write_text("student,submitted_at\n"
                        f"alice,{(deadline - timedelta(hours=3)).isoformat()}\n"
                        f"s002,{(deadline + timedelta(hours=30)).isoformat()}\n"       # 2 days
                        f"Erin,{(deadline + timedelta(minutes=10)).isoformat()}\n"    # grace
                        f"grace,{(deadline + timedelta(hours=40)).isoformat()}\n")    # extended
    out = tmp_path / "results"

    # ---- 1-2. batch with roster and late policy ---------------------------------------------
    done = grader("batch", tmp_path / "class", "--out", out, "--jobs", 2,
                  "--exercise", "neuron", "--exercise", "perceptron", "--roster", ROSTER,
                  "--deadline", deadline.isoformat(), "--late-policy", POLICY,
                  "--manifest", manifest)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning: frank: not on the roster" in done.stderr
    book = book_of(out)
    assert set(book) == {"dave", "frank", "s001", "s002", "s003", "s005", "s007", "s009"}
    assert {i: r["status"] for i, r in book.items()} == {
        "dave": "not_attempted", "frank": "incomplete", "s001": "graded", "s002": "graded",
        "s003": "graded", "s005": "graded", "s007": "graded", "s009": "no_submission"}
    assert book["s002"]["name"] == "Baker, Bob" and book["s003"]["github"] == "carol"
    assert book["s009"]["name"] == 'O\'Hara, "Hank"' and book["s009"]["total"] == ""
    maxima = {r["max"] for r in book.values() if r["max"]}
    assert len(maxima) == 1                    # one maximum: tests plus every written point
    late = {i: (r["days_late"], r["late_penalty"]) for i, r in book.items() if r["max"]}
    assert late == {"dave": ("0", "0"), "frank": ("2", "20"), "s001": ("0", "0"),
                    "s002": ("2", "20"), "s003": ("0", "0"), "s005": ("0", "0"),
                    "s007": ("0", "0")}
    blocks = {i: json.loads((out / i / "result.json").read_text())["late"]
              for i in ("frank", "s002", "s003", "s005", "s007")}
    assert blocks["frank"]["source"].startswith("git commit date")
    assert blocks["s002"]["source"] == "submissions manifest"
    assert blocks["s003"]["source"] == "newest file modification time"
    assert blocks["s005"]["status"] == "within grace"
    assert blocks["s007"]["extension"] == "2" and blocks["s007"]["status"] == "on time"
    assert float(book["s002"]["total"]) == pytest.approx(0.8 * float(book["s002"]["auto"]))
    assert "20 % of the total" in (out / "s002" / "report.html").read_text()

    # ---- 4. answers sheet and the class grades file ------------------------------------------
    done = grader("answers", out)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((out / "answers.csv").open(newline="", encoding="utf-8")))
    assert {r["student"] for r in rows} >= {"s001", "s002", "s005"}
    for row in rows:
        if row["answered"] == "yes":
            row["points"], row["comment"] = row["max_points"], "well argued"
    grades = tmp_path / "grades.csv"
    with grades.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=answers.SHEET_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    assert grader("grades", "apply", out, grades).returncode == 0
    done = grader("grades", "apply", out, "--finalise")
    assert done.returncode == 0, done.stderr
    book = book_of(out)
    assert book["s001"]["percent"] == "100" and book["s001"]["pending"] == "0"
    written_bob = float(book["s002"]["written"])
    assert written_bob > 0
    assert float(book["s002"]["total"]) == pytest.approx(
        0.8 * (float(book["s002"]["auto"]) + written_bob))
    assert all(r["pending"] in ("0", "") for r in book.values())
    assert book["s009"]["status"] == "no_submission"          # still there after apply

    # ---- 6. Canvas and Moodle -----------------------------------------------------------------
    done = grader("export", out, "--format", "canvas", "--assignment", "Neurons, part 1",
                  "--assignment-id", "4711", "--out", tmp_path / "canvas.csv")
    assert done.returncode == 0, done.stderr
    canvas = list(csv.reader(io.StringIO((tmp_path / "canvas.csv").read_text("utf-8-sig"))))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         "Neurons, part 1 (4711)"]
    assert canvas[1][0] == "Points Possible" and canvas[1][5] == maxima.pop()
    by_sis = {r[2]: r for r in canvas[2:]}
    assert by_sis["s002"][5] == book["s002"]["total"] and by_sis["s009"][5] == ""
    assert by_sis["s002"][:5] == ["Baker, Bob", "", "s002", "bob@example.edu", "A"]
    done = grader("export", out, "--format", "moodle", "--assignment", "Neurons 1",
                  "--out", tmp_path / "moodle.csv")
    assert done.returncode == 0, done.stderr
    moodle = {r[0]: r for r in csv.reader(io.StringIO((tmp_path / "moodle.csv").read_text()))}
    assert moodle["Email address"] == ["Email address", "Full name", "Neurons 1",
                                       "Feedback: Neurons 1"]
    assert moodle["alice@example.edu"][2] == book["s001"]["total"]
    assert "late 2 day(s): -20 %" in moodle["bob@example.edu"][3]

    # ---- regrade: an accepted appeal (erin's fixed relu) and an unchanged student -------------
    fixed = (ROOT / "solutions" / "neuron.py").read_text()
    (tmp_path / "class" / "erin" / "neuron.py").write_text(fixed)
    created = json.loads((out / "s002" / "result.json").read_text())["created"]
    before = book_of(out)
    done = grader("regrade", out, "erin.e@example.edu", "s002", "--jobs", 2)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "s005: regraded" in done.stdout and "s002: regraded" in done.stdout
    book = book_of(out)
    assert float(book["s005"]["neuron"]) > float(before["s005"]["neuron"])
    assert book["s002"]["total"] == before["s002"]["total"]          # written points kept
    assert book["s002"]["written"] == before["s002"]["written"]
    assert book["s002"]["late_penalty"] == "20" and book["s005"]["pending"] == "0"
    assert json.loads((out / "s002" / "result.json").read_text())["created"] != created
    assert {i: r["total"] for i, r in book.items() if i not in ("s005",)} == \
        {i: r["total"] for i, r in before.items() if i not in ("s005",)}

    # ---- similarity evidence ------------------------------------------------------------------
    done = grader("similarity", out, "--threshold", "0.5")
    assert done.returncode == 0, done.stderr
    pairs = list(csv.DictReader((out / "similarity.csv").open(encoding="utf-8")))
    # alice and bob handed in the same reference code: the top of the evidence
    assert any({p["student_a"], p["student_b"]} == {"s001", "s002"} for p in pairs)
    assert not any("dave" in (p["student_a"], p["student_b"]) for p in pairs)  # untouched stub
    assert {float(p["similarity"]) for p in pairs} <= {x / 1000 for x in range(500, 1001)}
    assert book_of(out)["s002"]["total"] == book["s002"]["total"]   # evidence only

    # ---- the pages in Chromium -------------------------------------------------------------------
    from browser import chromium_or_skip

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with chromium_or_skip() as browser:
        for page_name in ("summary.html", "similarity.html", "answers.html",
                          "s002/report.html", "s005/report.html"):
            page = browser.load(out / page_name)
            assert not page.errors, (page_name, page.errors)
            assert all(u.startswith(("file://", "data:")) for u in page.requests), page.requests
            assert browser.evaluate("document.scripts.length") == 0
            browser.screenshot(shots / (page_name.replace("/", "_") + ".png"))
            text = browser.evaluate("document.body.innerText")
            if page_name == "summary.html":
                assert "no submission" in text and "Similarity evidence" in text
                hrefs = browser.evaluate("[...document.querySelectorAll('a')].map(a => a.href)")
                assert (out / "similarity.html").resolve().as_uri() in hrefs
            if page_name == "similarity.html":
                assert "Evidence for a human, not a verdict" in text
                assert browser.evaluate("document.querySelectorAll('mark').length") > 0
            if page_name == "s002/report.html":
                assert "Deadline:" in text and "20 % of the total" in text
    assert all(p.stat().st_size > 10_000 for p in shots.iterdir())


# ---- fast: merge --newest, and the browser driver itself ---------------------------------------

def _result_folder(out: Path, student: str, points: float, created: str) -> None:
    (out / student).mkdir(parents=True)
    result = Result(student, exercises=[ExerciseResult(
        "neuron", "graded", tests=[OneTest("neuron::t", "t", points, 10.0, "passed")])],
        created=created)
    result.total()
    result.write(out / student / "result.json")


def test_merge_newest_takes_the_later_grading_of_a_student(tmp_path):
    _result_folder(tmp_path / "first", "ann", 4.0, "2026-12-01T10:00:00+00:00")
    _result_folder(tmp_path / "first", "ben", 9.0, "2026-12-01T10:00:00+00:00")
    _result_folder(tmp_path / "again", "ann", 8.0, "2026-12-03T10:00:00+00:00")
    done = grader("merge", tmp_path / "first", tmp_path / "again", "--out", tmp_path / "m")
    assert done.returncode == 2 and "graded differently" in done.stderr
    done = grader("merge", tmp_path / "again", tmp_path / "first", "--out", tmp_path / "m",
                  "--newest")
    assert done.returncode == 0, done.stderr
    assert "ann: graded in" in done.stdout and "took the newer" in done.stdout
    book = book_of(tmp_path / "m")
    assert (book["ann"]["total"], book["ben"]["total"]) == ("8", "9")
    # merging an older grading into that folder again keeps the newer one
    done = grader("merge", tmp_path / "first", "--out", tmp_path / "m", "--newest")
    assert done.returncode == 0 and book_of(tmp_path / "m")["ann"]["total"] == "8"


def test_regrade_refuses_unknown_students_and_missing_sources(tmp_path):
    _result_folder(tmp_path / "out", "ann", 4.0, "2026-12-01T10:00:00+00:00")
    done = grader("regrade", tmp_path / "out", "anne")
    assert done.returncode == 2 and "did you mean ann?" in done.stderr
    done = grader("regrade", tmp_path / "out", "ann")
    assert done.returncode == 2 and "no record of where the submission came from" in done.stderr


@pytest.mark.browser
def test_the_browser_driver_reports_console_errors_and_outside_requests(tmp_path):
    from browser import chromium_or_skip

    page_path = tmp_path / "bad.html"
    page_path.write_text("<!DOCTYPE html><title>t</title><p>hi</p>"
                         "<img src='http://example.invalid/pixel.png'>"
                         "<script>console.error('boom'); undefinedThing();</script>")
    with chromium_or_skip() as browser:
        page = browser.load(page_path)
        assert any("boom" in e for e in page.errors)
        assert any("undefinedThing" in e for e in page.errors)
        assert "http://example.invalid/pixel.png" in page.requests
        assert page.navigations == [page_path.resolve().as_uri()]
        assert browser.evaluate("document.querySelector('p').textContent") == "hi"
        shot = browser.screenshot(tmp_path / "bad.png")
        assert shot.read_bytes().startswith(b"\x89PNG")
        clean = tmp_path / "ok.html"
        clean.write_text("<!DOCTYPE html><title>t</title><p>fine</p>")
        page = browser.load(clean)      # nothing of the previous page leaks into this one
        assert page.errors == [] and page.requests == [clean.resolve().as_uri()]
