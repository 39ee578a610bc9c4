"""The trusted side of the trust boundary: a proxy that makes the worker look like a module.

``student.relu(z)`` sends ``z`` to the worker, runs ``relu`` there and decodes the answer with
the allow-list of :mod:`grader.wire`. Objects that cannot cross come back as
:class:`RemoteHandle` s. Every way the worker can misbehave (raise, exit, hang, lie, flood
output) turns into one of the exceptions below, which the pytest plugin scores as a failed test
with a message for the student; none of them can crash the grader.
"""
from __future__ import annotations

import builtins
import contextlib
import contextvars
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from grader import pool as worker_pool
from grader import wire
from grader.safe_text import clean_text, one_line
from grader.sandbox import (Limits, Mode, allocate_uid, default_hidden_paths, launch_spec,
                            prepare_student_dir)
from grader.submission import copy_for_worker


# --------------------------------------------------------------------------------------------
# what can go wrong, as the student should hear it
# --------------------------------------------------------------------------------------------
class StudentProblem(Exception):
    """Base of everything that is the student's code's fault, never the grader's."""

    def __init__(self, message: str, call: str = ""):
        super().__init__(message)
        self.call = call

    def student_message(self) -> str:
        return str(self)


class StudentError(StudentProblem):
    """Student code raised. Also an instance of the matching builtin (see error_class)."""

    type_name = "Exception"
    student_traceback = ""

    @property
    def not_implemented(self) -> bool:
        return self.type_name == "NotImplementedError"

    def student_message(self) -> str:
        if self.not_implemented:
            return f"Not implemented yet: {self.call or 'this function'} still raises " \
                   f"NotImplementedError."
        where = f"{self.call} raised" if self.call else "Your code raised"
        text = f"{where} {self.type_name}.\n{self.student_traceback}".rstrip()
        hint = _shape_hint(self.student_traceback) if self.type_name == "ValueError" else ""
        return f"{text}\n{hint}" if hint else text


_SHAPE_ERRORS = ("mismatch in its core dimension", "not aligned", "could not be broadcast",
                 "shapes mismatch")


def _shape_hint(text: str) -> str:
    """numpy's shape errors, said as a student's likely mistake."""
    if not any(marker in text for marker in _SHAPE_ERRORS):
        return ""
    return ("Hint: two arrays in this computation have shapes that do not fit together. "
            "Print their .shape: a transposed matrix (W.T), a product in the wrong order "
            "(W @ X instead of X @ W), or a missing axis?")


class ImportFailed(StudentError):
    """The student's file could not be imported; nothing in it can be graded."""

    def student_message(self) -> str:
        return f"Your file could not be loaded: {self.type_name}.\n" \
               f"{self.student_traceback}".rstrip()


class MissingName(StudentProblem, AttributeError):
    """The student's file does not define a name the tests need (also an AttributeError,
    so ``hasattr(student, "relu")`` works)."""


class WorkerCrashed(StudentProblem):
    """The worker process ended (os._exit, a segfault, the memory limit, ...)."""


class CallTimeout(StudentProblem):
    """A call into student code ran past its time limit."""


class BudgetExhausted(StudentProblem):
    """The exercise's whole time budget is spent; later calls are not even started."""


class ProtocolViolation(StudentProblem):
    """The worker sent something outside the allow-list (junk, forged frames)."""


_ERROR_CLASSES: dict[str, type] = {}
_NOT_MIXED = {"StopIteration", "StopAsyncIteration", "GeneratorExit", "KeyboardInterrupt",
              "SystemExit", "BaseException", "Exception"}


def error_class(builtin: str | None) -> type:
    """StudentError mixed with the builtin exception, so ``pytest.raises(ValueError)`` works."""
    if not builtin or builtin in _NOT_MIXED:
        return StudentError
    base = getattr(builtins, builtin, None)
    if not (isinstance(base, type) and issubclass(base, Exception)):
        return StudentError
    base = _constructible_base(base)
    if base is None:
        return StudentError
    builtin = base.__name__
    if builtin not in _ERROR_CLASSES:
        _ERROR_CLASSES[builtin] = type(f"Student{builtin}", (StudentError, base), {})
    return _ERROR_CLASSES[builtin]


