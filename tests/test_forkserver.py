"""grader.forkserver: the warm template ``grader batch`` forks its grading processes from.

The template is started like the batch starts it (a child process given one end of a socket
pair); the tests fork grading commands from it and check what the batch relies on: exit
statuses as ``Popen.returncode``, waiting with a timeout, killing a child's whole session,
stdin delivered to the child, refusal to fork while threads run, and a dead template seen as
an error the batch can fall back from.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from grader import assignment
from grader.forkserver import GradingTemplate

ROOT = assignment.PROJECT_ROOT


def _start(command, pass_fds):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADER_OFFLINE": "1"}
    return subprocess.Popen(command, pass_fds=pass_fds, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


@pytest.fixture
def template(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    made = GradingTemplate(_start, ["neuron"])
    yield made
    made.close()


def test_forked_commands_report_their_exit_status(template, tmp_path):
    version = template.spawn(["--version"])
    assert version.wait(60) == 0 and version.poll() == 0
    usage = template.spawn(["grade"])             # no submission: argparse's usage error
    assert usage.wait(60) == 2
    missing = template.spawn(["grade", str(tmp_path / "absent"), "--out", str(tmp_path / "o")])
    assert missing.wait(60) not in (0, None)


def test_a_forked_child_reads_its_own_stdin_and_can_be_killed_with_its_session(template):
    # `grader grade - --standby` waits on stdin for its submission: end of input exits 0
    idle = template.spawn(["grade", "-", "--standby", "--exercise", "neuron"])
    assert idle.poll() is None
    idle.stdin.close()
    assert idle.wait(60) == 0

    waiting = template.spawn(["grade", "-", "--standby", "--exercise", "neuron"])
    with pytest.raises(subprocess.TimeoutExpired):
        waiting.wait(0.5)
    assert os.getpgid(waiting.pid) == waiting.pid      # a session (and group) of its own
    os.killpg(waiting.pid, signal.SIGKILL)
    assert waiting.wait(30) == -signal.SIGKILL


def test_children_are_forked_from_the_template_not_started_afresh(template):
    first = template.spawn(["--version"])
    second = template.spawn(["--version"])
    assert first.wait(60) == 0 and second.wait(60) == 0
    assert first.pid != second.pid
    # a fork of a warm process answers in a fraction of an interpreter's start and imports
    started = time.perf_counter()
    assert template.spawn(["--version"]).wait(60) == 0
    assert time.perf_counter() - started < 5.0


def test_a_dead_template_is_an_error_the_batch_falls_back_from(template):
    assert template.spawn(["--version"]).wait(60) == 0
    os.kill(template._proc.pid, signal.SIGKILL)
    template._proc.wait(30)
    deadline = time.monotonic() + 10
    while template.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not template.alive
    with pytest.raises(OSError):
        template.spawn(["--version"])


def test_the_template_refuses_to_fork_while_another_thread_runs(tmp_path):
    script = tmp_path / "threaded_template.py"
    script.write_text(textwrap.dedent("""
        import socket, sys, threading, time
        from grader import forkserver
        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
        sys.exit(forkserver.serve(socket.socket(fileno=int(sys.argv[1])), ["neuron"]))
    """))

    def start(command, pass_fds):
        return _start([sys.executable, str(script), command[3]], pass_fds)

    threaded = GradingTemplate(start, ["neuron"])
    try:
        with pytest.raises(OSError, match="single-threaded"):
            threaded.spawn(["--version"])
    finally:
        threaded.close()


@pytest.mark.slow
def test_a_forked_grading_equals_a_fresh_one(tmp_path):
    """The same submission graded by a forked standby and by a fresh `grader grade`."""
    import json

    submission = tmp_path / "sub"
    submission.mkdir()
    (submission / "neuron.py").write_text((ROOT / "solutions" / "neuron.py").read_text())
    fresh_out, forked_out = tmp_path / "fresh", tmp_path / "forked"
    env = {**os.environ, "GRADER_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "grader", "grade", str(submission), "--out",
                    str(fresh_out), "--exercise", "neuron"], check=True, env=env,
                   capture_output=True, timeout=300)
    template = GradingTemplate(_start, ["neuron"])
    try:
        proc = template.spawn(["grade", "-", "--exercise", "neuron", "--standby"])
        proc.stdin.write((json.dumps({"submission": str(submission)}) + "\n").encode())
        proc.stdin.write((json.dumps({"out": str(forked_out),
                                      "log": str(tmp_path / "log.txt")}) + "\n").encode())
        proc.stdin.close()
        assert proc.wait(300) == 0, (tmp_path / "log.txt").read_text()[-2000:]
    finally:
        template.close()

    def outcomes(out):
        result = json.loads((out / "result.json").read_text())
        return [(t["id"], t["outcome"], t["points"]) for e in result["exercises"]
                for t in e["tests"]]
    assert outcomes(forked_out) == outcomes(fresh_out) and outcomes(fresh_out)
    assert (forked_out / "report.html").is_file()
