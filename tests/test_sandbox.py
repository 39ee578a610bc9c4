"""Choosing and building the sandbox (grader/sandbox.py), without student code."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import sandbox
from grader.assignment import PACKAGE_DIR, PROJECT_ROOT, SUITES_DIR
from grader.sandbox import Limits, detect_mode
from helpers_core import HAVE_BWRAP, NO_BWRAP

needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason=NO_BWRAP)


@pytest.fixture(autouse=True)
def fresh_detection(monkeypatch):
    """detect_mode is lru_cached per requested value: start and end every test uncached."""
    monkeypatch.delenv("GRADER_SANDBOX", raising=False)
    detect_mode.cache_clear()
    yield
    detect_mode.cache_clear()


@pytest.fixture
def no_bwrap_on_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))           # an empty folder: no bwrap anywhere
    assert sandbox.shutil.which("bwrap") is None


def test_environment_variable_forces_reduced(monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX", "reduced")
    mode = detect_mode()
    assert mode.name == "reduced" and "GRADER_SANDBOX" in mode.reason


@needs_bwrap
def test_environment_variable_forces_bubblewrap(monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX", "BubbleWrap")  # case does not matter
    assert detect_mode().name == "bubblewrap"


@needs_bwrap
def test_auto_prefers_bubblewrap():
    assert detect_mode().name == "bubblewrap"
    detect_mode.cache_clear()
    assert detect_mode("auto").name == "bubblewrap"


def test_explicit_request_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX", "bubblewrap")
    assert detect_mode("reduced").name == "reduced"


@pytest.mark.parametrize("value", ["docker", "none", "bwrap"])
def test_invalid_value_is_a_value_error(monkeypatch, value):
    with pytest.raises(ValueError, match="auto, bubblewrap or reduced"):
        detect_mode(value)
    detect_mode.cache_clear()
    monkeypatch.setenv("GRADER_SANDBOX", value)
    with pytest.raises(ValueError, match="GRADER_SANDBOX"):
        detect_mode()


def test_without_bwrap_auto_falls_back_to_reduced_and_says_why(no_bwrap_on_path):
    mode = detect_mode("auto")
    assert mode.name == "reduced" and "not installed" in mode.reason


def test_without_bwrap_a_bubblewrap_request_fails(no_bwrap_on_path):
    with pytest.raises(RuntimeError, match="not installed"):
        detect_mode("bubblewrap")


def test_cache_is_per_requested_value(monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX", "reduced")
    first = detect_mode()
    monkeypatch.setenv("GRADER_SANDBOX", "invalid")
    assert detect_mode() is first                        # cached under None
    detect_mode.cache_clear()
    with pytest.raises(ValueError):
        detect_mode()


@pytest.mark.parametrize("name", ["reduced", pytest.param("bubblewrap", marks=needs_bwrap)])
def test_mode_as_dict_records_mode_reason_notes_and_limits(name):
    limits = Limits(memory_bytes=1 << 30, max_processes=7, output_bytes=1000)
    record = detect_mode(name).as_dict(limits)
    assert record["mode"] == name
    assert isinstance(record["reason"], str) and record["reason"]
    assert isinstance(record["notes"], list) and record["notes"]
    assert record["limits"] == limits.as_dict()
    assert record["limits"]["max_processes"] == 7 and record["limits"]["memory_bytes"] == 1 << 30


def test_limits_defaults_are_sane():
    limits = Limits()
    assert limits.memory_bytes >= 2 << 30                # TensorFlow needs ~2.5 GiB of it
    assert 0 < limits.max_processes <= 1024
    assert limits.output_bytes < 100_000
    assert set(limits.as_dict()) >= {"memory_bytes", "max_processes", "max_file_bytes",
                                     "max_open_files", "output_bytes", "cpu_seconds"}


def test_worker_env_is_an_allow_list(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws_secret")
    env = sandbox.worker_env("/tmp/home-x", Limits(threads=3))
    assert "GITHUB_TOKEN" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert "ghp_secret" not in env.values() and "aws_secret" not in env.values()
    assert env["HOME"] == "/tmp/home-x"
    assert env["KERAS_HOME"].startswith("/tmp/home-x") and env["MPLCONFIGDIR"].startswith(
        "/tmp/home-x")
    assert env["OMP_NUM_THREADS"] == "3"


def test_reduced_launch_needs_a_private_home(tmp_path):
    with pytest.raises(ValueError, match="home"):
        sandbox.launch_spec(detect_mode("reduced"), tmp_path, 5, Limits())


def test_default_hidden_paths_cover_suites_solutions_and_tests():
    hidden = sandbox.default_hidden_paths()
    for path in (SUITES_DIR, PROJECT_ROOT / "solutions", PROJECT_ROOT / "tests"):
        assert path in hidden


# --------------------------------------------------------------------------------------------
# the bubblewrap command line
# --------------------------------------------------------------------------------------------
def _pairs(args: list[str], flag: str) -> list[str]:
    """Values following ``flag`` (first operand only)."""
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def _masked(args: list[str]) -> set[str]:
    """Paths replaced by an empty tmpfs or by /dev/null."""
    tmpfs = set(_pairs(args, "--tmpfs"))
    devnull = {args[i + 2] for i, a in enumerate(args)
               if a == "--ro-bind" and args[i + 1] == "/dev/null"}
    return tmpfs | devnull


def test_bwrap_args_hide_the_given_paths(tmp_path, monkeypatch):
    """A hidden path the worker's view would show (data inside a bound package) is covered;
    one outside the view gets no mount point that would name it: it is simply not there."""
    from grader import worker_view

    tree = tmp_path / "tree"             # stands for a folder the view binds
    hidden_dir = tree / "held-out"
    hidden_dir.mkdir(parents=True)
    hidden_file = tree / "labels.npy"
    hidden_file.write_bytes(b"secret")
    missing = tree / "not-there"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    ops = worker_view.system_ops() + (worker_view.Op("ro-bind", str(tree), str(tree)),)
    monkeypatch.setattr(worker_view, "system_ops", lambda: ops)
    student = tmp_path / "student"
    student.mkdir()
    args = sandbox.bwrap_args(student, [hidden_dir, hidden_file, missing, outside], {"A": "1"})
    assert str(hidden_dir) in _pairs(args, "--tmpfs")
    assert any(args[i:i + 3] == ["--ro-bind", "/dev/null", str(hidden_file)]
               for i in range(len(args)))
    assert str(missing) not in args and str(outside) not in args
    assert args[-1] == "--"
    assert "--clearenv" in args and "--unshare-net" in args and "--die-with-parent" in args
    i = args.index("--bind")
    assert args[i + 1:i + 3] == [str(student), sandbox.SANDBOX_STUDENT_ROOT]
    assert args[args.index("--setenv") + 1:args.index("--setenv") + 3] == ["A", "1"]


def _last_mount_over(args: list[str], path: Path) -> tuple[str, str]:
    """The last bwrap mount covering ``path``: what the sandbox will really show there."""
    last = ("none", "")
    i = 0
    while i < len(args) and args[i] != "--":
        flag = args[i]
        if flag in ("--ro-bind", "--bind"):
            src, dst = args[i + 1], Path(args[i + 2])
            if dst == path or dst in path.parents:
                last = (flag, src if src == "/dev/null" else str(dst))
            i += 3
        elif flag in ("--tmpfs", "--dev", "--proc", "--dir"):
            dst = Path(args[i + 1])
            if flag == "--tmpfs" and (dst == path or dst in path.parents):
                last = (flag, str(dst))
            i += 2
        elif flag in ("--perms", "--chdir"):
            i += 2
        elif flag == "--setenv":
            i += 3
        else:
            i += 1
    return last


def test_bwrap_args_never_hide_the_interpreter_or_the_grader(tmp_path):
    """Asked to hide the interpreter, its libraries and the grader, bwrap_args still shows the
    interpreter; the grader the worker sees is its staged worker-side copy, never the
    checkout (which is not in the view at all)."""
    import numpy

    from grader import worker_view

    python = worker_view.python_paths()
    real_exe = Path(os.path.realpath(sys.executable))
    needed = [real_exe.parent, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
              PACKAGE_DIR.parent, PACKAGE_DIR, *python["stdlib"], *python["site"]]
    ancestors = [p for n in needed for p in n.parents]
    args = sandbox.bwrap_args(tmp_path, needed + ancestors, {})
    assert "/dev/null" not in args
    for path in [real_exe, *python["stdlib"], Path(numpy.__file__).resolve().parent]:
        flag, what = _last_mount_over(args, path)
        assert flag == "--ro-bind" and what != "/dev/null", (path, flag, what)
    staged = Path(worker_view.WORKER_PACKAGE_MOUNT) / "grader" / "worker.py"
    assert _last_mount_over(args, staged)[0] == "--ro-bind"
    # the checkout is not in the view: nothing mounts it, or (a checkout under /tmp) only the
    # worker's empty tmpfs covers it
    flag, what = _last_mount_over(args, PACKAGE_DIR / "worker.py")
    assert (flag, what) == ("none", "") or (flag == "--tmpfs" and what == "/tmp"), (flag, what)


def test_bwrap_args_never_hide_files_of_the_interpreter(tmp_path):
    import numpy
    inside = [Path(sys.executable).resolve(), Path(numpy.__file__).resolve().parent]
    args = sandbox.bwrap_args(tmp_path, inside, {})
    for path in inside:
        flag, what = _last_mount_over(args, path)
        assert flag == "--ro-bind" and what != "/dev/null", (path, flag, what)


@needs_bwrap
def test_bwrap_hides_for_real_and_the_interpreter_still_runs(tmp_path):
    student = tmp_path / "student"
    student.mkdir()
    (student / "mine.py").write_text("x = 1\n")
    solution = PROJECT_ROOT / "solutions" / "neuron.py"
    args = sandbox.bwrap_args(student, [SUITES_DIR, solution], {"MARK": "inside"})
    probe = (
        "import os, sys, pathlib\n"
        "try:\n"
        f"    print(sorted(os.listdir({str(SUITES_DIR)!r})))\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
        "try:\n"
        f"    print(len(pathlib.Path({str(solution)!r}).read_bytes()))\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
        "print(os.environ.get('MARK'), os.environ.get('HOME'))\n"
        f"print(sorted(os.listdir({sandbox.SANDBOX_STUDENT_ROOT!r})), os.getcwd())\n"
        "import grader.wire\n"
        "print('ok')\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run(args + [sys.executable, "-c", probe], capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # the checkout is not in the worker's view at all (an allow-list, not masks)
    assert lines[0] == "FileNotFoundError"
    assert lines[1] == "FileNotFoundError"
    # the submission is mounted, but the worker starts in / so it is not on sys.path yet
    assert lines[2:] == ["inside None", "['mine.py'] /", "ok"]
    assert solution.stat().st_size > 0 and any(SUITES_DIR.iterdir())   # only hidden inside
