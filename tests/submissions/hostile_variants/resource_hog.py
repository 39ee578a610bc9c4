"""Attack on the worker's limits from inside, then honest answers: at import the module
fills its /tmp (its home too) until the disk says no, opens file descriptors until none
are left, starts threads until it cannot, and maps 64 GiB with MAP_NORESERVE touching a
page every MiB until something stops it; it prints how far each got, releases what it
can, and the functions are the reference's.

Expected (bubblewrap): /tmp stops at its tmpfs size, descriptors at the open-files limit,
threads at the process limit, the mapping at the memory limit (RLIMIT_AS refuses it, or
the cgroup kills the toucher); the grader and the machine are unaffected; every test that
runs after a surviving import passes.
"""
import mmap as _mmap
import os as _os
import threading as _threading
import time as _time


def _hog():
    report = []
    written = 0
    chunk = b"\0" * (16 << 20)
    path = None
    try:
        for i in range(int(PARAMS.get("max_tmp_files", 100))):
            path = f"/tmp/hog-{i}"
            with open(path, "wb") as fh:
                for _ in range(3):        # 48 MiB per file: under the file-size limit
                    fh.write(chunk)
                    written += len(chunk)
    except OSError as exc:
        report.append(f"tmp stopped at {written >> 20} MiB: {exc.strerror}")
    for name in _os.listdir("/tmp"):
        if name.startswith("hog-"):
            _os.unlink(_os.path.join("/tmp", name))
    fds = []
    try:
        while len(fds) < 100_000:
            fds.append(_os.open("/dev/null", _os.O_RDONLY))
    except OSError as exc:
        report.append(f"fds stopped at {len(fds)}: {exc.strerror}")
    for fd in fds:
        _os.close(fd)
    stop = _threading.Event()
    threads = []
    try:
        while len(threads) < 5000:
            t = _threading.Thread(target=stop.wait, daemon=True)
            t.start()
            threads.append(t)
    except (RuntimeError, MemoryError) as exc:
        report.append(f"threads stopped at {len(threads)}: {exc}")
    stop.set()
    for t in threads:
        t.join()
    try:
        m = _mmap.mmap(-1, 64 << 30, flags=_mmap.MAP_PRIVATE | _mmap.MAP_ANONYMOUS
                       | getattr(_mmap, "MAP_NORESERVE", 0))
        report.append("mapped 64 GiB")
        m.close()
    except (OSError, ValueError, MemoryError) as exc:
        report.append(f"64 GiB map refused: {exc}")
    print("hostile:resource_hog " + "; ".join(report), flush=True)


_hog()
