"""A student's own check: the public tests, on their work, before they submit.

    grader check [EXERCISE] [PATH]          in a terminal or CI (PATH: default ".")
    from grader import check; check("neuron")   in a notebook, on its current definitions

Both run the suites' ``@pytest.mark.public`` tests -- and only those -- through the same
pipeline as grading (locate, sandboxed worker, trusted checks), so a check passes exactly when
those tests would pass at grading time. Only public test titles and their student-facing
messages are ever shown. An exercise whose every public test still raises NotImplementedError
(the untouched stub) is reported once as "not attempted yet".

Exit status of ``grader check``: 0 when every public test passes, 1 when one fails (an exercise
not attempted yet counts as failing unless ``--allow-unattempted``), 2 for usage errors and
unreadable input, 3 when the grader itself failed.

This module is imported by ``import grader`` (for ``grader.check``), so its top level stays
light: the grading pipeline (pytest, the worker machinery) is imported only when a check runs.
"""
from __future__ import annotations

import argparse
import ast
import builtins
import contextlib
import dataclasses
import html
import inspect
import io
import linecache
import math
import numbers
import os
import re
import shutil
import symtable
import sys
import tempfile
import textwrap
import threading
import time
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from grader import assignment
from grader.exports import (MAX_ANNOTATIONS, NOT_IMPLEMENTED, PUBLIC_CHECKS, code_block,
                            in_github_actions, md_inline, neutralize_workflow_commands,
                            workflow_command)
from grader.safe_text import clean_text, short

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FAULT = 0, 1, 2, 3
PUBLIC_MARKER = "public"
STUBS_DIR = assignment.STUBS_DIR
MAX_MESSAGE_LINES = 40
STEP_SUMMARY_LIMIT = 900_000  # GitHub refuses step summaries above 1 MiB


# --------------------------------------------------------------------------------------------
# what a check found
# --------------------------------------------------------------------------------------------
@dataclass
class ExerciseCheck:
    """The public tests of one exercise. ``status``: checked, not_attempted or error."""

    name: str
    status: str
    file: str | None = None
    message: str = ""                     # why not attempted / why the file could not load
    tests: list = field(default_factory=list)   # grader.results.TestResult, public ones only
    answers: list = field(default_factory=list)  # written answers: result.json "manual" entries

    def answer_lines(self) -> list[str]:
        """Where each written answer was found, and which are missing (graded by hand)."""
        if not self.answers:
            return []
        found = sum(bool(a.get("answered")) for a in self.answers)
        lines = [f"  written answers (graded by hand): {found} of {len(self.answers)} found"]
        for a in self.answers:
            qid = str(a.get("question", ""))
            if a.get("answered"):
                lines.append(f"    [found]   {qid}: in {a.get('source') or '?'}")
            else:
                lines.append(f"    [missing] {qid}: write it in the answer cell of "
                             f"{self.name}.ipynb or under a '## {qid}' heading in ANSWERS.md")
        return lines

    @property
    def passed(self) -> bool:
        return self.status == "checked" and all(t.outcome == "passed" for t in self.tests)

    @property
    def points(self) -> tuple[float, float]:
        return (sum(t.points for t in self.tests), sum(t.max_points for t in self.tests))

    @property
    def verdict(self) -> str:
        """What stands in for the test rows of an exercise that was not checked test by test."""
        return {"not_attempted": "not attempted yet", "error": "could not be loaded"}.get(
            self.status, "")


