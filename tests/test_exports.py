"""CI exports (grader/exports.py): schemas, and that student text cannot escape its context.

The GitHub tests read stdout the way the Actions runner does (one command per line, ``::``
at the start, ``::stop-commands::`` honoured), so "no injection" means: the only commands
the runner would see are the ones the exporter meant, with the student's text as their data.
"""
from __future__ import annotations

import argparse
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from helpers_core import write_source
from markdown_it import MarkdownIt

from grader import exports
from grader import results as model
from grader.results import ExerciseResult, Result

HOSTILE = [
    "::error::pwned",
    "ok\n::add-mask::x",
    "%0A::warning::encoded newline",
    "::stop-commands::abc",
    "</details><script>alert(1)</script>",
    "```\n# heading outside the fence\n```",
    "````````` nine backticks",
    "cr\r::error::after a carriage return",
    "crlf\r\n::error::after crlf",
    "ls\u2028::error::after a line separator",
    "nel\x85::error::after NEL",
    "vt\x0b::error::after a vertical tab",
    "nul\x00 esc\x1b[31mred\x1b[0m ]]> \ud800 lone surrogate",
    "##[error]v1 syntax mid-line ##[add-mask]y",
    "title, with: separators = and %25 percent",
]


def make_result(messages=HOSTILE, *, submission="alice", file="exercises/neuron.py") -> Result:
    """A graded neuron whose failed tests carry ``messages``, a public passed test, a partial
    test, a skipped test, and a missing exercise."""
    tests = [model.TestResult(id="neuron::test_ok", name="relu keeps positives", points=2,
                        max_points=2, outcome="passed", public=True, duration=0.01)]
    for i, message in enumerate(messages):
        tests.append(model.TestResult(id=f"neuron::test_{i}", name=f"hostile {i}: {message}",
                                points=0, max_points=1, outcome="failed", message=message,
                                public=bool(i % 2)))
    tests += [
        model.TestResult(id="neuron::test_partial", name="accuracy", points=0.5, max_points=2,
                   outcome="partial", message="accuracy 0.8, target 0.9"),
        model.TestResult(id="neuron::test_error", name="shape", points=0, max_points=1,
                   outcome="error", message="the check could not use what your code returned"),
        model.TestResult(id="neuron::test_skip", name="skipped one", points=0, max_points=0,
                   outcome="skipped", message="needs TensorFlow"),
    ]
    neuron = ExerciseResult(name="neuron", status="graded", file=file, tests=tests,
                            output="printed by the student\x1b[2J\n::error::from output")
    backprop = ExerciseResult(
        name="backprop", status="missing", message="no file answers backprop",
        tests=[model.TestResult(id="backprop::test_a", name="a", points=0, max_points=3,
                          outcome="failed")])
    result = Result(submission=submission, exercises=[neuron, backprop],
                    sandbox={"mode": "bubblewrap"}, timings={"total": 12.6})
    result.total()
    return result


# ---- a model of the Actions runner ---------------------------------------------------------------

def runner_lines(text: str) -> list[str]:
    """Lines as the runner (.NET ReadLine) splits them: LF, CR and CRLF all end a line."""
    return re.split(r"\r\n|\r|\n", text)


def unescape_data(s: str) -> str:
    return s.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(s: str) -> str:
    return (s.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":")
            .replace("%2C", ",").replace("%25", "%"))


RUNNER_COMMANDS = {"error", "warning", "notice", "debug", "add-mask", "stop-commands", "group",
                   "endgroup", "echo", "set-output", "save-state", "set-env", "add-path",
                   "add-matcher", "remove-matcher"}


def commands_seen(text: str) -> list[tuple[str, dict, str]]:
    """Workflow commands the runner would act on in ``text``: (command, properties, data).

    As actions/runner's ActionCommandManager: a line is first parsed as ``::name ...::data``
    (after trimming); only when that fails is the legacy ``##[name]`` form looked for, which is
    recognised anywhere in the line (counted here as "legacy", conservatively).
    """
    seen, stop_token = [], None
    for line in runner_lines(text):
        stripped = line.strip()
        if stop_token is not None:
            if stripped == f"::{stop_token}::" or f"##[{stop_token}]" in line:
                stop_token = None
            continue
        end = stripped.find("::", 2) if stripped.startswith("::") else -1
        head = stripped[2:end] if end >= 0 else ""
        if head.partition(" ")[0].lower() not in RUNNER_COMMANDS:
            if "##[" in line:
                seen.append(("legacy", {}, line))
            continue
        data = stripped[end + 2:]
        name, _, props_text = head.partition(" ")
        props = {}
        for pair in filter(None, props_text.split(",")):
            key, _, value = pair.partition("=")
            props[key] = unescape_property(value)
        if name == "stop-commands":
            stop_token = data
        seen.append((name, props, unescape_data(data)))
    return seen


