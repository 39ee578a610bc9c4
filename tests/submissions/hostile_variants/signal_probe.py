"""Probe (harmless): at import the module reports its uid, whether it may signal its parent
(signal 0 checks permission without sending anything) and what it can list of root's home.

Expected in reduced mode as root: the worker runs as a uid of its own (also when the
interpreter sits under root's 0700 home), may not signal the grader, and sees nothing of
root's home but the way to the interpreter. Every test passes.
"""
import os as _os

try:
    _os.kill(_os.getppid(), 0)
    _signal = "allowed"
except OSError as _exc:
    _signal = _exc.strerror
try:
    _home = sorted(_os.listdir(_os.path.expanduser("~root")))
except OSError as _exc:
    _home = _exc.strerror
print(f"hostile:signal_probe uid={_os.getuid()} signal-parent={_signal} root-home={_home}",
      flush=True)
