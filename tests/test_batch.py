"""``grader batch``: a whole class graded in parallel processes, resumable after being killed,
sharded across machines, and fetched from git at a deadline.

The class below is graded for real (numpy-only exercises neuron and perceptron, a few seconds
per submission); tests that run it are marked slow. Fast tests cover discovery, ids, sharding,
option errors and how each way a grading process can fail becomes an error row.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader import batch, gradebook, manual
from grader.batch import Options, Runner, Submission

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
HOSTILE = ROOT / "tests" / "submissions" / "hostile"
EXERCISES = ["--exercise", "neuron", "--exercise", "perceptron"]
HOSTILE_ZIP = '<img src=x onerror=alert("zip")>'


# ---- helpers ----------------------------------------------------------------------------------

def batch_command() -> list[str]:
    """``grader batch`` as a user runs it: through grader.cli once the command is wired there,
    through the module's own entry point until then."""
    from grader import cli

    parser = cli.build_parser()
    commands = next(a.choices for a in parser._actions
                    if isinstance(a, argparse._SubParsersAction))
    if "batch" in commands:
        return [sys.executable, "-m", "grader", "batch"]
    return [sys.executable, "-m", "grader.batch", "batch"]


def run_batch(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    return subprocess.run([*batch_command(), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)


def call_run(*argv: str) -> int:
    """The batch command in this process, through its own argparse wiring."""
    parser = argparse.ArgumentParser(prog="grader")
    sub = parser.add_subparsers(dest="command", required=True)
    batch.add_parser(sub)
    gradebook.add_parser_merge(sub)
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


def gradebook_by_id(out: Path) -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in gradebook.read_gradebook(out / "gradebook.csv")}


def solution(name: str) -> str:
    return (SOLUTIONS / f"{name}.py").read_text()


def edited(name: str, old: str, new: str) -> str:
    text = solution(name)
    assert old in text, f"the solution of {name} changed: update this test's edit"
    return text.replace(old, new, 1)


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def as_notebook(name: str, target: Path) -> None:
    """The solution split into notebook cells, as a student working in Jupyter hands it in."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}")]
    nb.cells += [nbformat.v4.new_code_cell(chunk) for chunk in solution(name).split("\n\n\n")]
    nbformat.write(nb, target)


def make_class(root: Path) -> dict[str, dict]:
    """A class of 13 submissions (plus entries a batch must ignore) and what each should get."""
    root.mkdir(parents=True)
    correct = {"neuron.py": solution("neuron"), "perceptron.py": solution("perceptron")}
    write(root / "alice", correct)
    write(root / "Zoë Ünal (late)", correct)
    write(root / "buggy_relu", {**correct, "neuron.py": edited(
        "neuron", "return np.maximum(np.asarray(z, dtype=float), 0.0)", "return z")})
    write(root / "buggy_bias", {**correct, "perceptron.py": edited(
        "perceptron", "self.bias_ += update", "pass")})
    write(root / "exits_at_import", {
        "neuron.py": (HOSTILE / "os_exit_at_import" / "neuron.py").read_text(),
        "perceptron.py": correct["perceptron.py"]})
    write(root / "memory_bomb", {
        "neuron.py": "_BOMB = bytearray(8 << 30)  # 8 GiB at import\n" + correct["neuron.py"],
        "perceptron.py": correct["perceptron.py"]})
    write(root / "syntax_error", {**correct, "neuron.py": correct["neuron.py"].replace(
        "def relu(z):", "def relu(z)", 1)})
    write(root / "only_neuron", {"neuron.py": correct["neuron.py"]})
    nb = root / "notebooks"
    nb.mkdir()
    as_notebook("neuron", nb / "neuron.ipynb")
    as_notebook("perceptron", nb / "perceptron.ipynb")
    with zipfile.ZipFile(root / "zipped.zip", "w") as zf:
        for name, text in correct.items():
            zf.writestr(f"zipped/{name}", text)
    (root / "broken.zip").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    (root / f"{HOSTILE_ZIP}.zip").write_bytes(b"not a zip either")
    (root / "empty").mkdir()
    # not submissions: hidden entries and stray files
    write(root / ".git", {"HEAD": "ref: refs/heads/main\n"})
    (root / "README.txt").write_text("submissions of the 2025 class\n")

    full = {"neuron": 21.0, "perceptron": 15.0}
    return {
        "alice": {"status": "graded", "neuron": "full", "perceptron": "full"},
        "Zoe_Unal_late": {"status": "graded", "neuron": "full", "perceptron": "full"},
        "buggy_relu": {"status": "graded", "neuron": "less", "perceptron": "full"},
        "buggy_bias": {"status": "graded", "neuron": "full", "perceptron": "less"},
        "exits_at_import": {"status": "incomplete", "neuron": "zero", "perceptron": "full"},
        "memory_bomb": {"status": "incomplete", "neuron": "zero", "perceptron": "full"},
        "syntax_error": {"status": "incomplete", "neuron": "zero", "perceptron": "full"},
        "only_neuron": {"status": "incomplete", "neuron": "full", "perceptron": "zero"},
        "notebooks": {"status": "graded", "neuron": "full", "perceptron": "full",
                      "files": ("neuron.ipynb", "perceptron.ipynb")},
        "zipped": {"status": "graded", "neuron": "full", "perceptron": "full"},
        "broken": {"status": "error"},
        "img_src_x_onerror_alert_zip": {"status": "error"},
        "empty": {"status": "empty", "neuron": "zero", "perceptron": "zero"},
        "_full": full,
    }


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("class") / "submissions"
    expected = make_class(root)
    return root, expected


@pytest.fixture(scope="module")
def full_run(klass, tmp_path_factory):
    """The class graded once without interruption, with two jobs."""
    root, _ = klass
    out = tmp_path_factory.mktemp("full") / "out"
    return out, run_batch(root, "--out", out, "--jobs", 2, *EXERCISES)


# ---- the whole class --------------------------------------------------------------------------

@pytest.mark.slow
def test_a_class_graded_in_parallel_gets_one_row_per_submission(klass, full_run):
    _, expected = klass
    out, proc = full_run
    assert proc.returncode == 0, proc.stderr
    rows = gradebook_by_id(out)
    full = expected["_full"]
    ids = sorted(k for k in expected if not k.startswith("_"))
    assert sorted(rows) == ids, (sorted(rows), proc.stderr)
    assert "README.txt" in proc.stderr  # told which entries were ignored
    for sub_id in ids:
        want, row = expected[sub_id], rows[sub_id]
        assert row["status"] == want["status"], (sub_id, row)
        folder = out / sub_id
        if want["status"] == "error":
            assert row["total"] == row["neuron"] == "" and (folder / "error.txt").is_file()
            assert not (folder / "result.json").exists()
            assert "could not be opened" in row["note"], row
            continue
        assert (folder / "report.html").is_file() and not (folder / "error.txt").exists()
        for name in ("neuron", "perceptron"):
            score = float(row[name])
            check = {"full": score == full[name], "zero": score == 0,
                     "less": 0 < score < full[name]}[want[name]]
            assert check, (sub_id, name, score, want[name])
        # every submission has the same maximum: the tests plus every written question
        # (answered or not: since issue 14, none of these students wrote answers)
        assert float(row["max"]) == sum(full.values()) + sum(
            q["points"] for name in full for q in manual.questions_for(name))
        if "files" in want:
            assert (row["neuron_file"], row["perceptron_file"]) == want["files"]
    assert list(rows["alice"]) == ["id", "neuron", "perceptron", "auto", "written", "pending",
                                   "total", "max", "percent", "status", "neuron_file",
                                   "perceptron_file", "commit", "note"]
    # the grading processes shared the two cores instead of each taking both
    assert "2 job(s) x 1 thread(s)" in proc.stderr or os.cpu_count() != 2
    assert "batch done" in proc.stdout and "13 submission(s)" in proc.stdout


@pytest.mark.slow
@pytest.mark.browser
def test_summary_opens_cleanly_and_escapes_student_text(full_run):
    from browser import chromium_or_skip

    out, proc = full_run
    assert proc.returncode == 0, proc.stderr
    html = (out / "summary.html").read_text()
    assert HOSTILE_ZIP not in html and "&lt;img src=x onerror=alert(" in html
    for sub_id in ("alice", "notebooks", "zipped"):
        assert f'href="{sub_id}/report.html"' in html
    assert 'href="broken/error.txt"' in html
    with chromium_or_skip() as browser:
        page = browser.load(out / "summary.html")
        assert not page.errors, page.errors
        assert all(url.startswith("file://") for url in page.requests), page.requests
        assert browser.evaluate("document.scripts.length") == 0
        text = browser.evaluate("document.body.innerText")
        assert HOSTILE_ZIP in text  # shown to the instructor as text, not run
        assert browser.evaluate("document.querySelectorAll('a[href$=\"report.html\"]').length") \
            >= 10


# ---- killed and resumed -----------------------------------------------------------------------

def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name}: {cmdline[:200]}")
    return found


@pytest.mark.slow
def test_a_batch_killed_mid_way_resumes_to_the_same_gradebook(klass, full_run, tmp_path):
    root, _ = klass
    out = tmp_path / "killed"
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    proc = subprocess.Popen([*batch_command(), str(root), "--out", str(out), "--jobs", "2",
                             *EXERCISES], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    try:
        while len(list(out.glob("*/result.json"))) < 3:
            assert proc.poll() is None, "the batch finished before it could be killed"
            assert time.monotonic() < deadline, "no result.json appeared"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # nothing keeps grading behind the dead batch's back (its children die with it)
    for _ in range(100):
        if not _processes_mentioning(str(out)):
            break
        time.sleep(0.1)
    assert not _processes_mentioning(str(out))
    done = {p.parent.name: p.read_bytes() for p in out.glob("*/result.json")}
    unfinished = [p.name for p in out.iterdir() if p.is_dir() and p.name not in done]
    assert 3 <= len(done) < 13, (done.keys(), unfinished)
    assert not (out / "gradebook.csv").exists()

    again = run_batch(root, "--out", out, "--jobs", 2, *EXERCISES)
    assert again.returncode == 2 and "--resume" in again.stderr  # not without being asked

    resumed = run_batch(root, "--out", out, "--jobs", 2, *EXERCISES, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"keeping {len(done)} already graded" in resumed.stderr
    for sub_id, content in done.items():   # kept, not regraded
        assert (out / sub_id / "result.json").read_bytes() == content
    full_out = full_run[0]
    # the gradebook holds no timings: every cell must match, error notes included
    assert gradebook_by_id(out) == gradebook_by_id(full_out)


# ---- shards -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_two_shards_merged_equal_the_whole_batch(klass, full_run, tmp_path):
    root, _ = klass
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    shards = [subprocess.Popen([*batch_command(), str(root), "--out", str(tmp_path / f"s{i}"),
                                "--jobs", "1", "--shard", f"{i}/2", *EXERCISES], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for i in (1, 2)]
    for shard in shards:
        _, err = shard.communicate(timeout=600)
        assert shard.returncode == 0, err
    one, two = gradebook_by_id(tmp_path / "s1"), gradebook_by_id(tmp_path / "s2")
    assert not set(one) & set(two) and (len(one), len(two)) == (7, 6)
    ids = sorted(one | two)
    assert [i for n, i in enumerate(ids) if n % 2 == 0] == sorted(one)  # index % N == I-1

    assert call_run("merge", tmp_path / "s1", tmp_path / "s2", "--out", tmp_path / "all") == 0
    merged = gradebook_by_id(tmp_path / "all")
    assert merged == gradebook_by_id(full_run[0])
    assert (tmp_path / "all" / "summary.html").is_file()
    assert (tmp_path / "all" / "alice" / "report.html").is_file()


# ---- git sources ------------------------------------------------------------------------------

def _git(*args: str, cwd: Path, date: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Student", "GIT_AUTHOR_EMAIL": "s@example.org",
           "GIT_COMMITTER_NAME": "Student", "GIT_COMMITTER_EMAIL": "s@example.org"}
    if date:
        env.update(GIT_COMMITTER_DATE=date, GIT_AUTHOR_DATE=date)
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def _repo(tmp_path: Path, name: str, commits: list[tuple[str, dict[str, str]]]) -> tuple[str, list[str]]:
    """A bare repository ``name.git`` with the given (committer date, files) commits; returns
    its file:// URL and the commit ids."""
    work = tmp_path / "work" / name
    work.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=work)
    shas = []
    for date, files in commits:
        write(work, files)
        _git("add", "-A", cwd=work)
        _git("commit", "-q", "-m", f"work of {date}", cwd=work, date=date)
        shas.append(_git("rev-parse", "HEAD", cwd=work))
    bare = tmp_path / "remote" / f"{name}.git"
    bare.parent.mkdir(exist_ok=True)
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return bare.as_uri(), shas


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_sources_are_graded_at_the_last_commit_before_the_deadline(tmp_path):
    good = {"neuron.py": solution("neuron")}
    late_bug = {"neuron.py": edited("neuron", "return np.maximum(np.asarray(z, dtype=float), "
                                    "0.0)", "return z")}
    on_time, on_time_shas = _repo(tmp_path, "hw1-alice", [
        ("2025-03-01T10:00:00+00:00", good), ("2025-03-09T10:00:00+00:00", late_bug)])
    _, tagged_shas = _repo(tmp_path, "hw1-bob", [
        ("2025-03-01T09:00:00+00:00", late_bug), ("2025-03-02T09:00:00+00:00", good)])
    _git("tag", "graded", tagged_shas[0], cwd=tmp_path / "remote" / "hw1-bob.git")
    too_late, _ = _repo(tmp_path, "hw1-carol", [("2025-03-20T10:00:00+00:00", good)])
    listing = tmp_path / "class.txt"
    listing.write_text(textwrap.dedent(f"""\
        # the class of 2025, one repository per student
        {on_time}
        {tmp_path / 'remote' / 'hw1-bob.git'}@graded   # a local path; bob wants this tag
        {too_late}
        {(tmp_path / 'remote' / 'nobody.git').as_uri()}
    """))
    out = tmp_path / "out"
    code = call_run("batch", listing, "--out", out, "--jobs", 2, "--exercise", "neuron",
                    "--deadline", "2025-03-05T00:00:00+01:00")
    assert code == 0
    rows = gradebook_by_id(out)
    assert sorted(rows) == ["hw1-alice", "hw1-bob", "hw1-carol", "nobody"]
    alice, bob = rows["hw1-alice"], rows["hw1-bob"]
    assert alice["commit"] == on_time_shas[0] and alice["neuron"] == "21"  # the later bug ignored
    assert bob["commit"] == tagged_shas[0] and 0 < float(bob["neuron"]) < 21  # the tag, buggy
    assert rows["hw1-carol"]["status"] == "error"
    assert "before the deadline" in rows["hw1-carol"]["note"]
    assert rows["nobody"]["status"] == "error" and "cloning" in rows["nobody"]["note"]
    source = json.loads((out / "hw1-alice" / "source.json").read_text())
    assert source["commit_date"] == "2025-03-01T10:00:00+00:00"
    assert source["deadline"] == "2025-03-04T23:00:00+00:00"
    html = (out / "summary.html").read_text()
    assert on_time_shas[0][:12] in html


