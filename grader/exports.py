"""CI exports of ``result.json``: Gradescope ``results.json``, GitHub Actions output, JUnit XML.

Every function here is pure: it renders a :class:`~grader.results.Result` that grading already
wrote, and never re-runs anything (docs/RESULTS.md). Almost every string in a result can be
steered by a student -- messages carry their exception text and traceback, ``file`` and
``submission`` are their file and folder names -- so each format escapes it for its own context:

- GitHub workflow commands: ``%``, CR and LF percent-encoded (and ``:`` ``,`` in properties),
  every command on a line of its own that *we* start, so student text can never begin a line
  of stdout; the step summary goes to the ``$GITHUB_STEP_SUMMARY`` file, not stdout.
- Markdown: inline text is backslash- and HTML-escaped on one line; multi-line text sits in a
  code fence longer than any backtick run it contains, so it cannot close the fence.
- XML: characters XML 1.0 forbids (NUL, ESC, lone surrogates, ...) are replaced before
  ElementTree escapes the rest.

``grader export RESULT_JSON... --format gradescope|github|junit [--out PATH]`` is the command.
"""
from __future__ import annotations

import argparse
import html
import json
import math
import os
import re
import secrets
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from grader.results import ExerciseResult, Result, TestResult
from grader.safe_text import clean_text, one_line, short, truncate

EXIT_OK, EXIT_USAGE = 0, 2
FORMATS = ("gradescope", "github", "junit")

# Outcomes that cost the student points, as CI should flag them.
LOST = ("partial", "failed", "error")

# GitHub shows at most 10 error and 10 warning annotations per step; more are dropped silently,
# so we stop at that and say how many were left out.
MAX_ANNOTATIONS = 10
ANNOTATION_CHARS = 1_000                # an annotation is a pop-up: the summary has the rest
SUMMARY_MESSAGE_CHARS = 4_000           # per failed test in the step summary
SUMMARY_BYTES = 1_000_000               # GitHub refuses step summaries over 1 MiB
# How grader.proxy.StudentError words a call into a stub that still raises NotImplementedError
# (its student_message); grader.check reads it from here.
NOT_IMPLEMENTED = "Not implemented yet"
# What a result of ``grader check`` is called wherever it is shown (result.json "scope").
PUBLIC_CHECKS = "public checks"


def _num(x: object) -> float:
    """A score as a float: result.json stores NaN/inf as null, which scores as 0."""
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def _points(x: object) -> str:
    return f"{_num(x):g}"


def _lost(ex: ExerciseResult) -> list[TestResult]:
    return [t for t in ex.tests if t.outcome in LOST]


def not_attempted(ex: ExerciseResult) -> bool:
    """Every test of the exercise met the stub's NotImplementedError: one line says so, rather
    than a failure per test (the wording is grader.proxy's: NOT_IMPLEMENTED)."""
    return ex.status == "not_attempted" or (
        ex.status == "graded" and bool(ex.tests)
        and all(t.outcome in LOST and t.message.startswith(NOT_IMPLEMENTED)
                for t in ex.tests if t.outcome != "skipped"))


NOT_ATTEMPTED_MESSAGE = ("Every test still meets a NotImplementedError: replace each "
                         "`raise NotImplementedError(...)` with your code.")


def _exercise_note(ex: ExerciseResult) -> str:
    """One line saying how an exercise went, for tables and Gradescope's summary."""
    if ex.status == "missing":
        note = "missing" + (f": {ex.message}" if ex.message else "")
    elif ex.status == "error":
        note = "could not be loaded" + (f": {ex.message}" if ex.message else "")
    elif not_attempted(ex):
        note = "not attempted yet"
    else:
        lost = len(_lost(ex))
        note = f"{lost} of {len(ex.tests)} tests lost points" if lost else "all tests passed"
    if ex.manual_pending:
        note += f"; written answers await grading ({_points(ex.manual_pending)} points)"
    return one_line(note)


# ---- Gradescope --------------------------------------------------------------------------------