# ---- escaping primitives ---------------------------------------------------------------------

def test_escape_data_and_property_follow_githubs_rules():
    assert exports.escape_data("50% done\nnext\r") == "50%25 done%0Anext%0A"
    assert exports.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert exports.workflow_command("error", "m", file="f.py", line=None, title="t: x") == \
        "::error file=f.py,title=t%3A x::m"
    with pytest.raises(ValueError):
        exports.workflow_command("error::x")
    with pytest.raises(ValueError):
        exports.workflow_command("error", "m", **{"bad key": "v"})


@pytest.mark.parametrize("text", HOSTILE)
def test_a_workflow_command_stays_one_command_whatever_its_text(text):
    line = exports.workflow_command("error", text, file=text, title=text)
    seen = commands_seen(line + "\n")
    assert [name for name, _, _ in seen] == ["error"]
    _, props, data = seen[0]
    assert set(props) == {"file", "title"}
    assert data == exports.clean_text(text)
    assert props["title"] == exports.clean_text(text)
    assert "\n" not in line and "\r" not in line and len(line.splitlines()) == 1


def test_clean_text_removes_what_xml_and_terminals_cannot_take():
    cleaned = exports.clean_text("a\x00b\x1b[31mc\ud800d\r\ne\u2028f\u202eg\tz")
    # an ANSI escape sequence is dropped whole (safe_text): no stray "[31m" is left behind
    assert cleaned == "a\ufffdbc\ufffdd\ne\nf\ufffdg\tz"
    assert exports.clean_text(None) == ""


# ---- Gradescope ------------------------------------------------------------------------------

def test_gradescope_results_follow_the_autograder_schema():
    result = make_result()
    data = exports.gradescope_results(result)
    json.dumps(data, allow_nan=False)  # strict JSON
    assert data["score"] == result.score
    assert data["stdout_visibility"] == "hidden"
    assert data["output_format"] == "text" and isinstance(data["output"], str)
    assert "Score: " in data["output"] and "backprop" in data["output"]
    assert data["execution_time"] == 13
    tests = data["tests"]
    assert len(tests) == sum(len(ex.tests) for ex in result.exercises)
    assert sum(t["score"] for t in tests) == pytest.approx(result.score)
    assert sum(t["max_score"] for t in tests) == pytest.approx(result.max_score)
    by_id = {t.id: g for ex in result.exercises for t, g in
             zip(ex.tests, tests[:len(ex.tests)] if ex.name == "neuron" else tests[-1:])}
    for ex in result.exercises:
        for t in ex.tests:
            g = by_id[t.id]
            assert set(g) >= {"name", "score", "max_score", "output", "visibility"}
            assert g["visibility"] == ("visible" if t.public else "after_published")
            assert g["status"] == ("passed" if t.outcome == "passed" else "failed")
            assert g["name"].startswith(f"{ex.name}: ")
            assert "\n" not in g["name"]
    missing = by_id["backprop::test_a"]
    assert missing["output"] == "no file answers backprop"   # the exercise's reason
    assert by_id["neuron::test_partial"]["output"].startswith("partial credit: 0.5/2")


def test_gradescope_output_is_valid_unicode_text():
    data = exports.gradescope_results(make_result())
    text = json.dumps(data, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogate survives
    assert "\x00" not in text and "\x1b" not in text


def test_gradescope_counts_graded_written_answers_and_skips_pending_ones():
    result = make_result(["x"])
    result.exercises[0].manual = [
        {"question": "q1", "max_points": 3, "points": 2.5, "comment": "good"},
        {"question": "q2", "max_points": 4, "points": None},
    ]
    result.total()
    data = exports.gradescope_results(result)
    written = [t for t in data["tests"] if "manual" in t["tags"]]
    assert [(t["score"], t["max_score"]) for t in written] == [(2.5, 3.0)]
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])
    assert "await manual grading" in data["output"]


def test_null_scores_export_as_zero():
    result = make_result(["x"])
    result.exercises[0].tests[0].points = None     # how result.json stores NaN
    data = exports.gradescope_results(result)
    assert data["tests"][0]["score"] == 0.0
    json.dumps(data, allow_nan=False)


# ---- GitHub annotations ----------------------------------------------------------------------

