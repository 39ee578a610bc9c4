"""``grader template OUT_DIR``: the repository every student starts from (a Classroom template).

It holds what a student needs and nothing a student must not see: the exercise stubs
(``exercises/*.py`` and ``*.ipynb``, copied from this project's generated ``exercises/``), the
workflow that runs the public checks on every push (``.github/workflows/check.yml``, from
``grader/templates/workflows/student.yml`` with the grader pinned), a README and a
``.gitignore``. Hidden suites, reference solutions and the grader's tests stay out: the stubs are
copied by name from a fixed list of exercises, never by walking the project.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from importlib import metadata
from pathlib import Path

from grader import assignment

EXIT_OK, EXIT_USAGE = 0, 2
WORKFLOW_TEMPLATE = assignment.PACKAGE_DIR / "templates" / "workflows" / "student.yml"
WORKFLOW_PATH = Path(".github") / "workflows" / "check.yml"
DISTRIBUTION = "dl-grader"
STUB_SUFFIXES = (".py", ".ipynb")
# What pip accepts as a requirement or URL, minus anything a shell or YAML would interpret
# (quotes, spaces, $, backslashes, backticks).
_PACKAGE_SPEC = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-\[\],=<>!~+:/@#%]*\Z")
_PACKAGE_LINE = re.compile(r"^(?P<key>[ \t]*GRADER_PACKAGE:[ \t]*).*$", re.MULTILINE)

GITIGNORE = """\
__pycache__/
*.py[cod]
.ipynb_checkpoints/
.venv/
grader-check/
reports/
"""

README = """\
# {title}

Your work for the course's deep-learning assignment. Each exercise is one file in
`exercises/`, as a Python module and as a notebook: fill in **one** of the two
(the grader takes the one you changed).

| Exercise | What you build |
| --- | --- |
{rows}

## How to work
1. Open `exercises/<name>.py` (or `.ipynb`) and replace every `raise NotImplementedError(...)`
   with your code. Keep the names, arguments, defaults and return shapes the docstrings give:
   the tests call exactly those.
2. In the notebooks, answer the written questions in the cells marked *Write your answer
   here*; they are graded by hand.
3. Commit and push as often as you like. What counts is the last push before the deadline.

## Check your work
Install the grader once, then run the public checks from the top of this repository:

```bash
python -m pip install "{package}"
grader check
```

`grader check` runs the public tests against your files, in a sandbox, and tells you for
each one what was expected, what came back and a likely cause.

## What happens when you push
GitHub Actions runs the same public checks (`.github/workflows/check.yml`): the run's page
shows your score on them, the failed tests with their messages, and marks the lines in your
files where an error was raised. The full report is attached to the run as an artifact.

Your grade comes from more tests than these: hidden tests, run by your instructor after the
deadline. Passing every public check is a good sign, not a guarantee.
"""


def grader_requirement() -> str:
    """The pip requirement that pins the grader running now (what the template defaults to)."""
    try:
        return f"{DISTRIBUTION}=={metadata.version(DISTRIBUTION)}"
    except metadata.PackageNotFoundError:
        return DISTRIBUTION


def check_package_spec(spec: str) -> str:
    if not _PACKAGE_SPEC.match(spec):
        raise ValueError(
            f"--grader-package {spec!r}: give a pip requirement or URL without spaces, quotes "
            "or shell characters, e.g. dl-grader==0.1.0 or git+https://host/org/repo@v0.1.0")
    return spec


def student_workflow(package: str) -> str:
    """The student workflow with the grader pinned to ``package``."""
    check_package_spec(package)
    text = WORKFLOW_TEMPLATE.read_text(encoding="utf-8")
    # A double-quoted YAML scalar; the spec has no quote or backslash to escape.
    text, count = _PACKAGE_LINE.subn(lambda m: f'{m["key"]}"{package}"', text)
    if count != 1:
        raise RuntimeError(f"{WORKFLOW_TEMPLATE}: expected one GRADER_PACKAGE line, found {count}")
    return text


def stub_files(exercises_dir: Path) -> list[Path]:
    """The stubs to ship: ``<exercise>.py`` and ``<exercise>.ipynb`` for the catalog's exercises."""
    files = [exercises_dir / f"{name}{suffix}" for name in assignment.EXERCISE_NAMES
             for suffix in STUB_SUFFIXES]
    found = [f for f in files if f.is_file()]
    if not found:
        raise FileNotFoundError(
            f"{exercises_dir}: no exercise stubs (expected e.g. {files[0].name}); "
            "run `grader generate` or give --exercises")
    return found


def build_template(out_dir: str | Path, *, exercises_dir: str | Path | None = None,
                   package: str | None = None, title: str = "Deep-learning assignment"
                   ) -> list[Path]:
    """Write the template repository into ``out_dir`` (absent or empty); return its files."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: exists and is not an empty folder")
    package = check_package_spec(grader_requirement() if package is None else package)
    stubs = stub_files(Path(exercises_dir) if exercises_dir else
                       assignment.PROJECT_ROOT / "exercises")
    workflow = student_workflow(package)
    written = []
    for stub in stubs:
        dest = out / "exercises" / stub.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stub, dest)
        written.append(dest)
    rows = "\n".join(f"| `{e.name}` | {e.title} |" for e in assignment.EXERCISES)
    for rel, text in ((WORKFLOW_PATH, workflow),
                      (Path("README.md"), README.format(title=title, rows=rows, package=package)),
                      (Path(".gitignore"), GITIGNORE)):
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        written.append(dest)
    return written


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    t = subparsers.add_parser(
        "template", help="build the students' template repository",
        description="Write the repository students start from: exercise stubs, the workflow "
        "running the public checks on push, a README and .gitignore. No hidden suites, "
        "solutions or tests go into it.")
    t.add_argument("out", metavar="OUT_DIR", help="where to write it (absent or empty)")
    t.add_argument("--grader-package", metavar="SPEC",
                   help="what the students' workflow installs: a pip requirement or URL pinned "
                   f"to a version (default: {grader_requirement()})")
    t.add_argument("--exercises", metavar="DIR", help="the stubs (default: exercises/)")
    t.add_argument("--title", default="Deep-learning assignment", help="the README's title")
    t.set_defaults(func=run)
    return t


def run(args: argparse.Namespace) -> int:
    try:
        files = build_template(args.out, exercises_dir=args.exercises,
                               package=args.grader_package, title=args.title)
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f"grader template: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"template repository: {args.out} ({len(files)} files)")
    print("next: git init, commit, push, and mark it as a template repository on GitHub")
    return EXIT_OK