def gradescope_results(result: Result) -> dict:
    """Gradescope's ``results.json`` (autograder specification) for one submission.

    Public tests are ``visible``; the others ``after_published``, so students see their hidden
    tests' outcomes only once the instructor publishes grades. The autograder's stdout stays
    hidden (it is for instructors), and all output is plain ``text``: a message cannot inject
    HTML or Markdown into Gradescope's page.
    """
    tests = []
    for i, ex in enumerate(result.exercises, start=1):
        for j, t in enumerate(ex.tests, start=1):
            output = t.message or (ex.message if ex.status != "graded" else "")
            if t.outcome == "partial":
                output = f"partial credit: {_points(t.points)}/{_points(t.max_points)}\n{output}"
            elif t.outcome == "skipped":
                output = f"skipped: {output}" if output else "skipped"
            tests.append({
                "name": one_line(f"{ex.name}: {t.name or t.id}"),
                "number": f"{i}.{j}",
                "score": _num(t.points),
                "max_score": _num(t.max_points),
                "status": "passed" if t.outcome == "passed" else "failed",
                "output": clean_text(output).strip(),
                "output_format": "text",
                "visibility": "visible" if t.public else "after_published",
                "tags": [ex.name],
            })
        for k, answer in enumerate(ex.manual, start=len(ex.tests) + 1):
            if answer.get("points") is None:
                continue  # pending: not part of the score yet (Result.total)
            tests.append({
                "name": one_line(f"{ex.name}: written answer {answer.get('question', '')}"),
                "number": f"{i}.{k}",
                "score": _num(answer["points"]),
                "max_score": _num(answer.get("max_points")),
                "output": clean_text(answer.get("comment", "")).strip(),
                "output_format": "text",
                "visibility": "after_published",
                "tags": [ex.name, "manual"],
            })
    return {
        "score": _num(result.score),
        "execution_time": round(_num(result.timings.get("total"))),
        "output": gradescope_summary(result),
        "output_format": "text",
        "test_output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "submission": clean_text(result.submission),
            "schema_version": result.schema_version,
            "sandbox": clean_text(result.sandbox.get("mode", "")),
        },
    }


def gradescope_summary(result: Result) -> str:
    """The plain-text overview Gradescope shows above the tests."""
    lines = [f"Score: {_points(result.score)}/{_points(result.max_score)} "
             + f"({result.percent:.1f}%)"]
    for ex in result.exercises:
        lines.append(f"{ex.name}: {_points(ex.score)}/{_points(ex.max_score)} — "
                     f"{_exercise_note(ex)}")
    pending = sum(ex.manual_pending for ex in result.exercises)
    if pending:
        lines.append(f"Written answers worth {_points(pending)} points await manual grading.")
    lines.append("Tests marked hidden show their results once grades are published.")
    return "\n".join(lines)


# ---- GitHub Actions: workflow commands ---------------------------------------------------------

def escape_data(text: object) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does (``%``, CR, LF).

    After :func:`clean_text`, so every other line breaker is already an LF and gets encoded:
    the command stays on one line whatever the text holds.
    """
    return (clean_text(text).replace("%", "%25").replace("\r", "%0D")
            .replace("\n", "%0A"))


def escape_property(text: object) -> str:
    """A workflow command's property value: as data, plus ``:`` and ``,`` (the separators)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


_COMMAND_NAME = re.compile(r"[a-z][a-z-]*\Z")
_PROPERTY_NAME = re.compile(r"[a-zA-Z][a-zA-Z]*\Z")


def workflow_command(command: str, message: object = "", **properties: object) -> str:
    """One ``::command key=value,...::message`` line; the only way this module emits commands.

    Command and property names are ours (checked); values and the message are escaped, so a
    student's text cannot end the line, add properties or start a command of its own.
    """
    if not _COMMAND_NAME.match(command):
        raise ValueError(f"not a workflow command name: {command!r}")
    props = []
    for key, value in properties.items():
        if value is None:
            continue
        if not _PROPERTY_NAME.match(key):
            raise ValueError(f"not a workflow command property: {key!r}")
        props.append(f"{key}={escape_property(value)}")
    head = f"::{command} {','.join(props)}" if props else f"::{command}"
    return f"{head}::{escape_data(message)}"


def _line_in_file(message: str, file: str | None) -> int | None:
    """The innermost traceback line in the student's own file, if the message has one."""
    if not file:
        return None
    name = file.replace("\\", "/")
    line = None
    for path, number in re.findall(r'File "([^"\n]+)", line (\d+)', message):
        path = path.replace("\\", "/")
        if path == name or path.endswith("/" + name):
            line = int(number)
    return line


