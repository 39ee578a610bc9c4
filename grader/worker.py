"""The worker: the one process where student code runs.

Started by :mod:`grader.sandbox` inside bubblewrap (or with reduced limits), it drops to an
unprivileged user *before* touching student code, imports the student's file, then serves
requests from the grader over an inherited socket: get an attribute, call, index, iterate.
Results go back through :mod:`grader.wire`; objects outside the allow-list stay here and are
referred to by handle. Nothing in this process is trusted: the grader re-checks every byte.
"""
from __future__ import annotations

import argparse
import itertools
import os
import random
import socket
import sys
import traceback
import types

MAX_ITEMS = 100_000
MAX_TEXT = 4000
MAX_WARNINGS = 20           # distinct (category, message) pairs reported per call
MAX_WARNING_TEXT = 300
MAX_MUTATED = 50
MAX_RELEASE = 10_000


class _Handles:
    """Objects the grader refers to by id."""

    def __init__(self) -> None:
        self.objects: dict[int, object] = {}
        self._ids = itertools.count(1)

    def keep(self, obj: object):
        from grader.wire import Handle

        hid = next(self._ids)
        self.objects[hid] = obj
        cls = type(obj)
        return Handle(hid, f"{cls.__module__}.{cls.__qualname__}"[:200], callable(obj))

    def get(self, node: dict) -> object:
        try:
            return self.objects[node["$h"]]
        except KeyError:
            raise LookupError(f"stale handle #{node['$h']}") from None


