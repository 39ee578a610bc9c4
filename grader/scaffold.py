"""``grader new NAME``: the skeleton of a new exercise, registered everywhere it must be.

It writes a small working example that the author then replaces (docs/AUTHORING.md walks
through it):

- ``solutions/NAME.py``: a module docstring and one function with ``# BEGIN SOLUTION`` /
  ``# END SOLUTION`` markers;
- ``grader/suites/NAME/``: ``__init__.py`` and ``test_NAME.py`` with one public and one hidden
  test in the style of the other suites (``grader.checks``, a diagnosis, a message);
- an ``Exercise(...)`` line at the end of ``grader/assignment.py``'s ``EXERCISES``;
- a ``NAME:`` block with one written question at the end of ``solutions/questions.yaml``;
- one single-bug table at the end of ``tests/submissions/buggy/bugs.toml``;
- ``exercises/NAME.py`` and ``.ipynb`` through ``grader generate``;

and prints the steps left (the checklist of docs/AUTHORING.md). Nothing existing is
overwritten: a name already used anywhere is refused before anything is written. Files are
appended to, never reformatted.
"""
from __future__ import annotations

import ast
import keyword
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader import assignment

NAME_RE = re.compile(r"[a-z][a-z0-9_]{1,30}")
# Names that would shadow what a submission or the grader imports.
RESERVED = {"grader", "test", "tests", "solutions", "exercises", "conftest", "numpy", "keras",
            "tensorflow", "sklearn", "pandas", "math", "random", "json", "os", "sys", "types",
            "string", "copy", "time", "io", "re"}


class ScaffoldError(Exception):
    """A name that cannot be used, or a project that does not look like this one."""


@dataclass
class Scaffold:
    """What ``create`` wrote (paths relative to the project root) and what is left to do."""

    name: str
    written: list[str] = field(default_factory=list)
    appended: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


def paths(root: Path, name: str) -> dict[str, Path]:
    return {
        "solution": root / "solutions" / f"{name}.py",
        "suite": root / "grader" / "suites" / name,
        "catalog": root / "grader" / "assignment.py",
        "questions": root / "solutions" / "questions.yaml",
        "bugs": root / "tests" / "submissions" / "buggy" / "bugs.toml",
        "exercises": root / "exercises",
    }


def catalog_names(catalog: Path) -> list[str]:
    """The exercise names of ``assignment.py``'s EXERCISES, read from its source."""
    return [call.args[0].value for call in _catalog_calls(catalog)]


def _catalog_node(catalog: Path) -> ast.AnnAssign | ast.Assign:
    tree = ast.parse(catalog.read_text(encoding="utf-8"))
    for node in tree.body:
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(target, ast.Name) and target.id == "EXERCISES":
            if isinstance(node.value, ast.Tuple):
                return node
    raise ScaffoldError(f"{catalog}: no EXERCISES = (...) tuple found")


def _catalog_calls(catalog: Path) -> list[ast.Call]:
    node = _catalog_node(catalog)
    calls = [e for e in node.value.elts if isinstance(e, ast.Call) and e.args
             and isinstance(e.args[0], ast.Constant)]
    return calls


def check_name(root: Path, name: str) -> None:
    """ScaffoldError unless ``name`` is a new, valid exercise name for the project at root."""
    if not NAME_RE.fullmatch(name or "") or keyword.iskeyword(name) or name in RESERVED \
            or name in sys.stdlib_module_names:
        raise ScaffoldError(f"{name!r} cannot name an exercise: use 2 to 31 lowercase letters, "
                            "digits and _, starting with a letter, and not a Python keyword or "
                            "a module a submission imports (it becomes the file name NAME.py)")
    where = paths(root, name)
    if not where["catalog"].is_file() or not (root / "solutions").is_dir():
        raise ScaffoldError(f"{root}: not the course project (no grader/assignment.py and "
                            "solutions/)")
    if name in catalog_names(where["catalog"]):
        raise ScaffoldError(f"{name!r} is already an exercise of grader/assignment.py")
    taken = [p for p in (where["solution"], where["suite"], where["exercises"] / f"{name}.py",
                         where["exercises"] / f"{name}.ipynb") if p.exists()]
    if where["questions"].is_file() and re.search(
            rf"^{re.escape(name)}:", where["questions"].read_text(encoding="utf-8"), re.M):
        taken.append(where["questions"])
    if where["bugs"].is_file() and f"[{name}__" in where["bugs"].read_text(encoding="utf-8"):
        taken.append(where["bugs"])
    if taken:
        raise ScaffoldError(f"{name!r} is already used: " + ", ".join(
            str(p.relative_to(root)) for p in taken))