def github_annotations(result: Result, *, limit: int = MAX_ANNOTATIONS) -> list[str]:
    """``::error``/``::warning`` lines for the tests that lost points, on the student's file.

    Failed tests and exercises that are missing or do not load are errors; partial credit is a
    warning. A missing exercise gets one annotation, not one per test. When GitHub's per-step
    cap would drop some, a final ``::notice`` says how many and where to find them.
    """
    errors: list[str] = []
    warnings: list[str] = []
    for ex in result.exercises:
        file = short(ex.file, 500) if ex.file else None
        if not_attempted(ex):
            warnings.append(workflow_command("warning", NOT_ATTEMPTED_MESSAGE, file=file,
                                             title=f"{ex.name}: not attempted yet"))
            continue
        if ex.status != "graded":
            title = f"{ex.name}: {'missing' if ex.status == 'missing' else 'could not be loaded'}"
            message = ex.message or _exercise_note(ex)
            errors.append(workflow_command(
                "error", truncate(clean_text(message), ANNOTATION_CHARS), file=file,
                line=_line_in_file(clean_text(message), file), title=short(title)))
            continue
        for t in _lost(ex):
            message = clean_text(t.message) or "this test lost points"
            title = (f"{ex.name}: {short(t.name or t.id)} "
                     f"({_points(t.points)}/{_points(t.max_points)})")
            line = workflow_command(
                "warning" if t.outcome == "partial" else "error",
                truncate(message, ANNOTATION_CHARS), file=file,
                line=_line_in_file(message, file), title=title)
            (warnings if t.outcome == "partial" else errors).append(line)
    dropped = max(0, len(errors) - limit) + max(0, len(warnings) - limit)
    lines = errors[:limit] + warnings[:limit]
    if dropped:
        lines.append(workflow_command(
            "notice", f"{dropped} more tests lost points: see the job summary",
            title="more results"))
    return lines


# ---- GitHub Actions: the step summary (Markdown) -----------------------------------------------

# Markdown punctuation; < > & are left to html.escape (a backslash before an entity shows it).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def md_inline(text: object) -> str:
    """Text for a Markdown paragraph or table cell: one line, no markup, no HTML."""
    escaped = _MD_SPECIAL.sub(r"\\\1", one_line(text))
    return html.escape(escaped, quote=False)


def html_inline(text: object) -> str:
    """Text inside raw HTML (``<summary>``): one line, so a blank line cannot end the block."""
    return html.escape(one_line(text), quote=True)


def code_block(text: object, info: str = "text") -> str:
    """A fenced code block that the text cannot close: the fence outgrows its backtick runs."""
    body = clean_text(text).rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def public_checks(result: Result) -> bool:
    """The result of ``grader check``: the public tests only, never a grade."""
    return getattr(result, "scope", "") == PUBLIC_CHECKS


def _heading(result: Result) -> str:
    return "Public checks" if public_checks(result) else "Autograder"


def _summary_one(result: Result) -> str:
    parts = [
        (f"### {_heading(result)}: {_points(result.score)} / {_points(result.max_score)} "
         f"points ({result.percent:.1f}%)"),
        "",
        (f"Submission {md_inline(result.submission)}, sandbox: "
         f"{md_inline(result.sandbox.get('mode', 'unknown'))}."),
        "",
        *(["Public tests only: the hidden tests run at grading also count towards the grade.",
           ""] if public_checks(result) else []),
        "| Exercise | Points | Result |",
        "| --- | ---: | --- |",
    ]
    for ex in result.exercises:
        parts.append(f"| {md_inline(ex.name)} | {_points(ex.score)} / {_points(ex.max_score)} "
                     f"| {md_inline(_exercise_note(ex))} |")
    parts.append("")
    lost = [(ex, t) for ex in result.exercises if ex.status == "graded"
            and not not_attempted(ex) for t in _lost(ex)]
    broken = [ex for ex in result.exercises if ex.status != "graded" or not_attempted(ex)]
    if broken or lost:
        parts += [f"#### What lost points ({len(broken) + len(lost)})", ""]
    for ex in broken:
        if not_attempted(ex):
            parts += _details(f"{ex.name}: not attempted yet", NOT_ATTEMPTED_MESSAGE)
            continue
        parts += _details(f"{ex.name}: {'missing' if ex.status == 'missing' else 'not loaded'}",
                          ex.message or ex.located_because)
    for ex, t in lost:
        parts += _details(f"{ex.name} — {short(t.name or t.id)}: {_points(t.points)} / "
                          f"{_points(t.max_points)} ({t.outcome})", t.message)
    if not broken and not lost and result.exercises:
        parts += ["All tests passed.", ""]
    return "\n".join(parts)


