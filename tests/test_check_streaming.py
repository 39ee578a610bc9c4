"""grader check streams: the header at once, each public test as it finishes, and a live line
(tqdm) with the running call's elapsed time against its limit.

A student's infinite loop is the case that matters: before, nothing was printed until the call's
time limit had run out. The neuron exercise's call limit is cut to a few seconds here, and
``step`` loops forever; relu, sigmoid and tanh come before it in the public suite.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader import assignment
from grader.check import EXIT_FAILED, add_parser, run

SOLUTIONS = assignment.PROJECT_ROOT / "solutions"
LIMIT = 3.0
LOOP = "\n\ndef step(z):\n    while True:\n        pass\n"


class Recorder(io.StringIO):
    """A stream that notes when each piece of text arrived."""

    def __init__(self):
        super().__init__()
        self.events: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.events.append((time.monotonic(), text))
        return super().write(text)

    def when(self, needle: str) -> float:
        """When the first piece holding ``needle`` arrived."""
        for at, text in self.events:
            if needle in text:
                return at
        raise AssertionError(f"{needle!r} never written; got {self.getvalue()[-2000:]!r}")


@pytest.fixture
def looping(tmp_path, monkeypatch) -> Path:
    monkeypatch.setitem(assignment.BY_NAME, "neuron", dataclasses.replace(
        assignment.BY_NAME["neuron"], call_timeout=LIMIT))
    (tmp_path / "neuron.py").write_text((SOLUTIONS / "neuron.py").read_text() + LOOP)
    return tmp_path


def check_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="grader")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["check", *argv])


def test_lines_arrive_as_tests_finish_and_a_live_line_runs_during_the_loop(looping):
    out, live = Recorder(), Recorder()
    started = time.monotonic()
    code = run(check_args("neuron", str(looping)), stdout=out, stderr=io.StringIO(), live=live)
    ended = time.monotonic()
    text = out.getvalue()
    assert code == EXIT_FAILED
    assert text.startswith(f"grader check: {looping.resolve()} — public checks")
    header = out.when("public checks")
    relu = out.when("relu() zeroes negatives")
    tanh = out.when("tanh()")
    stopped = out.when(f"did not finish within {LIMIT:g} s")
    # the header comes before any grading, each test line as its test ends
    assert header - started < 1.0 < stopped - header
    assert header <= relu <= tanh
    assert stopped - tanh >= LIMIT - 0.5, "the lines before the loop waited for it"
    assert ended - out.when("Public tests:") < 1.0
    # while step() looped: a live line naming the call, its seconds and its limit
    bars = [(at, t) for at, t in live.events if "running step(" in t]
    assert bars, live.getvalue()
    assert any(f"of {LIMIT:g} s (time limit)" in t for _, t in bars)
    assert any(tanh < at < stopped for at, _ in bars)
    progress = [t for _, t in bars if "s (time limit)" in t]
    assert any(f": 2 of {LIMIT:g} s" in t for t in progress), progress  # it moves
    # the live line is only on its own stream, never in the printed result
    assert "time limit) |" not in text


@pytest.mark.slow
def test_no_live_line_unless_asked_off_a_terminal(looping):
    out, err = Recorder(), Recorder()
    run(check_args("neuron", str(looping)), stdout=out, stderr=err)   # err is no terminal
    assert "time limit" not in err.getvalue() and "time limit) |" not in out.getvalue()


@pytest.mark.slow
def test_a_pipe_gets_each_line_at_once(tmp_path):
    """`grader check | tee log` or a CI log: lines are flushed as they come (a subprocess)."""
    (tmp_path / "neuron.py").write_text((SOLUTIONS / "neuron.py").read_text() + LOOP)
    code = (
        "import dataclasses, sys\n"
        "from grader import assignment\n"
        f"assignment.BY_NAME['neuron'] = dataclasses.replace(assignment.BY_NAME['neuron'], "
        f"call_timeout={LIMIT})\n"
        "from grader.cli import main\n"
        "sys.exit(main(['check', 'neuron', sys.argv[1]]))\n")
    env = {**os.environ, "PYTHONPATH": str(assignment.PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    arrived: list[tuple[float, str]] = []
    for line in proc.stdout:
        arrived.append((time.monotonic(), line))
    proc.wait(120)
    done = time.monotonic()
    first = arrived[0]
    assert "public checks" in first[1]
    assert done - first[0] >= 2 * LIMIT - 1, "the header waited for the end"
    tanh = next(at for at, line in arrived if "tanh()" in line)
    assert done - tanh >= LIMIT - 0.5