# ---- the files ------------------------------------------------------------------------------
def solution_text(name: str, title: str) -> str:
    return f'''"""{title}.

TODO: what the student learns and the maths they need, in plain text (this docstring is the
introduction of the generated notebook). State every convention a test relies on: shapes,
dtypes, which axis, what must not be modified.
"""
import numpy as np


def scale(x, factor=2.0):
    """Multiply every entry of x by factor (an example: replace it with the real API).

    x: array of any shape. Returns a new float array of the same shape; x itself is not
    modified.
    """
    # BEGIN SOLUTION
    return np.asarray(x, dtype=float) * factor
    # END SOLUTION
'''


def suite_text(name: str, title: str) -> str:
    return f'''"""Hidden suite: {title} (see docs/SUITES.md and docs/AUTHORING.md)."""
import numpy as np
import pytest

from grader.checks import expect_array, expect_inputs_untouched, expect_shape, matches


@pytest.mark.public          # students run this one with `grader check`
def test_scale_values(student, reference):
    """scale() multiplies every entry by the factor"""
    x = np.array([[-1.0, 0.0, 2.5], [3.0, -4.0, 0.5]])
    # The message says what was expected, what came back and a likely cause, never the
    # expected values themselves (checks in grader/checks.py do this for you).
    expect_array(student.scale(x, 3.0), reference.scale(x, 3.0), call="scale(x, 3.0)",
                 diagnose=[matches(x + 3.0, "did you add the factor instead of multiplying?")])


@pytest.mark.points(2)       # hidden: only the grader runs it
def test_scale_does_not_modify_input(student):
    """scale() leaves its argument unchanged"""
    x = np.random.default_rng(0).normal(size=(4, 3))
    out = expect_inputs_untouched(student.scale, x, call="scale(x)", names=["x"])
    expect_shape(out, x.shape, call="scale(x)")
'''


def questions_text(name: str) -> str:
    return f'''
{name}:
  - id: {name.replace("_", "-")}-example
    points: 2
    prompt: |
      TODO: a question the code cannot grade (why, what if, compare). Markdown.
'''


def bug_text(name: str) -> str:
    return f'''
[{name}__scale_adds]
exercise = '{name}'
description = 'scale() adds the factor instead of multiplying (an example: replace it)'
expect = ['scale\\(x', 'add the factor instead of multiplying']
lost_tests = ['test_scale_values']
[[{name}__scale_adds.change]]
old = "    return np.asarray(x, dtype=float) * factor\\n"
new = "    return np.asarray(x, dtype=float) + factor  # BUG: adds instead of multiplying\\n"
'''


