"""Warm workers: spares started ahead of need that have imported their libraries but never
run student code (DESIGN.md: "warm processes may be reused as templates only if no student code
ever ran in them").

A spare is an ordinary worker (grader.proxy.WorkerProcess, started by grader.sandbox exactly as
for a submission: bubblewrap, its own uid, its own cgroup, private /tmp and home, rlimits and the
system-call filter) whose copy of the submission is still an *empty* folder, owned by the
grading user, that the worker can enter but not write. The worker starts, drops to its uid,
imports numpy (and Keras/TensorFlow for the TensorFlow exercises) and then waits for its first
request. When an exercise needs a worker, :meth:`Spare.claim`:

1. waits until the worker answers a request that runs no student code (``release`` of no
   handles): its imports are finished, so no file of the submission can take part in them;
2. copies the submission into the empty folder (grader.submission.copy_for_worker, the same
   copy as without the pool) and hands it to the worker's uid (prepare_student_dir);
3. returns the worker; the proxy then sends ``import`` as for any fresh worker.

So a spare is used once, by one exercise of one submission, and is then stopped like any other
worker; nothing is ever reused after student code ran. A spare that is never claimed is stopped
by :meth:`WorkerPool.close`. The pool only moves *when* a worker starts (earlier, while the
grader does something else); what the worker is, sees and may do does not change. The pool is
on by default and turned off with ``--no-pool`` or ``GRADER_POOL=0``; docs/SECURITY.md and
docs/BENCHMARKS.md ("Warm workers") say why this is safe and what it saves.

Why not fork from a template with TensorFlow imported (a zygote)? Each worker's uid, mount
namespace (its own /tmp, home and submission bind), network/IPC/PID namespaces, cgroup and
system-call filter are set up by bubblewrap before the worker's interpreter starts; a zygote
would have to rebuild all of that itself after fork, with CAP_SYS_ADMIN kept in the template,
and its children would share the zygote's namespaces unless each unshared them again. The
memory of pages shared with the template would also be charged to the template's cgroup, not
the worker's. docs/BENCHMARKS.md records what TensorFlow does after fork.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

ENV = "GRADER_POOL"
READY_TIMEOUT = 180.0      # a spare still importing after this is stopped, a fresh one started


def enabled(flag: bool | None = None) -> bool:
    """Whether warm workers are used: ``flag`` (``--no-pool`` gives False) wins, else the
    environment (``GRADER_POOL=0`` turns the pool off), else on."""
    if flag is not None:
        return flag
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "off", "no", "false")


def preload_for(exercise: str) -> tuple[str, ...]:
    """What a worker of ``exercise`` imports before student code: Keras for the TensorFlow
    exercises (the same rule as grader.pytest_plugin)."""
    from grader import assignment

    return ("keras",) if assignment.get(exercise).uses_tensorflow else ()


@dataclass
class Spare:
    """One started worker on an empty copy folder, never given student code."""

    worker: object                 # grader.proxy.WorkerProcess
    copy: Path
    uid: int | None
    mode_name: str
    limits: object                 # grader.sandbox.Limits
    preload: tuple[str, ...]
    hidden: frozenset[Path]
    started: float = field(default_factory=time.monotonic)

    def matches(self, mode, limits, preload: tuple[str, ...], hidden: Iterable[Path]) -> bool:
        """Whether this spare is the worker a fresh start with these settings would be."""
        if (self.mode_name, self.limits, tuple(self.preload)) != (mode.name, limits,
                                                                  tuple(preload)):
            return False
        extra = [Path(p) for p in hidden if Path(p) not in self.hidden]
        try:
            return not extra or _none_shown(mode, extra)
        except Exception:  # noqa: BLE001 - unsure: a fresh worker is always right
            return False

    def ready(self, timeout: float = READY_TIMEOUT) -> bool:
        """Wait until the worker has finished its imports and serves requests.

        The request (``release`` of no handles) runs no student code — there is none in the
        worker yet — and its reply is read under the wire's limits like any other."""
        from grader import wire

        if not self.worker.alive:
            return False
        header = {"op": "release", "target": None, "seq": 0,
                  "args": wire.encode([[]], [])}
        try:
            reply, _ = self.worker.exchange(header, [], wire.Limit.within(timeout, 1 << 20))
        except (socket.timeout, EOFError, wire.WireError, OSError):
            return False
        return reply.get("ok") is True and reply.get("re") == 0

    def claim(self, submission: Path) -> tuple[object, Path] | None:
        """The worker with ``submission`` copied into its folder, or None (the spare is then
        stopped and the caller starts a fresh worker)."""
        from grader.sandbox import prepare_student_dir
        from grader.submission import copy_for_worker

        try:
            if not self.ready():
                raise RuntimeError("spare not ready")
            copy_for_worker(submission, self.copy)
            prepare_student_dir(self.copy, self.uid)
        except Exception:  # noqa: BLE001 - any trouble: a fresh worker instead
            self.discard()
            return None
        return self.worker, self.copy

    def discard(self) -> None:
        self.worker.close()
        shutil.rmtree(self.copy, ignore_errors=True)


