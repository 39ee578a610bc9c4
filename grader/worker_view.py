"""What the worker's filesystem holds under bubblewrap: an allow-list, not a deny-list.

The sandbox starts from an empty root and adds only what the worker needs:

* system libraries and programs: ``/usr/lib*``, ``/usr/bin``, the ``/lib*`` links or folders
  (the dynamic loader), ``/usr/share/zoneinfo`` and ``/usr/share/fonts``, and the few ``/etc``
  files the C library and fontconfig read (``ld.so.cache``, ``localtime``, ``fonts/``...);
* the Python installation: the interpreter (with its chain of symlinks), ``libpython``, the
  standard library, the virtual environment's ``pyvenv.cfg`` and the interpreter's
  site-packages -- with every copy of this course inside them left out: the ``grader``
  package (installed or editable), ``dl_grader*`` / ``dl-grader*`` metadata, editable
  ``.pth`` files and finders pointing into a checkout, and anything called
  ``solutions``, ``suites`` or ``tests``;
* the grader's worker-side modules only (:func:`worker_modules`: ``grader/worker.py`` and what
  it imports), staged once per grading process into a private read-only copy
  (:func:`staged_worker_package`) mounted at :data:`WORKER_PACKAGE_MOUNT`;
* ``/dev`` and ``/proc`` of its own, a private ``/tmp`` (also its home), and its copy of the
  submission (``grader.sandbox`` adds those).

Nothing else exists for student code: not the checkout, not another clone, mirror, wheel,
tarball or solutions folder anywhere on the machine, not the grading user's home, not a CI
runner's workspace or temp folder. Reduced mode (no bubblewrap) cannot build such a view.
"""
from __future__ import annotations

import ast
import atexit
import functools
import glob
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import PACKAGE_DIR

WORKER_PACKAGE_MOUNT = "/opt/grader-worker"   # where the staged grader/ package appears
WORKER_ENTRY = "worker"                       # python -m grader.worker
# grader modules that must never reach the worker, whatever imports them
NEVER_STAGED = frozenset({"suites", "solutions", "tests", "data", "templates", "bench",
                          "stubs", "checks", "pytest_plugin", "grading", "scoring",
                          "frozen_reference"})
# top-level entries of a site-packages folder that are (or may be) a copy of this course
COURSE_ENTRY_NAMES = frozenset({"grader", "solutions", "suites", "tests"})
COURSE_DIST = re.compile(r"dl[_-]grader", re.IGNORECASE)

SYSTEM_DIRS = ("/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32", "/usr/bin",
               "/usr/share/zoneinfo", "/usr/share/fonts")
TOP_LEVEL = ("/bin", "/lib", "/lib32", "/lib64", "/libx32")
# the C library's and fontconfig's (matplotlib runs fc-list when it builds its font cache)
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "fonts")
SYSTEM_SITE_GLOBS = ("/usr/lib/python3*/*-packages", "/usr/lib64/python3*/*-packages",
                     "/usr/local/lib/python3*/*-packages", "/usr/lib/python3/dist-packages")

_STAGED_INIT = '''"""The grader package as the worker sees it: its worker-side modules only.

Staged by grader.worker_view for one grading process; the suites, solutions, data and the
rest of the grader do not exist here.
"""
'''