@dataclass
class CheckReport:
    """Everything a check shows; rendered as text (terminal, CI log), Markdown or HTML."""

    exercises: list[ExerciseCheck]
    target: str                           # what was checked: a path, or "this notebook"
    sandbox: str = ""
    notes: list[str] = field(default_factory=list)
    source: str = ""                      # a notebook check: the module it built and ran
    result: Any = None                    # the grader.results.Result, public tests only

    @property
    def passed(self) -> bool:
        return all(ex.passed for ex in self.exercises)

    def exit_code(self, allow_unattempted: bool = False) -> int:
        for ex in self.exercises:
            if not ex.passed and not (allow_unattempted and ex.status == "not_attempted"):
                return EXIT_FAILED
        return EXIT_OK

    def counts(self) -> tuple[int, int, float, float]:
        """(tests passed, tests run, points, max points) over the public tests."""
        tests = [t for ex in self.exercises for t in ex.tests]
        return (sum(t.outcome == "passed" for t in tests), len(tests),
                sum(t.points for t in tests), sum(t.max_points for t in tests))

    def summary(self) -> str:
        passed, total, points, max_points = self.counts()
        line = (f"Public tests: {passed} of {total} passed "
                f"({_num(points)}/{_num(max_points)} points).")
        waiting = [ex.name for ex in self.exercises if ex.status == "not_attempted"]
        if waiting:
            line += f" Not attempted yet: {', '.join(waiting)}."
        return line

    # ---- renderers ---------------------------------------------------------------------
    def header(self) -> str:
        return (f"grader check: {self.target} — public checks"
                + (f" (sandbox: {self.sandbox})" if self.sandbox else ""))

    def footer(self) -> list[str]:
        return [*self.notes, self.summary(),
                "Hidden tests also count towards the grade: passing these public checks is "
                "not the whole score."]

    def exercise_lines(self, ex: ExerciseCheck, color: bool = False, ascii_only: bool = False,
                       tests: bool = True, width: int = 0) -> list[str]:
        """One exercise's block: its name, each test (``tests``) or its verdict, answers."""
        paint = _paint if color else (lambda text, _style: text)
        head = f"{ex.name}" + (f"  ({ex.file})" if ex.file else "")
        lines = []
        if ex.verdict:
            style = "dim" if ex.status == "not_attempted" else "bad"
            lines.append(f"{head}  {paint(ex.verdict, style)}")
            lines.extend(_indent(_clip_lines(ex.message), 4))
        elif tests:
            lines.append(head)
            lines += [line for t in ex.tests
                      for line in test_lines(t, color, ascii_only, width)]
        lines.extend(ex.answer_lines())
        return lines

    def to_text(self, color: bool = False, ascii_only: bool = False) -> str:
        width = max((len(f"{_num(t.points)}/{_num(t.max_points)}")
                     for ex in self.exercises for t in ex.tests), default=3)
        lines = [self.header(), ""]
        for ex in self.exercises:
            lines += self.exercise_lines(ex, color, ascii_only, width=width)
            lines.append("")
        lines += self.footer()
        return "\n".join(lines)

    def to_markdown(self, details: bool = True) -> str:
        """A GitHub step summary; all text escaped by grader.exports' Markdown rules."""
        rows = ["| | Exercise | Test | Points |", "|---|---|---|---|"]
        failures = []
        for ex in self.exercises:
            got, of = ex.points
            if ex.verdict:
                rows.append(f"| {'⏳' if ex.status == 'not_attempted' else '❌'} | "
                            f"{md_inline(ex.name)} | {ex.verdict} | {_num(got)}/{_num(of)} |")
                failures.append((f"{ex.name}: {ex.verdict}", ex.message))
                continue
            for t in ex.tests:
                icon = {"passed": "✅", "partial": "🟡", "skipped": "➖"}.get(t.outcome, "❌")
                rows.append(f"| {icon} | {md_inline(ex.name)} | {md_inline(t.name)} | "
                            f"{_num(t.points)}/{_num(t.max_points)} |")
                if t.outcome != "passed" and t.message:
                    failures.append((f"{ex.name}: {t.name}", t.message))
        parts = [f"## Public checks — {'all pass' if self.passed else 'not yet'}",
                 "", md_inline(self.summary()), "", *rows]
        written = [ex for ex in self.exercises if ex.answers]
        if written:
            parts += ["", "### Written answers (graded by hand)", ""]
            for ex in written:
                missing = [str(a.get("question", "")) for a in ex.answers if not a.get("answered")]
                found = len(ex.answers) - len(missing)
                parts.append("- " + md_inline(
                    f"{ex.name}: {found} of {len(ex.answers)} found"
                    + (f"; missing: {', '.join(missing)} (answer cell of {ex.name}.ipynb or a "
                       f"heading with the question id in ANSWERS.md)" if missing else "")))
        if failures and details:
            parts += ["", "### What to fix", ""]
            for title, message in failures:
                parts += [f"**{md_inline(title)}**", "", code_block(_clip_lines(message)), ""]
        parts += [*(md_inline(n) for n in self.notes), "",
                  "_Hidden tests also count towards the grade._", ""]
        text = "\n".join(parts)
        if len(text) > STEP_SUMMARY_LIMIT and details:  # too long for GitHub: the table only
            return self.to_markdown(details=False) + "\n_(messages left out: too long)_\n"
        return text

    def _repr_html_(self) -> str:
        """The notebook view: a small table, every piece of text escaped."""
        e = html.escape

        def pre(text: str) -> str:
            return f'<pre style="white-space:pre-wrap;margin:2px 0">' \
                   f'{e(_clip_lines(text))}</pre>' if text else ""
        colors = {"passed": "#1a7f37", "partial": "#9a6700", "skipped": "#57606a"}
        out = ['<div class="grader-check" style="font-family:sans-serif">',
               f'<p><b>grader check</b> — {e(self.target)}: {e(self.summary())}</p>',
               '<table style="border-collapse:collapse">',
               ('<thead><tr><th></th><th style="text-align:left">Test</th>'
                '<th style="text-align:right">Points</th></tr></thead><tbody>')]
        for ex in self.exercises:
            got, of = ex.points
            label = ex.name + (f" ({ex.file})" if ex.file else "")
            if ex.verdict:
                icon = "⏳" if ex.status == "not_attempted" else "✗"
                out.append(f'<tr class="{e(ex.status)}"><td>{icon}</td>'
                           f'<td><b>{e(label)}</b>: {e(ex.verdict)}{pre(ex.message)}</td>'
                           f'<td style="text-align:right">{_num(got)}/{_num(of)}</td></tr>')
                continue
            out.append(f'<tr><td></td><td colspan="2"><b>{e(label)}</b></td></tr>')
            for t in ex.tests:
                mark = _MARKS[t.outcome][0]
                color = colors.get(t.outcome, "#cf222e")
                detail = "" if t.outcome == "passed" else pre(t.message)
                out.append(f'<tr class="{e(t.outcome)}"><td style="color:{color}">{mark}</td>'
                           f'<td>{e(t.name)}{detail}</td>'
                           f'<td style="text-align:right">{_num(t.points)}/'
                           f'{_num(t.max_points)}</td></tr>')
        out.append("</tbody></table>")
        out += [f"<p>{e(note)}</p>" for note in self.notes]
        if self.source:
            out.append(f'<details><summary>The code the check ran (copied from this '
                       f'notebook)</summary><pre>{e(self.source)}</pre></details>')
        out.append("<p><i>Hidden tests also count towards the grade.</i></p></div>")
        return "\n".join(out)

    def __repr__(self) -> str:
        return self.to_text()