def _quote(text: str) -> str:
    """A double-quoted Python literal, as the catalogue writes its strings."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def catalog_line(name: str, title: str, tensorflow: bool, dataset: str | None) -> str:
    extra = ""
    if tensorflow:
        extra += ", uses_tensorflow=True,\n             time_budget=600.0, call_timeout=300.0"
    if dataset:
        extra += f", dataset={_quote(dataset)}"
    return f"    Exercise({_quote(name)}, {_quote(title)}{extra}),\n"


def register(catalog: Path, line: str) -> None:
    """Insert ``line`` as the last element of EXERCISES (before the closing parenthesis)."""
    node = _catalog_node(catalog)
    lines = catalog.read_text(encoding="utf-8").splitlines(keepends=True)
    close = node.end_lineno - 1  # the line holding the tuple's ")"
    if lines[close].strip() != ")":
        raise ScaffoldError(f"{catalog}: put EXERCISES' closing parenthesis on a line of its "
                            "own, then run `grader new` again")
    lines.insert(close, line)
    catalog.write_text("".join(lines), encoding="utf-8")


def _append(path: Path, text: str) -> None:
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    if current and not current.endswith("\n"):
        text = "\n" + text
    path.write_text(current + text, encoding="utf-8")


def remaining_steps(name: str) -> list[str]:
    return [
        f"solutions/{name}.py: replace scale() with the exercise's functions (docstrings are "
        "the student's instructions: state every convention a test relies on)",
        f"grader/suites/{name}/test_{name}.py: public and hidden tests in the style of "
        "grader/suites/neuron/ (messages: expected, got, likely cause; depends_on for one "
        "mistake, one deduction)",
        "solutions/questions.yaml: the written questions",
        f"tests/submissions/buggy/bugs.toml: at least 6 single-bug tables {name}__<bug> that "
        "lose points only in this exercise",
        f"tests/submissions/variants/{name}_<style>/{name}.py: at least 3 correct solutions in "
        "other idioms (full marks), with a test that grades them",
        "grader/authoring.py EXAMPLES: the notebook's try-it cell (optional)",
        "grader/suites/thresholds.toml + bench/calibrate.py + docs/CALIBRATION.md: only for "
        "accuracy-type tests",
        f".venv/bin/grader generate   (rewrites exercises/{name}.py and .ipynb after every "
        "change of the solution or questions)",
        "tests that count exercises: tests/fixtures/results/full_marks.json (every exercise), "
        "tests/test_check.py (public test total), tests/test_student_edition.py (frozen "
        "values) — see docs/AUTHORING.md",
        "README.md's exercise list; docs/BENCHMARKS.md (grading time)",
        f".venv/bin/grader grade solutions --exercise {name}   (the reference must get 100 %)",
    ]


def create(root: Path, name: str, title: str | None = None, *, tensorflow: bool = False,
           dataset: str | None = None, generate: bool = True) -> Scaffold:
    """Write the skeleton of exercise ``name`` into the project at ``root``."""
    root = Path(root)
    check_name(root, name)
    title = (title or name.replace("_", " ").capitalize()).strip()
    if not title or "\n" in title or '"' in title or "\\" in title:
        raise ScaffoldError("the title must be one line of text, without \" or \\")
    where = paths(root, name)
    done = Scaffold(name)

    register(where["catalog"], catalog_line(name, title, tensorflow, dataset))
    done.appended.append("grader/assignment.py")
    where["solution"].write_text(solution_text(name, title), encoding="utf-8")
    done.written.append(f"solutions/{name}.py")
    where["suite"].mkdir(parents=True)
    (where["suite"] / "__init__.py").write_text(
        f'"""Hidden suite for the {name} exercise."""\n', encoding="utf-8")
    (where["suite"] / f"test_{name}.py").write_text(suite_text(name, title), encoding="utf-8")
    done.written += [f"grader/suites/{name}/__init__.py", f"grader/suites/{name}/test_{name}.py"]
    _append(where["questions"], questions_text(name))
    done.appended.append("solutions/questions.yaml")
    where["bugs"].parent.mkdir(parents=True, exist_ok=True)
    _append(where["bugs"], bug_text(name))
    done.appended.append("tests/submissions/buggy/bugs.toml")
    if generate:
        _generate(root, name, title)
        done.written += [f"exercises/{name}.py", f"exercises/{name}.ipynb"]
    done.steps = remaining_steps(name)
    return done


def _generate(root: Path, name: str, title: str) -> None:
    """``grader generate`` for the new exercise. The catalogue imported in this process does
    not list it yet (assignment.py was just edited), so it is added for this call."""
    from grader import authoring

    exercise = assignment.Exercise(name, title)
    saved = (assignment.EXERCISES, assignment.EXERCISE_NAMES, dict(assignment.BY_NAME))
    try:
        if name not in assignment.BY_NAME:
            assignment.EXERCISES = (*assignment.EXERCISES, exercise)
            assignment.EXERCISE_NAMES = (*assignment.EXERCISE_NAMES, name)
            assignment.BY_NAME[name] = exercise
        questions = authoring.load_questions(root / "solutions" / authoring.QUESTIONS_FILE)
        for file_name, text in authoring.render(root / "solutions" / f"{name}.py",
                                                questions.get(name, [])).items():
            target = root / "exercises" / file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
    finally:
        assignment.EXERCISES, assignment.EXERCISE_NAMES = saved[0], saved[1]
        assignment.BY_NAME.clear()
        assignment.BY_NAME.update(saved[2])


# ---- the command ----------------------------------------------------------------------------
def add_parser(sub) -> None:
    new = sub.add_parser("new", help="the skeleton of a new exercise (docs/AUTHORING.md)")
    new.add_argument("name", help="the exercise's name: lowercase, becomes NAME.py")
    new.add_argument("--title", help="one line shown as the notebook's title")
    new.add_argument("--tensorflow", action="store_true",
                     help="the exercise imports TensorFlow (longer time budgets)")
    new.add_argument("--dataset", metavar="SOURCE",
                     help="the data source that decides its thresholds (e.g. mnist)")
    new.add_argument("--root", metavar="DIR", help="the project (default: this checkout)")
    new.set_defaults(func=cli_new)


def cli_new(args) -> int:
    root = Path(args.root) if getattr(args, "root", None) else assignment.PROJECT_ROOT
    try:
        done = create(root, args.name, args.title, tensorflow=args.tensorflow,
                      dataset=args.dataset)
    except ScaffoldError as exc:
        print(f"grader new: {exc}", file=sys.stderr)
        return 2
    print(f"new exercise {done.name!r}:")
    for path in done.written:
        print(f"  wrote    {path}")
    for path in done.appended:
        print(f"  appended {path}")
    print("It grades already: the example function scale() passes its tests. What is left "
          "(docs/AUTHORING.md has the whole checklist):")
    for number, step in enumerate(done.steps, start=1):
        print(f"  {number:>2}. {step}")
    return 0