SPARE_PREFIX = "grader-spare-"
_SWEPT = False


def _sweep_leftovers(min_age: float = 600.0) -> None:
    """Remove the spare folders of grading processes that died without cleaning up (killed):
    their owner's pid, in the name, is gone and they are older than ``min_age`` seconds (a
    young one may belong to a grader in another PID namespace). Once per process."""
    global _SWEPT
    if _SWEPT:
        return
    _SWEPT = True
    try:
        entries = list(Path(tempfile.gettempdir()).glob(f"{SPARE_PREFIX}*-*"))
    except OSError:
        return
    for entry in entries:
        try:
            owner = int(entry.name[len(SPARE_PREFIX):].split("-", 1)[0])
            if owner == os.getpid() or Path(f"/proc/{owner}").exists():
                continue
            st = entry.lstat()
            if time.time() - st.st_mtime < min_age or not entry.is_dir() or entry.is_symlink():
                continue
        except (ValueError, OSError):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def _none_shown(mode, paths: list[Path]) -> bool:
    """True when no path of ``paths`` is visible to a worker anyway (then hiding it changes
    nothing in the worker's command line). Reduced mode hides nothing (its notes say so)."""
    if mode.name != "bubblewrap":
        return True
    from grader import worker_view

    view = worker_view.View.from_ops(worker_view.system_ops())
    return not any((p.exists() or p.is_symlink()) and view.shows(p) for p in paths)


