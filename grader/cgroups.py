"""One control group per worker: memory and process limits for its whole process tree.

``RLIMIT_AS`` bounds one process's address space. A worker that forks children, or fills a
memfd, ``/dev/shm``, System V shared memory or its tmpfs ``/tmp``, escapes it: each process stays
under the limit while the tree holds many times more. A memory cgroup counts all of it (tmpfs
and shared-memory pages are charged to the cgroup whose process touched them), and a pids
cgroup counts every task of the tree whatever its uid.

Both cgroup versions are supported:

* **v2** (modern distributions, CI runners): ``memory.max``, ``memory.swap.max`` (0: no swap to
  hide in), ``pids.max``; peak from ``memory.peak`` (Linux 5.19+); out-of-memory kills counted in
  ``memory.events``; the tree is killed with ``cgroup.kill`` (5.14+) or one process at a time.
* **v1**: ``memory.limit_in_bytes`` and ``memory.memsw.limit_in_bytes`` (when swap accounting is
  on), ``pids.max`` in the pids hierarchy; peak from ``memory.max_usage_in_bytes``.

The worker joins its cgroup from the ``preexec`` function, in the forked child before it execs
bubblewrap or the interpreter, so no student code ever runs outside it. Where no cgroup can be
made (not root, no memory controller, a v2 hierarchy that cannot be delegated), :func:`support`
says why, and the sandbox notes in result.json say what is enforced instead.
"""
from __future__ import annotations

import atexit
import errno
import functools
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

PREFIX = "dl-grader"
PIDS_ALLOWANCE = 4    # bubblewrap's own processes (its parent and the namespace's init)


@dataclass(frozen=True)
class Support:
    """Where worker cgroups can be made on this machine (``version`` 0: nowhere, see reason)."""

    version: int                    # 2, 1 or 0
    memory_parent: Path | None      # the directory new memory (v2: all) cgroups go into
    pids_parent: Path | None        # v1 only: the pids hierarchy's directory (None: no pids)
    reason: str
    pids: bool = False              # a process limit for the tree (pids controller) as well

    @property
    def available(self) -> bool:
        return self.version != 0