_MARKS = {"passed": ("✓", "good"), "partial": ("~", "warn"), "failed": ("✗", "bad"),
          "error": ("✗", "bad"), "skipped": ("-", "dim")}
_ASCII_MARKS = {"passed": ("ok", "good"), "partial": ("~~", "warn"), "failed": ("XX", "bad"),
                "error": ("XX", "bad"), "skipped": ("--", "dim")}
_STYLES = {"good": "32", "bad": "31", "warn": "33", "dim": "2"}


def test_lines(t, color: bool = False, ascii_only: bool = False, width: int = 0) -> list[str]:
    """A test's row (mark, points, title) and, unless it passed, its message."""
    mark, style = (_ASCII_MARKS if ascii_only else _MARKS).get(t.outcome, ("?", "bad"))
    if color:
        mark = _paint(mark, style)
    points = f"{_num(t.points)}/{_num(t.max_points)}"
    lines = [f"  {mark} {points:>{width}}  {t.name}"]
    if t.outcome != "passed" and t.message:
        lines.extend(_indent(_clip_lines(t.message), 6))
    return lines


def _paint(text: str, style: str) -> str:
    return f"\033[{_STYLES[style]}m{text}\033[0m"


def _num(value: float) -> str:
    return f"{value:g}"


def _indent(text: str, spaces: int) -> list[str]:
    return [" " * spaces + line for line in text.splitlines()]


def _clip_lines(text: str, limit: int = MAX_MESSAGE_LINES) -> str:
    lines = text.splitlines()
    if len(lines) <= limit:
        return text
    return "\n".join(lines[:limit] + [f"... ({len(lines) - limit} more lines)"])


# --------------------------------------------------------------------------------------------
# running the public tests
# --------------------------------------------------------------------------------------------
def _exercise_check(ex) -> ExerciseCheck:
    """One exercise of a public-only result, with a status saying how far the student is."""
    tests = ex.tests
    answers = [m for m in ex.manual if isinstance(m, dict)]
    if ex.status == "missing":
        return ExerciseCheck(ex.name, "not_attempted", None, ex.message, tests, answers)
    if ex.status == "error":
        return ExerciseCheck(ex.name, "error", ex.file, ex.message, tests, answers)
    if ex.status == "not_attempted" or (
            tests and all(t.message.startswith(NOT_IMPLEMENTED) for t in tests)):
        return ExerciseCheck(ex.name, "not_attempted", ex.file,
                             f"Every public test ({len(tests)}) still meets a "
                             f"NotImplementedError: replace each `raise "
                             f"NotImplementedError(...)` with your code.", tests, answers)
    return ExerciseCheck(ex.name, "checked", ex.file, "", tests, answers)


# Where a traceback says the student's file is: the worker's copy of the submission, mounted
# at grader.sandbox.SANDBOX_STUDENT_ROOT under bubblewrap, or a temporary copy
# (grader.proxy: grader-<exercise>-XXXX) elsewhere.
_WORKER_COPY = re.compile(r'(File "|^\s*File )(?:/tmp/submission|[^"\n]*?[/\\]grader-[a-z_]+-'
                          r'[A-Za-z0-9_]+)[/\\]', re.MULTILINE)


def student_paths(text: str, root: str) -> str:
    """A traceback's paths into the worker's copy, as the student's own: ``root`` (the
    submission folder, with a trailing separator) or relative paths."""
    return _WORKER_COPY.sub(lambda m: m.group(1) + root, text) if text else text


def run_public_tests(submission: str | os.PathLike, exercises: Iterable[str] | None = None,
                     sandbox: str | None = None, target: str | None = None,
                     log: TextIO | None = None, out: Path | None = None,
                     observers: Iterable[object] = ()) -> CheckReport:
    """Run the public tests of ``exercises`` (default: all) on ``submission``, as grading would.

    Raises what grade() raises for an unreadable submission (SubmissionError) or a broken
    grader (GraderFault). The suites' diagnostics on stderr go to ``log`` (default: dropped),
    since they are for instructors. ``out``: the folder for executed notebooks, hidden from
    the worker.
    """
    from grader.grading import grade

    names = list(assignment.EXERCISE_NAMES if exercises is None else exercises)
    diagnostics = io.StringIO()
    with contextlib.redirect_stderr(diagnostics):
        result = grade(submission, exercises=names, sandbox=sandbox, artifacts=out,
                       hide=[out.resolve()] if out is not None else (),
                       markers=PUBLIC_MARKER, observers=list(observers))
    result.scope = PUBLIC_CHECKS        # result.json, report title, summary: never a grade
    if log is not None:
        log.write(diagnostics.getvalue())
    root = Path(submission).resolve()
    shown_root = str(root) + os.sep if root.is_dir() else ""
    for ex in result.exercises:
        # a missing or unloadable file records every test, hidden ones too: keep the public
        ex.tests = [t for t in ex.tests if t.public]
        ex.message = student_paths(ex.message, shown_root)
        for t in ex.tests:
            t.message = student_paths(t.message, shown_root)
    checks = [_exercise_check(ex) for ex in result.exercises]
    for ex in result.exercises:
        # where the written answers are is shown (ExerciseCheck.answers); the public-only
        # result scores the public tests alone
        ex.manual = []
    result.total()
    return CheckReport(checks, target=target or str(submission),
                       sandbox=str(result.sandbox.get("mode", "")), result=result,
                       notes=sandbox_limits(result.sandbox))


