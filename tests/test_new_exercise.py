"""``grader new NAME`` (grader/scaffold.py), run on a copy of the project in tmp_path.

The copy holds what the command touches and what grading needs (grader/, solutions/,
exercises/, the bugs manifest); the command runs in a subprocess whose ``grader`` package is
the copy's, so the real checkout is never modified (checked).
- fast: every piece is written and registered (catalogue, questions, bugs manifest, stubs in
  sync), the printed steps follow docs/AUTHORING.md's checklist; bad and taken names are
  refused before anything is written;
- slow: the skeleton grades as a real exercise: the solution gets full marks, the manifest's
  example bug loses points in its test only, the generated stub is "not attempted".
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import assignment, scaffold

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = assignment.PROJECT_ROOT
NAME = "demo_ex"
TITLE = "A demo exercise"


def copy_project(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("grader", "solutions", "exercises"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    bugs = dest / "tests" / "submissions" / "buggy"
    bugs.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "submissions" / "buggy" / "bugs.toml", bugs / "bugs.toml")
    return dest


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def run(project: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """python -m grader ... with the copy's grader package (cwd elsewhere: `python -m grader`
    drops the working directory from sys.path)."""
    env = dict(os.environ, PYTHONPATH=str(project))
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def run_python(project: Path, code: str, cwd: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(project))
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    """(project copy, `grader new` output, real checkout digest before) — made once."""
    base = tmp_path_factory.mktemp("new_exercise")
    project = copy_project(base / "project")
    work = base / "work"
    work.mkdir()
    real_before = {p: hashlib.sha256((ROOT / p).read_bytes()).hexdigest()
                   for p in ("grader/assignment.py", "solutions/questions.yaml",
                             "tests/submissions/buggy/bugs.toml")}
    done = run(project, "new", NAME, "--title", TITLE, "--root", str(project), cwd=work)
    assert done.returncode == 0, done.stdout + done.stderr
    return project, work, done.stdout, real_before


def test_new_writes_and_registers_every_piece(scaffolded):
    project, work, out, real_before = scaffolded
    for rel in (f"solutions/{NAME}.py", f"grader/suites/{NAME}/__init__.py",
                f"grader/suites/{NAME}/test_{NAME}.py", f"exercises/{NAME}.py",
                f"exercises/{NAME}.ipynb"):
        assert (project / rel).is_file(), rel
        assert rel in out

    # the catalogue of the copy lists it last, with its title; the questions load
    listed = json.loads(run_python(project, (
        "import json; from grader import assignment, authoring; "
        "q = authoring.load_questions(assignment.PROJECT_ROOT / 'solutions' / 'questions.yaml'); "
        f"e = assignment.get({NAME!r}); "
        "print(json.dumps([assignment.EXERCISE_NAMES[-1], e.title, e.uses_tensorflow, "
        f"[x['id'] for x in q[{NAME!r}]], str(assignment.PROJECT_ROOT)]))"), cwd=work))
    assert listed[:3] == [NAME, TITLE, False] and listed[3] == ["demo-ex-example"]
    assert Path(listed[4]) == project

    # solution markers -> a stub that hides the code, in sync with `grader generate --check`
    solution = (project / "solutions" / f"{NAME}.py").read_text()
    stub = (project / "exercises" / f"{NAME}.py").read_text()
    assert "# BEGIN SOLUTION" in solution and "# END SOLUTION" in solution
    assert "NotImplementedError" in stub and "* factor" not in stub
    check = run(project, "generate", "--check", "--solutions", str(project / "solutions"),
                "--exercises", str(project / "exercises"), cwd=work)
    assert check.returncode == 0, check.stdout + check.stderr

    # the suite has a public and a hidden test
    suite = (project / "grader" / "suites" / NAME / f"test_{NAME}.py").read_text()
    tests = [node for node in ast.parse(suite).body if isinstance(node, ast.FunctionDef)
             and node.name.startswith("test_")]
    assert [any("mark.public" in ast.unparse(d) for d in node.decorator_list)
            for node in tests] == [True, False]

    # the manifest's example bug anchors exactly once in the new solution
    bugs = tomllib.loads((project / "tests/submissions/buggy/bugs.toml").read_text())
    mine = {k: v for k, v in bugs.items() if k.startswith(f"{NAME}__")}
    assert len(mine) == 1
    (spec,) = mine.values()
    assert spec["exercise"] == NAME and spec["lost_tests"] == ["test_scale_values"]
    assert all(solution.count(c["old"]) == 1 and "# BUG:" in c["new"] for c in spec["change"])
    # everything that was there is still there, byte for byte, in front of the appended text
    for rel in ("solutions/questions.yaml", "tests/submissions/buggy/bugs.toml"):
        assert (project / rel).read_text().startswith((ROOT / rel).read_text()), rel

    # the remaining steps, numbered, point to the checklist
    steps = re.findall(r"^\s+\d+\. (.+)$", out, re.M)
    assert len(steps) == len(scaffold.remaining_steps(NAME)) >= 8
    assert "docs/AUTHORING.md" in out
    for item in ("bugs.toml", "variants", "thresholds.toml", "grader generate", "README.md",
                 "full_marks.json"):
        assert any(item in step for step in steps), item
    authoring_doc = (ROOT / "docs" / "AUTHORING.md").read_text()
    assert "grader new" in authoring_doc
    for item in ("assignment.py", "questions.yaml", "bugs.toml", "variants", "thresholds.toml",
                 "student edition", "template", "full_marks.json", "README.md"):
        assert item in authoring_doc, item

    # the real checkout is untouched
    for rel, before in real_before.items():
        assert hashlib.sha256((ROOT / rel).read_bytes()).hexdigest() == before, rel
    assert not (ROOT / "solutions" / f"{NAME}.py").exists()
    assert NAME not in assignment.EXERCISE_NAMES  # this process's catalogue is unchanged


@pytest.mark.parametrize("bad", ["neuron", "Demo", "1st", "a", "class", "numpy", "json",
                                 "with-dash", "x" * 40, ""])
def test_bad_or_taken_names_are_refused_before_writing(tmp_path, bad):
    project = copy_project(tmp_path / "project")
    before = digest(project)
    with pytest.raises(scaffold.ScaffoldError):
        scaffold.create(project, bad, generate=False)
    assert digest(project) == before


def test_a_name_used_anywhere_is_refused(tmp_path):
    project = copy_project(tmp_path / "project")
    (project / "grader" / "suites" / "half_done").mkdir()  # a suite without its catalogue entry
    with pytest.raises(scaffold.ScaffoldError, match="already used.*suites/half_done"):
        scaffold.create(project, "half_done", generate=False)
    with pytest.raises(scaffold.ScaffoldError, match="one line"):
        scaffold.create(project, "fine_name", 'a "quoted" title', generate=False)
    assert not (project / "solutions" / "fine_name.py").exists()
    # a catalogue whose tuple cannot be extended safely is refused, not rewritten
    catalog = project / "grader" / "assignment.py"
    text = catalog.read_text()
    assert text.count("),\n)\nEXERCISE_NAMES") == 1
    catalog.write_text(text.replace("),\n)\nEXERCISE_NAMES", "),)\nEXERCISE_NAMES"))
    text = catalog.read_text()
    with pytest.raises(scaffold.ScaffoldError, match="closing parenthesis"):
        scaffold.create(project, "other_ex", generate=False)
    assert catalog.read_text() == text


@pytest.mark.slow
def test_the_skeleton_grades_like_an_exercise(scaffolded, tmp_path):
    project, work, _, _ = scaffolded

    def grade(source: str) -> dict:
        sub = tmp_path / f"sub{len(list(tmp_path.iterdir()))}"
        sub.mkdir()
        (sub / f"{NAME}.py").write_text(source)
        out = tmp_path / (sub.name + "_report")
        done = run(project, "grade", str(sub), "--exercise", NAME, "--out", str(out), cwd=work)
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads((out / "result.json").read_text())
        return {e["name"]: e for e in result["exercises"]}[NAME]

    solution = (project / "solutions" / f"{NAME}.py").read_text()
    full = grade(solution)
    assert full["status"] == "graded"
    assert [(t["id"].split("::")[-1], t["points"] == t["max_points"]) for t in full["tests"]
            if not t["id"].startswith("manual")] == [("test_scale_values", True),
                                                     ("test_scale_does_not_modify_input", True)]

    bug = tomllib.loads((project / "tests/submissions/buggy/bugs.toml").read_text())[
        f"{NAME}__scale_adds"]
    buggy = solution
    for change in bug["change"]:
        buggy = buggy.replace(change["old"], change["new"])
    graded = grade(buggy)
    lost = [t for t in graded["tests"] if t["points"] < t["max_points"]
            and t["id"].split("::")[-1].startswith("test_")]
    assert [t["id"].split("::")[-1] for t in lost] == bug["lost_tests"]
    assert all(re.search(p, lost[0]["message"], re.I) for p in bug["expect"]), lost[0]["message"]

    stub = grade((project / "exercises" / f"{NAME}.py").read_text())
    assert all(t["points"] == 0 for t in stub["tests"]), stub["tests"]
    assert "not implemented" in json.dumps(stub).lower() or \
        "not attempted" in json.dumps(stub).lower()
