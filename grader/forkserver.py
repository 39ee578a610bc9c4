"""A warm template of the grading process, forked once per submission by ``grader batch``.

Every submission of a batch is graded by a grading process of its own (``grader grade``, or
its warmed-up ``--standby`` form, grader/pool.py). Each used to start from a bare interpreter
and pay the same fixed costs again: the grader's and pytest's imports, the modules the suites
import (scikit-learn), the datasets, the report's plotting stack — about as much CPU as the
student code of a light submission. The template pays them once per batch and then only forks.

Why forking this process is safe, where forking a worker would not be (docs/SECURITY.md):
- The template is grader code only. It never grades, never runs or reads a submission, never
  imports TensorFlow (the grader never does) and never starts a worker; it holds nothing a
  child could learn about another student. Every child is a grading process exactly like
  ``grader grade --standby``: it starts its own fresh sandboxed workers (grader/pool.py), so
  student code still runs only in a new bubblewrap sandbox with its own uid, /tmp and limits.
- Nothing flows from a child back to the template or to a later child: a child is a copy.
- The template forks only while it is single-threaded (checked before every fork); numpy's
  BLAS threads are native and rebuilt after fork by OpenBLAS's own fork handlers.

The protocol: one Unix socket pair. The batch sends ``{"argv": [...]}`` with one file
descriptor (the read end of the child's stdin pipe); the template forks, replies
``{"pid": N}``, and later ``{"exit": N, "status": S}`` when it has reaped the child
(``S`` as ``subprocess.Popen.returncode``). ``ForkedProcess`` gives the batch the part of the
``Popen`` interface it uses. Anything unexpected (no socket support, the template died) and
the batch starts plain processes instead.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from typing import Callable, Iterable

# a request or reply is one JSON object; argv of a grading command is well under this
MAX_MESSAGE = 1 << 16
PR_SET_PDEATHSIG = 1


# ---- the template (its own process: python -m grader.forkserver FD EXERCISES...) -----------------
def _die_with_parent() -> None:
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _send(sock: socket.socket, message: dict, fds: Iterable[int] = ()) -> None:
    data = json.dumps(message).encode() + b"\n"
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.sendall(data)


def _child(argv: list[str], stdin_fd: int, sock: socket.socket) -> None:
    """In the forked child: become ``python -m grader <argv>`` with that stdin. Never returns."""
    code = 70
    try:
        sock.close()
        os.setsid()                    # its own session: the batch kills its whole group
        _die_with_parent()             # the template dies with the batch; its children too
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        os.dup2(stdin_fd, 0)
        os.close(stdin_fd)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        sys.stdin = open(0, "r", closefd=False)  # noqa: SIM115 - the process's stdin
        from grader import cli

        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - a child never returns into the template's loop
        code = 70
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        # the child's own exit handlers (its spares, temporary folders) run; the template's
        # are guarded by their pid (grader/plots.py, grader/worker_view.py)
        with contextlib.suppress(BaseException):
            import atexit

            atexit._run_exitfuncs()
        os._exit(code if isinstance(code, int) else 1)


def serve(sock: socket.socket, exercises: list[str]) -> int:
    """The template's loop: warm up once, then fork a grading process per request."""
    from grader import pool

    _die_with_parent()
    pool.warm_grader(exercises)
    children: set[int] = set()
    buffered = b""
    _send(sock, {"ready": os.getpid()})
    while True:
        readable, _, _ = select.select([sock], [], [], 0.05)
        while children:                               # reap, and tell the batch
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                break
            if pid == 0:
                break
            children.discard(pid)
            _send(sock, {"exit": pid, "status": os.waitstatus_to_exitcode(status)})
        if not readable:
            continue
        data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 4)
        if not data:                                   # the batch closed its end: done
            for fd in fds:
                os.close(fd)
            return 0
        buffered += data
        line, _, buffered = buffered.partition(b"\n")
        request = json.loads(line)
        if threading.active_count() != 1 or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            _send(sock, {"error": "not forking: the template is not single-threaded"
                          if threading.active_count() != 1 else "one stdin descriptor expected"})
            continue
        pid = os.fork()
        if pid == 0:
            _child(list(request["argv"]), fds[0], sock)
        os.close(fds[0])
        children.add(pid)
        _send(sock, {"pid": pid})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    sock = socket.socket(fileno=int(args[0]))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        return serve(sock, args[1:])
    except (BrokenPipeError, ConnectionResetError):
        return 0


