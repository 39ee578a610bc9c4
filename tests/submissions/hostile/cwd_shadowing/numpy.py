"""Part of a hostile submission: a stand-in for numpy that reports which process imported it
(it never says anything about the worker, where the student's modules are expected to run) and
then replaces itself with the real numpy."""
import json
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if "--student-root" not in sys.argv:  # not the sandboxed worker
    _params_file = os.path.join(_here, "hostile_params.json")
    _params = {}
    if os.path.exists(_params_file):
        with open(_params_file) as _fh:
            _params = json.load(_fh)
    print(f"hostile:cwd_shadowing numpy.py imported by {sys.argv[:3]} (pid {os.getpid()}); "
          f"GITHUB_TOKEN is {'visible' if 'GITHUB_TOKEN' in os.environ else 'absent'}",
          file=sys.stderr)
    if _params.get("marker_file"):
        with open(_params["marker_file"], "w") as fh:
            fh.write(f"imported by pid {os.getpid()}: {sys.argv}\n")
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules["numpy"]
import numpy as _real_numpy  # the real one, now that this folder is off sys.path

sys.modules["numpy"] = _real_numpy