def sandbox_limits(sandbox: Mapping[str, Any]) -> list[str]:
    """What a reduced sandbox (no bubblewrap: macOS, Windows, or not installed) can and cannot
    limit on this machine, in the student's words; nothing for the full sandbox."""
    if sandbox.get("mode") != "reduced":
        return []
    notes = [str(n) for n in sandbox.get("notes") or ()
             if "limit" in str(n) and not str(n).startswith("worker peak memory")]
    return [f"sandbox: reduced ({sandbox.get('reason') or 'no bubblewrap'}); what it limits:"] + \
        [f"  - {n}" for n in notes]


def write_outputs(report: CheckReport, out: Path) -> Path:
    """result.json (public tests only) and report.html in ``out``, as ``grader grade`` writes
    them, for CI artifacts and ``grader export``. Returns the report's path."""
    from grader.report_html import write_report
    from grader.report_notebook import render_notebooks

    links = render_notebooks(report.result, out)
    report.result.write(out / "result.json")
    return write_report(report.result, out, links=links)


# --------------------------------------------------------------------------------------------
# in a notebook: check(exercise) on the current definitions
# --------------------------------------------------------------------------------------------
@dataclass
class NotebookSource:
    """The module written from a notebook's definitions, and what went into it."""

    source: str
    wanted: list[str]                     # the names the exercise asks for
    copied: list[str]                     # names whose definition was copied
    undefined: list[str]                  # the exercise's names the notebook does not define
    skipped: dict[str, str]               # name used by the code -> why it was not copied


class _NoSource(Exception):
    pass


def exercise_names(exercise: str) -> list[str]:
    """The names an exercise asks for: the public top-level functions and classes of its stub."""
    path = STUBS_DIR / f"{exercise}.py"
    if not path.is_file():
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not node.name.startswith("_")]


def _as_python(cell: str) -> str:
    """A notebook cell with IPython syntax (%magic, !shell) translated, when IPython is here."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return cell
    try:
        return TransformerManager().transform_cell(cell)
    except (SyntaxError, ValueError, TypeError):
        return cell


def _parse_cell(cell: str) -> ast.Module | None:
    try:
        return ast.parse(_as_python(cell))
    except SyntaxError:
        return None


def _imports_in_history(history: Iterable[str]) -> dict[str, str]:
    """{bound name: the student's own import statement for it}, the latest one winning."""
    found: dict[str, str] = {}
    for cell in history:
        tree = _parse_cell(cell) if isinstance(cell, str) else None
        for node in tree.body if tree else ():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    found[bound] = ast.unparse(ast.Import(names=[alias]))
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module != \
                    "__future__":
                for alias in node.names:
                    if alias.name != "*":
                        found[alias.asname or alias.name] = ast.unparse(
                            ast.ImportFrom(module=node.module, names=[alias], level=0))
    return found


def _source_of(obj: Any) -> str:
    """The source of a function or class defined in the notebook (its executed version)."""
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        if not inspect.isclass(obj):
            raise _NoSource("its source is not available") from None
    # Python < 3.13 cannot find classes of __main__; a method's code points into the cell.
    codes = []
    for member in vars(obj).values():
        member = getattr(member, "__func__", getattr(member, "fget", member))
        code = getattr(member, "__code__", None)
        if code is not None:
            codes.append(code)
    header = re.compile(rf"^\s*class\s+{re.escape(obj.__name__)}\b")
    for code in codes:
        lines = linecache.getlines(code.co_filename)
        for start in range(min(code.co_firstlineno, len(lines)) - 1, -1, -1):
            if header.match(lines[start]):
                while start > 0 and lines[start - 1].lstrip().startswith("@"):
                    start -= 1
                return textwrap.dedent("".join(inspect.getblock(lines[start:])))
    raise _NoSource("its source is not available (a class needs at least one method)")


def _lambda_source(value: Any, name: str) -> str:
    """``name = lambda ...`` when that assignment is the whole statement on its lines."""
    source = textwrap.dedent(inspect.getsource(value))
    tree = ast.parse(source)
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Assign) and \
            [ast.unparse(t) for t in tree.body[0].targets] == [name] and \
            isinstance(tree.body[0].value, ast.Lambda):
        return source.rstrip() + "\n"
    raise _NoSource("not a plain assignment")


def _global_names(source: str) -> tuple[set[str], set[str]]:
    """(names the statement needs when it runs, all module-level names its code reads)."""
    top = symtable.symtable(source, "<notebook>", "exec")
    now = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    later: set[str] = set()
    stack = [(child, child.get_type() == "class") for child in top.get_children()]
    while stack:
        table, at_definition = stack.pop()
        names = {s.get_name() for s in table.get_symbols() if s.is_global()}
        (now if at_definition else later).update(names)
        stack += [(child, at_definition and child.get_type() == "class")
                  for child in table.get_children()]
    return now, now | later