# ---- failures of one grading process --------------------------------------------------------

def _runner(tmp_path: Path, script: str, timeout: float = 60) -> tuple[Runner, Path]:
    """A runner whose 'grader' is a small shell script, to produce each kind of failure."""
    fake = tmp_path / "fake-grader"
    fake.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    fake.chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    options = Options(out=out, jobs=1, threads=1, timeout=timeout, exercises=None, sandbox=None,
                      deadline=None, command=(str(fake),))
    return Runner(options), out


@pytest.mark.parametrize("script, reason", [
    ('echo "grader: sub.zip: unreadable zip" >&2; exit 2',
     "the submission could not be opened: sub.zip: unreadable zip"),
    ('echo "grader: internal error — a suite is broken" >&2; exit 3',
     "internal error of the grader: internal error — a suite is broken"),
    ('echo "Traceback ..." >&2; echo "ZeroDivisionError: boom" >&2; exit 1',
     "the grading process crashed (exit status 1): ZeroDivisionError: boom"),
    ("kill -9 $$", "the grading process was killed by SIGKILL (out of memory?)"),
    ("exit 0", "the grader exited normally but left no readable result.json"),
    ('mkdir -p "$3"; echo "{" > "$3/result.json"; exit 0',
     "the grader exited normally but left no readable result.json"),
])
def test_each_way_a_grading_process_fails_becomes_an_error_row(tmp_path, script, reason):
    runner, out = _runner(tmp_path, script)
    outcome = runner.grade(Submission("s1", str(tmp_path), "folder"))
    assert not outcome.ok and outcome.text.startswith(reason), outcome.text
    error = (out / "s1" / "error.txt").read_text()
    assert error.splitlines()[0] == outcome.text
    assert not (out / "s1" / "result.json").exists()
    [row] = gradebook.collect([out])
    assert (row.status, row.note) == ("error", outcome.text)


