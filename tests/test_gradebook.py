"""The class view of a batch, from result files only: collect, gradebook.csv, summary.html, merge.

Results are built with the grader.results dataclasses (or taken from tests/fixtures/results),
so these tests run in well under a second each and never grade anything.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

import pytest

from grader import gradebook
from grader.results import ExerciseResult, Result
from grader.results import TestResult as OneTest  # not a pytest class

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "results"
HOSTILE_ID = '<img src=x onerror=alert(1)>#?%'
HOSTILE_TEST = '<script>alert("test")</script>'


def make_result(name: str, exercises: dict[str, tuple], seconds: float = 1.0) -> Result:
    """``exercises``: name -> (status, file, [(test fn, outcome, points, max), ...])."""
    result = Result(submission=name, timings={"total": seconds})
    for ex_name, (status, file, tests) in exercises.items():
        ex = ExerciseResult(name=ex_name, status=status, file=file)
        ex.tests = [OneTest(f"{ex_name}::{fn}", f"title of {fn}", pts, mx, outcome)
                    for fn, outcome, pts, mx in tests]
        if not tests:
            ex.max_score = 10.0
        result.exercises.append(ex)
    result.total()
    return result


def add(out: Path, sub_id: str, result: Result | None = None, error: str | None = None,
        source: dict | None = None) -> Path:
    folder = out / sub_id
    folder.mkdir(parents=True, exist_ok=True)
    if result is not None:
        result.write(folder / "result.json")
        (folder / "report.html").write_text("<!doctype html><title>r</title>")
    if error is not None:
        (folder / "error.txt").write_text(error)
    if source is not None:
        (folder / "source.json").write_text(json.dumps(source))
    return folder


NEURON_OK = [("test_relu", "passed", 5, 5), ("test_softmax", "passed", 5, 5)]
NEURON_HALF = [("test_relu", "passed", 5, 5), ("test_softmax", "failed", 0, 5)]
PERC_OK = [("test_fit", "passed", 4, 4), ("test_predict", "passed", 6, 6)]
PERC_PARTIAL = [("test_fit", "partial", 2, 4), ("test_predict", "passed", 6, 6)]


@pytest.fixture
def batch_out(tmp_path):
    """A batch output with one submission of each status, in the order the catalog does not
    use (perceptron before neuron) to check the column order."""
    out = tmp_path / "out"
    add(out, "ann", make_result("ann", {
        "perceptron": ("graded", "perceptron.py", PERC_OK),
        "neuron": ("graded", "neuron.py", NEURON_OK)}, seconds=3.0),
        source={"source": "https://example.org/ann.git", "commit": "a" * 40})
    add(out, "ben", make_result("ben", {
        "perceptron": ("graded", "=HYPERLINK(\"http://evil\")/perceptron.py", PERC_PARTIAL),
        "neuron": ("graded", "neuron.ipynb", NEURON_HALF)}, seconds=9.5))
    add(out, "cat", make_result("cat", {
        "perceptron": ("missing", None, []),
        "neuron": ("error", "neuron.py", [])}, seconds=0.5))
    add(out, "dan", make_result("dan", {
        "perceptron": ("missing", None, []), "neuron": ("missing", None, [])}))
    add(out, "eve", error="timed out: grading took longer than 30 min (--timeout)\n\nlog tail")
    add(out, "fay")                                  # a grading that was stopped half-way
    (out / ".hidden").mkdir()
    (out / "gradebook.csv").write_text("stale")      # files at the top are not submissions
    return out


# ---- collect ----------------------------------------------------------------------------------

def test_collect_reads_every_submission_folder(batch_out):
    rows = gradebook.collect(batch_out)
    assert [(r.id, r.status) for r in rows] == [
        ("ann", "graded"), ("ben", "graded"), ("cat", "incomplete"), ("dan", "empty"),
        ("eve", "error"), ("fay", "error")]
    by_id = {r.id: r for r in rows}
    assert by_id["ann"].scores == {"perceptron": 10, "neuron": 10}
    assert by_id["ann"].commit == "a" * 40 and by_id["ann"].seconds == 3.0
    assert (by_id["ben"].total, by_id["ben"].max_total) == (13, 20)
    assert by_id["ben"].percent == pytest.approx(65.0)
    assert by_id["cat"].note == "missing: perceptron; could not be loaded: neuron"
    assert by_id["dan"].note == "no file answers any exercise"
    assert by_id["eve"].note.startswith("timed out") and by_id["eve"].total is None
    assert "--resume" in by_id["fay"].note and by_id["fay"].result is None


def test_an_unreadable_result_is_an_error_row_not_a_crash(tmp_path):
    add(tmp_path, "x").joinpath("result.json").write_text('{"schema_version": "9.0"}')
    add(tmp_path, "y").joinpath("result.json").write_text("{not json")
    rows = gradebook.collect(tmp_path)
    assert [r.status for r in rows] == ["error", "error"]
    assert all("unreadable result.json" in r.note for r in rows)
    assert "regrade" in rows[0].note


def test_the_same_id_in_two_folders_must_be_the_same_grading(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    result = make_result("ann", {"neuron": ("graded", "neuron.py", NEURON_OK)})
    add(one, "ann", result)
    add(two, "ann", result)
    assert [r.id for r in gradebook.collect([one, two])] == ["ann"]
    (two / "ann" / "report.html").write_text("another grading")
    with pytest.raises(ValueError, match="ann"):
        gradebook.collect([one, two])


def test_fixture_results_load(tmp_path):
    for name in ("full_marks", "mixed", "hostile"):
        add(tmp_path, name).joinpath("result.json").write_text(
            (FIXTURES / f"{name}.json").read_text())
    rows = {r.id: r for r in gradebook.collect(tmp_path)}
    assert rows["full_marks"].status == "graded" and rows["full_marks"].percent == 100
    assert rows["mixed"].status == "incomplete"
    assert gradebook.exercise_columns(rows.values())[:6] == [
        "neuron", "backprop", "perceptron", "mnist_ann", "attrition", "circles"]


# ---- gradebook.csv ----------------------------------------------------------------------------

def test_gradebook_csv_columns_values_and_formula_guard(batch_out):
    rows = gradebook.collect(batch_out)
    path = gradebook.write_gradebook(rows, batch_out / "gradebook.csv")
    with open(path, newline="") as fh:
        table = list(csv.reader(fh))
    # auto / written / pending (issue 14): the tests' points, graded written points, and
    # written points still to grade
    assert table[0] == ["id", "neuron", "perceptron", "auto", "written", "pending", "total",
                        "max", "percent", "status", "neuron_file", "perceptron_file", "commit",
                        "note"]
    by_id = {line[0]: dict(zip(table[0], line)) for line in table[1:]}
    assert list(by_id) == ["ann", "ben", "cat", "dan", "eve", "fay"]
    assert by_id["ann"] | {} == {
        "id": "ann", "neuron": "10", "perceptron": "10", "auto": "20", "written": "0",
        "pending": "0", "total": "20", "max": "20",
        "percent": "100", "status": "graded", "neuron_file": "neuron.py",
        "perceptron_file": "perceptron.py", "commit": "a" * 40, "note": ""}
    assert (by_id["ben"]["neuron"], by_id["ben"]["perceptron"], by_id["ben"]["percent"]) == \
        ("5", "8", "65")
    # a spreadsheet must not run a student's file name as a formula
    assert by_id["ben"]["perceptron_file"] == "'=HYPERLINK(\"http://evil\")/perceptron.py"
    assert by_id["cat"]["perceptron_file"] == "" and by_id["cat"]["neuron"] == "0"
    eve = by_id["eve"]
    assert (eve["neuron"], eve["total"], eve["max"], eve["percent"], eve["status"]) == \
        ("", "", "", "", "error")
    assert not [p for p in batch_out.iterdir() if p.name.startswith(".gradebook")]
    assert gradebook.read_gradebook(path)[1]["id"] == "ben"


@pytest.mark.parametrize("value, text", [(21.0, "21"), (6.86, "6.86"), (1 / 3, "0.3333"),
                                         (0.0, "0"), (-0.0, "0"), (None, "")])
def test_numbers_are_written_as_spreadsheets_read_them(value, text):
    assert gradebook.format_score(value) == text


# ---- summary.html -----------------------------------------------------------------------------

def test_summary_statistics(batch_out):
    view = gradebook.summary_view(gradebook.collect(batch_out))
    assert view["class_size"] == 6 and view["n_scored"] == 4
    assert dict(view["counts"]) == {"graded": 2, "incomplete": 1, "empty": 1, "error": 2}
    # percents 100, 65, 0, 0 -> mean 41.25, median 32.5
    assert (view["mean"], view["median"]) == ("41.2 %", "32.5 %")
    counts = [b["count"] for b in view["histogram"]["bars"]]
    assert counts == [2, 0, 0, 0, 0, 0, 1, 0, 0, 1]          # 100 % is in the last bin
    neuron, perceptron = view["exercise_stats"]
    assert neuron["name"] == "neuron" and neuron["n"] == 4 and neuron["submitted"] == 3
    assert neuron["mean_score"] == "3.75"                     # (10 + 5 + 0 + 0) / 4
    assert neuron["pass_rate_text"] == "50.0 %"                # 100 % and 50 % pass
    assert neuron["full_rate_text"] == "25.0 %"
    assert perceptron["submitted"] == 2 and perceptron["pass_rate_text"] == "50.0 %"
    # hardest test first: softmax passed by 1 of 2, fit fully by 1 of 2 but with more credit
    tests = [(t["id"], t["n"], t["rate_text"]) for t in view["tests"]]
    assert tests[:2] == [("neuron::test_softmax", 2, "50.0 %"), ("perceptron::test_fit", 2, "50.0 %")]
    assert {t[2] for t in tests[2:]} == {"100.0 %"}
    assert [r["id"] for r in view["slowest"]] == ["ben", "ann", "dan", "cat"]
    assert [r["href"] for r in view["rows"]][:1] == ["ann/report.html"]
    assert view["rows"][4]["href"] == "eve/error.txt" and view["rows"][5]["href"] is None


def test_histogram_bins():
    bars = gradebook.histogram([0, 9.99, 10, 55, 99.9, 100])["bars"]
    assert [b["count"] for b in bars] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert max(b["h"] for b in bars) == pytest.approx(gradebook.histogram([0])["plot_h"])


def test_summary_escapes_student_controlled_text(tmp_path):
    out = tmp_path / "out"
    result = make_result("x", {"neuron": ("graded", "neuron.py", NEURON_OK)})
    result.exercises[0].tests[0].name = HOSTILE_TEST
    add(out, HOSTILE_ID, result)
    add(out, "err", error=f"could not be opened: {HOSTILE_TEST}.zip")
    path = gradebook.write_summary(gradebook.collect(out), out / "summary.html")
    html = path.read_text()
    assert "<script" not in html.lower() and "<img" not in html
    assert "&lt;script&gt;alert(&#34;test&#34;)&lt;/script&gt;" in html
    assert 'href="%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%23%3F%25/report.html"' in html
    assert "Content-Security-Policy" in html


@pytest.mark.browser
def test_summary_in_headless_chromium(batch_out, tmp_path):
    from browser import chromium_or_skip

    add(batch_out, HOSTILE_ID, make_result("x", {"neuron": ("graded", "n.py", NEURON_OK)}))
    rows = gradebook.collect(batch_out)
    _, html_path = gradebook.write_outputs(rows, batch_out)
    with chromium_or_skip() as browser:
        page = browser.load(html_path)
        assert not page.errors, page.errors
        assert page.requests == [html_path.resolve().as_uri()]
        assert browser.evaluate("document.scripts.length") == 0
        assert browser.evaluate("document.querySelectorAll('img').length") == 0
        text = browser.evaluate("document.body.innerText")
        assert HOSTILE_ID in text and "Tests, hardest first" in text
        # the link to the hostile id's report resolves to its folder
        hrefs = browser.evaluate("[...document.querySelectorAll('a')].map(a => a.href)")
        target = (batch_out / HOSTILE_ID / "report.html").resolve()
        assert any(Path(_file_url_path(h)) == target for h in hrefs)
        assert browser.evaluate("document.querySelector('svg rect') !== null")


def _file_url_path(url: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(url).path)


def test_empty_batch_renders(tmp_path):
    csv_path, html_path = gradebook.write_outputs([], tmp_path)
    assert csv_path.read_text().strip() == \
        "id,auto,written,pending,total,max,percent,status,commit,note"
    assert "No submission has a score yet" in html_path.read_text()


# ---- grader merge -----------------------------------------------------------------------------

def call_merge(*argv) -> int:
    parser = argparse.ArgumentParser(prog="grader")
    gradebook.add_parser_merge(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["merge", *map(str, argv)])
    return args.func(args)


def _shards(tmp_path: Path) -> tuple[Path, Path]:
    s1, s2 = tmp_path / "s1", tmp_path / "s2"
    add(s1, "ann", make_result("ann", {"neuron": ("graded", "neuron.py", NEURON_OK)}))
    add(s1, "cat", error="the submission could not be opened: cat.zip")
    add(s2, "ben", make_result("ben", {"neuron": ("graded", "neuron.py", NEURON_HALF)}))
    for shard in (s1, s2):
        gradebook.write_outputs(gradebook.collect(shard), shard)
    return s1, s2


def test_merge_combines_shards(tmp_path, capsys):
    s1, s2 = _shards(tmp_path)
    out = tmp_path / "all"
    assert call_merge(s1, s2, "--out", out) == 0
    assert "merged 3 submissions from 2 folders" in capsys.readouterr().out
    rows = gradebook.read_gradebook(out / "gradebook.csv")
    assert [(r["id"], r["status"], r["total"]) for r in rows] == [
        ("ann", "graded", "10"), ("ben", "graded", "5"), ("cat", "error", "")]
    assert (out / "ann" / "report.html").is_file() and (out / "summary.html").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    # merging again (or a shard twice) changes nothing
    assert call_merge(s1, s1, s2, "--out", out) == 0
    assert [r["id"] for r in gradebook.read_gradebook(out / "gradebook.csv")] == ["ann", "ben", "cat"]


def test_merge_refuses_an_id_graded_differently(tmp_path, capsys):
    s1, s2 = _shards(tmp_path)
    add(s2, "ann", make_result("ann", {"neuron": ("graded", "neuron.py", NEURON_HALF)}))
    out = tmp_path / "all"
    assert call_merge(s1, s2, "--out", out) == 2
    err = capsys.readouterr().err
    assert "ann" in err and "graded differently" in err
    assert not out.exists() or not any(out.iterdir())         # nothing half-merged


def test_merge_into_one_of_the_shards_and_with_hard_links(tmp_path):
    s1, s2 = _shards(tmp_path)
    assert call_merge(s2, "--out", s1, "--link") == 0
    assert [r["id"] for r in gradebook.read_gradebook(s1 / "gradebook.csv")] == \
        ["ann", "ben", "cat"]
    assert os.stat(s1 / "ben" / "result.json").st_ino == os.stat(s2 / "ben" / "result.json").st_ino


def test_merge_usage_errors(tmp_path, capsys):
    assert call_merge(tmp_path / "missing", "--out", tmp_path / "o") == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    (tmp_path / "d").mkdir()
    assert call_merge(tmp_path / "d", "--out", tmp_path / "file") == 2