def _literal(value: Any, names_of: Mapping[int, str], depth: int = 0
             ) -> tuple[str, set[str]] | None:
    """Python source recreating plain data (numbers, strings, containers of them, and
    functions the notebook names); None for anything else."""
    if depth > 20:
        return None
    if value is None or isinstance(value, (bool, str, bytes)):
        return repr(value), set()
    if isinstance(value, numbers.Integral):
        return repr(int(value)), set()
    if isinstance(value, numbers.Real):
        value = float(value)
        return (repr(value), set()) if math.isfinite(value) else None
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        parts, needs = [], set()
        items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
        for key, item in items:
            rendered = [_literal(x, names_of, depth + 1) for x in
                        ((key, item) if isinstance(value, dict) else (item,))]
            if any(r is None for r in rendered):
                return None
            parts.append(": ".join(r[0] for r in rendered))
            needs.update(*(r[1] for r in rendered))
        body = ", ".join(parts)
        if isinstance(value, dict):
            return "{" + body + "}", needs
        if isinstance(value, list):
            return "[" + body + "]", needs
        if isinstance(value, tuple):
            return "(" + body + ("," if len(parts) == 1 else "") + ")", needs
        return f"{type(value).__name__}([{body}])", needs
    if (inspect.isfunction(value) or inspect.isclass(value)) and id(value) in names_of:
        return names_of[id(value)], {names_of[id(value)]}
    return None


def _describe(value: Any) -> str:
    kind = type(value).__name__
    shape = getattr(value, "shape", None)
    return f"a {kind} of shape {tuple(shape)}" if isinstance(shape, tuple) else f"a {kind}"


def _importable_as(value: Any) -> str | None:
    """``from module import name`` recreating a function or class imported from a library."""
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "." in qualname:
        return None
    loaded = sys.modules.get(module)          # already imported by the notebook: no import here
    if loaded is not None and getattr(loaded, qualname, None) is value:
        return f"from {module} import {qualname}"
    return None


