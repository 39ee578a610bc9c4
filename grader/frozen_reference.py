"""Expected values of the public tests, frozen so the student edition ships no solutions.

The public tests compare a student's answer with ``reference.<function>(args)``. On the
instructor's side ``reference`` is the solution module. The student edition of the grader
(:mod:`grader.student_edition`) cannot contain it, so the public tests are run once against
the solutions with a :class:`RecordingReference`, which notes every value the tests read from
the reference, keyed by the path that produced it (``Perceptron(<args>).fit(<args>).weights_``,
where ``<args>`` is a digest of the call's arguments). A :class:`FrozenReference` replays
those values. Only data is stored, in the wire codec's allow-listed shapes: no code, no pickle.
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from grader import wire

FORMAT = 1
OBJECT = "object"   # the path leads to an object (a class, an instance, a function), not data


class FrozenValueMissing(RuntimeError):
    """A public test asked the frozen reference for a value that was never recorded."""


class FreezeError(RuntimeError):
    """A suite uses the reference in a way that cannot be frozen (a bug in the suite)."""


def _no_handles(node: dict) -> Any:
    raise wire.WireError("a frozen value may not contain a handle")


def arguments_digest(args: tuple, kwargs: dict) -> str:
    """A short, stable digest of a call's arguments (their values, not their identities)."""
    buffers: list = []
    try:
        tree = wire.encode((tuple(args), dict(sorted(kwargs.items()))), buffers)
    except TypeError as exc:
        raise FreezeError(f"the reference was called with an argument that is not plain data "
                          f"({exc}); public tests must call it with arrays, numbers or lists"
                          ) from None
    tree = _without_readonly_marks(tree)
    h = hashlib.sha256(json.dumps(tree, sort_keys=True, separators=(",", ":")).encode())
    for buf in buffers:
        data = bytes(buf)
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:20]


def _without_readonly_marks(node: Any) -> Any:
    """The encoded tree with arrays' read-only marks dropped: a digest names values, and a
    value replayed from the table (read-only) is the same value it was when recorded."""
    if isinstance(node, list):
        return [_without_readonly_marks(x) for x in node]
    if isinstance(node, dict):
        if set(node) == {"$a"} and isinstance(node["$a"], list):
            return {"$a": node["$a"][:3]}
        return {k: _without_readonly_marks(v) for k, v in node.items()}
    return node


class FrozenTable:
    """Values by path for one exercise, with the array buffers they point into."""

    def __init__(self, exercise: str, values: dict[str, Any] | None = None,
                 buffers: list | None = None):
        self.exercise = exercise
        self.values: dict[str, Any] = {} if values is None else values
        self.buffers: list = [] if buffers is None else buffers

    def put(self, path: str, value: Any) -> tuple[bool, Any]:
        """Record ``value`` at ``path``: (True, the value as it will be replayed) for data,
        (False, None) for an object, which the caller keeps wrapping."""
        mark = len(self.buffers)
        try:
            tree = wire.encode(value, self.buffers)
        except TypeError:
            del self.buffers[mark:]
            tree = OBJECT
        if path in self.values:
            old = self.values[path]
            del self.buffers[mark:]
            if (old == OBJECT) != (tree == OBJECT) or (
                    tree != OBJECT and _canonical(self.get_tree(old)) != _canonical(value)):
                raise FreezeError(
                    f"{self.exercise}: reference{path} gave two different values in one run; "
                    f"a public test must not read a value that changes (for example an "
                    f"attribute read before and after fit()): chain the calls instead")
            tree = old
        self.values[path] = tree
        return (False, None) if tree == OBJECT else (True, self.get_tree(tree))

    def get_tree(self, tree: Any) -> Any:
        return wire.decode(tree, self.buffers, _no_handles)

    def lookup(self, path: str) -> tuple[bool, Any]:
        """(is_data, value) at ``path``; FrozenValueMissing when nothing was recorded."""
        if path not in self.values:
            raise FrozenValueMissing(
                f"the public checks have no expected value for {self.exercise} "
                f"reference{path}: this copy of the grader's student edition does not match "
                f"its tests. Reinstall it from your repository (python -m pip install "
                f"./.grader) or tell your instructor")
        tree = self.values[path]
        if tree == OBJECT:
            return False, None
        return True, self.get_tree(tree)

    # ---- files ------------------------------------------------------------------------
    def dumps(self) -> str:
        return json.dumps({"format": FORMAT, "exercise": self.exercise,
                           "values": self.values,
                           "buffers": [base64.b64encode(bytes(b)).decode("ascii")
                                       for b in self.buffers]},
                          sort_keys=True, indent=1)

    @classmethod
    def load(cls, path: Path) -> "FrozenTable":
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT:
                raise ValueError(f"format {doc.get('format')!r}, expected {FORMAT}")
            return cls(str(doc["exercise"]), dict(doc["values"]),
                       [base64.b64decode(b) for b in doc["buffers"]])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise FrozenValueMissing(f"{path}: unreadable frozen expected values ({exc}); "
                                     f"reinstall the grader's student edition") from None


def _canonical(value: Any) -> str:
    buffers: list = []
    tree = wire.encode(value, buffers)
    return json.dumps(tree, sort_keys=True) + "".join(bytes(b).hex() for b in buffers)


class RecordingReference:
    """Wraps the solution module (or an object from it) and records what tests read."""

    def __init__(self, target: Any, table: FrozenTable, path: str = ""):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_path", path)

    def _follow(self, path: str, value: Any) -> Any:
        is_data, replayed = self._table.put(path, value)
        return replayed if is_data else RecordingReference(value, self._table, path)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._follow(f"{self._path}.{name}", getattr(self._target, name))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        path = f"{self._path}({arguments_digest(args, kwargs)})"
        return self._follow(path, self._target(*args, **kwargs))

    def __setattr__(self, name: str, value: Any) -> None:
        raise FreezeError(f"a public test sets reference{self._path}.{name}; the student "
                          f"edition can only replay reads and calls")

    def __repr__(self) -> str:
        return f"<recording reference{self._path}>"


class FrozenReference:
    """Replays a :class:`FrozenTable`: the ``reference`` fixture of the student edition."""

    def __init__(self, table: FrozenTable, path: str = ""):
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_path", path)

    def _follow(self, path: str) -> Any:
        is_data, value = self._table.lookup(path)
        return value if is_data else FrozenReference(self._table, path)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._follow(f"{self._path}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._follow(f"{self._path}({arguments_digest(args, kwargs)})")

    def __setattr__(self, name: str, value: Any) -> None:
        raise FreezeError(f"reference{self._path}.{name} cannot be set")

    def __repr__(self) -> str:
        return f"<frozen reference{self._path}>"
