"""grader check where the POSIX-only modules are missing (Windows): a result, not a crash.

Windows has no ``resource`` (rlimits) and no ``fcntl``; the sandbox must fall back to the limits
the system offers (the time limits per call and per exercise) and say so. The check runs in a
subprocess whose import system refuses both modules and whose os module has no geteuid and
no killpg, in the reduced sandbox (no bubblewrap, as
on macOS and Windows). The OS matrix in .github/workflows/student-os-matrix.yml runs the real
thing on windows-latest and macos-latest.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader import assignment

SOLUTIONS = assignment.PROJECT_ROOT / "solutions"

BLOCKER = textwrap.dedent('''\
    import sys

    class Blocked:
        """An import system without the POSIX-only modules, as on Windows."""

        def find_spec(self, name, path=None, target=None):
            if name in ("resource", "fcntl"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, Blocked())
    for name in ("resource", "fcntl"):
        sys.modules.pop(name, None)
    ''')

# Windows' os module has no effective uid and no process groups either (only the grader's
# process is changed: the worker starts without this file). getuid stays: Linux's libraries
# (platformdirs) import it where their Windows versions would not.
NO_UIDS = textwrap.dedent('''\
    import os

    for name in ("geteuid", "killpg"):
        if hasattr(os, name):
            delattr(os, name)
    ''')


def run_without_posix_modules(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER + NO_UIDS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(site), str(assignment.PROJECT_ROOT)]), "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    code = (
        "import sys\n"
        "try:\n    import resource\nexcept ImportError:\n    pass\nelse:\n"
        "    sys.exit('the blocker did not block resource')\n"
        "import os\nassert not hasattr(os, 'geteuid') and not hasattr(os, 'killpg')\n"
        "from grader.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    return subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True,
                          text=True, timeout=240, cwd=tmp_path)


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("portability")
    good, bad = root / "good", root / "bad"
    good.mkdir()
    bad.mkdir()
    shutil.copyfile(SOLUTIONS / "neuron.py", good / "neuron.py")
    # relu keeps negatives: a wrong answer the public relu test must catch
    (bad / "neuron.py").write_text((SOLUTIONS / "neuron.py").read_text()
                                   + "\n\ndef relu(z):\n    return z * 1.0\n")
    return {"good": good, "bad": bad}


def test_sandbox_imports_without_resource(tmp_path):
    """The sandbox module loads and picks a mode; its notes say which limits are missing."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    code = ("from grader import sandbox\n"
            "assert sandbox.resource is None\n"
            "mode = sandbox.detect_mode('reduced')\n"
            "print('\\n'.join(mode.as_dict(sandbox.Limits())['notes']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              [str(site), str(assignment.PROJECT_ROOT)])})
    assert done.returncode == 0, done.stderr
    assert "no resource limits to set" in done.stdout
    assert "time limits per call and per exercise hold" in done.stdout


def test_check_without_resource_gives_a_result(tmp_path, submissions):
    done = run_without_posix_modules(tmp_path, "check", "neuron", str(submissions["good"]),
                                     "--sandbox", "reduced")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    assert "public checks" in done.stdout
    assert "sandbox: reduced" in done.stdout
    # which limits hold here, in the student's output
    assert "no resource limits to set" in done.stdout
    assert "time limits per call and per exercise hold" in done.stdout


def test_check_without_resource_still_catches_a_bug(tmp_path, submissions):
    done = run_without_posix_modules(tmp_path, "check", "neuron", str(submissions["bad"]),
                                     "--sandbox", "reduced")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    assert "✗" in done.stdout or "XX" in done.stdout
    assert "relu()" in done.stdout