def notebook_source(exercise: str, namespace: Mapping[str, Any],
                    history: Iterable[str] = ()) -> NotebookSource:
    """A module holding the notebook's current definitions of ``exercise``'s functions.

    Not the whole notebook: the functions and classes the exercise asks for, plus what they
    use -- the notebook's helpers and classes (their source), its imports (the student's own
    import lines from ``history``, IPython's ``In``), and plain constants. Data, models and
    anything else are not copied, so the check never re-runs the notebook's training cells.
    """
    main = namespace.get("__name__", "__main__")
    imports = _imports_in_history(history)
    names_of: dict[int, str] = {}       # a function's name in the notebook, for constants
    for prefer_own_name in (True, False):
        for name, value in namespace.items():
            if (inspect.isfunction(value) or inspect.isclass(value)) and (
                    value.__name__ == name if prefer_own_name else not name.startswith("_")):
                names_of.setdefault(id(value), name)
    wanted = exercise_names(exercise) or [  # no stub to read: every notebook definition
        n for n, v in namespace.items() if not n.startswith("_") and
        (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == main]
    undefined = [n for n in wanted if n not in namespace]
    roots = [n for n in wanted if n in namespace]
    chunks: dict[str, tuple[int, str, set[str]]] = {}   # name -> (rank, source, needs now)
    skipped: dict[str, str] = {}
    queue, seen = list(roots), set(roots)

    def need(names: Iterable[str]) -> None:
        for n in sorted(names):
            if n not in seen and n in namespace and not (
                    hasattr(builtins, n) and namespace[n] is getattr(builtins, n)):
                seen.add(n)
                queue.append(n)

    while queue:
        name = queue.pop(0)
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            line = imports.get(name) or (
                f"import {value.__name__}" if value.__name__ == name
                else f"import {value.__name__} as {name}")
            chunks[name] = (0, line, set())
            continue
        if (inspect.isfunction(value) or inspect.isclass(value)) and \
                value.__module__ in (main, exercise):
            if value.__name__ == "<lambda>":
                try:
                    source = _lambda_source(value, name)
                    now, used = _global_names(source)
                except (_NoSource, SyntaxError):
                    skipped[name] = "a lambda whose line could not be isolated: use def"
                    continue
                chunks[name] = (2, source, now - {name})
                need(used - {name})
                continue
            if value.__name__ != name:
                if namespace.get(value.__name__) is value:  # an alias: f = relu
                    chunks[name] = (3, f"{name} = {value.__name__}", {value.__name__})
                    need([value.__name__])
                else:
                    skipped[name] = f"it is {value.__name__} under another name"
                continue
            try:
                source = _source_of(value)
                now, used = _global_names(source)
            except (_NoSource, SyntaxError) as exc:
                skipped[name] = str(exc) if isinstance(exc, _NoSource) else \
                    "its source could not be read"
                continue
            chunks[name] = (2, source.rstrip() + "\n", now - {name})
            need(used - {name})
            continue
        if name in imports:
            chunks[name] = (0, imports[name], set())
            continue
        rendered = _literal(value, names_of)
        if rendered is not None:
            chunks[name] = (1, f"{name} = {rendered[0]}", rendered[1])
            need(rendered[1])
            continue
        line = _importable_as(value)
        if line is not None:
            chunks[name] = (0, line + ("" if line.endswith(f" {name}") else f" as {name}"),
                            set())
            continue
        skipped[name] = (f"it is {_describe(value)}: only functions, classes, imports and "
                         f"plain constants are copied — define it inside the function or pass "
                         f"it as an argument")

    order = _definition_order(chunks)
    header = (f"# Written by grader.check from the notebook's current definitions for "
              f"{exercise!r} (not the whole notebook).\n")
    blocks = [chunks[n][1] for n in order]
    source = header + "\n\n".join(b.rstrip("\n") for b in blocks) + "\n"
    return NotebookSource(source, wanted, [n for n in order if chunks[n][0] > 0], undefined,
                          skipped)


def _definition_order(chunks: dict[str, tuple[int, str, set[str]]]) -> list[str]:
    """Imports, constants, then definitions, each after what it needs when it runs."""
    remaining = sorted(chunks, key=lambda n: (chunks[n][0], n))
    done: list[str] = []
    while remaining:
        ready = next((n for n in remaining
                      if not (chunks[n][2] & set(remaining)) - {n}), remaining[0])
        done.append(ready)
        remaining.remove(ready)
    return done


def check(exercise: str, namespace: Mapping[str, Any] | types.ModuleType | None = None, *,
          sandbox: str | None = None) -> CheckReport:
    """Run ``exercise``'s public tests on the notebook's current definitions.

    ``namespace`` defaults to the caller's globals (a notebook's user namespace). The result
    shows as a table in Jupyter and as text elsewhere; ``.passed`` says whether all passed.
    """
    assignment.get(exercise)
    if os.environ.get("GRADER_GRADING"):     # set by grader.worker_notebook: never grade there
        return CheckReport([], target="this notebook", notes=[
            "grader check does nothing while the notebook is being graded."])
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    elif isinstance(namespace, types.ModuleType):
        namespace = vars(namespace)
    history = namespace.get("In", ())
    built = notebook_source(exercise, namespace,
                            history if isinstance(history, (list, tuple)) else ())
    notes = []
    if built.copied:
        notes.append(f"Checked from this notebook: {', '.join(built.copied)}.")
    if built.undefined and built.copied:
        notes.append(f"Not defined in this notebook (yet): {', '.join(built.undefined)}.")
    notes += [f"Not copied: {name} — {why}." for name, why in built.skipped.items()]
    if not set(built.copied) & set(built.wanted):
        message = (f"None of {', '.join(built.wanted)} is defined in this notebook yet: "
                   f"run the cells that define them, then check again." if built.undefined
                   else "None of the exercise's definitions could be copied (see below).")
        return CheckReport([ExerciseCheck(exercise, "not_attempted", None, message)],
                           target="this notebook", notes=notes)
    with tempfile.TemporaryDirectory(prefix="grader-check-") as folder:
        Path(folder, f"{exercise}.py").write_text(built.source, encoding="utf-8")
        report = run_public_tests(folder, [exercise], sandbox=sandbox, target="this notebook")
    for ex in report.exercises:
        ex.file = None                    # the temporary file means nothing to the student
        for t in ex.tests:
            t.message = t.message.replace(f"{exercise}.py does not define",
                                          "this notebook does not define")
    report.notes, report.source = notes, built.source
    return report


# --------------------------------------------------------------------------------------------
# the command line: grader check [EXERCISE] [PATH]
# --------------------------------------------------------------------------------------------
def github_annotations(report: CheckReport) -> list[str]:
    """``::error`` per failing public test, ``::warning`` per exercise not attempted yet.

    Built with grader.exports.workflow_command, which escapes student text so that it stays
    inside its line. GitHub shows 10 of each kind per step: a last ``::notice`` counts the rest.
    """
    errors, warnings = [], []
    for ex in report.exercises:
        if ex.verdict:
            kind = "warning" if ex.status == "not_attempted" else "error"
            (warnings if kind == "warning" else errors).append(workflow_command(
                kind, _clip_lines(ex.message), file=ex.file, title=f"{ex.name}: {ex.verdict}"))
            continue
        errors += [workflow_command("error", _clip_lines(t.message) or "failed", file=ex.file,
                                    title=f"{ex.name}: {t.name}")
                   for t in ex.tests if t.outcome != "passed"]
    dropped = max(0, len(errors) - MAX_ANNOTATIONS) + max(0, len(warnings) - MAX_ANNOTATIONS)
    lines = errors[:MAX_ANNOTATIONS] + warnings[:MAX_ANNOTATIONS]
    if dropped:
        lines.append(workflow_command("notice", f"{dropped} more: see the job summary",
                                      title="more results"))
    return lines


def _say(text: str, stream: TextIO) -> None:
    """Print; in GitHub Actions with every line break the runner knows made a plain LF first,
    so that no line of the text can start a workflow command."""
    if in_github_actions():
        text = neutralize_workflow_commands(clean_text(text))
    print(text, file=stream)


def _can_encode(stream: TextIO, text: str) -> bool:
    encoding = getattr(stream, "encoding", None)
    if encoding is None:  # an in-memory text stream holds any character
        return True
    try:
        text.encode(encoding)
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def _wants_color(stream: TextIO) -> bool:
    return (hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ
            and os.environ.get("TERM") != "dumb")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "check", help="run the public tests on your own work (before you submit)",
        description="Run the public tests on your work, sandboxed as in grading. EXERCISE "
                    "defaults to all of them, PATH to the current folder. Exit status: 0 all "
                    "public tests pass, 1 one fails (not attempted counts as failing unless "
                    "--allow-unattempted), 2 usage or unreadable input, 3 grader error.")
    p.add_argument("exercise", nargs="?", metavar="EXERCISE",
                   help=f"one of {', '.join(assignment.EXERCISE_NAMES)} (default: all)")
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="your folder or .zip (default: the current folder); "
                        "write ./NAME for a folder named like an exercise")
    p.add_argument("--allow-unattempted", action="store_true",
                   help="exit 0 when the only failures are exercises not attempted yet")
    p.add_argument("--out", metavar="DIR",
                   help="also write result.json (public tests only) and report.html here, "
                        "for CI artifacts and `grader export`")
    p.add_argument("--format", choices=("text", "github"), default="text",
                   help="github: also write ::error annotations and a Markdown step summary "
                        "($GITHUB_STEP_SUMMARY)")
    p.add_argument("--sandbox", choices=("auto", "bubblewrap", "reduced"), default=None,
                   help="sandbox mode (default: bubblewrap when installed; env GRADER_SANDBOX)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also show the suites' diagnostics on stderr")
    p.set_defaults(func=run)
    return p