# ---- the batch's side --------------------------------------------------------------------------
class ForkedProcess:
    """A grading process forked by the template: what ``grader batch`` uses of ``Popen``
    (``pid``, ``stdin``, ``poll``, ``wait``, ``returncode``, ``terminate``, ``kill``)."""

    def __init__(self, pid: int, stdin) -> None:
        self.pid, self.stdin = pid, stdin
        self.returncode: int | None = None
        self._done = threading.Event()

    def _exited(self, status: int) -> None:
        self.returncode = status
        self._done.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(f"grading process {self.pid}", timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class GradingTemplate:
    """The batch's handle on one template process: ``spawn(argv)`` forks a grading process.

    ``start`` is a callable that starts the template like ``subprocess.Popen`` (the batch's
    launcher, which makes it die with the batch); it warms up while the batch goes on, and the
    first ``spawn`` waits for that. ``argv`` of ``spawn`` is what follows ``python -m grader``.
    A template that cannot fork raises ``OSError`` from ``spawn``."""

    READY_TIMEOUT = 120.0

    def __init__(self, start: Callable[..., subprocess.Popen], exercises: list[str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._proc = start([sys.executable, "-m", "grader.forkserver", str(theirs.fileno()),
                                *exercises], pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
        self._sock = ours
        self._lock = threading.Lock()          # one request at a time
        self._replies: list[dict] = []
        self._reply = threading.Condition()
        self._procs: dict[int, ForkedProcess] = {}
        self._early: dict[int, int] = {}       # exits reported before the pid was registered
        self._closed = False
        self._ready = False
        self._reader = threading.Thread(target=self._read, name="grading-template", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffered = b""
        while True:
            try:
                data = self._sock.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                break
            buffered += data
            while b"\n" in buffered:
                line, _, buffered = buffered.partition(b"\n")
                message = json.loads(line)
                if "exit" in message:
                    with self._reply:
                        proc = self._procs.pop(message["exit"], None)
                        if proc is None:
                            self._early[message["exit"]] = message["status"]
                    if proc is not None:
                        proc._exited(message["status"])
                else:
                    with self._reply:
                        self._replies.append(message)
                        self._reply.notify_all()
        # the template is gone: every child it forked is dead with it (PDEATHSIG)
        with self._reply:
            self._closed = True
            orphans, self._procs = list(self._procs.values()), {}
            self._reply.notify_all()
        for proc in orphans:
            proc._exited(-signal.SIGKILL)

    def _expect(self, key: str, timeout: float) -> dict:
        with self._reply:
            ok = self._reply.wait_for(lambda: self._replies or self._closed, timeout)
            if not ok or not self._replies:
                raise OSError("the grading template did not answer")
            message = self._replies.pop(0)
        if key not in message:
            raise OSError(message.get("error", f"unexpected reply from the template: {message}"))
        return message

    def spawn(self, argv: list[str]) -> ForkedProcess:
        """A new grading process running ``python -m grader <argv>``, its stdin a pipe."""
        read_end, write_end = os.pipe()
        try:
            with self._lock:
                if not self._ready:           # the template's warm-up, once
                    self._expect("ready", self.READY_TIMEOUT)
                    self._ready = True
                _send(self._sock, {"argv": list(argv)}, [read_end])
                reply = self._expect("pid", 30.0)
                proc = ForkedProcess(reply["pid"], os.fdopen(write_end, "wb"))
                with self._reply:
                    early = self._early.pop(proc.pid, None)
                    if early is None:
                        self._procs[proc.pid] = proc
                if early is not None:
                    proc._exited(early)
                return proc
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(write_end)
            raise
        finally:
            os.close(read_end)

    @property
    def alive(self) -> bool:
        return not self._closed and self._proc.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


if __name__ == "__main__":
    sys.exit(main())