class WorkerPool:
    """Spare workers of one grading process, keyed by everything their start depends on."""

    def __init__(self) -> None:
        self._spares: list[Spare] = []
        self._lock = threading.Lock()
        self._closed = False
        self.started = 0        # spares started
        self.claimed = 0        # spares handed to an exercise
        self.missed = 0         # workers that had to be started fresh

    def start(self, mode, limits, hidden: Iterable[Path], preload: tuple[str, ...],
              count: int = 1) -> None:
        """Start ``count`` spares now (each returns as soon as its process is launched; the
        imports run in the worker, in parallel with whatever this process does next)."""
        from grader.proxy import WorkerProcess
        from grader.sandbox import allocate_uid, prepare_student_dir

        hidden = [Path(p) for p in hidden]
        for _ in range(count):
            if self._closed:
                return
            _sweep_leftovers()
            copy = Path(tempfile.mkdtemp(prefix=f"{SPARE_PREFIX}{os.getpid()}-"))
            prepare_student_dir(copy, None)   # empty, the grading user's: enterable, read-only
            uid = allocate_uid(mode)
            try:
                worker = WorkerProcess(mode, copy, limits, hidden, tuple(preload), uid)
            except BaseException:
                shutil.rmtree(copy, ignore_errors=True)
                raise
            spare = Spare(worker, copy, uid, mode.name, limits, tuple(preload),
                          frozenset(hidden))
            with self._lock:
                if self._closed:
                    spare.discard()
                    return
                self._spares.append(spare)
                self.started += 1

    def start_for(self, exercises: Iterable[str], mode, limits, hidden: Iterable[Path]) -> None:
        """One spare per exercise, TensorFlow ones first (their imports take longest)."""
        names = sorted(exercises, key=lambda n: not preload_for(n))
        hidden = list(hidden)
        for name in names:
            self.start(mode, limits, hidden, preload_for(name))

    def reserve(self, mode, limits, hidden: Iterable[Path],
                preload: tuple[str, ...]) -> Spare | None:
        """Take a matching spare out of the pool (not yet claimed: see Spare.claim)."""
        hidden = list(hidden)
        dead: list[Spare] = []
        found = None
        with self._lock:
            for spare in list(self._spares):
                if not spare.worker.alive:
                    self._spares.remove(spare)
                    dead.append(spare)
                elif spare.matches(mode, limits, preload, hidden):
                    self._spares.remove(spare)
                    found = spare
                    break
        for spare in dead:
            spare.discard()
        return found

    def give_back(self, spare: Spare) -> None:
        """A reserved spare that was never claimed (no file copied, no request but the ready
        probe) goes back to the pool."""
        with self._lock:
            if not self._closed and spare.worker.alive and not any(spare.copy.iterdir()):
                self._spares.append(spare)
                return
        spare.discard()

    def claim(self, mode, limits, hidden: Iterable[Path], preload: tuple[str, ...],
              submission: Path, spare: Spare | None = None) -> tuple[object, Path] | None:
        """A warm worker holding ``submission`` (``spare`` if given, else any matching one),
        or None when the caller must start a fresh worker."""
        spare = spare or self.reserve(mode, limits, hidden, preload)
        got = spare.claim(submission) if spare is not None else None
        with self._lock:
            if got is None:
                self.missed += 1
            else:
                self.claimed += 1
        return got

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._spares)

    def close(self) -> None:
        """Stop every spare never claimed."""
        with self._lock:
            self._closed = True
            spares, self._spares = self._spares, []
        for spare in spares:
            spare.discard()


# ---- the pool of this process ------------------------------------------------------------------
_ACTIVE: WorkerPool | None = None


def active() -> WorkerPool | None:
    """The pool the proxy takes workers from in this process (None: every worker is fresh)."""
    return _ACTIVE


@contextlib.contextmanager
def installed(pool: WorkerPool | None) -> Iterator[WorkerPool | None]:
    """Make ``pool`` this process's pool for the block; its unclaimed spares are stopped at
    the end."""
    global _ACTIVE
    before, _ACTIVE = _ACTIVE, pool
    try:
        yield pool
    finally:
        _ACTIVE = before
        if pool is not None:
            pool.close()


