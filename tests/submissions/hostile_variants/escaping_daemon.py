"""Attack on the grader's CPU and on process cleanup: at import the module starts a
daemon that leaves the worker's session, re-executes itself as a fresh interpreter with an
EMPTY environment (no mark a cleanup could look for in /proc/<pid>/environ), double-forks
and then burns CPU in two threads for ten minutes; it carries the test's marker only in
its command line, so the test can find it. Then the module behaves (the reference).

Expected: the daemon is gone when grading ends (PID namespace, cgroup); every test passes.
"""
import subprocess as _subprocess
import sys as _sys

_SPIN = ("import os, sys, threading, time\n"
         "if os.fork(): os._exit(0)\n"
         "os.setsid()\n"
         "def spin():\n"
         "    end = time.time() + 600\n"
         "    while time.time() < end: pass\n"
         "for _ in range(2): threading.Thread(target=spin).start()\n")
try:
    _subprocess.Popen([_sys.executable, "-c", _SPIN, PARAMS.get("marker", "marker")],
                      env={}, start_new_session=True, stdin=_subprocess.DEVNULL,
                      stdout=_subprocess.DEVNULL, stderr=_subprocess.DEVNULL, close_fds=True)
    print("hostile:escaping_daemon started", flush=True)
except OSError as _exc:
    print(f"hostile:escaping_daemon could not start: {_exc}", flush=True)
