"""``grader batch --cluster``: the same gradings as a local batch, one dask task each.

A LocalCluster of two worker processes (one thread each) stands in for Slurm or Kubernetes.
The class is small and numpy-only (neuron and perceptron); tests that grade it are slow. Fast
tests cover what crosses the wire: the submission sent, the result folder written back, and a
task that fails as a whole.
"""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from grader import batch, cluster, gradebook  # noqa: E402
from grader.batch import Options, Progress, Submission  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ["--exercise", "neuron", "--exercise", "perceptron"]


def solution(name: str) -> str:
    return (SOLUTIONS / f"{name}.py").read_text()


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def make_class(root: Path) -> int:
    """Six submissions: correct, buggy, broken, a zip, a broken zip, an empty folder."""
    correct = {"neuron.py": solution("neuron"), "perceptron.py": solution("perceptron")}
    write(root / "alice", correct)
    relu = "return np.maximum(np.asarray(z, dtype=float), 0.0)"
    assert relu in correct["neuron.py"], "the solution changed: update this test's edit"
    write(root / "buggy_relu", {**correct, "neuron.py": correct["neuron.py"].replace(relu,
                                                                                    "return z")})
    write(root / "syntax_error", {**correct, "neuron.py": correct["neuron.py"].replace(
        "def relu(z):", "def relu(z)", 1)})
    with zipfile.ZipFile(root / "zipped.zip", "w") as zf:
        for name, text in correct.items():
            zf.writestr(f"zipped/{name}", text)
    (root / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip archive")
    (root / "empty").mkdir()
    return 6


def run_batch(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    return subprocess.run([sys.executable, "-m", "grader", "batch", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env, check=False)


def gradebook_by_id(out: Path) -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in gradebook.read_gradebook(out / "gradebook.csv")}


@pytest.fixture(scope="module")
def local_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as lc:
        yield lc


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster-class") / "submissions"
    root.mkdir()
    return root, make_class(root)


@pytest.fixture(scope="module")
def local_run(klass, tmp_path_factory):
    root, _ = klass
    out = tmp_path_factory.mktemp("local") / "out"
    done = run_batch(root, "--out", out, "--jobs", 2, *EXERCISES)
    assert done.returncode == 0, done.stderr
    return out


# ---- the class on the cluster -----------------------------------------------------------------

@pytest.mark.slow
def test_a_cluster_batch_writes_the_local_batchs_results_and_gradebook(
        klass, local_run, local_cluster, tmp_path):
    root, total = klass
    out = tmp_path / "out"
    done = run_batch(root, "--out", out, "--cluster", local_cluster.scheduler_address,
                     *EXERCISES)
    assert done.returncode == 0, done.stderr
    assert "on the dask cluster" in done.stderr
    assert f"graded now {total}" in done.stdout
    rows = gradebook_by_id(out)
    assert len(rows) == total
    # the gradebook holds no timings: every cell matches, error notes included
    assert rows == gradebook_by_id(local_run)
    assert rows["alice"]["status"] == "graded" and rows["alice"]["neuron"] == "21"
    assert rows["broken"]["status"] == "error"
    # the same files per submission; source.json names the submission on this machine
    for folder in local_run.iterdir():
        if folder.is_dir():
            mine = out / folder.name
            assert {p.name for p in mine.iterdir()} == {p.name for p in folder.iterdir()}
            assert json.loads((mine / "source.json").read_text()) == \
                json.loads((folder / "source.json").read_text())
    local = json.loads((local_run / "alice" / "result.json").read_text())
    remote = json.loads((out / "alice" / "result.json").read_text())
    assert [(e["name"], e["score"]) for e in remote["exercises"]] == \
        [(e["name"], e["score"]) for e in local["exercises"]]
    assert (out / "alice" / "submitted" / "neuron.py").read_text() == solution("neuron")


@pytest.mark.slow
def test_a_killed_cluster_batch_resumes_and_grades_each_submission_once(
        klass, local_run, local_cluster, tmp_path):
    root, total = klass
    out = tmp_path / "killed"
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SANDBOX"}
    proc = subprocess.Popen([sys.executable, "-m", "grader", "batch", str(root), "--out",
                             str(out), "--cluster", local_cluster.scheduler_address,
                             *EXERCISES], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    try:
        while len(list(out.glob("*/result.json"))) < 2:
            assert proc.poll() is None, "the batch finished before it could be killed"
            assert time.monotonic() < deadline, "no result.json appeared"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = {p.parent.name: p.read_bytes() for p in out.glob("*/result.json")}
    assert 2 <= len(done) < total, sorted(done)
    assert not (out / "gradebook.csv").exists()

    resumed = run_batch(root, "--out", out, "--cluster", local_cluster.scheduler_address,
                        *EXERCISES, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"keeping {len(done)} already graded" in resumed.stderr
    # each submission graded once: the kept ones untouched, only the others graded now
    assert f"graded now {total - len(done)}" in resumed.stdout
    for sub_id, content in done.items():
        assert (out / sub_id / "result.json").read_bytes() == content
    assert gradebook_by_id(out) == gradebook_by_id(local_run)


# ---- what crosses the wire --------------------------------------------------------------------

def _options(out: Path) -> Options:
    return Options(out=out, jobs=1, threads=1, timeout=60.0, exercises=["neuron"],
                   sandbox=None, deadline=None)


def test_a_folder_arrives_on_the_worker_with_its_times_and_without_links_out(tmp_path):
    folder = write(tmp_path / "src" / "Zoë", {"neuron.py": "x = 1\n"})
    (folder / "sub").mkdir()
    (folder / "sub" / "data.txt").write_text("inside")
    os.utime(folder / "neuron.py", (1_700_000_000, 1_700_000_000))
    (folder / "escape").symlink_to("/etc/passwd")
    (folder / "up").symlink_to("../..")
    sub = Submission("Zoe", str(folder), "folder", name="Zoë")
    payload = cluster.pack_submission(sub)
    dest = tmp_path / "worker"
    dest.mkdir()
    target = cluster._materialize(sub, payload, dest)
    assert target == dest / "Zoë"
    assert (target / "neuron.py").read_text() == "x = 1\n"
    assert (target / "neuron.py").stat().st_mtime == 1_700_000_000   # the late policy's clue
    assert (target / "sub" / "data.txt").read_text() == "inside"
    assert not (target / "escape").exists() and not (target / "escape").is_symlink()
    assert not (target / "up").is_symlink()

    zipped = tmp_path / "src" / "bob.zip"
    zipped.write_bytes(b"PK zip bytes")
    zsub = Submission("bob", str(zipped), "zip")
    assert cluster._materialize(zsub, cluster.pack_submission(zsub), dest).read_bytes() == \
        b"PK zip bytes"
    assert cluster.pack_submission(Submission("g", "https://h/x.git", "git")) is None


def _reply(files: dict[str, bytes], ok: bool = True) -> dict:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return {"ok": ok, "seconds": 1.5, "text": "36/36 (100.0 %)" if ok else "crashed",
            "files": buffer.getvalue(), "host": "w1"}


def test_a_result_folder_is_written_back_inside_its_folder_with_the_result_last(tmp_path):
    out = tmp_path / "out"
    result = (ROOT / "tests" / "fixtures" / "results" / "full_marks.json").read_bytes()
    sub = Submission("alice", "/home/ta/class/alice", "folder", name="alice")
    outcome = cluster.write_back(out, sub, _reply({
        "result.json": result, "report.html": b"<html>", "../evil.txt": b"no",
        "/tmp/abs.txt": b"no", "source.json": b'{"source": "/tmp/grader-cluster/x"}'}))
    assert outcome.ok and outcome.id == "alice"
    assert (out / "alice" / "result.json").read_bytes() == result
    assert batch.is_done(out / "alice")
    assert not (tmp_path / "evil.txt").exists() and not (out / "evil.txt").exists()
    assert json.loads((out / "alice" / "source.json").read_text())["source"] == \
        "/home/ta/class/alice"
    # a grading that failed on the worker never counts as done
    failed = cluster.write_back(out, Submission("bob", "/x/bob", "folder"), _reply(
        {"result.json": result, "error.txt": b"the grading process crashed\n"}, ok=False))
    assert not failed.ok and not batch.is_done(out / "bob")
    assert (out / "bob" / "error.txt").exists()
    # the worker's copy of the submission is named as the submission on this machine
    reply = _reply({"error.txt": b"could not be opened: /tmp/grader-cluster/t1/src/c.zip\n"},
                   ok=False)
    reply.update(text="could not be opened: /tmp/grader-cluster/t1/src/c.zip",
                 target="/tmp/grader-cluster/t1/src/c.zip")
    carol = cluster.write_back(out, Submission("c", "/home/ta/class/c.zip", "zip"), reply)
    assert carol.text == "could not be opened: /home/ta/class/c.zip"
    assert (out / "c" / "error.txt").read_text() == "could not be opened: /home/ta/class/c.zip\n"


def _explode(sub, payload, options):
    raise RuntimeError("worker lost")


def test_a_task_that_fails_as_a_whole_is_that_submissions_error_row(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    subs = [Submission("a", str(write(tmp_path / "a", {"neuron.py": "x = 1\n"})), "folder")]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as lc:
        outcomes = cluster.run_all(_options(out), subs, Progress(1, False),
                                   lc.scheduler_address, task=_explode)
    assert [o.ok for o in outcomes] == [False]
    assert "worker lost" in (out / "a" / "error.txt").read_text()
    rows = gradebook.collect([out])
    assert [(r.id, r.status) for r in rows] == [("a", "error")]


def test_an_unreachable_cluster_is_a_usage_error():
    with pytest.raises(batch.UsageError, match="cannot reach the dask scheduler"):
        cluster.connect("tcp://127.0.0.1:9", timeout="1s")
