"""Shared helpers for the tests of the trust boundary and the grade command.

Kept out of conftest.py on purpose: several test files are written in parallel and only
these import it (pytest puts tests/ on sys.path for them).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_SUBMISSIONS = PROJECT_ROOT / "tests" / "submissions" / "fixtures"

HAVE_BWRAP = shutil.which("bwrap") is not None
NO_BWRAP = "bubblewrap (bwrap) is not installed: apt-get install bubblewrap to test that mode"

# Both sandbox modes, for pytest.mark.parametrize / fixture params.
SANDBOX_MODES = [
    pytest.param("bubblewrap", id="bubblewrap",
                 marks=pytest.mark.skipif(not HAVE_BWRAP, reason=NO_BWRAP)),
    pytest.param("reduced", id="reduced"),
]


def write_source(directory: Path, filename: str, source: str) -> Path:
    """Write dedented ``source`` to ``directory/filename`` and return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return path


def run_grader(*args: str, timeout: float = 300, env: dict | None = None
               ) -> subprocess.CompletedProcess:
    """Run ``python -m grader ARGS`` from the project root, as a user would."""
    full_env = dict(os.environ)
    full_env.pop("GRADER_SANDBOX", None)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=timeout, env=full_env)
