"""``grader template OUT_DIR``: the repository every student starts from (a Classroom template).

It holds what a student needs and nothing a student must not see: the exercise stubs
(``exercises/*.py`` and ``*.ipynb``, copied from this project's generated ``exercises/``), the
student edition of the grader in ``.grader/`` (:mod:`grader.student_edition`: the public tests
with frozen expected values), the workflow that installs it and runs the public checks on every
push (``.github/workflows/check.yml``, from ``grader/templates/workflows/student.yml``), a
README and a ``.gitignore``. Hidden tests, reference solutions and the grader's own tests stay
out: the stubs are copied by name from a fixed list of exercises, never by walking the project.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from grader import assignment
from grader.student_edition import EditionError, build_student_edition

EXIT_OK, EXIT_USAGE = 0, 2
WORKFLOW_TEMPLATE = assignment.PACKAGE_DIR / "templates" / "workflows" / "student.yml"
WORKFLOW_PATH = Path(".github") / "workflows" / "check.yml"
EDITION_DIR = Path(".grader")
STUB_SUFFIXES = (".py", ".ipynb")

GITIGNORE = """\
__pycache__/
*.py[cod]
.ipynb_checkpoints/
.venv/
venv/
grader-check/
reports/
# left behind by `python -m pip install ./.grader`
build/
*.egg-info/
.grader/build/
.grader/*.egg-info/
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
Install the grader's public checks once, in a virtual environment of this repository (they
are in `.grader/`; do not edit them). You need Python 3.10, 3.11 or 3.12.

Linux and macOS (a terminal, at the top of this repository):

```bash
python3 -m venv .venv
source .venv/bin/activate
python -m pip install ./.grader
grader check
```

Windows (PowerShell, at the top of this repository):

```powershell
py -3.11 -m venv .venv
.venv\\Scripts\\Activate.ps1
python -m pip install ./.grader
grader check
```

(In `cmd.exe` activate with `.venv\\Scripts\\activate.bat`. If PowerShell refuses to run the
script, run `Set-ExecutionPolicy -Scope CurrentUser RemoteSigned` once.) Each new terminal
needs the `activate` line again before `grader check`.

The install brings TensorFlow and the course's other libraries: about 2 GB on disk
(TensorFlow alone is 1.3 GB), a download of roughly 500 MB, so plan 3 to 10 minutes for the
first install depending on your connection. `.venv/` and the build leftovers are in
`.gitignore`: they never go into your commits.

`grader check` runs the public tests against your files, in a sandbox, and tells you for
each one what was expected, what came back and a likely cause. Each result appears as soon
as its test finishes; while your code runs, a line shows for how long, against its time
limit. `grader check neuron` checks one exercise; `grader --version` says which grader you
have. On Linux with bubblewrap installed the sandbox is complete; on macOS and Windows the
check still runs, with the limits that system offers (it says which).

## What happens when you push
GitHub Actions runs the same public checks (`.github/workflows/check.yml`): the run's page
shows your score on them, the failed tests with their messages, and marks the lines in your
files where an error was raised. The full report is attached to the run as an artifact.

Your grade comes from more tests than these: hidden tests, run by your instructor after the
deadline. Passing every public check is a good sign, not a guarantee.
"""


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
                   title: str = "Deep-learning assignment", sandbox: str | None = None
                   ) -> list[Path]:
    """Write the template repository into ``out_dir`` (absent or empty); return its files.

    Building the student edition runs the public tests once against the solutions (a few
    seconds) to freeze their expected values; ``sandbox`` is the mode for that run.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: exists and is not an empty folder")
    exercises_dir = Path(exercises_dir) if exercises_dir else assignment.STUBS_DIR
    stubs = stub_files(exercises_dir)
    build_student_edition(out / EDITION_DIR, stubs=exercises_dir, sandbox=sandbox)
    written = sorted(p for p in (out / EDITION_DIR).rglob("*") if p.is_file())
    for stub in stubs:
        dest = out / "exercises" / stub.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stub, dest)
        written.append(dest)
    rows = "\n".join(f"| `{e.name}` | {e.title} |" for e in assignment.EXERCISES)
    for rel, text in ((WORKFLOW_PATH, WORKFLOW_TEMPLATE.read_text(encoding="utf-8")),
                      (Path("README.md"), README.format(title=title, rows=rows)),
                      (Path(".gitignore"), GITIGNORE)):
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        written.append(dest)
    return written


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    t = subparsers.add_parser(
        "template", help="build the students' template repository",
        description="Write the repository students start from: exercise stubs, the student "
        "edition of the grader (public tests with frozen expected values) in .grader/, the "
        "workflow running the public checks on push, a README and .gitignore. No hidden tests, "
        "solutions or grader tests go into it.")
    t.add_argument("out", metavar="OUT_DIR", help="where to write it (absent or empty)")
    t.add_argument("--exercises", metavar="DIR", help="the stubs (default: exercises/)")
    t.add_argument("--title", default="Deep-learning assignment", help="the README's title")
    t.add_argument("--sandbox", choices=("auto", "bubblewrap", "reduced"), default=None,
                   help="sandbox mode for the run that freezes the public tests' expected "
                   "values (default: bubblewrap when installed)")
    t.set_defaults(func=run)
    return t


def run(args: argparse.Namespace) -> int:
    try:
        files = build_template(args.out, exercises_dir=args.exercises, title=args.title,
                               sandbox=args.sandbox)
    except (EditionError, FileExistsError, FileNotFoundError) as exc:
        print(f"grader template: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"template repository: {args.out} ({len(files)} files)")
    print("next: git init, commit, push, and mark it as a template repository on GitHub")
    return EXIT_OK