def _resolve_arguments(args: argparse.Namespace) -> tuple[list[str] | None, str]:
    """EXERCISE and PATH are both optional: a lone argument that is no exercise is the PATH,
    unless no such path exists and it reads like a misspelt exercise name."""
    exercise, path = args.exercise, args.path
    if exercise is not None and exercise not in assignment.EXERCISE_NAMES:
        looks_like_path = any(c in exercise for c in "/\\.") or Path(exercise).exists()
        guess = did_you_mean(exercise)
        if path is not None or (guess and not looks_like_path):
            raise ValueError(f"unknown exercise {exercise!r}"
                             + (f"; did you mean {guess!r}?" if guess else "")
                             + f" Choose from: {', '.join(assignment.EXERCISE_NAMES)}")
        exercise, path = None, exercise
    return ([exercise] if exercise else None), (path or ".")


def did_you_mean(name: str) -> str | None:
    """The exercise a mistyped name most likely meant (difflib), or None."""
    import difflib

    lowered = {n.lower(): n for n in assignment.EXERCISE_NAMES}
    key = name.strip().strip("/\\").lower()
    key = key[:-3] if key.endswith(".py") else key[:-6] if key.endswith(".ipynb") else key
    if key in lowered:
        return lowered[key]
    close = difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


class _Stream:
    """Lines of a check as the student sees them: flushed at once (a pipe or a CI log shows
    each as it comes), in colour on a terminal, ASCII where the terminal cannot show more."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.ascii_only = not _can_encode(stream, "✓✗—")
        self.color = _wants_color(stream)

    def say(self, text: str) -> None:
        if self.ascii_only:  # student messages may hold any character: degrade, never crash
            encoding = getattr(self.stream, "encoding", None) or "ascii"
            text = text.encode(encoding, "replace").decode(encoding)
        _say(text, self.stream)
        with contextlib.suppress(AttributeError, ValueError, OSError):
            self.stream.flush()


def _own_descriptor(stream: TextIO) -> TextIO:
    """A stream of its own onto the same terminal: the suites' pytest session captures file
    descriptors 1 and 2 while a test runs, which would hold back the live line until it ends."""
    try:
        fd = os.dup(stream.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return stream                 # not a file (a test's recorder): nothing captures it
    return os.fdopen(fd, "w", encoding=getattr(stream, "encoding", None) or "utf-8",
                     errors="replace")


class Progress:
    """A pytest plugin watching a check's session; it decides nothing.

    Each public test is printed as soon as it finishes, under its exercise's name, and while
    a call into the student's code runs a live line (tqdm, on ``live``) shows its elapsed
    time against the call's time limit. Exercises that do not run (no file, untouched stub,
    not loadable) are left to the final report.
    """

    POLL = 0.2            # seconds between updates of the live line
    QUIET = 1.0           # a call shorter than this never shows the live line

    def __init__(self, out: _Stream, live: TextIO | None, root: str = ""):
        self.out, self.live, self.root = out, live, root
        self.plugin = None
        self.shown: dict[str, int] = {}     # exercise -> public tests printed so far
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._bar = None
        self._bar_call = None

    # ---- pytest hooks ----------------------------------------------------------------------
    def pytest_configure(self, config) -> None:
        from grader.pytest_plugin import GradingPlugin

        self.plugin = next((p for p in config.pluginmanager.get_plugins()
                            if isinstance(p, GradingPlugin)), None)

    def pytest_runtest_logstart(self, nodeid, location) -> None:
        if self.live is not None and self.plugin is not None and self._ticker is None:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, name="grader-check-progress",
                                            daemon=True)
            self._ticker.start()

    def pytest_runtest_logfinish(self, nodeid, location) -> None:
        self._stop_ticker()
        self._flush()

    def pytest_sessionfinish(self, session) -> None:
        self._stop_ticker()
        self._flush()

    # ---- printing ----------------------------------------------------------------------------
    def _flush(self) -> None:
        from grader.safe_text import one_line

        if self.plugin is None:
            return
        for name, run in self.plugin.runs.items():
            located = run.located
            if not located.found or run.import_error or not getattr(located, "attempted", True):
                continue          # its tests were decided without running: the report says why
            public = [t for t in run.tests if t.public]
            done = self.shown.get(name, 0)
            if len(public) <= done:
                continue
            lines = [] if done else ([""] if self.shown else []) + [
                name + (f"  ({located.rel})" if located.rel else "")]
            for t in public[done:]:
                shown = dataclasses.replace(t, name=one_line(t.name),
                                            message=student_paths(clean_text(t.message),
                                                                  self.root))
                lines += test_lines(shown, self.out.color, self.out.ascii_only, 3)
            self.shown[name] = len(public)
            self.out.say("\n".join(lines))

    def _tick(self) -> None:
        """The live line: the running call, its elapsed seconds and its limit."""
        from tqdm import tqdm

        while not self._stop.wait(self.POLL):
            run = self.plugin.runs.get(self.plugin.current)
            module = getattr(run, "module", None)
            running = getattr(module, "running", None)
            with self._lock:
                if running is None or running is not self._bar_call and self._bar is not None:
                    self._close_bar()
                if running is None:
                    continue
                label, since, limit = running
                elapsed = time.monotonic() - since
                if elapsed < self.QUIET:
                    continue
                if self._bar is None:
                    self._bar_call = running
                    size = shutil.get_terminal_size((80, 24))
                    self._bar = tqdm(total=round(limit), desc=f"  running {short(label, 48)}",
                                     file=self.live, leave=False, ncols=max(size.columns, 60),
                                     nrows=max(size.lines, 5),  # a 0x0 pty hides the bar
                                     ascii=self.out.ascii_only, mininterval=0,
                                     bar_format="{desc}: {n:.0f} of {total:.0f} s (time "
                                                "limit) |{bar}|")
                self._bar.n = min(elapsed, limit)
                self._bar.refresh()

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = self._bar_call = None

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
        with self._lock:
            self._close_bar()


def run(args: argparse.Namespace, stdout: TextIO | None = None,
        stderr: TextIO | None = None, live: TextIO | bool | None = None) -> int:
    """``grader check``. ``live``: where the live line of a running call goes (default:
    stderr when it is a terminal; True: stderr anyway; False: nowhere)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        exercises, path = _resolve_arguments(args)
    except ValueError as exc:
        _say(f"grader check: {exc}", stderr)
        return EXIT_USAGE
    if not Path(path).exists():
        _say(f"grader check: {path}: no such file or folder (and no exercise: choose from "
             f"{', '.join(assignment.EXERCISE_NAMES)})", stderr)
        return EXIT_USAGE
    out = Path(args.out) if args.out else None
    target = str(Path(path).resolve())
    printer = _Stream(stdout)
    printer.say(CheckReport([], target=target).header() + "\n")  # at once, before the imports
    if live is None:
        live = stderr if (hasattr(stderr, "isatty") and stderr.isatty()
                          and os.environ.get("TERM") != "dumb") else None
    elif live is True:
        live = stderr
    given = live or None
    live = _own_descriptor(given) if given else None
    progress = Progress(printer, live, str(Path(path).resolve()) + os.sep
                        if Path(path).is_dir() else "")

    from grader.grading import GraderFault
    from grader.submission import SubmissionError

    diagnostics = io.StringIO()
    try:
        report = run_public_tests(path, exercises, sandbox=args.sandbox, target=target,
                                  log=diagnostics, out=out, observers=[progress])
    except SubmissionError as exc:
        _say(f"grader check: {exc}", stderr)
        return EXIT_USAGE
    except GraderFault as exc:
        # the details may name tests that are not public: only the first line is shown
        _say(f"grader check: internal error — {str(exc).splitlines()[0]}", stderr)
        return EXIT_FAULT
    finally:
        progress._stop_ticker()
        if live is not given:             # the descriptor of our own, not the caller's stream
            with contextlib.suppress(OSError, ValueError):
                live.close()
        if args.verbose and diagnostics.getvalue():
            _say(diagnostics.getvalue().rstrip("\n"), stderr)
    rest: list[str] = []
    for ex in report.exercises:
        streamed = ex.name in progress.shown
        block = report.exercise_lines(ex, printer.color, printer.ascii_only,
                                      tests=not streamed, width=3)
        if streamed and not ex.verdict:
            block = [f"{ex.name}:"] + block if block else []
        if block:
            rest += block + [""]
    if report.sandbox and report.sandbox != "reduced":   # reduced: the notes say what holds
        rest.append(f"sandbox: {report.sandbox}")
    rest += report.footer()
    printer.say(("\n" if progress.shown else "") + "\n".join(rest))
    if out is not None:
        _say(f"report: {write_outputs(report, out)}", stdout)
    if args.format == "github":
        for line in github_annotations(report):
            print(line, file=stdout)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(report.to_markdown() + "\n")
        else:
            _say("grader check: GITHUB_STEP_SUMMARY is not set; no step summary written",
                 stderr)
    code = report.exit_code(allow_unattempted=args.allow_unattempted)
    if code and not args.allow_unattempted and all(
            ex.passed or ex.status == "not_attempted" for ex in report.exercises):
        _say("(exercises not attempted yet count as failing; --allow-unattempted ignores "
             "them)", stdout)
    return code