def suite_imports(exercises: Iterable[str]) -> list[str]:
    """The modules the suites of ``exercises`` import at their top level (scikit-learn's
    metrics, the grader's checks, ...): what makes a first pytest collection slow."""
    import ast

    from grader import assignment

    found: dict[str, None] = {}
    for name in exercises:
        for path in sorted((assignment.SUITES_DIR / name).rglob("*.py")):
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (OSError, SyntaxError, ValueError):
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    found.update((alias.name, None) for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found[node.module] = None
    return list(found)


def warm_grader(exercises: Iterable[str]) -> dict[str, float]:
    """The grading process's own fixed costs, paid ahead (a standby grading process of
    ``grader batch`` does this before its turn): the grader's modules, the modules the suites
    import (so the real session's collection is only the suites' own code: a second
    collection costs ~0.3 s, see docs/BENCHMARKS.md, so the suites are not collected twice),
    the datasets and the report's plotting stack. Returns the seconds each took."""
    import importlib

    took: dict[str, float] = {}
    t0 = time.perf_counter()
    import pytest  # noqa: F401 - the session's own import

    from grader import assignment, datasets
    from grader import grading  # noqa: F401 - its imports (the plugin, results, reports)
    took["imports"] = time.perf_counter() - t0

    names = list(exercises)
    t0 = time.perf_counter()
    for module in suite_imports(names):
        with contextlib.suppress(Exception):   # the real collection reports any problem
            importlib.import_module(module)
    took["suite_imports"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for name in dict.fromkeys(assignment.get(n).dataset for n in names):
        if name:
            datasets.warm(name)
    took["datasets"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with contextlib.suppress(Exception):
        import grader.plots  # noqa: F401 - matplotlib, for the report's figures
        import grader.report_html  # noqa: F401 - Jinja2 templates
    took["report"] = time.perf_counter() - t0
    return took


def collection_seconds(exercises: Iterable[str]) -> float:
    """One pytest collection of the suites of ``exercises`` in this process (a benchmark)."""
    import contextlib as _ctx
    import io

    import pytest

    from grader import assignment

    args = [str(assignment.SUITES_DIR / n) for n in exercises] + [
        "-c", str(assignment.SUITES_DIR / "pytest.ini"), "--rootdir", str(assignment.SUITES_DIR),
        "--collect-only", "-q", "--no-header", "-p", "no:cacheprovider", "--assert=plain"]
    t0 = time.perf_counter()
    with _ctx.redirect_stdout(io.StringIO()), _ctx.redirect_stderr(io.StringIO()):
        with _ctx.suppress(Exception):
            pytest.main(args)
    return time.perf_counter() - t0



# ---- the command line ----------------------------------------------------------------------------
@contextlib.contextmanager
def for_grade(args, limits, hide: Iterable[Path]) -> Iterator[WorkerPool | None]:
    """The pool of one ``grader grade``: the standby's own (see :func:`standby`), else a new
    one whose spares start now — before the submission is opened, the suites collected and
    the datasets read, so TensorFlow's import overlaps all of that — unless turned off."""
    if active() is not None or not enabled(getattr(args, "pool", None)):
        yield active()
        return
    from grader import assignment
    from grader.sandbox import Limits, default_hidden_paths, detect_mode

    mode = detect_mode(args.sandbox)
    pool = WorkerPool()
    hidden = default_hidden_paths() + [Path(p).resolve() for p in hide]
    names = _to_grade(Path(args.submission), args.exercise or list(assignment.EXERCISE_NAMES))
    with installed(pool):
        try:
            pool.start_for(names, mode, limits or Limits(), hidden)
        except Exception:  # noqa: BLE001 - the proxy starts fresh workers instead
            pool.close()
        yield pool


def _to_grade(submission: Path, names: list[str]) -> list[str]:
    """The exercises of a submission folder that will start a worker (a file found, not the
    untouched stub): a spare for any other would be started for nothing. A .zip is not
    opened twice: every exercise gets one."""
    if not submission.is_dir():
        return names
    from grader.locate import locate

    try:
        found = [locate(submission, name) for name in names]
    except Exception:  # noqa: BLE001 - grading reports it; spares for all meanwhile
        return names
    return [name for name, loc in zip(names, found) if loc.found and loc.attempted]


def standby(args, grade_command) -> int:
    """``grader grade --standby``: what ``grader batch`` keeps ready for its next submission.

    Two lines on stdin, JSON. The first, ``{"submission": PATH}``, names the submission it
    will grade (sent ahead, while the batch still grades the one before): the standby starts
    one warm worker for each exercise the submission answers (grader.pool) and pays the
    grading process's fixed costs (the grader's imports, one collection of the suites, the
    datasets, the report's plotting stack). The second, ``{"out": DIR, "log": FILE}``, says
    go: stdout and stderr go to FILE and the grading is exactly ``grader grade PATH --out DIR``
    with the other options of this command line. End of input exits 0 without grading."""
    import json
    import select
    import sys

    from grader import assignment
    from grader.sandbox import Limits, default_hidden_paths, detect_mode

    import signal

    names = args.exercise or list(assignment.EXERCISE_NAMES)
    pool = WorkerPool() if enabled(getattr(args, "pool", None)) else None
    stdin = sys.stdin.buffer
    # the batch ends a standby it no longer needs with SIGTERM: stop its spares on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    def prepare(line: bytes) -> bool:
        if not line.strip():
            return False
        args.submission = json.loads(line)["submission"]
        if pool is not None:
            limits = Limits(threads=args.threads) if args.threads else Limits()
            hidden = default_hidden_paths() + [Path(p).resolve() for p in args.hide or ()]
            with contextlib.suppress(Exception):   # the proxy starts fresh workers instead
                pool.start_for(_to_grade(Path(args.submission), names),
                               detect_mode(args.sandbox), limits, hidden)
        return True

    with installed(pool):
        ready = False
        if select.select([stdin], [], [], 0)[0]:     # told already: workers first
            ready = prepare(stdin.readline())
            if not ready:
                return 0
        warm_grader(names)
        if not ready and not prepare(stdin.readline()):
            return 0
        line = stdin.readline()
        if not line.strip():
            return 0
        job = json.loads(line)
        fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        args.out, args.standby = job["out"], False
        signal.signal(signal.SIGTERM, signal.SIG_DFL)   # grading: as the plain command
        return grade_command(args)


# ---- grader batch: grading processes started ahead -------------------------------------------
class StandbyGraders:
    """``grader grade --standby`` processes that ``grader batch`` keeps ready (see
    :func:`standby`): while a submission is graded, the process for a later one is told which
    submission it will grade, starts the warm workers of the exercises it answers, imports the
    grader, collects the suites and reads the datasets; it starts grading when its turn comes.
    A standby process grades exactly one submission, like the plain command. At most
    ``ahead`` wait at a time, each for a submission no process has taken yet.

    ``popen(command)`` starts one (stdin a pipe, stdout discarded, its own session) and
    registers it with the batch so that a stop kills it; ``forget(proc)`` unregisters it.
    """

    def __init__(self, popen, forget, ahead: int = 1) -> None:
        self._popen, self._forget, self.ahead = popen, forget, max(1, ahead)
        self._idle: dict[str, tuple[tuple[str, ...], object]] = {}   # id -> its standby
        self._queue: list[tuple[str, str | None]] = []   # (id, local path) not yet taken
        self._lock = threading.Lock()

    def expect(self, queue: list[tuple[str, str | None]]) -> None:
        """The submissions about to be graded, in order: (id, path, or None when the path
        is known only at its turn, e.g. a git clone)."""
        with self._lock:
            self._queue = list(queue)

    @staticmethod
    def command(cmd: list[str], target: str, folder: str) -> tuple[str, ...]:
        """The plain grading command without its submission and --out: what a standby runs."""
        rest = list(cmd)
        rest[rest.index(target)] = "-"     # given on stdin later
        at = rest.index("--out")
        del rest[at:at + 2]
        return (*rest, "--standby")

    @staticmethod
    def _send(proc, **message) -> bool:
        import json

        try:
            proc.stdin.write((json.dumps(message) + "\n").encode())
            proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False     # it died while waiting: its exit status says so

    def take(self, command: tuple[str, ...], key: str, target: str):
        """The standby for submission ``key`` (warm when one was prepared for it), told to
        grade ``target``; and the next ones started ahead for submissions still waiting."""
        stale = []
        # all under the lock (a start is a fork and exec, milliseconds): two jobs taking at
        # once must never both start a standby for the same later submission
        with self._lock:
            self._queue = [entry for entry in self._queue if entry[0] != key]
            found = self._idle.pop(key, None)
            if found is not None and (found[0] != command or found[1].poll() is not None):
                stale.append(found[1])
                found = None
            if found is None:
                proc = self._popen(list(command))
                self._send(proc, submission=target)
            else:
                proc = found[1]
            wanted = [entry for entry in self._queue if entry[0] not in self._idle]
            room = max(0, self.ahead - len(self._idle))
            for sub_id, path in [entry for entry in wanted if entry[1] is not None][:room]:
                nxt = self._popen(list(command))
                self._send(nxt, submission=path)
                self._idle[sub_id] = (command, nxt)
        for old in stale:
            self._kill(old)
        return proc

    def go(self, proc, out: str, log: str) -> None:
        self._send(proc, out=out, log=log)
        with contextlib.suppress(OSError):
            proc.stdin.close()

    def _kill(self, proc) -> None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            proc.terminate()        # the standby stops its spares and removes their folders
        try:
            proc.wait(20)
        except Exception:  # noqa: BLE001 - killed below
            pass
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, 9)
            proc.wait()
        self._forget(proc)

    def close(self) -> None:
        """End the standbys never used (end of input: they exit without grading)."""
        with self._lock:
            idle, self._idle = list(self._idle.values()), {}
        for _, proc in idle:
            if proc is not None:
                self._kill(proc)


# ---- memory planning (--jobs auto) ----------------------------------------------------------------
# Peak memory of one exercise's worker tree (cgroup peak, result.json's
# sandbox.worker_peak_memory_bytes) grading the reference solutions, and of the grading process
# itself (its largest RSS), measured on this project's machine: docs/BENCHMARKS.md, "Warm
# workers". A warm spare holds about its preload's share until claimed.
WORKER_PEAK_MIB = {"neuron": 18, "backprop": 18, "perceptron": 18, "optimizers": 18,
                   "circles": 107, "mnist_ann": 380, "attrition": 325, "cnn": 393, "lstm": 336}
SPARE_MIB = {"keras": 290, "": 18}       # a spare that has only imported its preload
GRADER_MIB = 250                          # the grading process (pytest, suites, data, report)
HEADROOM = 0.8                            # of the memory available now


def grading_mib(exercises: Iterable[str] | None, pooled: bool) -> int:
    """Memory one job of ``grader batch`` needs at most: its grading process and every
    worker alive at once (with the pool all of them, from the start), plus, with the pool,
    the standby process warming up for the next submission."""
    from grader import assignment

    names = list(exercises or assignment.EXERCISE_NAMES)
    workers = [WORKER_PEAK_MIB.get(n, 400) for n in names]
    if pooled:
        running = GRADER_MIB + sum(workers)
        standby = GRADER_MIB + sum(SPARE_MIB["keras" if preload_for(n) else ""] for n in names)
        return running + standby
    # without the pool only the TensorFlow workers start ahead; the others run one at a time
    tf = [WORKER_PEAK_MIB.get(n, 400) for n in names if preload_for(n)]
    other = [WORKER_PEAK_MIB.get(n, 400) for n in names if not preload_for(n)]
    return GRADER_MIB + sum(tf) + max(other, default=0)


def available_mib() -> int:
    """MemAvailable of /proc/meminfo (what can be used without swapping), in MiB."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) >> 10
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")) >> 20


def plan_jobs(exercises: Iterable[str] | None, cores: int, pooled: bool,
              available: int | None = None) -> tuple[int, str]:
    """``--jobs auto``: one job per core, fewer when memory would not hold them. Returns the
    count and the reason, said to the user."""
    available = available_mib() if available is None else available
    need = grading_mib(exercises, pooled)
    by_memory = max(1, int(available * HEADROOM) // need)
    jobs = max(1, min(cores, by_memory))
    limit = "the cores" if cores <= by_memory else "memory"
    return jobs, (f"{cores} core(s), {available / 1024:.1f} GiB available, about "
                  f"{need / 1024:.1f} GiB per job{' with the warm pool' if pooled else ''}: "
                  f"limited by {limit}")