def test_annotations_are_only_the_intended_commands():
    result = make_result()
    lines = exports.github_annotations(result, limit=100)
    seen = commands_seen("\n".join(lines) + "\n")
    lost = [t for t in result.exercises[0].tests if t.outcome in exports.LOST]
    # one per lost test of neuron, one for missing backprop; partial is a warning
    assert len(seen) == len(lines) == len(lost) + 1
    assert {name for name, _, _ in seen} == {"error", "warning"}
    assert sum(name == "warning" for name, _, _ in seen) == 1
    for name, props, data in seen:
        assert set(props) <= {"file", "line", "title"}
    datas = {data for _, _, data in seen}
    for message in HOSTILE:
        assert exports.clean_text(message) in datas
    files = {props.get("file") for _, props, _ in seen}
    assert files == {"exercises/neuron.py", None}


def test_annotations_respect_githubs_cap_and_say_so():
    result = make_result([f"m{i}" for i in range(25)])
    lines = exports.github_annotations(result)
    seen = commands_seen("\n".join(lines))
    errors = [s for s in seen if s[0] == "error"]
    assert len(errors) == exports.MAX_ANNOTATIONS
    assert seen[-1][0] == "notice" and "more tests lost points" in seen[-1][2]


def test_annotation_points_at_the_line_of_the_students_traceback():
    message = ('relu(z) raised TypeError.\n  File "/tmp/submission/exercises/neuron.py", '
               'line 12, in helper\n  File "/tmp/submission/exercises/neuron.py", line 34, '
               'in relu\n  File "/usr/lib/python3/numpy/core.py", line 99\nTypeError: x')
    lines = exports.github_annotations(make_result([message]))
    ((_, props, _),) = [s for s in commands_seen(lines[0]) if s[0] == "error"]
    assert props["line"] == "34" and props["file"] == "exercises/neuron.py"


def test_long_messages_are_truncated_in_annotations():
    lines = exports.github_annotations(make_result(["x" * 50_000]))
    assert len(lines[0]) < exports.ANNOTATION_CHARS + 300
    assert "characters cut" in commands_seen(lines[0])[0][2]


# ---- GitHub step summary ---------------------------------------------------------------------

def render(markdown: str) -> str:
    """CommonMark with tables and raw HTML allowed, as GitHub renders a job summary."""
    return MarkdownIt("commonmark").enable("table").render(markdown)


def test_summary_shows_score_table_and_failed_messages_in_fences():
    result = make_result()
    md = exports.github_summary([result])
    assert md.startswith(f"### Autograder: {result.score:g} / {result.max_score:g} points")
    assert "| neuron |" in md and "| backprop |" in md
    html = render(md)
    # no student text became markup: exactly our details blocks, no script, no extra heading
    assert "<script>" not in html
    assert html.count("<details>") == html.count("</details>") == md.count("<details>")
    assert "<h1>" not in html and "heading outside the fence" in html
    for message in HOSTILE:
        cleaned = exports.clean_text(message)
        # every message is shown, escaped, inside a code block
        escaped = cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
            .replace('"', "&quot;")
        assert escaped.strip() in html, message


def test_code_block_fence_outgrows_backticks_in_the_text():
    text = "a ``` b\n`````````\nc"
    block = exports.code_block(text)
    fence = block.splitlines()[0].removesuffix("text")
    assert len(fence) == 10
    html = render(block + "\n\nafter")
    assert html.count("<pre>") == 1 and "<p>after</p>" in html
    assert "`````````" in html


def test_inline_text_cannot_open_markup():
    cell = exports.md_inline("x | <img src=x onerror=alert(1)> **b** [l](http://e) `c`\nrow")
    assert "\n" not in cell and "<" not in cell
    html = render(f"| h |\n| --- |\n| {cell} |")
    assert html.count("<td>") == 1
    assert "<img" not in html and "<strong>" not in html and "<a " not in html \
        and "<code>" not in html
    assert exports.html_inline('a"<b>\n\nc') == "a&quot;&lt;b&gt; c"


def test_summary_of_many_submissions_is_a_table_row_each():
    results = [make_result(["x"], submission=name) for name in ("alice", "bob|<b>", "carol")]
    md = exports.github_summary(results)
    html = render(md)
    assert html.count("<tr>") == 4            # header + 3 submissions
    assert "<b>" not in html and "bob|&lt;b&gt;" in html


def test_summary_is_cut_below_githubs_limit_and_still_renders():
    result = make_result([f"message {i}\n" + "y" * 3000 for i in range(100)])
    md = exports.github_summary([result], max_bytes=50_000)
    assert len(md.encode()) <= 50_000
    assert "cut at GitHub's size limit" in md
    html = render(md)
    assert html.count("<details>") == html.count("</details>")
    assert "size limit" in html.split("</pre>")[-1]   # the note is outside any code block