# --------------------------------------------------------------------------------------------
# the grader's worker-side modules, staged
# --------------------------------------------------------------------------------------------
def _grader_imports(path: Path) -> set[str]:
    """Names of ``grader`` submodules ``path`` imports anywhere (also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "grader" and len(parts) > 1:
                    found.add(parts[1])
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: every module of grader is at the package's top level
                parts = ["grader", *module.split(".")] if module else ["grader"]
            else:
                parts = module.split(".")
            if parts[0] != "grader":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(a.name for a in node.names if a.name != "*")
    return found


@functools.lru_cache(maxsize=1)
def worker_modules() -> tuple[str, ...]:
    """The grader modules the worker process can import: worker.py and, transitively, every
    ``grader.*`` module it names (lazy imports inside functions included)."""
    todo, seen = [WORKER_ENTRY], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name in NEVER_STAGED:
            raise RuntimeError(f"grader/{name} must never reach the worker, but a worker-side "
                               f"module imports it")
        path = PACKAGE_DIR / f"{name}.py"
        if not path.is_file():
            if (PACKAGE_DIR / name).is_dir():
                raise RuntimeError(f"the worker imports the package grader.{name}: stage "
                                   f"single modules only")
            continue  # a name imported from grader/__init__ (not a module): nothing to stage
        seen.add(name)
        todo.extend(_grader_imports(path) - seen)
    return tuple(sorted(seen))


_STAGE_LOCK = threading.Lock()
_staged: dict[str, object] = {}


def _remove_staged(root: Path, owner: int) -> None:
    if os.getpid() == owner:  # a forked child must not remove its parent's copy
        shutil.rmtree(root, ignore_errors=True)


def staged_worker_package() -> Path:
    """A private, read-only copy of the worker-side modules (``<dir>/grader/...``), made once
    per grading process and removed when it exits."""
    with _STAGE_LOCK:
        root = _staged.get("root")
        if isinstance(root, Path) and _staged.get("pid") == os.getpid() and \
                (root / "grader" / f"{WORKER_ENTRY}.py").is_file():
            return root
        root = Path(tempfile.mkdtemp(prefix="grader-worker-"))
        package = root / "grader"
        package.mkdir()
        (package / "__init__.py").write_text(_STAGED_INIT, encoding="utf-8")
        for name in worker_modules():
            shutil.copyfile(PACKAGE_DIR / f"{name}.py", package / f"{name}.py")
        for path in package.iterdir():
            path.chmod(0o444)
        package.chmod(0o555)
        root.chmod(0o555)   # the worker reads it after dropping to its own uid
        atexit.register(_remove_staged, root, os.getpid())
        _staged.update(root=root, pid=os.getpid())
        return root


def discard_staged_worker_package() -> None:
    """Remove the staged copy now (tests; a long-lived process that grades no more)."""
    with _STAGE_LOCK:
        root = _staged.pop("root", None)
        if isinstance(root, Path) and _staged.pop("pid", None) == os.getpid():
            for path in [root, *root.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
            shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# copies of the course inside the Python installation
# --------------------------------------------------------------------------------------------
def _looks_like_course(directory: Path) -> bool:
    """A checkout or installed copy of this course: a grader package with its worker, or a
    folder with the grader, solutions or suites in it."""
    try:
        if (directory / "worker.py").is_file() and (directory / "sandbox.py").is_file():
            return True
        return any((directory / name).exists() for name in ("grader", "solutions", "suites"))
    except OSError:
        return True  # cannot tell: leave it out


_PATH_IN_TEXT = re.compile(r"(/[^\s'\"\\,;:)\]}]+)")


def is_course_entry(entry: Path) -> bool:
    """Whether a top-level entry of a site-packages folder is (part of) a copy of the course."""
    name = entry.name
    if name in COURSE_ENTRY_NAMES or COURSE_DIST.search(name):
        return True
    if name.endswith(".pyc") and entry.parent.name == "__pycache__":
        source = entry.parent.parent / (name.split(".")[0] + ".py")
        if source.is_file() and is_course_entry(source):
            return True
    # what points into a checkout: .pth and .egg-link files, editable finders (and their .pyc);
    # ordinary modules are not read (a path in six.py must not cost the worker six)
    if (name.endswith((".pth", ".egg-link")) or name.startswith("__editable__")) \
            and entry.is_file():
        try:
            text = entry.read_bytes()[:200_000].decode("latin-1")
        except OSError:
            return True
        if COURSE_DIST.search(text):
            return True
        for match in _PATH_IN_TEXT.findall(text):
            candidate = Path(match)
            if candidate.is_absolute() and candidate.is_dir() and _looks_like_course(candidate):
                return True
        if name.endswith(".pth"):
            if re.search(r"\bgrader\b", text):
                return True
            # an editable install's .pth imports its finder, which names the checkout
            for module in re.findall(r"\bimport\s+([A-Za-z_][\w.]*)", text):
                finder = entry.parent / (module.split(".")[0] + ".py")
                if finder.is_file() and is_course_entry(finder):
                    return True
    return False


def _has_course_entries(directory: Path) -> bool:
    try:
        entries = list(directory.iterdir())
    except OSError:
        return False
    for entry in entries:
        if is_course_entry(entry):
            return True
        if entry.name == "__pycache__" and entry.is_dir() and _has_course_entries(entry):
            return True
    return False


# --------------------------------------------------------------------------------------------
# the view
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    """One bubblewrap mount operation: ``kind`` is ro-bind, symlink, tmpfs, dir, remount-ro
    or mask (``/dev/null`` over a file)."""

    kind: str
    dest: str
    source: str = ""

    def args(self) -> list[str]:
        if self.kind == "ro-bind":
            return ["--ro-bind", self.source, self.dest]
        if self.kind == "symlink":
            return ["--symlink", self.source, self.dest]
        if self.kind == "tmpfs":
            return ["--perms", "0755", "--tmpfs", self.dest]
        if self.kind == "dir":
            return ["--perms", "0755", "--dir", self.dest]
        if self.kind == "remount-ro":
            return ["--remount-ro", self.dest]
        if self.kind == "mask":
            return ["--ro-bind", "/dev/null", self.dest]
        raise ValueError(self.kind)


class View:
    """An ordered list of mount operations; later ones cover earlier ones, as in bwrap."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    @classmethod
    def from_ops(cls, ops) -> "View":
        view = cls()
        view.ops = list(ops)
        return view

    def python_roots(self) -> list[Path]:
        """The Python installation's files and folders: never hidden as a whole (only data
        files inside them may be, see grader.sandbox._may_hide)."""
        python = python_paths()
        roots = python["stdlib"] + python["site"] + python["libs"] + python["config"]
        for exe in python["executable"]:
            roots += [exe, exe.parent, Path(os.path.realpath(exe)),
                      Path(os.path.realpath(exe)).parent]
        return list(dict.fromkeys(roots))

    def add(self, kind: str, dest: str | os.PathLike, source: str | os.PathLike = "") -> None:
        if kind in ("ro-bind", "symlink", "tmpfs", "dir"):
            # bwrap would create missing parents 0700: the worker's uid could not pass them
            for parent in reversed(Path(dest).parents):
                if parent != Path("/") and not self._exists(parent):
                    self.ops.append(Op("dir", str(parent)))
        self.ops.append(Op(kind, str(dest), str(source)))

    def _exists(self, path: Path) -> bool:
        """Whether ``path`` is a folder in the view already (made, mounted, or bound in)."""
        known = self.__dict__.setdefault("_known", [0, {"/tmp", "/dev", "/proc"}, []])
        indexed, made, bound = known
        for op in self.ops[indexed:]:          # index the operations added since last time
            if op.kind in ("dir", "tmpfs") or (op.kind == "ro-bind" and
                                                 os.path.isdir(op.source)):
                made.add(op.dest)
            if op.kind == "ro-bind":
                bound.append(op.dest + "/")
        known[0] = len(self.ops)
        text = str(path)
        return text in made or (any(text.startswith(b) for b in bound) and path.is_dir())

    def shows(self, path: Path) -> bool:
        """Whether ``path`` is visible through a bind (not covered by a later tmpfs/mask)."""
        path = Path(os.path.abspath(path))
        visible = False
        for op in self.ops:
            dest = Path(op.dest)
            if dest != path and dest not in path.parents:
                continue
            if op.kind in ("ro-bind", "symlink"):
                visible = True
            elif op.kind in ("tmpfs", "mask"):
                visible = False
        return visible

    def bind_path(self, path: Path) -> None:
        """Bind ``path`` at its own place, recreating a chain of symlinks on the way."""
        path = Path(os.path.abspath(path))
        for _ in range(40):
            if not path.is_symlink():
                break
            target = os.readlink(path)
            self.add("symlink", path, target)
            path = Path(os.path.normpath(path.parent / target))
        if path.exists() and not self.shows(path):
            self.add("ro-bind", path, path)

    def bind_filtered(self, directory: Path) -> None:
        """``directory`` without the course: an empty tmpfs with each other entry bound in."""
        self.add("tmpfs", directory)
        for entry in sorted(directory.iterdir()):
            if is_course_entry(entry):
                continue
            if entry.is_symlink():
                self.add("symlink", entry, os.readlink(entry))
            elif entry.name == "__pycache__" and entry.is_dir() and _has_course_entries(entry):
                self.bind_filtered(entry)
            else:
                self.add("ro-bind", entry, entry)
        self.add("remount-ro", directory)

    def args(self) -> list[str]:
        out: list[str] = []
        for op in self.ops:
            out += op.args()
        return out


