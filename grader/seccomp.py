"""A system-call filter for the worker: deny what student code never needs, with EPERM.

In the spirit of Docker's default seccomp profile, the worker may not create namespaces (the
way to new privileges inside a user namespace), use io_uring (a large kernel surface that
bypasses the other rules), userfaultfd, the kernel keyring, ptrace or another process's memory,
vsock sockets (the path out of a virtual machine), mount anything, load BPF programs, kernel
modules or a new kernel, or open performance counters. Everything else — threads, sockets on
the loopback of its own network namespace, files, mmap — is allowed, so NumPy, scikit-learn,
TensorFlow and notebook execution work unchanged.

The filter is compiled once by libseccomp (through the ``pyseccomp`` ctypes wrapper), which
checks the architecture: calls made through another ABI (i386 ``int 0x80``, x32) fail too. It
is exported as a classic BPF program that

* bubblewrap loads just before it execs the worker (``bwrap --seccomp FD``), and
* reduced mode installs from the ``preexec`` function with ``PR_SET_NO_NEW_PRIVS`` first.

``clone3`` answers ENOSYS rather than EPERM: its flags live in memory a filter cannot read, and
glibc falls back to ``clone`` (whose flags it can) only on ENOSYS.
"""
from __future__ import annotations

import ctypes
import errno
import functools
import os
import tempfile

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

AF_VSOCK = 40
NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000, "CLONE_NEWTIME": 0x00000080,
}

# denied outright; names this kernel/architecture does not know are skipped
DENIED = (
    # namespaces
    "unshare", "setns",
    # io_uring, userfaultfd
    "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd",
    # kernel keyring
    "keyctl", "add_key", "request_key",
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # mounts and the root
    "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr", "name_to_handle_at", "open_by_handle_at",
    # BPF, tracing, kernel
    "bpf", "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "create_module", "lookup_dcookie", "fanotify_init", "syslog", "acct",
    "quotactl", "quotactl_fd", "swapon", "swapoff", "reboot", "iopl", "ioperm",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "vhangup", "uselib",
    "_sysctl", "nfsservctl", "vm86", "vm86old",
)


class SeccompUnavailable(RuntimeError):
    """No filter can be built here (no libseccomp, an architecture it does not know)."""


@functools.lru_cache(maxsize=1)
def program() -> bytes:
    """The filter as a classic BPF program (``struct sock_filter[]``), built once."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError, RuntimeError) as exc:  # RuntimeError: no libseccomp.so
        raise SeccompUnavailable(f"libseccomp is not usable ({exc}); install libseccomp2 "
                                 f"and the pyseccomp package") from None
    eperm = sc.ERRNO(errno.EPERM)
    try:
        flt = sc.SyscallFilter(sc.ALLOW)
        flt.set_attr(sc.Attr.ACT_BADARCH, eperm)   # another ABI (i386, x32): refused too
        native = sc.system_arch()
        for name in DENIED:
            if _known(sc, native, name):
                flt.add_rule(eperm, name)
        for flag in NAMESPACE_FLAGS.values():
            flt.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
        if _known(sc, native, "clone3"):
            flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        flt.add_rule(eperm, "socket", sc.Arg(0, sc.EQ, AF_VSOCK))
        if _known(sc, native, "socketcall"):  # 32-bit ABIs multiplex sockets through it
            flt.add_rule(eperm, "socketcall")
        with tempfile.TemporaryFile() as fh:
            flt.export_bpf(fh)
            fh.seek(0)
            data = fh.read()
    except (OSError, RuntimeError, ValueError) as exc:
        raise SeccompUnavailable(f"the system-call filter could not be built: {exc}") from None
    if not data or len(data) % 8:
        raise SeccompUnavailable("libseccomp exported an empty or malformed filter")
    return data


def _known(sc, arch: int, name: str) -> bool:
    try:
        return sc.resolve_syscall(arch, name) >= 0
    except (OSError, RuntimeError, ValueError):
        return False


def available() -> tuple[bool, str]:
    """(whether the filter can be applied, why not)."""
    try:
        program()
    except SeccompUnavailable as exc:
        return False, str(exc)
    return True, ""


@functools.lru_cache(maxsize=1)
def program_fd() -> int:
    """A sealed memfd holding :func:`program`, for ``bwrap --seccomp``. Kept open (close on
    exec) for the grader's life; each launch reads it through its own file description
    (:func:`reopen_for_child`), so concurrent launches do not share a file offset."""
    data = program()
    fd = os.memfd_create("dl-grader-seccomp", os.MFD_CLOEXEC | getattr(os, "MFD_ALLOW_SEALING", 2))
    os.write(fd, data)
    try:
        import fcntl

        seals = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    except (AttributeError, OSError):  # pragma: no cover - Python < 3.9 or no sealing
        pass
    return fd


def reopen_for_child(fd: int) -> None:
    """In the forked child: give ``fd`` a file description of its own, at offset 0."""
    fresh = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY)
    os.dup2(fresh, fd)          # dup2 leaves the new descriptor inheritable
    os.close(fresh)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


@functools.lru_cache(maxsize=1)
def _prepared() -> tuple[_SockFprog, ctypes.Array, ctypes.CDLL]:
    data = program()
    buf = ctypes.create_string_buffer(data, len(data))
    prog = _SockFprog(len(data) // 8, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)      # a private handle: argtypes set here only
    libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                           ctypes.c_ulong)
    return prog, buf, libc


def prepare() -> None:
    """Build everything :func:`install` needs, in the parent (no work after fork)."""
    _prepared()


def install() -> None:
    """Apply the filter to the calling process (and everything it execs or forks).

    Meant for a forked child before exec: sets PR_SET_NO_NEW_PRIVS first, as the kernel
    requires of a process without CAP_SYS_ADMIN, and so no setuid binary regains privileges.
    """
    prog, _buf, libc = _prepared()
    prctl = libc.prctl
    if prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    if prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "installing the system-call filter failed")