def _constructible_base(base: type) -> type | None:
    """``base`` or its nearest builtin ancestor that can be built from one message.

    Some builtins refuse a single argument (UnicodeDecodeError wants five); a student error
    of that kind is raised in the grader as its constructible ancestor (ValueError), which
    ``pytest.raises`` matches the same way.
    """
    for cls in base.__mro__:
        if cls in (Exception, BaseException, object) or cls.__module__ != "builtins":
            continue
        try:
            cls("message")
        except Exception:  # noqa: BLE001 - any constructor that refuses one argument
            continue
        return cls
    return None


# What one request may cost the grader, whatever the worker sends: its reply's bytes (all frames,
# headers and arrays; a student's preprocessed MNIST as float64 is 376 MB) and the parsing of its
# header (grader.wire: at most MAX_HEADER_BYTES, MAX_JSON_NODES values). docs/SECURITY.md gives
# the measured peak.
MAX_REPLY_BYTES = 512 << 20
MAX_RELEASE = 10_000        # dropped handles released per request


# --------------------------------------------------------------------------------------------
# what a call did besides returning: observed, never applied
# --------------------------------------------------------------------------------------------
MAX_OBSERVED_MUTATIONS = 50
MAX_OBSERVED_WARNINGS = 20


@dataclass
class CallObservation:
    """What the student's calls did besides returning, as seen in the worker.

    ``mutated``: paths of arguments a call changed in place (``"z"``, ``"params['W1']"``,
    ``"argument 1"``); the test's own objects are never changed. ``warnings``: (category name,
    message) of each distinct warning raised while the student's code ran, numpy's
    floating-point RuntimeWarnings (``"overflow encountered in exp"``; all of numpy's error
    kinds, underflow included, are switched to "warn" during a call) among them.
    """

    mutated: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


_OBSERVERS: contextvars.ContextVar[tuple[CallObservation, ...]] = \
    contextvars.ContextVar("grader_call_observers", default=())


@contextlib.contextmanager
def observe() -> Iterator[CallObservation]:
    """Collect what every ``call`` into student code made inside the block did::

        with observe() as obs:
            out = student.relu(z)
        if obs.mutated: ...

    Blocks nest: a call is reported to every enclosing ``observe()``.
    """
    obs = CallObservation()
    token = _OBSERVERS.set(_OBSERVERS.get() + (obs,))
    try:
        yield obs
    finally:
        _OBSERVERS.reset(token)


def _record_observation(node: Any) -> None:
    """Hand a reply's ``observed`` part (untrusted) to the active observers, cleaned."""
    observers = _OBSERVERS.get()
    if node is None or not observers:
        return
    if type(node) is not dict:
        raise wire.WireError("malformed call observation")
    mutated, caught = node.get("mutated", []), node.get("warnings", [])
    if type(mutated) is not list or type(caught) is not list:
        raise wire.WireError("malformed call observation")
    paths = [clean_text(p, 200) for p in mutated[:MAX_OBSERVED_MUTATIONS] if type(p) is str]
    found = []
    for item in caught[:MAX_OBSERVED_WARNINGS]:
        if type(item) is list and len(item) == 2 and all(type(x) is str for x in item):
            found.append((clean_text(item[0], 100), clean_text(item[1], 500)))
    for obs in observers:
        obs.mutated.extend(p for p in paths if p not in obs.mutated)
        obs.warnings.extend(w for w in found if w not in obs.warnings)


# --------------------------------------------------------------------------------------------
# output capture
# --------------------------------------------------------------------------------------------
class _OutputSink(threading.Thread):
    """Drains the worker's stdout/stderr, keeping a bounded head and tail for the report."""

    def __init__(self, stream, limit: int):
        super().__init__(daemon=True)
        self.stream, self.limit = stream, limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.start()

    def run(self) -> None:
        half = self.limit // 2
        while True:
            chunk = self.stream.read1(1 << 16) if hasattr(self.stream, "read1") \
                else self.stream.read(1 << 16)
            if not chunk:
                return
            self.total += len(chunk)
            room = half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                del self.tail[:-half]

    def text(self) -> str:
        dropped = self.total - len(self.head) - len(self.tail)
        body = self.head.decode("utf-8", "replace")
        if dropped > 0:
            body += f"\n... [{dropped:,} bytes of output not kept] ...\n"
        return body + self.tail.decode("utf-8", "replace")