def test_guarded_print_switches_commands_off_with_a_fresh_token():
    out1, out2 = io.StringIO(), io.StringIO()
    exports.print_guarded("::error::x\n::add-mask::y", out1)
    exports.print_guarded("::error::x", out2)
    seen = commands_seen(out1.getvalue())
    assert [name for name, _, _ in seen] == ["stop-commands"]
    assert commands_seen(out1.getvalue() + "::notice::after\n")[-1][0] == "notice"
    assert out1.getvalue().splitlines()[0] != out2.getvalue().splitlines()[0]


# ---- JUnit -----------------------------------------------------------------------------------

def test_junit_parses_and_keeps_hostile_text_as_text():
    result = make_result()
    data = exports.junit_xml([result])
    root = ET.fromstring(data)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["neuron", "backprop"]
    neuron = suites[0]
    cases = neuron.findall("testcase")
    assert len(cases) == len(result.exercises[0].tests) == int(neuron.get("tests"))
    assert int(neuron.get("failures")) == len(HOSTILE) + 1      # failed + partial
    assert int(neuron.get("errors")) == 1 and int(neuron.get("skipped")) == 1
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)
    texts = [c.find("failure").text for c in cases if c.find("failure") is not None]
    assert any("]]>" in t for t in texts)
    assert any("</details><script>" in t for t in texts)
    for case in cases:
        failure = case.find("failure")
        if failure is not None:
            assert "\n" not in failure.get("message")
            assert failure.text.splitlines()[0].endswith("points")
    assert "::error::from output" in neuron.find("system-out").text
    assert b"\x00" not in data and b"\x1b" not in data
    props = {p.get("name"): p.get("value") for p in neuron.iter("property")}
    assert props["score"] == f"{result.exercises[0].score:g}"


def test_junit_of_an_exercise_without_tests_is_one_error():
    result = Result(submission="s", exercises=[ExerciseResult(
        name="circles", status="error", message="SyntaxError\x00 in circles.py")])
    root = ET.fromstring(exports.junit_xml([result]))
    case = root.find("testsuite/testcase")
    assert case.get("name") == "load" and case.find("error") is not None
    assert root.get("errors") == "1"


def test_junit_names_suites_by_submission_when_several():
    root = ET.fromstring(exports.junit_xml([make_result(["x"], submission="a"),
                                            make_result(["x"], submission="b")]))
    assert [s.get("name") for s in root.findall("testsuite")] == \
        ["a.neuron", "a.backprop", "b.neuron", "b.backprop"]


# ---- the command -----------------------------------------------------------------------------

def parse(argv):
    parser = argparse.ArgumentParser(prog="grader")
    exports.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["export", *argv])


@pytest.fixture
def result_file(tmp_path):
    folder = tmp_path / "alice"
    make_result().write(folder / "result.json")
    return folder / "result.json"


def test_command_gradescope_to_a_file_and_to_stdout(result_file, tmp_path):
    out = tmp_path / "autograder" / "results" / "results.json"
    assert exports.run(parse([str(result_file), "--format", "gradescope", "--out", str(out)]),
                       environ={}) == 0
    assert json.loads(out.read_text())["score"] == make_result().score
    stdout = io.StringIO()
    # a folder holding result.json works too
    assert exports.run(parse([str(result_file.parent), "--format", "gradescope"]),
                       stdout=stdout, environ={}) == 0
    assert json.loads(stdout.getvalue()) == json.loads(out.read_text())


def test_command_refuses_several_results_for_gradescope_and_unreadable_files(
        result_file, tmp_path, capsys):
    assert exports.run(parse([str(result_file)] * 2 + ["--format", "gradescope"]),
                       environ={}) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert exports.run(parse([str(bad), "--format", "junit"]), environ={}) == 2
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"schema_version": "1.1", "submission": "x", "bogus": 1}))
    assert exports.run(parse([str(wrong), "--format", "junit"]), environ={}) == 2
    assert exports.run(parse([str(tmp_path / "absent"), "--format", "github"]),
                       environ={}) == 2
    assert "grader export:" in capsys.readouterr().err


def test_command_github_in_actions_writes_summary_file_and_only_commands_to_stdout(
        result_file, tmp_path):
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    stdout = io.StringIO()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    assert exports.run(parse([str(result_file), "--format", "github"]), stdout=stdout,
                       environ=env) == 0
    text = stdout.getvalue()
    assert text and all(line.startswith("::") for line in runner_lines(text) if line)
    assert {name for name, _, _ in commands_seen(text)} <= {"error", "warning", "notice"}
    written = summary.read_text()
    assert written.startswith("earlier step\n### Autograder:")     # appended, not replaced