def test_a_grading_over_the_time_limit_is_killed_with_its_children(tmp_path):
    runner, out = _runner(tmp_path, "sleep 300 & sleep 301; wait", timeout=1)
    started = time.monotonic()
    outcome = runner.grade(Submission("slow", str(tmp_path), "folder"))
    assert time.monotonic() - started < 10
    assert not outcome.ok and outcome.text.startswith("timed out"), outcome.text
    assert (out / "slow" / "error.txt").read_text().startswith("timed out")
    for _ in range(50):
        if not _processes_mentioning("sleep 30"):
            break
        time.sleep(0.1)
    assert not _processes_mentioning("sleep 300") and not _processes_mentioning("sleep 301")


def test_stopping_kills_running_gradings_and_leaves_them_for_resume(tmp_path):
    runner, out = _runner(tmp_path, "sleep 300")
    caught = []

    def grade() -> None:
        try:
            runner.grade(Submission("s1", str(tmp_path), "folder"))
        except batch.Interrupted as exc:
            caught.append(exc)

    thread = threading.Thread(target=grade)
    thread.start()
    for _ in range(200):
        if runner._running:
            break
        time.sleep(0.02)
    runner.stop()
    thread.join(10)
    assert not thread.is_alive() and caught
    assert not (out / "s1" / "error.txt").exists()   # not an error: unfinished, for --resume
    assert not batch.is_done(out / "s1")
    with pytest.raises(batch.Interrupted):              # nothing new starts after a stop
        runner.grade(Submission("s2", str(tmp_path), "folder"))


