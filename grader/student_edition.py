"""The student edition of the grader: the public checks only, installable from a student's repo.

``grader check`` needs the suites and a reference to compare with, but a student's repository
must hold neither the hidden tests nor the solutions. The edition is this package with

- every suite file cut down to its ``@pytest.mark.public`` tests and what they use (an AST
  filter that deletes the other tests, then any top-level helper, fixture or constant nothing
  left refers to, so hidden checks do not survive as dead code);
- the ``reference`` fixture replaced by the values the public tests read from it, recorded once
  against the solutions (:mod:`grader.frozen_reference`, ``suites/<exercise>/expected.json``);
- the untouched stubs in ``grader/stubs/`` (to tell an unstarted exercise from a started one);
- its own ``pyproject.toml`` (distribution ``dl-grader-student``, the same dependencies) and the
  marker ``suites/STUDENT_EDITION``, which switches the package to frozen references and limits
  the CLI to ``check`` and ``export``.

``grader template`` vendors it as ``.grader/`` and the student workflow installs it from there.
"""
from __future__ import annotations

import ast
import datetime as _dt
import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader import assignment

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DISTRIBUTION = "dl-grader-student"
SUITE_FILE = re.compile(r"(test_.*|conftest)\.py\Z")
PUBLIC_MARK = "public"


class EditionError(RuntimeError):
    """The edition cannot be built (a failing reference, a suite the filter cannot cut)."""


# --------------------------------------------------------------------------------------------
# cutting a suite file down to its public tests
# --------------------------------------------------------------------------------------------
def _is_public(node: ast.AST) -> bool:
    """A test marked ``@pytest.mark.public`` (also with arguments or via ``mark``)."""
    for dec in getattr(node, "decorator_list", ()):
        target = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(target, ast.Attribute) and target.attr == PUBLIC_MARK:
            return True
    return False


def _is_test(node: ast.AST) -> bool:
    return (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
            or isinstance(node, ast.ClassDef) and node.name.startswith("Test"))