def test_command_github_in_actions_without_summary_file_guards_stdout(result_file):
    stdout = io.StringIO()
    assert exports.run(parse([str(result_file), "--format", "github"]), stdout=stdout,
                       environ={"GITHUB_ACTIONS": "true"}) == 0
    seen = commands_seen(stdout.getvalue())
    names = [name for name, _, _ in seen]
    assert names[-1] == "stop-commands"          # the summary comes after it, inert
    assert set(names[:-1]) <= {"error", "warning", "notice"}
    assert "### Autograder:" in stdout.getvalue()


def test_command_github_outside_actions_prints_only_the_summary(result_file, tmp_path):
    stdout = io.StringIO()
    assert exports.run(parse([str(result_file), "--format", "github"]), stdout=stdout,
                       environ={}) == 0
    assert stdout.getvalue().startswith("### Autograder:")
    out = tmp_path / "summary.md"
    assert exports.run(parse([str(result_file), "--format", "github", "--out", str(out)]),
                       stdout=stdout, environ={}) == 0
    assert out.read_text().startswith("### Autograder:")


def test_command_github_for_many_results_has_no_annotations(result_file, tmp_path):
    other = tmp_path / "bob" / "result.json"
    make_result(submission="bob").write(other)
    stdout, summary = io.StringIO(), tmp_path / "s.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    assert exports.run(parse([str(result_file), str(other), "--format", "github"]),
                       stdout=stdout, environ=env) == 0
    assert stdout.getvalue() == ""
    assert "2 submissions" in summary.read_text()


def test_command_junit_to_stdout(result_file):
    stdout = io.StringIO()
    assert exports.run(parse([str(result_file), "--format", "junit"]), stdout=stdout,
                       environ={}) == 0
    assert ET.fromstring(stdout.getvalue().encode()).tag == "testsuites"


# ---- end to end: a real grading of a hostile submission --------------------------------------

HOSTILE_NEURON = '''
import numpy as np

def relu(z):
    print("::error::printed by relu\\n::add-mask::secret")
    raise ValueError("bad\\n::error file=x.py::injected\\n::stop-commands::zz\\n```\\n"
                     "</details><script>x</script>")

def sigmoid(z):
    return 1 / (1 + np.exp(-z))
'''


@pytest.fixture(scope="module")
def hostile_result(tmp_path_factory):
    from grader.grading import grade

    folder = tmp_path_factory.mktemp("hostile-export") / "mallory"
    write_source(folder, "neuron.py", HOSTILE_NEURON)
    return grade(folder, exercises=["neuron"], sandbox="reduced")


def test_a_graded_hostile_submission_exports_safely(hostile_result, tmp_path):
    result = hostile_result
    messages = [t.message for t in result.exercise("neuron").tests]
    assert any("::error file=x.py::injected" in m for m in messages), messages
    lines = exports.github_annotations(result, limit=100)
    seen = commands_seen("\n".join(lines))
    assert len(seen) == len(lines)
    assert all(props.get("file") in ("neuron.py", None) for _, props, _ in seen)
    assert any("::error file=x.py::injected" in data for _, _, data in seen)
    html = render(exports.github_summary([result]))
    assert "<script>" not in html
    root = ET.fromstring(exports.junit_xml([result]))
    assert root.get("tests") == str(len(messages))
    data = exports.gradescope_results(result)
    assert data["score"] == result.score and len(data["tests"]) == len(messages)


def test_an_exercise_not_attempted_is_one_warning_and_one_line():
    stub = ExerciseResult(name="perceptron", status="graded", file="exercises/perceptron.py",
                          tests=[model.TestResult(
                              id=f"perceptron::t{i}", name=f"t{i}", points=0, max_points=1,
                              outcome="failed", public=True,
                              message=f"Not implemented yet: fit() #{i} still raises it")
                              for i in range(6)])
    result = Result(submission="s", exercises=[stub])
    result.total()
    assert exports.not_attempted(stub)
    seen = commands_seen("\n".join(exports.github_annotations(result)))
    assert [(name, props["title"]) for name, props, _ in seen] == \
        [("warning", "perceptron: not attempted yet")]
    md = exports.github_summary([result])
    assert "| perceptron | 0 / 6 | not attempted yet |" in md
    assert md.count("<details>") == 1
    stub.tests[0].message = "fit(X, y): expected ..."       # one real failure: per test again
    assert not exports.not_attempted(stub)
    assert len(exports.github_annotations(result)) == 6