def _ldd(executable: str) -> list[Path]:
    """Shared libraries ``executable`` loads (ldd), an empty list when ldd is unavailable."""
    try:
        done = subprocess.run(["ldd", executable], capture_output=True, text=True, timeout=20,
                              env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return []
    libs = []
    for line in done.stdout.splitlines():
        match = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if match:
            libs.append(Path(match.group(1)))
    return libs


def site_dirs() -> list[Path]:
    """The site-packages folders on the worker's sys.path (it runs with -s: no user site)."""
    dirs = [Path(p) for p in site.getsitepackages() if os.path.isdir(p)]
    return list(dict.fromkeys(dirs))


def _pth_dirs(directory: Path) -> list[Path]:
    """Folders the (allowed) .pth files of a site folder add to sys.path."""
    found = []
    for pth in sorted(directory.glob("*.pth")):
        if is_course_entry(pth):
            continue
        try:
            lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.strip()
            if not line or line.startswith(("#", "import ", "import\t")):
                continue
            target = Path(os.path.normpath(directory / line))
            if target.is_dir() and not _looks_like_course(target):
                found.append(target)
    return found


def python_paths() -> dict[str, list[Path]]:
    """The paths of the Python installation the worker needs, by role (a fresh copy)."""
    return {role: list(paths) for role, paths in _python_paths().items()}


@functools.lru_cache(maxsize=1)
def _python_paths() -> dict[str, list[Path]]:
    paths = sysconfig.get_paths()
    stdlib = [Path(paths["stdlib"])]
    if paths.get("platstdlib") and Path(paths["platstdlib"]) != stdlib[0]:
        stdlib.append(Path(paths["platstdlib"]))
    zipped = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}{sys.version_info[1]}.zip"
    if zipped.exists():
        stdlib.append(zipped)
    libdir = sysconfig.get_config_var("LIBDIR")
    soname = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY")
    libs = [p for p in _ldd(os.path.realpath(sys.executable))
            if not any(str(p).startswith(d + "/") for d in SYSTEM_DIRS + TOP_LEVEL)]
    if libdir and soname and (Path(libdir) / soname).exists():
        libs.append(Path(libdir) / soname)
    # the prefixes' lib folders whole: libpython, and the shared libraries compiled extensions
    # link to in a conda environment ($PREFIX/lib); site folders inside are filtered below
    for prefix in (sys.base_prefix, sys.prefix):
        folder = Path(prefix) / "lib"
        if folder.is_dir() and not any(str(folder.resolve()).startswith(d)
                                       for d in SYSTEM_DIRS):
            libs.insert(0, folder)
    config = [Path(sys.prefix) / "pyvenv.cfg"] if sys.prefix != sys.base_prefix else []
    return {"executable": [Path(os.path.abspath(sys.executable))],
            "stdlib": [p for p in stdlib if p.exists()],
            "libs": list(dict.fromkeys(libs)),
            "config": [p for p in config if p.exists()],
            "site": site_dirs()}


