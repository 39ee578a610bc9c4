"""More hostile submissions: Keras side effects, workflow commands in CI, undecodable files.

Each grades in bubblewrap mode (skipped without it) and asserts the safe outcome: grading
completes, the attack changes nothing outside the sandbox, and nothing the student printed
can act on the CI runner.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader import assignment
from grader.grading import grade
from grader.results import Result

ROOT = assignment.PROJECT_ROOT
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap is not installed")


@pytest.fixture
def canary():
    """A world-writable folder outside /tmp and $HOME (which the sandbox masks anyway)."""
    path = Path(tempfile.mkdtemp(prefix="grader-canary-", dir="/var/tmp"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
@needs_bwrap
def test_a_keras_lambda_layer_with_side_effects_stays_in_the_sandbox(tmp_path, canary):
    token = secrets.token_hex(6)
    source = (ROOT / "solutions" / "mnist_ann.py").read_text()
    hostile = source.replace(
        '        layers.Dense(10, activation="softmax"),',
        '        layers.Dense(10, activation="softmax"),\n'
        '        layers.Lambda(_side_effect),')
    assert hostile != source
    hostile += (
        "\n\ndef _side_effect(x):\n"
        f"    for target in ({str(canary / ('pwned-' + token))!r}, '/tmp/pwned-{token}',\n"
        f"                   {str(ROOT / ('pwned-' + token))!r}):\n"
        "        try:\n"
        "            open(target, 'w').write('lambda ran')\n"
        "        except OSError as exc:\n"
        "            print('blocked', target, type(exc).__name__)\n"
        "    return x\n")
    (tmp_path / "mnist_ann.py").write_text(hostile)
    result = grade(tmp_path, exercises=["mnist_ann"], sandbox="bubblewrap")
    ex = result.exercises[0]
    assert ex.status == "graded" and ex.score > 0      # the model itself still works
    assert not (canary / f"pwned-{token}").exists()
    assert not Path(f"/tmp/pwned-{token}").exists()
    assert not (ROOT / f"pwned-{token}").exists()


WORKFLOW_ATTACK = '''
import sys
for line in ("::error::forged by the student", "::add-mask::grader", "::stop-commands::tok",
             "::set-output name=score::100", "##[error]forged"):
    print(line)
    print(line, file=sys.stderr)
'''


@needs_bwrap
def test_student_output_cannot_issue_workflow_commands_in_ci(tmp_path, monkeypatch):
    sub = tmp_path / "sub"
    sub.mkdir()
    source = (ROOT / "solutions" / "neuron.py").read_text()
    source += WORKFLOW_ATTACK
    source += ("\n\ndef step(z):\n"
               "    raise ValueError('boom\\n::error::forged in a message\\n::add-mask::x')\n")
    (sub / "neuron.py").write_text(source)
    out = tmp_path / "out"
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True,
                              text=True, timeout=300, env=env)

    graded = run("grade", str(sub), "--exercise", "neuron", "--out", str(out),
                 "--sandbox", "bubblewrap")
    exported = run("export", str(out / "result.json"), "--format", "github")
    checked = run("check", "neuron", str(sub), "--format", "github", "--sandbox", "bubblewrap")
    assert graded.returncode == 0 and exported.returncode == 0, graded.stderr + exported.stderr
    assert "::error::forged" in Result.read(out / "result.json").exercises[0].output
    for proc in (graded, exported, checked):
        for line in (proc.stdout + proc.stderr).splitlines():
            stripped = line.lstrip()
            assert not stripped.startswith(("::add-mask", "::stop-commands", "::set-output",
                                            "##[")), line
            if stripped.startswith("::"):  # only the grader's own annotations: student text
                # is confined to the message part, one line (newlines arrive as %0A)
                assert stripped.startswith(("::error ", "::warning ", "::notice ")), line
                assert "forged" not in stripped.split("::", 2)[1], line


@pytest.mark.parametrize("content,expected", [
    (b"def relu(z):\n    return 'caf\xe9'\n", "SyntaxError"),
    (bytes(range(256)) * 4, "SyntaxError"),
    (b"import numpy_but_misspelled as np\n", "ModuleNotFoundError"),
], ids=["latin-1 source", "binary file", "missing import"])
def test_undecodable_or_broken_files_are_an_error_for_that_exercise_only(tmp_path, content,
                                                                         expected):
    (tmp_path / "neuron.py").write_bytes(content)
    (tmp_path / "perceptron.py").write_text((ROOT / "solutions" / "perceptron.py").read_text())
    result = grade(tmp_path, exercises=["neuron", "perceptron"])
    neuron, perceptron = result.exercises
    assert neuron.status == "error" and neuron.score == 0
    assert expected in neuron.message
    assert perceptron.status == "graded" and \
        perceptron.score == perceptron.max_score - perceptron.manual_pending
