"""Limits that hold for the whole worker, and bounds on the grader's own work.

* Memory: a worker that forks children, or fills memfds, /dev/shm, its /tmp or System V shared
  memory, stays under ``Limits.memory_bytes`` *as a tree* (the cgroup's recorded peak), the
  grading finishes and the attack costs the student points.
* System calls: in the worker, namespaces, io_uring, userfaultfd, keyrings, ptrace, vsock and
  mount fail with EPERM, in both sandbox modes; numpy, scikit-learn and TensorFlow still work.
* The grader's own work on student data: huge figures are thinned or refused quickly; huge
  notebooks and zip bombs are refused with the file named.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from grader import assignment, cgroups, plots, seccomp
from grader.grading import grade
from grader.proxy import StudentModule
from grader.sandbox import Limits, detect_mode
from grader.submission import SubmissionError, extract_zip, notebook_problem

HAVE_BWRAP = shutil.which("bwrap") is not None
MODES = [pytest.param("bubblewrap", marks=pytest.mark.skipif(
             not HAVE_BWRAP, reason="bubblewrap (bwrap) is not installed")),
         pytest.param("reduced")]
SOLUTION = assignment.PROJECT_ROOT / "solutions" / "neuron.py"
LIMIT = 512 << 20           # small, so an attack reaches it quickly
BOUND = 90.0                # seconds; grading neuron normally takes 1-4 s

needs_cgroup = pytest.mark.skipif(not cgroups.support().available,
                                  reason=f"no cgroup here: {cgroups.support().reason}")
needs_filter = pytest.mark.skipif(not seccomp.available()[0],
                                  reason=f"no system-call filter: {seccomp.available()[1]}")

# Each attack replaces relu(); it runs once per worker process, then relu answers wrongly, so the
# relu tests are charged whether the attack is stopped by a kill or merely contained.
ATTACK_HEAD = '''

_ATTACKED = []


def relu(z):
    import numpy as np
    if not _ATTACKED:
        _ATTACKED.append(1)
        print("hostile:limits attacking", flush=True)
        _attack()
    return np.full(np.shape(z), 7.0)
'''

ATTACKS = {
    # 8 children, each holding 96 MiB of written pages at the same time: 768 MiB in all
    "fork_children": '''
def _attack():
    import os, time
    kids = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            try:
                block = b"\\x01" * (96 << 20)
                time.sleep(1.5)
            finally:
                os._exit(0)
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
''',
    # memfds, /dev/shm, and files in the worker's home (its tmpfs /tmp in bubblewrap):
    # 4 x 3 x 64 MiB = 768 MiB that no process's address space ever holds
    "shared_files": '''
def _attack():
    import os
    chunk = b"\\x02" * (48 << 20)          # under the 64 MiB file-size limit
    for i in range(4):
        fd = os.memfd_create(f"hoard{i}")
        _KEEP.append(fd)
        os.write(fd, chunk)
        for folder in ("/dev/shm", os.environ["HOME"]):
            with open(os.path.join(folder, f"hoard-{os.getpid()}-{i}"), "wb") as fh:
                fh.write(chunk)


_KEEP = []
''',
    # System V segments of 128 MiB, written and detached (they outlive every mapping): 768 MiB
    "sysv_shm": '''
def _attack():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
    libc.shmdt.argtypes = (ctypes.c_void_p,)
    size = 128 << 20
    for _ in range(6):
        sid = libc.shmget(0, ctypes.c_size_t(size), 0o1600)   # IPC_PRIVATE, IPC_CREAT | 0600
        if sid < 0:
            raise OSError(ctypes.get_errno(), "shmget")
        addr = libc.shmat(sid, None, 0)
        ctypes.memset(addr, 3, size)
        libc.shmdt(ctypes.c_void_p(addr))
''',
}


def attack_submission(tmp_path: Path, attack: str) -> Path:
    sub = tmp_path / attack
    sub.mkdir()
    (sub / "neuron.py").write_text(SOLUTION.read_text() + ATTACK_HEAD + ATTACKS[attack])
    return sub


def own_cgroups() -> list[Path]:
    """Worker cgroups this test process made and has not removed."""
    found = cgroups.support()
    parents = [p for p in (found.memory_parent, found.pids_parent) if p is not None]
    return [c for p in parents for c in p.glob(f"{cgroups.PREFIX}-{os.getpid()}-*")]


@needs_cgroup
@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("mode", MODES)
def test_memory_limit_holds_for_the_whole_worker_tree(tmp_path, mode, attack):
    t0 = time.perf_counter()
    result = grade(attack_submission(tmp_path, attack), exercises=["neuron"], sandbox=mode,
                   limits=Limits(memory_bytes=LIMIT))
    elapsed = time.perf_counter() - t0
    exercise = result.exercises[0]
    assert "hostile:limits attacking" in exercise.output, exercise.output[-2000:]
    peak = result.sandbox["worker_peak_memory_bytes"]["neuron"]
    print(f"{mode} {attack}: worker tree peak {peak / (1 << 20):.0f} MiB, "
          f"limit {LIMIT >> 20} MiB, {elapsed:.1f} s")
    assert peak <= LIMIT, f"the worker tree held {peak >> 20} MiB under a {LIMIT >> 20} MiB limit"
    # the attack asked for 768 MiB on top of the interpreter: it was the limit that stopped it
    assert peak >= 0.75 * LIMIT, f"peak {peak >> 20} MiB: the attack never reached the limit"
    charged = next(t for t in exercise.tests if t.id == "neuron::test_relu_values")
    assert charged.points == 0 and charged.outcome != "passed", charged
    assert result.percent < 100
    assert any(t.outcome == "passed" for t in exercise.tests if "sigmoid" in t.id)
    if attack == "sysv_shm":  # nothing reclaimable: the kernel stops the worker, and says so
        assert any("more than its memory limit (512 MiB" in t.message for t in exercise.tests)
    assert elapsed < BOUND
    assert any("worker peak memory" in n for n in result.sandbox["notes"])
    assert not own_cgroups(), "a worker cgroup was left behind"


@pytest.fixture
def no_cgroups(monkeypatch):
    monkeypatch.setenv("GRADER_CGROUPS", "off")
    cgroups.support.cache_clear()
    yield
    cgroups.support.cache_clear()


def test_without_a_cgroup_grading_works_and_the_notes_say_what_is_missing(tmp_path, no_cgroups):
    sub = tmp_path / "plain"
    sub.mkdir()
    shutil.copy(SOLUTION, sub / "neuron.py")
    result = grade(sub, exercises=["neuron"], sandbox="reduced", limits=Limits(memory_bytes=LIMIT))
    assert all(t.outcome == "passed" for t in result.exercises[0].tests)
    notes = " ".join(result.sandbox["notes"])
    assert "no cgroup (cgroups were turned off (GRADER_CGROUPS=off))" in notes
    assert "memory is limited per process only (address space 512 MiB)" in notes
    assert "worker_peak_memory_bytes" not in result.sandbox
    assert not own_cgroups()


# ------------------------------------------------------------------------------------------------
# system-call filter
# ------------------------------------------------------------------------------------------------
PROBE = '''
import ctypes, errno, os, socket

_libc = ctypes.CDLL(None, use_errno=True)
_NR = {"x86_64": dict(io_uring_setup=425, userfaultfd=323, keyctl=250, ptrace=101, mount=165),
       "aarch64": dict(io_uring_setup=425, userfaultfd=282, keyctl=219, ptrace=117, mount=40)}


def _result(ret):
    return "ok" if ret >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")


def _syscall(nr, *args):
    return _result(_libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args]))


def probe():
    nr = _NR[os.uname().machine]
    out = {"unshare(CLONE_NEWUSER)": _result(_libc.unshare(0x10000000)),
           "io_uring_setup": _syscall(nr["io_uring_setup"], 1, 0),
           "userfaultfd": _syscall(nr["userfaultfd"], 0),
           "keyctl": _syscall(nr["keyctl"], 0, -3),        # KEYCTL_GET_KEYRING_ID, session
           # harmless even where allowed: registers of a process nobody traces (ESRCH), a
           # mount on a path that does not exist (ENOENT)
           "ptrace": _syscall(nr["ptrace"], 12, os.getpid(), 0, 0),   # PTRACE_GETREGS
           "mount": _result(_libc.mount(b"none", b"/no-such-dir-for-grader-probe", b"tmpfs",
                                        0, None))}
    try:
        socket.socket(40, socket.SOCK_STREAM).close()       # AF_VSOCK
        out["socket(AF_VSOCK)"] = "ok"
    except OSError as exc:
        out["socket(AF_VSOCK)"] = errno.errorcode.get(exc.errno, "?")
    try:
        import threading
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        out["threads and fork"] = "ok"
    except OSError as exc:
        out["threads and fork"] = errno.errorcode.get(exc.errno, "?")
    return out


def libraries():
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    x = np.random.default_rng(0).normal(size=(60, 3))
    y = (x[:, 0] > 0).astype(int)
    return float(LogisticRegression().fit(x, y).score(x, y))


def tensorflow_runs():
    import numpy as np
    import keras
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.ones((8, 3), dtype="float32")
    model.fit(x, np.zeros(8), epochs=1, verbose=0)
    return model.predict(x, verbose=0).shape
'''

DENIED = ("unshare(CLONE_NEWUSER)", "io_uring_setup", "userfaultfd", "keyctl", "ptrace",
          "socket(AF_VSOCK)", "mount")


def probe_module(tmp_path: Path, mode: str, limits: Limits | None = None) -> StudentModule:
    (tmp_path / "probe.py").write_text(PROBE)
    return StudentModule("probe", tmp_path / "probe.py", tmp_path, detect_mode(mode),
                         limits or Limits(), call_timeout=60.0, budget=180.0)


@needs_filter
@pytest.mark.parametrize("mode", MODES)
def test_dangerous_system_calls_fail_with_eperm_in_the_worker(tmp_path, mode):
    module = probe_module(tmp_path, mode)
    try:
        seen = module.probe()
        score = module.libraries()
    finally:
        module.close()
    assert {name: seen[name] for name in DENIED} == {name: "EPERM" for name in DENIED}, seen
    assert seen["threads and fork"] == "ok"
    assert score > 0.9                     # numpy + scikit-learn work under the filter


def test_without_the_filter_the_probe_sees_the_kernel(tmp_path):
    """The probe is real: with the filter off, the same calls get past it (namespaces and
    vsock at least, which this kernel offers to root)."""
    module = probe_module(tmp_path, "reduced", Limits(syscall_filter=False))
    try:
        seen = module.probe()
    finally:
        module.close()
    assert any(seen[name] != "EPERM" for name in DENIED), seen


@needs_filter
@pytest.mark.slow
def test_tensorflow_trains_under_the_filter(tmp_path):
    module = probe_module(tmp_path, "bubblewrap" if HAVE_BWRAP else "reduced")
    try:
        shape = module.tensorflow_runs()
    finally:
        module.close()
    assert tuple(shape) == (8, 2)


@needs_filter
def test_filter_refuses_other_abis():
    """libseccomp checks the architecture; an x32 call is refused instead of slipping past."""
    import subprocess
    import sys

    if os.uname().machine != "x86_64":
        pytest.skip("x32 exists on x86_64 only")
    code = ("import ctypes, errno; libc = ctypes.CDLL(None, use_errno=True); "
            "r = libc.syscall(ctypes.c_long(0x40000000 | 39)); "   # x32 getpid
            "print(errno.errorcode.get(ctypes.get_errno()) if r < 0 else 'ok')")
    seccomp.prepare()
    out = subprocess.run([sys.executable, "-c", code], preexec_fn=seccomp.install,
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "EPERM", out


def test_sandbox_notes_say_what_holds_the_memory_limit():
    notes = " ".join(detect_mode("reduced").as_dict(Limits(memory_bytes=LIMIT))["notes"])
    if cgroups.support().available:
        assert "whole process tree" in notes and "512 MiB" in notes
    else:
        assert "memory is limited per process only" in notes and "no cgroup" in notes
    assert ("system-call filter denies" in notes) == seccomp.available()[0]


# ------------------------------------------------------------------------------------------------
# the grader's own work on student data
# ------------------------------------------------------------------------------------------------
FIGURE_BOUND = 15.0   # seconds for any one figure, however large its data


def timed_render(kind: str, data) -> tuple[plots.RenderedFigure, float]:
    t0 = time.perf_counter()
    figure = plots.render_figure(kind, data)
    return figure, time.perf_counter() - t0


def test_a_400000_point_learning_curve_is_thinned_and_drawn_quickly():
    n = 400_000
    data = {"series": {"loss": [1.0 / (i + 1) for i in range(n)],
                       "val_loss": [1.2 / (i + 1) for i in range(n)]}}
    figure, seconds = timed_render("learning_curves", data)
    assert figure.svg is not None, figure.note
    assert seconds < FIGURE_BOUND
    assert len(figure.svg) < 2_000_000      # thinned: not 800,000 points of path data


def test_the_largest_figures_the_caps_allow_still_draw_quickly():
    """Worst cases just under the caps: the thinning, not luck, bounds the drawing time."""
    per_series = plots.MAX_INPUT_VALUES // plots.MAX_SERIES
    curves = {"series": {f"{'val_' if i % 2 else ''}m{i // 2}": [float(j % 97) for j in
                                                                range(per_series)]
                         for i in range(plots.MAX_SERIES)}}
    n = plots.MAX_CLASSES
    worst = [("learning_curves", curves),
             ("confusion_matrix", {"matrix": [[float(i * j) for j in range(n)]
                                              for i in range(n)]}),
             ("decision_boundary", {"x": list(range(1400)), "y": list(range(1400)),
                                    "Z": [[(i * j) % 7 for j in range(1400)]
                                          for i in range(1400)]})]
    for kind, data in worst:
        figure, seconds = timed_render(kind, data)
        assert figure.svg is not None, (kind, figure.note)
        assert seconds < FIGURE_BOUND, f"{kind} took {seconds:.1f} s"


@pytest.mark.parametrize("kind,data", [
    ("learning_curves", {"series": {f"s{i}": [0.5] * 400_000 for i in range(6)}}),
    ("confusion_matrix", {"matrix": [[1] * 5000 for _ in range(5000)]}),
    ("decision_boundary", {"x": list(range(5000)), "y": list(range(5000)),
                           "Z": [[0] * 5000 for _ in range(5000)]}),
    ("roc_curve", {"fpr": [i / 3e6 for i in range(3_000_000)],
                   "tpr": [i / 3e6 for i in range(3_000_000)]}),
], ids=["curves-6x400000", "confusion-5000x5000", "boundary-5000x5000", "roc-3M-points"])
def test_huge_figures_are_refused_quickly_with_a_reason(kind, data):
    figure, seconds = timed_render(kind, data)
    assert seconds < FIGURE_BOUND, f"{kind} took {seconds:.1f} s"
    assert figure.svg is None
    assert "more than" in figure.note and "could not draw" in figure.note


def test_large_but_reasonable_figures_are_thinned_not_refused():
    side = 1000
    data = {"x": list(range(side)), "y": list(range(side)),
            "Z": [[(i + j) % 3 for j in range(side)] for i in range(side)],
            "points": [[i % side, (i * 7) % side] for i in range(20_000)],
            "labels": [i % 3 for i in range(20_000)]}
    figure, seconds = timed_render("decision_boundary", data)
    assert figure.svg is not None, figure.note
    assert seconds < FIGURE_BOUND


def write_notebook(path: Path, cells: int, source: str = "x = 1") -> Path:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                     "execution_count": None, "source": source} for _ in range(cells)]}
    path.write_text(json.dumps(nb))
    return path


def test_a_notebook_with_too_many_cells_is_refused_with_the_fix(tmp_path):
    from grader import submission

    path = write_notebook(tmp_path / "neuron.ipynb", submission.MAX_NOTEBOOK_CELLS + 1)
    problem = notebook_problem(path)
    assert problem and "neuron.ipynb" in problem and "cells" in problem
    assert notebook_problem(write_notebook(tmp_path / "ok.ipynb", 40)) is None


def test_an_oversized_notebook_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    from grader import submission

    monkeypatch.setattr(submission, "MAX_NOTEBOOK_BYTES", 1 << 20)
    path = write_notebook(tmp_path / "big.ipynb", 3, source="# " + "x" * (2 << 20))
    t0 = time.perf_counter()
    problem = notebook_problem(path)
    assert time.perf_counter() - t0 < 1.0
    assert problem and "big.ipynb" in problem and "MB" in problem and "output" in problem


def test_zip_with_too_many_members_is_refused(tmp_path, monkeypatch):
    from grader import submission

    monkeypatch.setattr(submission, "MAX_MEMBERS", 50)
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(51):
            zf.writestr(f"f{i}.txt", "x")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SubmissionError, match=r"many\.zip.*51 entries.*submission folder"):
        extract_zip(archive, out)
    assert not any(out.iterdir())


def test_zip_bomb_is_refused_before_anything_is_written(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("neuron.py", "x = 1\n")
        zf.writestr("zeros.bin", b"\0" * (16 << 20))      # 16 MB from ~16 KB
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SubmissionError, match=r"bomb\.zip.*zip bomb"):
        extract_zip(archive, out)
    assert not any(out.iterdir())


def test_archive_expanding_past_the_total_is_refused(tmp_path, monkeypatch):
    from grader import submission

    monkeypatch.setattr(submission, "MAX_UNPACKED_BYTES", 1 << 20)
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for i in range(3):
            zf.writestr(f"part{i}.bin", os.urandom(400_000))   # 1.2 MB, each part small
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SubmissionError, match=r"big\.zip.*1 MB"):
        extract_zip(archive, out)
    assert not any(out.iterdir())


def test_oversized_archive_file_is_refused(tmp_path, monkeypatch):
    from grader import submission

    monkeypatch.setattr(submission, "MAX_ARCHIVE_BYTES", 1 << 20)
    archive = tmp_path / "huge.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("data.bin", os.urandom(2 << 20))
    with pytest.raises(SubmissionError, match=r"huge\.zip.*MB"):
        extract_zip(archive, tmp_path / "out")