def drop_privileges(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` for good (all capabilities go with the root uid)."""
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    if uid and os.getuid() == 0:  # pragma: no cover - would mean setuid silently failed
        raise SystemExit("worker could not drop privileges")
    # changing uid clears the parent-death signal the sandbox set: set it again
    import ctypes
    import signal

    prctl = getattr(ctypes.CDLL(None), "prctl", None)   # Linux only (not macOS)
    if prctl is not None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def load_student_module(path: str, name: str, cell_timeout: float = 60.0):
    """Import the student's ``.py`` file, or execute a notebook's cells, as module ``name``.

    Returns the module and, for a notebook, the executed notebook (dict) with its outputs.
    """
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    if path.endswith(".ipynb"):
        from grader.worker_notebook import execute_notebook

        return module, execute_notebook(path, module, cell_timeout=cell_timeout)
    with open(path, "rb") as fh:
        source = fh.read()
    code = compile(source, path, "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module, None


def describe_exception(exc: BaseException, student_files: tuple[str, ...]) -> dict:
    """The error as the student should see it: type, message, their own frames only."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith(student_files)]
    lines = traceback.format_list(frames[-8:])
    try:
        text = "".join(traceback.format_exception_only(type(exc), exc))
    except Exception:  # a hostile __str__
        text = f"{type(exc).__name__}: <unprintable>\n"
    kind = type(exc)
    builtin = kind.__name__ if getattr(__builtins__, kind.__name__, None) is kind else None
    if builtin is None:  # map student subclasses to the nearest builtin for pytest.raises
        for base in kind.__mro__[1:]:
            if isinstance(base, type) and getattr(__builtins__, base.__name__, None) is base:
                builtin = base.__name__
                break
    return {
        "type": kind.__name__[:100],
        "builtin": builtin,
        "message": text.strip()[:MAX_TEXT],
        "traceback": ("".join(lines) + text)[-MAX_TEXT:],
    }


class _ArgumentWatch:
    """Notes what a call changes in its arguments (the worker's copies of the test's values).

    Arrays changed in place and lists/dicts whose items were replaced are *reported* by path
    (see grader.proxy.observe); nothing is sent back to change the test's own objects. Arrays
    above a size cap are not watched (copying them would cost more than the check is worth).
    """

    MAX_BYTES = 64 << 20

    def __init__(self, root: list):
        import numpy as np

        self._np = np
        self._seen: list[tuple[list, object, object]] = []
        budget = [self.MAX_BYTES]
        self._walk(root, [], budget, 0)

    def _walk(self, node, path: list, budget: list, depth: int) -> None:
        np = self._np
        if depth > 20:
            return
        if type(node) is np.ndarray:
            if node.nbytes <= budget[0]:
                budget[0] -= node.nbytes
                self._seen.append((path, node, node.copy()))
        elif type(node) in (list, dict):
            items = list(node.items()) if type(node) is dict else list(enumerate(node))
            self._seen.append((path, node, [(k, id(v)) for k, v in items]))
            for k, v in items:
                self._walk(v, path + [k], budget, depth + 1)
        elif type(node) is tuple:
            for k, v in enumerate(node):
                self._walk(v, path + [k], budget, depth + 1)

    def changes(self) -> list:
        np = self._np
        out = []
        for path, obj, before in self._seen:
            if type(obj) is np.ndarray:
                same = obj.shape == before.shape and obj.dtype == before.dtype and \
                    np.array_equal(obj, before, equal_nan=obj.dtype.kind in "fc")
            else:
                items = list(obj.items()) if type(obj) is dict else list(enumerate(obj))
                same = [(k, id(v)) for k, v in items] == before
            if not same and path:
                out.append((path, obj))
        return out


class _WarningLog:
    """Warnings raised during one call: distinct (category, message) pairs, bounded, so a
    loop that warns a million times costs nothing but a counter."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], None] = {}

    def showwarning(self, message, category, filename, lineno, file=None, line=None) -> None:
        if len(self.seen) >= MAX_WARNINGS:
            return
        try:
            text = str(message)
        except Exception:  # noqa: BLE001 - a hostile __str__
            text = "<unprintable warning>"
        name = getattr(category, "__name__", "Warning")
        self.seen.setdefault((str(name)[:100], text[:MAX_WARNING_TEXT]), None)

    def pairs(self) -> list[list[str]]:
        return [list(pair) for pair in self.seen]


def _parameter_names(target) -> list[str]:
    """The names positional arguments bind to, for readable paths ("z" not "argument 1")."""
    import inspect

    try:
        params = inspect.signature(target).parameters.values()
    except Exception:  # noqa: BLE001 - builtins, odd callables, hostile __signature__
        return []
    names = []
    for p in params:
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            break
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                      inspect.Parameter.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    return names


def describe_path(path: list, names: list[str]) -> str:
    """``[0, 1, "W1"]`` (args[1]['W1']) as ``params['W1']``, or ``argument 2['W1']``."""
    where, rest = path[:2], path[2:]
    if where[0] == 0:
        i = where[1]
        text = names[i] if i < len(names) else f"argument {i + 1}"
    else:
        text = str(where[1])
    for key in rest:
        text += f"[{key!r}]"
    return text[:200]


class Server:
    def __init__(self, sock: socket.socket, student_root: str):
        self.sock = sock
        self.handles = _Handles()
        self.module: types.ModuleType | None = None
        self.observed: dict | None = None
        self.student_files = (student_root.rstrip("/") + "/",)

    # --- ops -------------------------------------------------------------------------------
    def op_import(self, path: str, name: str, options: dict | None = None):
        options = options or {}
        self.student_files = self.student_files + ("<ipython-input-", "/tmp/ipykernel")
        self.module, executed = load_student_module(
            path, name, float(options.get("cell_timeout", 60.0)))
        names = sorted(k for k in vars(self.module) if not k.startswith("_"))
        notebook = None
        if executed is not None:
            from grader.worker_notebook import notebook_json

            import numpy as np

            # as bytes in a buffer: megabytes of text stay out of the JSON header
            notebook = np.frombuffer(notebook_json(executed).encode("utf-8", "replace"),
                                     dtype=np.uint8)
        return {"names": names, "notebook": notebook}

    def op_getattr(self, target, name: str):
        return getattr(target, name)

    def op_call(self, target, args, kwargs):
        """Call ``target``, noting the warnings it raises and the arguments it changes."""
        import warnings

        import numpy as np

        watch = _ArgumentWatch([args, kwargs])
        log = _WarningLog()
        try:
            with warnings.catch_warnings(), np.errstate(all="warn"):
                warnings.simplefilter("always")
                warnings.showwarning = log.showwarning
                value = target(*args, **kwargs)
        finally:
            changed = watch.changes()
            names = _parameter_names(target) if changed else []
            self.observed = {
                "mutated": [describe_path(path, names) for path, _ in changed[:MAX_MUTATED]],
                "warnings": log.pairs()}
        return value

    def op_getitem(self, target, key):
        return target[key]

    def op_len(self, target):
        return len(target)

    def op_iter(self, target):
        return list(itertools.islice(iter(target), MAX_ITEMS))

    def op_asarray(self, target):
        import numpy as np

        return np.asarray(target)

    def op_repr(self, target):
        return repr(target)[:MAX_TEXT]

    def op_release(self, target, ids):
        self.release(ids)

    def release(self, ids) -> None:
        """Forget the objects the grader no longer refers to (ids it dropped)."""
        if type(ids) is not list:
            return
        for i in ids[:MAX_RELEASE]:
            if type(i) is int:
                self.handles.objects.pop(i, None)

    # --- loop ------------------------------------------------------------------------------
    def serve(self) -> None:
        from grader import wire

        while True:
            try:
                header, buffers = wire.recv(self.sock)
            except EOFError:
                return
            op = header.get("op")
            if op == "shutdown":
                return
            self.release(header.get("release"))
            try:
                args = wire.decode_request(header.get("args", []), buffers, self.handles.get)
                target = header.get("target")
                if op != "import":
                    target = self.module if target is None else self.handles.get({"$h": target})
                    args = [target, *args]
                if op == "call":
                    args = [args[0], args[1], args[2] or {}]
                self.observed = None
                value = getattr(self, "op_" + str(op))(*args)
                out: list = []
                reply = {"ok": True, "value": wire.encode(value, out, self.handles.keep)}
            except BaseException as exc:  # noqa: BLE001 - everything the student raises
                out = []
                reply = {"ok": False, "error": describe_exception(exc, self.student_files)}
            if self.observed is not None:
                reply["observed"] = self.observed
            reply["re"] = header.get("seq")
            try:
                wire.send(self.sock, reply, out)
            except (TypeError, ValueError) as exc:  # unencodable (e.g. NaN inside a header)
                wire.send(self.sock, {"ok": False, "re": header.get("seq"), "error": {
                    "type": "TypeError", "builtin": "TypeError", "traceback": "",
                    "message": f"the value could not be sent back to the grader: {exc}"}}, [])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--uid", type=int, default=None)
    parser.add_argument("--gid", type=int, default=None)
    parser.add_argument("--student-root", required=True)
    parser.add_argument("--preload", default="", help="comma-separated modules to import first")
    opts = parser.parse_args(argv)

    sock = socket.socket(fileno=opts.fd)
    if opts.uid is not None:
        drop_privileges(opts.uid, opts.gid if opts.gid is not None else opts.uid)
    os.chdir(opts.student_root)
    sys.path.insert(0, opts.student_root)
    random.seed(0)
    try:
        import numpy as np

        np.random.seed(0)
    except ImportError:  # pragma: no cover
        pass
    for name in filter(None, opts.preload.split(",")):
        __import__(name)
    if "keras" in sys.modules:  # same weights, same shuffles: a regrade gives the same score
        sys.modules["keras"].utils.set_random_seed(0)
    Server(sock, opts.student_root).serve()
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: student atexit hooks have nothing to say


if __name__ == "__main__":
    main()