@functools.lru_cache(maxsize=1)
def _cached_view_ops() -> tuple[Op, ...]:
    view = View()
    for top in TOP_LEVEL:
        if os.path.islink(top):
            target = os.readlink(top)
            resolved = os.path.normpath(os.path.join("/", target))
            if any(resolved == d for d in SYSTEM_DIRS) and os.path.isdir(resolved):
                view.add("symlink", top, target)
        elif os.path.isdir(top):
            view.add("ro-bind", top, top)
    for directory in SYSTEM_DIRS:
        if os.path.isdir(directory) and not os.path.islink(directory):
            if directory.startswith("/usr/lib") and _has_course_entries(Path(directory)):
                view.bind_filtered(Path(directory))   # a copy installed as /usr/lib/grader
            else:
                view.add("ro-bind", directory, directory)
    for name in ETC_FILES:
        path = Path("/etc") / name
        if path.exists():
            view.add("ro-bind", path, path)  # follows a localtime symlink: the file it names
    python = python_paths()
    for path in python["executable"] + python["libs"] + python["config"] + python["stdlib"]:
        view.bind_path(path)
    site_on_path = python["site"]
    # site folders elsewhere in what is bound (the base interpreter's, the system's) may hold
    # an installed copy of the course too
    elsewhere = []
    for pattern in SYSTEM_SITE_GLOBS:
        elsewhere += [Path(p) for p in glob.glob(pattern)]
    for stdlib in python["stdlib"]:
        elsewhere += [stdlib / "site-packages", stdlib / "dist-packages"]
    for directory in list(dict.fromkeys(site_on_path + elsewhere)):
        if not directory.is_dir() or directory.is_symlink():
            continue
        on_path = directory in site_on_path
        if not on_path and not view.shows(directory):
            continue
        if _has_course_entries(directory):
            view.bind_filtered(directory)
        elif not view.shows(directory):
            view.bind_path(directory)
        if on_path:
            for extra in _pth_dirs(directory):
                view.bind_path(extra)
    return tuple(view.ops)


def system_ops() -> tuple[Op, ...]:
    """The worker's view before the sandbox adds the staged grader package, /dev, /proc,
    /tmp and the submission: system files and the Python installation without the course.
    Computed once per process."""
    return _cached_view_ops()


def clear_cache() -> None:
    """Forget the computed view (tests that change what is installed)."""
    _cached_view_ops.cache_clear()
    _python_paths.cache_clear()
    worker_modules.cache_clear()