def _mounts() -> list[tuple[str, Path, str, set[str]]]:
    """(fstype, mount point, root inside the hierarchy, super options) of cgroup mounts."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        mount = Path(fields[4].replace("\\040", " "))
        found.append((tail[0], mount, fields[3], set(tail[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """Controller (v1) or "" (v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[1] == "":
            paths[""] = parts[2]
        for controller in parts[1].split(","):
            if controller:
                paths[controller] = parts[2]
    return paths


def _inside(mount: Path, root: str, path: str) -> Path | None:
    """The directory of cgroup ``path`` under a mount of hierarchy root ``root``."""
    root = root.rstrip("/") or "/"
    if root != "/" and not (path == root or path.startswith(root + "/")):
        return None
    rel = path[len(root):] if root != "/" else path
    directory = mount / rel.lstrip("/")
    return directory if directory.is_dir() else None


def _writable_parent(directory: Path, probe_files: tuple[str, ...]) -> bool:
    if not os.access(directory, os.W_OK):
        return False
    probe = directory / f"{PREFIX}-probe-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        return all((probe / name).exists() for name in probe_files)
    finally:
        _rmdir(probe)


def _enable(directory: Path, controllers: tuple[str, ...]) -> bool:
    """Turn ``controllers`` on for the children of v2 cgroup ``directory``."""
    try:
        have = set((directory / "cgroup.subtree_control").read_text().split())
        missing = [c for c in controllers if c not in have]
        if missing:
            (directory / "cgroup.subtree_control").write_text(
                " ".join("+" + c for c in missing))
        return True
    except OSError:
        return False


def _v2_support(mount: Path, root: str, own: str) -> Support:
    try:
        available = set((mount / "cgroup.controllers").read_text().split())
    except OSError:
        available = set()
    if "memory" not in available:
        return Support(0, None, None, f"the cgroup v2 hierarchy at {mount} has no memory "
                                      f"controller")
    wanted = ("memory", "pids") if "pids" in available else ("memory",)
    here = _inside(mount, root, own)
    # our own cgroup first (a delegated subtree, or the real root); then the top of the
    # hierarchy, where a shared parent for every grader on the machine is made
    for base in [d for d in (here, mount) if d is not None]:
        if not os.access(base, os.W_OK) or not _enable(base, wanted):
            continue
        parent = base / PREFIX
        try:
            parent.mkdir(exist_ok=True)
        except OSError:
            continue
        if _enable(parent, wanted) and _writable_parent(parent, ("memory.max",)):
            return Support(2, parent, None, f"cgroup v2 at {parent}", "pids" in wanted)
    return Support(0, None, None, "cgroup v2 memory controller cannot be delegated to the "
                                  "grader here (not root, or its cgroup holds processes)")


def _v1_support(mounts, own: dict[str, str]) -> Support:
    memory = pids = None
    for fstype, mount, root, options in mounts:
        if fstype != "cgroup":
            continue
        if "memory" in options and "memory" in own:
            memory = _inside(mount, root, own["memory"])
        if "pids" in options and "pids" in own:
            pids = _inside(mount, root, own["pids"])
    if memory is None:
        return Support(0, None, None, "no cgroup memory controller is mounted")
    if not _writable_parent(memory, ("memory.limit_in_bytes",)):
        return Support(0, None, None, f"cannot create a memory cgroup under {memory} "
                                      f"(the grader is not root there)")
    if pids is not None and not _writable_parent(pids, ("pids.max",)):
        pids = None
    return Support(1, memory, pids, f"cgroup v1 at {memory}", pids is not None)


@functools.lru_cache(maxsize=1)
def support() -> Support:
    """Which cgroup version this machine lets the grader use for its workers, and where."""
    found = _detect()
    for parent in (found.memory_parent, found.pids_parent):
        if parent is not None:
            _sweep(parent)
    return found


def _sweep(parent: Path) -> None:
    """Remove empty worker cgroups left by graders that died without cleaning up (killed)."""
    try:
        entries = list(parent.glob(f"{PREFIX}-*-*"))
    except OSError:
        return
    for entry in entries:
        try:
            owner = int(entry.name.split("-")[2])
        except (IndexError, ValueError):
            continue
        if owner == os.getpid() or Path(f"/proc/{owner}").exists():
            continue
        try:
            # young ones may belong to a grader in another PID namespace, about to start
            if time.time() - entry.stat().st_mtime < 600:
                continue
            entry.rmdir()   # refused while any process is still inside
        except OSError:
            pass


def _detect() -> Support:
    if os.environ.get("GRADER_CGROUPS", "").lower() in ("0", "off", "no"):
        return Support(0, None, None, "cgroups were turned off (GRADER_CGROUPS=off)")
    mounts = _mounts()
    own = _own_paths()
    v2 = [(m, r, o) for fstype, m, r, o in mounts if fstype == "cgroup2"]
    if v2 and "" in own:
        mount, root, _ = v2[0]
        result = _v2_support(mount, root, own[""])
        if result.available:
            return result
        if not any(f == "cgroup" and "memory" in o for f, _, _, o in mounts):
            return result
    return _v1_support(mounts, own)


def _write(path: Path, value: str | int) -> None:
    path.write_text(str(value))


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _rmdir(directory: Path, tries: int = 40) -> bool:
    for _ in range(tries):
        try:
            directory.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                return False
            time.sleep(0.05)    # dying tasks leave the cgroup a moment after SIGKILL
    return False


class WorkerCgroup:
    """The cgroup(s) of one worker: limits set, joined by :meth:`join` in the child."""

    def __init__(self, support: Support, memory_bytes: int, max_processes: int):
        self.version = support.version
        self.memory_bytes = memory_bytes
        name = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(6)}"
        assert support.memory_parent is not None
        self.dirs: list[Path] = [support.memory_parent / name]
        if support.pids_parent is not None:
            self.dirs.append(support.pids_parent / name)
        self._procs_fds: list[int] = []
        self.peak: int | None = None
        self.removed = False
        made: list[Path] = []
        try:
            for directory in self.dirs:
                directory.mkdir()
                made.append(directory)
            pids_max = max_processes + PIDS_ALLOWANCE
            if self.version == 2:
                cg = self.dirs[0]
                _write(cg / "memory.max", memory_bytes)
                if (cg / "memory.swap.max").exists():
                    _write(cg / "memory.swap.max", 0)
                if (cg / "pids.max").exists():
                    _write(cg / "pids.max", pids_max)
            else:
                cg = self.dirs[0]
                _write(cg / "memory.limit_in_bytes", memory_bytes)
                if (cg / "memory.memsw.limit_in_bytes").exists():
                    _write(cg / "memory.memsw.limit_in_bytes", memory_bytes)
                if len(self.dirs) > 1:
                    _write(self.dirs[1] / "pids.max", pids_max)
            # opened now, in the trusted parent: the forked child only writes to them
            self._procs_fds = [os.open(d / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
                               for d in self.dirs]
            _LIVE.add(self)
        except BaseException:
            for fd in self._procs_fds:
                os.close(fd)
            self._procs_fds = []
            for directory in reversed(made):
                _rmdir(directory, 1)
            raise

    # ---- in the forked child, before exec -------------------------------------------------
    def join(self) -> None:
        """Move the calling process into the cgroup(s). Called from ``preexec_fn``."""
        for fd in self._procs_fds:
            os.write(fd, b"0")

    # ---- in the grader --------------------------------------------------------------------
    def close_fds(self) -> None:
        for fd in self._procs_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._procs_fds = []

    def pids(self) -> list[int]:
        found: set[int] = set()
        for directory in self.dirs:
            try:
                found.update(int(p) for p in (directory / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    def read_peak(self) -> int | None:
        """Most memory the tree held at once (bytes), or None when the kernel cannot tell."""
        cg = self.dirs[0]
        if self.version == 2:
            return _read_int(cg / "memory.peak")
        values = [_read_int(cg / "memory.max_usage_in_bytes"),
                  _read_int(cg / "memory.memsw.max_usage_in_bytes")]
        values = [v for v in values if v is not None]
        return max(values) if values else None

    def oom_kills(self) -> int:
        """How many processes of the tree the kernel killed for going over the limit."""
        cg = self.dirs[0]
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (cg / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def kill_all(self, rounds: int = 50) -> None:
        """SIGKILL every process in the tree, including those that left its session."""
        if self.version == 2 and (self.dirs[0] / "cgroup.kill").exists():
            try:
                _write(self.dirs[0] / "cgroup.kill", 1)
            except OSError:
                pass
        for _ in range(rounds):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)

    def remove(self) -> int | None:
        """Kill what is left, record the peak, delete the cgroup(s); returns the peak."""
        if self.removed:
            return self.peak
        self.close_fds()
        self.kill_all()
        self.peak = self.read_peak()
        self.removed = True
        _LIVE.discard(self)
        for directory in self.dirs:
            _rmdir(directory)
        return self.peak


_LIVE: set[WorkerCgroup] = set()


@atexit.register
def _remove_leftovers() -> None:
    """A worker never closed (the grader crashed mid-run) leaves no cgroup behind."""
    for cgroup in list(_LIVE):
        cgroup.remove()


def create(memory_bytes: int, max_processes: int) -> WorkerCgroup | None:
    """A fresh cgroup for one worker, or None when this machine offers none."""
    found = support()
    if not found.available:
        return None
    try:
        return WorkerCgroup(found, memory_bytes, max_processes)
    except OSError:
        return None


def describe(memory_bytes: int) -> str:
    """What the sandbox notes say about memory limits on this machine."""
    found = support()
    size = f"{memory_bytes / (1 << 30):.3g} GiB" if memory_bytes >= 1 << 30 else \
        f"{memory_bytes >> 20} MiB"
    if found.available:
        what = "memory ({size}) and process limits hold" if found.pids else \
            "the memory limit ({size}) holds"
        return (f"{what.format(size=size)} for the worker's whole process tree, shared memory "
                f"and its /tmp included (cgroup v{found.version})")
    return (f"no cgroup ({found.reason}): memory is limited per process only (address space "
            f"{size}); a worker that forks or fills shared memory can hold more in total, up "
            f"to the size of its /tmp on top")