# --------------------------------------------------------------------------------------------
# one worker process
# --------------------------------------------------------------------------------------------
class WorkerProcess:
    """A started worker: a process, its socket, and its captured output."""

    def __init__(self, mode: Mode, submission_copy: Path, limits: Limits,
                 hidden: list[Path] | None = None, preload: tuple[str, ...] = (),
                 uid: int | None = None):
        self.mode, self.limits = mode, limits
        self._home = None
        if mode.name != "bubblewrap":
            self._home = Path(tempfile.mkdtemp(prefix="grader-home-"))
            if uid is not None:
                os.chown(self._home, uid, uid)
        parent, child = socket.socketpair()
        spec = launch_spec(mode, submission_copy, child.fileno(), limits, hidden, preload,
                           self._home, uid)
        # reduced mode has no PID namespace: a process that leaves the worker's session is
        # found again by this mark in its environment when the worker is stopped
        self._mark = f"GRADER_WORKER={secrets.token_hex(12)}"
        if spec.env is not None and mode.name != "bubblewrap":
            spec.env["GRADER_WORKER"] = self._mark.split("=", 1)[1]
        self.student_root = spec.student_root
        self.cgroup = spec.cgroup            # the whole tree's memory/process limits, or None
        self.peak_memory: int | None = None  # bytes the tree held at most, known after close()
        t0 = time.perf_counter()
        if os.name == "nt":  # no fork, no pass_fds: the child inherits the socket's handle
            os.set_handle_inheritable(child.fileno(), True)
            platform = {"startupinfo": subprocess.STARTUPINFO(
                lpAttributeList={"handle_list": [child.fileno()]}),
                "creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        else:
            platform = {"preexec_fn": spec.preexec, "pass_fds": spec.pass_fds}
        try:
            self.proc = subprocess.Popen(
                spec.argv, env=spec.env, **platform,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                close_fds=True, cwd="/")
        except BaseException:
            if self.cgroup is not None:
                self.cgroup.remove()
            raise
        finally:
            child.close()
            if self.cgroup is not None:
                self.cgroup.close_fds()
        self.sock = parent
        self.output = _OutputSink(self.proc.stdout, limits.output_bytes)
        self.started = t0

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def exchange(self, header: dict, buffers: list,
                 limit: "wire.Limit | float") -> tuple[dict, list]:
        """Send one request and read its reply under ``limit`` (one deadline and one byte
        budget for the whole exchange; a number is a timeout in seconds). A worker that takes
        too long or sends too much is killed."""
        if not isinstance(limit, wire.Limit):
            limit = wire.Limit.within(limit, MAX_REPLY_BYTES)
        try:
            wire.send(self.sock, header, buffers, limit)
            return wire.recv(self.sock, limit=limit)
        except socket.timeout:
            self.kill()
            raise
        except (EOFError, ConnectionError, BrokenPipeError, OSError):
            self.wait_exit()
            raise EOFError("worker ended")
        except wire.WireError:
            self.kill()
            raise

    def wait_exit(self, timeout: float = 5.0) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def describe_exit(self) -> str:
        code = self.proc.poll()
        if code is None:
            return "the process stopped answering"
        if self.cgroup is not None and self.cgroup.oom_kills():  # bwrap passes it on as 137
            return (f"it was stopped for using more than its memory limit "
                    f"({self.limits.memory_bytes >> 20} MiB, all its processes together)")
        if code < 0:
            sig = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            if sig == "SIGXCPU":
                return "it was stopped after using its CPU-time limit"
            return f"it was killed by {sig}" + (
                " (often the memory limit)" if sig in ("SIGKILL", "SIGSEGV", "SIGABRT") else "")
        return f"it exited with status {code}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, AttributeError):  # Windows: no killpg
                self.proc.kill()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        if self.mode.name != "bubblewrap":
            _kill_marked(self._mark.encode())
        if self.cgroup is not None:   # whatever of the tree is left, wherever it went
            self.cgroup.kill_all()



    def close(self) -> None:
        if self.alive:
            try:
                self.sock.settimeout(2)
                wire.send(self.sock, {"op": "shutdown"}, [])
                self.proc.wait(2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        self.sock.close()
        self.output.join(5)
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
        if self.cgroup is not None:
            self.peak_memory = self.cgroup.remove()


def _kill_marked(mark: bytes, rounds: int = 5) -> None:
    """Kill every process whose environment carries ``mark`` (children that escaped the
    worker's process group with setsid). bubblewrap's PID namespace makes this unnecessary."""
    if not Path("/proc").is_dir():  # macOS, Windows: the worker's process group is all
        return
    for _ in range(rounds):
        found = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if mark in (entry / "environ").read_bytes().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
                    found = True
            except (OSError, ValueError):
                continue
        if not found:
            return
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# the student's module, as tests see it
# --------------------------------------------------------------------------------------------
def describe_value(v: Any) -> str:
    """Short, student-readable description of an argument, for messages."""
    if isinstance(v, np.ndarray):
        return f"<array {v.shape} {v.dtype}>"
    if isinstance(v, RemoteHandle):
        return f"<{v._type_name.rsplit('.', 1)[-1]}>"
    if isinstance(v, dict):
        keys = ", ".join(str(k) for k in list(v)[:6])
        return f"<dict {keys}{', ...' if len(v) > 6 else ''}>"
    if isinstance(v, (list, tuple)) and len(v) > 4:
        return f"<{type(v).__name__} of {len(v)}>"
    if type(v).__module__.startswith("pandas"):
        return f"<DataFrame {getattr(v, 'shape', '')}>"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


class StudentModule:
    """Proxy for one exercise's module in a sandboxed worker, restarted after a crash.

    Calls are limited to ``call_timeout`` seconds each and ``budget`` seconds in all.
    """

    MAX_RESTARTS = 3

    def __init__(self, exercise: str, file: Path, submission_dir: Path, mode: Mode,
                 limits: Limits, *, call_timeout: float, budget: float,
                 hidden: list[Path] | None = None, preload: tuple[str, ...] = ()):
        self._exercise, self._mode, self._limits = exercise, mode, limits
        self._file_rel = file.relative_to(submission_dir).as_posix()
        self._submission = submission_dir
        self._call_timeout, self._budget = call_timeout, budget
        self._hidden, self._preload = hidden, preload
        self._worker: WorkerProcess | None = None
        self._generation = 0
        self._restarts = 0
        self._import_error: ImportFailed | None = None
        self._copy: Path | None = None
        self._released: list[int] = []
        self._seq = 0
        self.max_reply_bytes = MAX_REPLY_BYTES
        self.names: list[str] = []
        self.executed_notebook: str | None = None  # JSON text from the worker: untrusted
        self.time_in_worker = 0.0
        self.time_starting = 0.0
        self.time_importing = 0.0
        self.peak_memory: int | None = None   # most any one worker's tree held (bytes)
        # the call in progress, for a progress line: (label, time.monotonic() at its start,
        # its timeout in seconds); None between calls
        self.running: tuple[str, float, float] | None = None
        self._outputs: list[str] = []
        self._deadline: float | None = None     # the budget runs from the first request
        self._prestarted: WorkerProcess | None = None
        self._reserved: "worker_pool.Spare | None" = None   # a warm spare kept for this exercise

    # ---- lifecycle --------------------------------------------------------------------------
    def _spawn(self) -> WorkerProcess:
        """A fresh worker on a fresh copy of the submission, importing its preloads: a warm
        spare of this process's pool (grader.pool: started ahead, never given student code)
        when there is one, else one started now."""
        spare, self._reserved = self._reserved, None
        pool = worker_pool.active()
        if pool is not None:
            hidden = default_hidden_paths() if self._hidden is None else self._hidden
            got = pool.claim(self._mode, self._limits, hidden, self._preload,
                             self._submission, spare)
            if got is not None:
                worker, self._copy = got
                return worker
        elif spare is not None:
            spare.discard()
        self._copy = Path(tempfile.mkdtemp(prefix=f"grader-{self._exercise}-"))
        copy_for_worker(self._submission, self._copy)
        uid = allocate_uid(self._mode)
        prepare_student_dir(self._copy, uid)
        return WorkerProcess(self._mode, self._copy, self._limits, self._hidden,
                             self._preload, uid)

    def prestart(self) -> None:
        """Start the first worker now, so its preloads (TensorFlow: ~5 s) are imported while
        other exercises are graded. The student's file is not loaded until a test needs it,
        and the worker is as isolated as one started then."""
        if self._worker is None and self._prestarted is None and not self._generation:
            pool = worker_pool.active()
            if pool is not None and self._reserved is None:
                hidden = default_hidden_paths() if self._hidden is None else self._hidden
                self._reserved = pool.reserve(self._mode, self._limits, hidden, self._preload)
            if self._reserved is None:
                self._prestarted = self._spawn()

    def _start(self) -> None:
        if self._import_error is not None:
            raise self._import_error
        if self._generation and self._restarts >= self.MAX_RESTARTS:
            raise WorkerCrashed(
                f"Your code's process was restarted {self.MAX_RESTARTS} times after crashing; "
                f"the remaining checks of {self._exercise} were not run.")
        if self._generation:
            self._restarts += 1
        self._released.clear()      # ids of the previous worker mean nothing to the next
        t0 = time.perf_counter()
        prestarted, self._prestarted = self._prestarted, None
        if prestarted is not None and prestarted.alive:
            self._worker = prestarted
        else:
            if prestarted is not None:
                self._worker = prestarted       # died while waiting: retire it, start afresh
            self._retire_worker()
            self._worker = self._spawn()
        self._generation += 1
        path = f"{self._worker.student_root}/{self._file_rel}"
        try:
            loaded = self._request("import", None,
                                   [path, self._exercise, {"cell_timeout": self._call_timeout}],
                                   label=f"loading {self._file_rel}")
            self.time_starting += time.perf_counter() - t0
            if not isinstance(loaded, dict) or not isinstance(loaded.get("names"), list):
                raise ProtocolViolation(f"loading {self._file_rel} gave a malformed reply")
            self.names = [clean_text(n, 200) for n in loaded["names"][:100_000]
                          if isinstance(n, str)]
            notebook = loaded.get("notebook")
            if isinstance(notebook, np.ndarray) and notebook.dtype == np.uint8:
                notebook = notebook.tobytes().decode("utf-8", "replace")  # sent as a buffer
            if self.executed_notebook is None and isinstance(notebook, str):
                self.executed_notebook = notebook   # the first execution is the one
        except StudentProblem as exc:  # raised, crashed or hung while importing
            err = ImportFailed(str(exc), exc.call)
            if isinstance(exc, StudentError):
                err.type_name, err.student_traceback = exc.type_name, exc.student_traceback
            else:
                err.type_name, err.student_traceback = type(exc).__name__, str(exc)
            self._import_error = err
            self._retire_worker()  # nothing in it can be graded; every later call re-raises
            raise err from None

    def _ensure(self) -> WorkerProcess:
        if self._worker is None or not self._worker.alive:
            self._start()
        assert self._worker is not None
        return self._worker

    def close(self) -> None:
        if self._reserved is not None:        # a warm spare never used: back to its pool
            spare, self._reserved = self._reserved, None
            pool = worker_pool.active()
            pool.give_back(spare) if pool is not None else spare.discard()
        if self._prestarted is not None:      # started for tests that never ran
            self._worker, self._prestarted = self._prestarted, None
        self._retire_worker()

    def _retire_worker(self) -> None:
        """Stop the current worker (if any), keep its output, drop its private copy."""
        if self._worker is not None:
            self._worker.close()
            if self._worker.peak_memory is not None:
                self.peak_memory = max(self.peak_memory or 0, self._worker.peak_memory)
            text = self._worker.output.text()
            if text.strip():
                self._outputs.append(text)
            self._worker = None
        if self._copy is not None:
            shutil.rmtree(self._copy, ignore_errors=True)
            self._copy = None

    @property
    def output(self) -> str:
        live = [self._worker.output.text()] if self._worker is not None else []
        return "\n".join(o for o in self._outputs + live if o.strip())

    @property
    def import_error(self) -> ImportFailed | None:
        return self._import_error

    # ---- requests ---------------------------------------------------------------------------
    def _request(self, op: str, target: "RemoteHandle | None", args: list, label: str) -> Any:
        if self._import_error is not None:
            raise self._import_error
        if self._deadline is None:
            self._deadline = time.monotonic() + self._budget
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self.close()
            raise BudgetExhausted(
                f"The time budget for {self._exercise} ({self._budget:.0f} s) was used up "
                f"before {label} could run — is something in your code very slow?", label)
        worker = self._ensure() if op != "import" else self._worker
        assert worker is not None
        tid = None
        if target is not None:
            if target._generation != self._generation:
                raise WorkerCrashed(
                    f"{label}: this object came from an earlier run of your code that crashed.",
                    label)
            tid = target._id
        buffers: list = []
        self._seq += 1
        header = {"op": op, "target": tid, "seq": self._seq,
                  "args": wire.encode(_to_wire(args), buffers)}
        if self._released:       # handles the tests dropped go with the request, no exchange
            header["release"] = self._released[:MAX_RELEASE]
            del self._released[:MAX_RELEASE]
        timeout = min(self._call_timeout, remaining)
        if op == "import":  # a notebook runs all its cells in this one request
            timeout = min(max(2 * self._call_timeout, 60.0), remaining)
        # one deadline and one byte budget for everything this call sends and reads
        limit = wire.Limit.within(timeout, self.max_reply_bytes)
        t0 = time.perf_counter()
        self.running = (label, time.monotonic(), timeout)
        # Failures are raised below, outside the except clauses: an exception raised inside
        # one keeps the original (and its frames, with whatever bytes were read) as context.
        failure: tuple[str, str] | None = None
        try:
            reply, bufs = worker.exchange(header, buffers, limit)
            if reply.get("re") != self._seq:
                worker.kill()
                raise wire.WireError("a reply that does not answer this request")
        except socket.timeout:
            failure = ("timeout", "")
        except EOFError:
            failure = ("ended", "")
        except wire.WireError as exc:
            failure = ("wire", str(exc))
        finally:
            self.running = None
            elapsed = time.perf_counter() - t0
            if op == "import":
                self.time_importing += elapsed
            else:
                self.time_in_worker += elapsed
        if failure is not None:
            self._fail(failure, label, timeout, worker)
        error = None
        try:
            if op == "call":
                _record_observation(reply.get("observed"))
            if reply.get("ok") is True:
                return wire.decode(reply.get("value"), bufs, self._handle_from_node,
                                   clean_key=_clean_key)
            error = reply.get("error")
            if not isinstance(error, dict):
                raise wire.WireError("malformed error reply")
        except wire.WireError as exc:
            failure = ("wire", str(exc))
        finally:
            reply = bufs = None     # the raw reply lives on only in the decoded value
        if failure is not None:
            worker.kill()
            self._fail(failure, label, timeout, worker)
        assert isinstance(error, dict)
        cls = error_class(error.get("builtin") if isinstance(error.get("builtin"), str) else None)
        exc = cls(clean_text(_text(error.get("message")), 4000), label)
        exc.type_name = one_line(_text(error.get("type"), "Exception"))[:100]
        exc.student_traceback = clean_text(_text(error.get("traceback")), 4000)
        error = None
        raise exc

    def _fail(self, failure: tuple[str, str], label: str, timeout: float,
              worker: WorkerProcess) -> None:
        """Raise what a failed exchange means for the student."""
        kind, detail = failure
        if kind == "timeout":
            if timeout < self._call_timeout:
                raise BudgetExhausted(
                    f"{label} was stopped when the time budget for {self._exercise} "
                    f"({self._budget:.0f} s) ran out.", label)
            raise CallTimeout(
                f"{label} did not finish within {timeout:.0f} s and was stopped — an "
                f"infinite loop, or far more work than needed?", label)
        if kind == "ended":
            how = worker.describe_exit()
            raise WorkerCrashed(
                f"Your code's process ended during {label}: {how}. "
                f"Do not call exit() or os._exit(), and keep memory use reasonable.", label)
        raise ProtocolViolation(
            f"{label} sent back data the grader cannot accept ({detail}).", label)

    def _handle_from_node(self, node: dict) -> "RemoteHandle":
        type_name = node.get("type", "object")
        return RemoteHandle(self, node["$h"], one_line(type_name[:200]) if isinstance(
            type_name, str) else "object", node.get("callable") is True, self._generation)

    # ---- module-like access -----------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            value = self._request("getattr", None, [name], label=f"{name}")
        except StudentError as exc:
            if exc.type_name == "AttributeError" and not isinstance(exc, ImportFailed):
                raise MissingName(
                    f"{self._file_rel} does not define {name} — check the name and that the "
                    f"function is at the top level of your file", name) from None
            raise
        if isinstance(value, RemoteHandle):
            value._label = name
        return value

    def __repr__(self) -> str:
        return f"<student module {self._exercise} from {self._file_rel}>"


def _text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _clean_key(key: str) -> str:
    """A dict key or column name that came from the worker, made safe (grader.safe_text)."""
    return clean_text(key, 200)


def _to_wire(value: Any) -> Any:
    """Replace RemoteHandles by wire handles, recursively, before encoding."""
    if isinstance(value, RemoteHandle):
        return wire.Handle(value._id)
    if isinstance(value, list):
        return [_to_wire(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_wire(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_wire(v) for k, v in value.items()}
    return value


class RemoteHandle:
    """An object that lives in the worker: use it like the object itself."""

    __slots__ = ("_owner", "_id", "_type_name", "_callable", "_generation", "_label",
                 "__weakref__")

    def __init__(self, owner: StudentModule, id: int, type_name: str, is_callable: bool,
                 generation: int):
        self._owner, self._id, self._type_name = owner, id, type_name
        self._callable, self._generation, self._label = is_callable, generation, None

    @property
    def _name(self) -> str:
        return self._label or self._type_name.rsplit(".", 1)[-1]

    def _child(self, value: Any, label: str) -> Any:
        if isinstance(value, RemoteHandle):
            value._label = label
        return value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._child(self._owner._request("getattr", self, [name], f"{self._name}.{name}"),
                           f"{self._name}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        shown = ", ".join([describe_value(a) for a in args] +
                          [f"{k}={describe_value(v)}" for k, v in kwargs.items()])
        label = f"{self._name}({shown})"
        return self._child(self._owner._request("call", self, [list(args), kwargs], label),
                           f"{self._name}(...)")

    def __getitem__(self, key: Any) -> Any:
        label = f"{self._name}[{describe_value(key)}]"
        return self._child(self._owner._request("getitem", self, [key], label), label)

    def __len__(self) -> int:
        n = self._owner._request("len", self, [], f"len({self._name})")
        if type(n) is not int or n < 0:
            raise ProtocolViolation(f"len({self._name}) did not return a non-negative int")
        return n

    def __iter__(self):
        items = self._owner._request("iter", self, [], f"iterating over {self._name}")
        if type(items) is not list:
            raise ProtocolViolation(f"iterating over {self._name} did not give a list")
        return iter(items)

    def __array__(self, dtype=None, copy=None):
        arr = self._owner._request("asarray", self, [], f"np.asarray({self._name})")
        if isinstance(arr, RemoteHandle) or not isinstance(arr, (np.ndarray, list, tuple, int,
                                                                   float, bool)):
            raise TypeError(f"np.asarray({self._name}) did not give numbers but "
                            f"{describe_value(arr)}")
        if not isinstance(arr, np.ndarray):
            arr = np.asarray(arr)
        return arr.astype(dtype) if dtype is not None else arr

    def __repr__(self) -> str:
        return f"<student object {self._type_name.rsplit('.', 1)[-1]}>"

    def __del__(self) -> None:
        try:
            if self._generation == self._owner._generation:
                self._owner._released.append(self._id)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