@pytest.mark.slow
def test_sigterm_stops_the_batch_and_resume_finishes_it(tmp_path):
    src = tmp_path / "src"
    for name in ("a", "b", "c"):
        write(src / name, {"neuron.py": solution("neuron")})
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    proc = subprocess.Popen([*batch_command(), str(src), "--out", str(out), "--jobs", "2",
                             "--exercise", "neuron"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(out.glob("*/grader.log")):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)          # what a CI runner does when a job is cancelled
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == batch.EXIT_INTERRUPTED, err
    assert "--resume" in err
    assert not _processes_mentioning(str(out))
    assert not list(out.glob("*/error.txt"))  # stopped gradings are not errors
    resumed = run_batch(src, "--out", out, "--resume", "--progress", "--exercise", "neuron")
    assert resumed.returncode == 0, resumed.stderr
    todo = int(re.search(r"grading (\d+) submission", resumed.stderr)[1])
    assert todo >= 1 and f"{todo}/{todo} [" in resumed.stderr   # the tqdm bar, forced on
    assert [r["status"] for r in gradebook_by_id(out).values()] == ["graded"] * 3


@pytest.mark.slow
def test_real_gradings_over_the_time_limit_get_error_rows(tmp_path):
    src = write(tmp_path / "src" / "a", {"neuron.py": solution("neuron")}).parent
    write(src / "b", {"neuron.py": solution("neuron")})
    out = tmp_path / "out"
    assert call_run("batch", src, "--out", out, "--jobs", 2, "--exercise", "neuron",
                    "--timeout", "0.3") == 0
    rows = gradebook_by_id(out)
    assert [r["status"] for r in rows.values()] == ["error", "error"]
    assert all("--timeout" in r["note"] for r in rows.values())
    assert not _processes_mentioning(str(out))


def _workers_marked(token: str) -> list[int]:
    """Reduced-mode workers whose private copy of the submission holds the file ``token``."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().decode().split("\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            continue
        if "grader.worker" in argv and "--student-root" in argv and state != "Z":
            root = Path(argv[argv.index("--student-root") + 1])
            if (root / token).exists():
                pids.append(int(entry.name))
    return pids


@pytest.mark.slow
def test_reduced_mode_workers_die_with_a_killed_grading(tmp_path):
    token = f"MARKER-{os.getpid()}-{time.monotonic_ns()}"
    src = tmp_path / "src"
    write(src / "loops", {"neuron.py": edited(
        "neuron", "return np.maximum(np.asarray(z, dtype=float), 0.0)",
        f"open({token!r}, 'w').close()\n    while True:\n        pass")})
    out = tmp_path / "out"
    assert call_run("batch", src, "--out", out, "--exercise", "neuron", "--sandbox", "reduced",
                    "--timeout", "8") == 0
    assert "timed out" in gradebook_by_id(out)["loops"]["note"]
    time.sleep(1)
    lingering = _workers_marked(token)
    for pid in lingering:
        os.kill(pid, signal.SIGKILL)
    assert not lingering


# ---- discovery, ids, shards, options (fast) ---------------------------------------------------

def test_ids_are_filesystem_safe_unique_and_independent_of_listing_order():
    assert batch.safe_id("Zoë Ünal (late)") == "Zoe_Unal_late"
    assert batch.safe_id("../../etc") == "etc"
    assert batch.safe_id("<script>") == "script"
    assert batch.safe_id("...") == batch.safe_id("") == "submission"
    assert batch.assign_ids(["Alice", "alice", "alice!", "bob"]) == \
        ["Alice", "alice-2", "alice-3", "bob"]
    assert len(batch.safe_id("x" * 500)) <= batch.MAX_ID_LENGTH


def test_discovery_of_a_folder(tmp_path):
    for name in ("b", "a", ".hidden", "Zoë", "__MACOSX"):
        (tmp_path / name).mkdir()
    (tmp_path / "a" / "neuron.py").write_text("x")
    (tmp_path / "a.zip").write_bytes(b"")
    (tmp_path / "notes.md").write_text("x")
    (tmp_path / "Thumbs.db").write_text("x")
    (tmp_path / "._b.zip").write_text("x")
    out = tmp_path / "out"
    out.mkdir()
    subs, ignored = batch.discover(tmp_path, exclude=[out])
    # a/ and a.zip are one student (issue 14): the folder, with a warning; debris is no one
    assert [(s.id, s.kind) for s in subs] == [("Zoe", "folder"), ("a", "folder"),
                                              ("b", "folder")]
    assert "ignored a.zip" in subs[1].warnings[0]
    assert ignored == ["notes.md"]


def test_discovery_of_a_list_file(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(textwrap.dedent("""\
        # comment
        alice/
        zips/bob.zip   # trailing comment
        https://github.com/course/hw1-carol.git
        https://user:s3cret@github.com/course/hw1-dan.git@v1.0
        git@github.com:course/hw1-eve@0a1b2c3
        ssh://git@host:2222/course/hw1-fay.git
        /srv/repos/hw1-gus.git@main

    """))
    subs, _ = batch.discover(listing)
    by_id = {s.id: s for s in subs}
    assert sorted(by_id) == ["alice", "bob", "hw1-carol", "hw1-dan", "hw1-eve", "hw1-fay",
                             "hw1-gus"]
    assert (by_id["hw1-gus"].kind, by_id["hw1-gus"].source, by_id["hw1-gus"].ref) == \
        ("git", "/srv/repos/hw1-gus.git", "main")
    assert by_id["alice"].source == str(tmp_path / "alice") and by_id["alice"].kind == "folder"
    assert by_id["bob"].kind == "zip"
    assert (by_id["hw1-dan"].source, by_id["hw1-dan"].ref) == \
        ("https://user:s3cret@github.com/course/hw1-dan.git", "v1.0")
    assert (by_id["hw1-eve"].source, by_id["hw1-eve"].ref) == \
        ("git@github.com:course/hw1-eve", "0a1b2c3")
    assert by_id["hw1-fay"].ref is None and by_id["hw1-carol"].kind == "git"
    assert batch.redact(by_id["hw1-dan"].source) == "https://user:***@github.com/course/hw1-dan.git"
    git_error = "fatal: unable to access 'https://user:s3cret@github.com/...': s3cret rejected"
    assert "s3cret" not in batch._hide_secret(git_error, by_id["hw1-dan"].source)


def test_shards_split_the_sorted_list_without_overlap():
    subs = [Submission(f"s{i:02d}", "x", "folder") for i in range(10)]
    parts = [batch.select_shard(subs, i, 3) for i in (1, 2, 3)]
    assert [len(p) for p in parts] == [4, 3, 3]
    assert sorted(s.id for p in parts for s in p) == [s.id for s in subs]
    assert [s.id for s in parts[1]] == ["s01", "s04", "s07"]
    for bad in ("0/2", "3/2", "1-2", "", "a/b"):
        with pytest.raises(batch.UsageError):
            batch.parse_shard(bad)


def test_usage_errors_exit_2_with_a_clear_message(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "alice").mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.csv").write_text("x")
    assert call_run("batch", src, "--out", out) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "--resume" in err and "another --out" in err
    assert (out / "old.csv").exists() and not (out / "alice").exists()
    assert call_run("batch", tmp_path / "nope", "--out", tmp_path / "o2") == 2
    assert "no such folder or file" in capsys.readouterr().err
    (tmp_path / "none").mkdir()
    assert call_run("batch", tmp_path / "none", "--out", tmp_path / "o3") == 2
    assert "no submissions found" in capsys.readouterr().err
    assert call_run("batch", src, "--out", tmp_path / "o4", "--shard", "3/2") == 2
    assert call_run("batch", src, "--out", tmp_path / "o5", "--jobs", "0") == 2
    assert call_run("batch", src, "--out", tmp_path / "o6", "--deadline", "friday") == 2
    assert "ISO 8601" in capsys.readouterr().err


def test_resume_regrades_unfinished_and_failed_submissions_only(tmp_path):
    out = tmp_path / "out"
    subs = [Submission(i, "x", "folder") for i in ("done", "half", "failed", "new")]
    (out / "done").mkdir(parents=True)
    (out / "done" / "result.json").write_text(
        (ROOT / "tests" / "fixtures" / "results" / "full_marks.json").read_text())
    (out / "half").mkdir()
    (out / "half" / "grader.log").write_text("started")
    (out / "half" / "result.json").write_text('{"trunc')
    (out / "failed").mkdir()
    (out / "failed" / "error.txt").write_text("timed out")
    todo, done = batch.plan(out, subs, resume=True)
    assert [s.id for s in done] == ["done"]
    assert [s.id for s in todo] == ["half", "failed", "new"]
    assert not (out / "half").exists() and not (out / "failed").exists()
    with pytest.raises(batch.UsageError):
        batch.plan(out, subs, resume=False)


def test_a_second_batch_on_the_same_output_is_refused(tmp_path):
    with batch.locked(tmp_path), pytest.raises(batch.UsageError, match="another batch"):
        with batch.locked(tmp_path):
            pass
    with batch.locked(tmp_path):   # free again once the first batch is done
        pass


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_student_cannot_read_a_classmates_submission_or_results():
    # outside /tmp and $HOME, which bubblewrap masks anyway: only --hide can protect this
    base = Path(tempfile.mkdtemp(prefix="grader-class-", dir="/var/tmp"))
    base.chmod(0o755)  # a class folder others can read, as instructors usually have them
    try:
        source, out = base / "class", base / "out"
        bob = source / "a-bob"  # graded first, so his result.json exists when zoe runs
        bob.mkdir(parents=True)
        (bob / "neuron.py").write_text((ROOT / "solutions" / "neuron.py").read_text())
        (bob / "notes.txt").write_text("BOB-PRIVATE-7f3a\n")
        zoe = source / "z-zoe"
        zoe.mkdir()
        (zoe / "neuron.py").write_text(
            (ROOT / "solutions" / "neuron.py").read_text() +
            "\nfor _p in (%r, %r):\n"
            "    try:\n        print('LEAK', open(_p).read()[:200])\n"
            "    except OSError as _e:\n        print('blocked', type(_e).__name__)\n"
            % (str(bob / "notes.txt"), str(out / "a-bob" / "result.json")))
        done = subprocess.run([sys.executable, "-m", "grader", "batch", str(source), "--out",
                               str(out), "--jobs", "1", "--exercise", "neuron",
                               "--sandbox", "bubblewrap"],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        assert (out / "a-bob" / "result.json").is_file()
        zoe_result = (out / "z-zoe" / "result.json").read_text()
        assert "BOB-PRIVATE-7f3a" not in zoe_result and "LEAK" not in zoe_result
        assert zoe_result.count("blocked") == 2
    finally:
        shutil.rmtree(base, ignore_errors=True)