def _details(title: str, message: str) -> list[str]:
    body = truncate(clean_text(message).strip() or "(no message)", SUMMARY_MESSAGE_CHARS)
    return ["<details>", f"<summary>{html_inline(title)}</summary>", "", code_block(body), "",
            "</details>", ""]


def _summary_many(results: list[Result]) -> str:
    names = sorted({ex.name for r in results for ex in r.exercises})
    heading = "Public checks" if results and all(map(public_checks, results)) else "Autograder"
    head = [f"### {heading}: {len(results)} submissions", "",
            "| Submission | Points | % | " + " | ".join(md_inline(n) for n in names) + " |",
            "| --- | ---: | ---: | " + " | ".join("---:" for _ in names) + " |"]
    rows = []
    for r in results:
        scores = {ex.name: "not attempted" if not_attempted(ex) else
                  f"{_points(ex.score)}" if ex.status == "graded" else ex.status
                  for ex in r.exercises}
        cells = [md_inline(r.submission), f"{_points(r.score)} / {_points(r.max_score)}",
                 f"{r.percent:.1f}", *(md_inline(scores.get(n, "")) for n in names)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(head + rows) + "\n"


def github_summary(results: Iterable[Result], *, max_bytes: int = SUMMARY_BYTES) -> str:
    """The job summary: one submission in detail, or a table row per submission."""
    results = list(results)
    text = _summary_one(results[0]) if len(results) == 1 else _summary_many(results)
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    # Cut at a line boundary, then close any open fence/details so the rest renders.
    cut = data[: max_bytes - 200].decode("utf-8", "ignore").rsplit("\n", 1)[0]
    fences = re.findall(r"^(`{3,})", cut, flags=re.MULTILINE)
    if len(fences) % 2:
        cut += "\n" + fences[-1]
    if cut.count("<details>") > cut.count("</details>"):
        cut += "\n\n</details>"
    return cut + "\n\n*The summary was cut at GitHub's size limit; result.json has it all.*\n"


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


_COMMAND_START = re.compile(r"^(\s*)(::|##\[)", re.MULTILINE)


def neutralize_workflow_commands(text: str) -> str:
    """Text that GitHub Actions shows as is: no line of it can start a workflow command
    ("::set-output", "::add-mask", legacy "##[..."), whoever wrote it."""
    return _COMMAND_START.sub(lambda m: m.group(1) + m.group(2)[0] + " " + m.group(2)[1:],
                              text)


def print_guarded(text: str, stream: IO[str]) -> None:
    """Print text that holds student strings where the Actions runner reads commands.

    Wrapped in ``::stop-commands::<random token>`` ... ``::<token>::``, so no line of it
    is taken as a workflow command; the token is fresh for every call and never in the text.
    """
    token = secrets.token_hex(16)
    while token in text:  # astronomically unlikely; cheap to rule out
        token = secrets.token_hex(16)
    stream.write(f"::stop-commands::{token}\n")
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.write(f"::{token}::\n")


# ---- JUnit XML ---------------------------------------------------------------------------------

def junit_xml(results: Iterable[Result]) -> bytes:
    """JUnit XML: a ``testsuite`` per exercise (per submission and exercise for several).

    ``partial`` and ``failed`` become ``<failure>``, ``error`` an ``<error>``, ``skipped``
    ``<skipped>``; an exercise that is missing or does not load and has no tests becomes one
    ``<error>`` test case. The student's captured output goes to ``<system-out>``.
    """
    results = list(results)
    root = ET.Element("testsuites", name="grader")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for result in results:
        for ex in result.exercises:
            suite_name = ex.name if len(results) == 1 else f"{result.submission}.{ex.name}"
            suite = ET.SubElement(root, "testsuite", name=clean_text(suite_name))
            props = ET.SubElement(suite, "properties")
            for key, value in (("submission", result.submission), ("status", ex.status),
                               ("score", _points(ex.score)), ("max_score", _points(ex.max_score)),
                               ("file", ex.file or "")):
                ET.SubElement(props, "property", name=key, value=clean_text(value))
            counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
            cases = list(ex.tests)
            if not cases and ex.status != "graded":
                case = ET.SubElement(suite, "testcase", classname=clean_text(suite_name),
                                     name="load", time="0")
                _junit_problem(case, "error", ex.status, ex.message or ex.status, "")
                counts["tests"] += 1
                counts["errors"] += 1
            for t in cases:
                case = ET.SubElement(suite, "testcase", classname=clean_text(suite_name),
                                     name=clean_text(t.name or t.id),
                                     time=f"{max(0.0, t.duration or 0.0):.3f}")
                counts["tests"] += 1
                message = t.message or (ex.message if ex.status != "graded" else "")
                points = f"{_points(t.points)}/{_points(t.max_points)} points"
                if t.outcome in ("failed", "partial"):
                    counts["failures"] += 1
                    _junit_problem(case, "failure", t.outcome, message, points)
                elif t.outcome == "error":
                    counts["errors"] += 1
                    _junit_problem(case, "error", t.outcome, message, points)
                elif t.outcome == "skipped":
                    counts["skipped"] += 1
                    ET.SubElement(case, "skipped", message=one_line(message)[:500])
            if ex.output:
                ET.SubElement(suite, "system-out").text = clean_text(ex.output)
            seconds = max(0.0, ex.duration or 0.0)
            for key, value in counts.items():
                suite.set(key, str(value))
                totals[key] += value
            suite.set("time", f"{seconds:.3f}")
            totals["time"] += seconds
    for key, value in totals.items():
        root.set(key, f"{value:.3f}" if key == "time" else str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _junit_problem(case: ET.Element, tag: str, kind: str, message: str, points: str) -> None:
    """A failure/error: its first line as the ``message`` attribute, all of it as text."""
    text = clean_text(message).strip()
    first = text.splitlines()[0] if text else kind
    element = ET.SubElement(case, tag, message=one_line(first)[:500], type=clean_text(kind))
    element.text = "\n".join(part for part in (points, text) if part)


# ---- the command -------------------------------------------------------------------------------

def read_results(paths: Iterable[str | os.PathLike]) -> list[Result]:
    """Result files (or folders holding a result.json); ValueError names the unreadable one."""
    results = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            path = path / "result.json"
        results.append(Result.read(path))
    return results


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    e = subparsers.add_parser(
        "export", help="render result.json for Gradescope, GitHub Actions or JUnit",
        description="Render result files (never re-grading) as Gradescope's results.json, a "
        "GitHub Actions job summary with annotations, or JUnit XML.")
    e.add_argument("results", nargs="+", metavar="RESULT_JSON",
                   help="result.json files (or folders holding one)")
    e.add_argument("--format", required=True, choices=FORMATS,
                   help="gradescope: one submission's results.json; github: job summary "
                   "(to $GITHUB_STEP_SUMMARY when set) and, in Actions, annotations for one "
                   "submission; junit: JUnit XML")
    e.add_argument("--out", metavar="PATH",
                   help="write here instead of stdout (github: instead of $GITHUB_STEP_SUMMARY)")
    e.set_defaults(func=run)
    return e


def run(args: argparse.Namespace, *, stdout: IO[str] | None = None,
        environ: dict[str, str] | None = None) -> int:
    stdout = stdout or sys.stdout
    environ = os.environ if environ is None else environ
    try:
        results = read_results(args.results)
    except (ValueError, TypeError, KeyError) as exc:  # unreadable, or not a result.json
        print(f"grader export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out) if args.out else None
    if args.format == "gradescope":
        if len(results) != 1:
            print("grader export: --format gradescope takes exactly one result.json "
                  f"(got {len(results)})", file=sys.stderr)
            return EXIT_USAGE
        text = json.dumps(gradescope_results(results[0]), indent=2, allow_nan=False) + "\n"
        return _emit(text, out, stdout)
    if args.format == "junit":
        data = junit_xml(results).decode("utf-8")
        return _emit(data, out, stdout)
    return _emit_github(results, out, stdout, environ)


def _emit(text: str, out: Path | None, stdout: IO[str]) -> int:
    if out is None:
        stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return EXIT_OK


def _emit_github(results: list[Result], out: Path | None, stdout: IO[str],
                 environ: dict[str, str]) -> int:
    in_actions = environ.get("GITHUB_ACTIONS") == "true"
    if in_actions and len(results) == 1:
        for line in github_annotations(results[0]):
            stdout.write(line + "\n")
    summary = github_summary(results)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(summary, encoding="utf-8")
    elif environ.get("GITHUB_STEP_SUMMARY"):
        with open(environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as fh:
            fh.write(summary + "\n")
    elif in_actions:
        print_guarded(summary, stdout)
    else:
        stdout.write(summary)
    return EXIT_OK