def _defined_names(node: ast.AST) -> set[str]:
    """The top-level names a statement binds (empty for statements we always keep)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = (node.targets if isinstance(node, ast.Assign)
               else [node.target] if isinstance(node, ast.AnnAssign) else [])
    if targets and all(isinstance(t, (ast.Name, ast.Tuple)) for t in targets):
        names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        return set() if names & {"pytestmark", "__all__"} else names
    return set()


def _used_names(node: ast.AST) -> set[str]:
    """Names a statement refers to, including fixtures requested as parameters."""
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and not isinstance(n.ctx, ast.Store)}
    for fn in ast.walk(node):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            used |= {a.arg for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs}
    return used


def _autouse(node: ast.AST) -> bool:
    return any(isinstance(d, ast.Call) and any(k.arg == "autouse" for k in d.keywords)
               for d in getattr(node, "decorator_list", ()))


def public_only(source: str, filename: str = "<suite>", used_elsewhere: set[str] = frozenset()
                ) -> tuple[str, list[str], list[str]]:
    """``source`` without its non-public tests and what only they used.

    Returns (new source, the public tests kept, the names removed). ``used_elsewhere``: names
    other files still need from this one (a conftest's fixtures). Comments directly above a
    removed statement go with it; the rest of the text is kept as written.
    """
    tree = ast.parse(source, filename)
    body = list(tree.body)
    removed = [n for n in body if _is_test(n) and not _is_public(n)]
    keep = [n for n in body if n not in removed]
    while True:
        used = set(used_elsewhere)
        for n in keep:
            used |= _used_names(n) - (_defined_names(n) if isinstance(
                n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else set())
        dead = [n for n in keep if not _is_test(n) and not _autouse(n)
                and _defined_names(n) and not _defined_names(n) & used]
        if not dead:
            break
        removed += dead
        keep = [n for n in keep if n not in dead]
    lines = source.splitlines(keepends=True)
    drop: set[int] = set()
    for n in removed:
        start = min([n.lineno] + [d.lineno for d in getattr(n, "decorator_list", ())]) - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        drop.update(range(start, n.end_lineno))
    text = "".join(line for i, line in enumerate(lines) if i not in drop)
    text = re.sub(r"\n{4,}", "\n\n\n", text).rstrip() + "\n"
    ast.parse(text, filename)  # the cut must still be Python
    kept = [n.name for n in keep if _is_test(n)]
    names = sorted({name for n in removed for name in _defined_names(n)})
    return text, kept, names


def public_suite(exercise_dir: Path) -> dict[str, str]:
    """Every suite file of one exercise, cut to its public tests: {file name: source}."""
    files = sorted(p for p in exercise_dir.iterdir() if SUITE_FILE.match(p.name))
    tests = {p.name: public_only(p.read_text(encoding="utf-8"), str(p))
             for p in files if p.name != "conftest.py"}
    out = {name: re.sub(r'\A"""Hidden suite', '"""Public checks', text)
           for name, (text, _, _) in tests.items()}
    conftest = exercise_dir / "conftest.py"
    if conftest.is_file():
        needed = set().union(*(_used_names(ast.parse(t)) for t in out.values())) if out else set()
        out["conftest.py"], _, _ = public_only(conftest.read_text(encoding="utf-8"),
                                               str(conftest), needed)
    return out


def _public_thresholds(text: str, exercise_sources: dict[str, str]) -> str:
    """thresholds.toml with only the tables a public test's metric names."""
    parts = re.split(r"(?m)^(?=\[)", text)
    kept = [parts[0]]
    for part in parts[1:]:
        header = re.match(r"\[([a-z_]+)\.([A-Za-z0-9_]+)\]", part)
        if header and f'"{header[2]}"' in exercise_sources.get(header[1], ""):
            kept.append(part)
    return "".join(kept)


# --------------------------------------------------------------------------------------------
# building the edition
# --------------------------------------------------------------------------------------------
@dataclass
class Edition:
    """What was built: the folder and, per exercise, the public tests it carries."""

    root: Path
    public_tests: dict[str, list[str]] = field(default_factory=dict)
    frozen_values: dict[str, int] = field(default_factory=dict)


PYPROJECT = """\
# The student edition of dl-grader, built by `grader template` (grader/student_edition.py):
# the public checks of the assignment, no hidden tests, no solutions.
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "Public checks of the deep-learning assignment (student edition of dl-grader)"
requires-python = "{python}"
dependencies = [
{dependencies}
]

[project.scripts]
grader = "grader.cli:main"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.setuptools.package-data]
grader = {package_data}
"""


def _pyproject(project_file: Path) -> str:
    project = tomllib.loads(project_file.read_text(encoding="utf-8"))
    meta = project["project"]
    data = project["tool"]["setuptools"]["package-data"]["grader"] + ["stubs/*"]
    return PYPROJECT.format(
        name=DISTRIBUTION, version=meta["version"], python=meta["requires-python"],
        dependencies="\n".join(f"    {json.dumps(d)}," for d in meta["dependencies"]),
        package_data=json.dumps(data))


def record_public_values(solutions: Path, exercises: list[str], sandbox: str | None = None):
    """Run the public tests against the solutions, recording what they read from ``reference``.

    Raises EditionError when a public test fails on the solutions: its frozen values would be
    wrong, or the suite is broken.
    """
    from grader.grading import GraderFault, grade
    from grader.submission import SubmissionError

    tables: dict = {}
    try:
        result = grade(solutions, exercises=exercises, markers=PUBLIC_MARK, sandbox=sandbox,
                       record_reference=tables)
    except (GraderFault, SubmissionError) as exc:
        raise EditionError(f"running the public tests on {solutions} failed: {exc}") from None
    failed = [f"{ex.name}::{t.name}: {t.message}" for ex in result.exercises for t in ex.tests
              if t.public and t.outcome != "passed"]
    if failed:
        raise EditionError("the solutions fail public tests, so their expected values cannot "
                           "be frozen:\n  " + "\n  ".join(failed))
    return tables


def build_student_edition(dest: str | Path, *, stubs: str | Path | None = None,
                          sandbox: str | None = None) -> Edition:
    """Write the student edition into ``dest`` (absent or empty): a pip-installable folder.

    The expected values come from the solutions the grader uses as ``reference``
    (``solutions/``, or ``$GRADER_SOLUTIONS``), graded as the submission.
    """
    from grader.pytest_plugin import SOLUTIONS_DIR

    if assignment.STUDENT_EDITION:
        raise EditionError("this is already the student edition; build from the course's grader")
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"{dest}: exists and is not an empty folder")
    stubs = Path(stubs) if stubs else assignment.STUBS_DIR
    edition = Edition(dest)

    suites = {name: public_suite(assignment.SUITES_DIR / name)
              for name in assignment.EXERCISE_NAMES}
    uses_reference = [name for name, files in suites.items()
                      if any("reference" in _used_names(ast.parse(t)) for t in files.values())]
    tables = record_public_values(SOLUTIONS_DIR, uses_reference, sandbox) if uses_reference else {}

    package = dest / "grader"
    shutil.copytree(assignment.PACKAGE_DIR, package, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", "test_*.py", "conftest.py", "thresholds.toml"))
    for name, files in suites.items():
        for file_name, text in files.items():
            (package / "suites" / name / file_name).write_text(text, encoding="utf-8")
        edition.public_tests[name] = sorted(
            t for text in files.values() for t in public_only(text)[1])
        if name in tables:
            assignment.frozen_values_path(name, package / "suites").write_text(
                tables[name].dumps(), encoding="utf-8")
            edition.frozen_values[name] = len(tables[name].values)
    sources = {name: "".join(files.values()) for name, files in suites.items()}
    (package / "suites" / "thresholds.toml").write_text(_public_thresholds(
        (assignment.SUITES_DIR / "thresholds.toml").read_text(encoding="utf-8"), sources),
        encoding="utf-8")

    (package / "stubs").mkdir()
    for stub in sorted(stubs.glob("*")):
        if stub.stem in assignment.EXERCISE_NAMES and stub.suffix in (".py", ".ipynb"):
            shutil.copyfile(stub, package / "stubs" / stub.name)
    missing = [n for n in assignment.EXERCISE_NAMES if not (package / "stubs" / f"{n}.py").is_file()]
    if missing:
        raise EditionError(f"{stubs}: no stub for {', '.join(missing)}; run `grader generate`")

    built = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    (package / "suites" / assignment.EDITION_MARKER.name).write_text(
        f"Student edition of dl-grader, built {built}: public checks only.\n"
        + "".join(f"{n}: {len(t)} public tests\n" for n, t in edition.public_tests.items()),
        encoding="utf-8")
    (dest / "pyproject.toml").write_text(_pyproject(assignment.PROJECT_ROOT / "pyproject.toml"),
                                         encoding="utf-8")
    (dest / "README.md").write_text(
        "# The grader's public checks (student edition)\n\n"
        "Installed by `python -m pip install ./.grader`; run `grader check` from the top of "
        "your repository.\nIt holds the public tests only: your grade comes from more tests, "
        "run by your instructor.\nDo not edit these files: the checks would no longer match "
        "the grading.\n", encoding="utf-8")
    return edition


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m grader.student_edition",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("out", help="where to write it (absent or empty)")
    parser.add_argument("--sandbox", choices=("auto", "bubblewrap", "reduced"))
    args = parser.parse_args(argv)
    try:
        edition = build_student_edition(args.out, sandbox=args.sandbox)
    except (EditionError, FileExistsError) as exc:
        print(f"student edition: {exc}", file=sys.stderr)
        return 2
    for name, tests in edition.public_tests.items():
        print(f"  {name:<11} {len(tests)} public tests, "
              f"{edition.frozen_values.get(name, 0)} frozen reference values")
    print(f"student edition: {edition.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
