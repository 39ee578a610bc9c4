"""Attack on the file system view: at import the module looks for any copy of the course
the way a student who knows Linux would -- bubblewrap's own command line (/proc/1/cmdline
names every path it binds or masks), /proc/self/mountinfo (the host paths of its mounts),
/proc/1/root, /proc/1/cwd, /proc/1/environ, inherited file descriptors (/proc/self/fd,
/dev/fd), the staged grader package, and finally a walk of everything it can list,
reading every small text-like file (but its own) for the course's own markers (solution markers, the
hidden suite's code, the grader's test sentinel, the held-out attrition table's header).
It prints what it found, one "hostile:fs_recon found" line per hit.

Expected (bubblewrap): nothing is found; the walk and the probes end within the import
limit and every test passes. Reduced mode cannot hide files (documented).
"""
import os as _os
import re as _re
import time as _time

_MARKERS = [m.encode() for m in PARAMS.get("markers", ["# BEGIN SOLUTION"])]
_SUFFIXES = (".py", ".pyc", ".txt", ".md", ".json", ".toml", ".cfg", ".ini", ".ipynb",
             ".csv", ".gz", ".zip", ".tar", ".whl", ".bundle", ".pack", "")
_found = []
_scanned = [0]


def _hit(path, why):
    _found.append(path)
    print(f"hostile:fs_recon found {path} ({why})", flush=True)


def _check_file(path):
    try:
        if _os.path.realpath(path).startswith(_OWN):   # its own copy of the submission
            return
        st = _os.stat(path)
        if not _os.path.isfile(path) or st.st_size > 2_000_000:
            return
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return
    _scanned[0] += 1
    if path.endswith(".gz"):
        import gzip
        try:
            data = gzip.decompress(data)[:4_000_000]
        except Exception:   # noqa: BLE001
            pass
    for marker in _MARKERS:
        if marker in data:
            _hit(path, marker.decode(errors="replace")[:40])
            return


def _probe_named_paths():
    texts = []
    for name in ("/proc/1/cmdline", "/proc/self/mountinfo", "/proc/1/mountinfo",
                 "/proc/1/environ", "/proc/self/environ"):
        try:
            with open(name, "rb") as fh:
                texts.append(fh.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass
    paths = set(_re.findall(r"(/[\w.@+-]+(?:/[\w.@+-]+)*)", "\n".join(texts)))
    for extra in ("/proc/1/root", "/proc/1/cwd", "/proc/self/root", "/dev/fd",
                  "/proc/self/fd", "/opt/grader-worker"):
        paths.add(extra)
    for fd in range(256):
        paths.add(f"/proc/self/fd/{fd}")
    for path in sorted(paths):
        if path.startswith(("/proc/self/fd/", "/dev/fd")) and _os.path.isdir(path):
            _walk(path, depth=3)
        elif _os.path.isdir(path):
            _walk(path, depth=6)
        else:
            _check_file(path)


_SEEN_DIRS = set()


def _walk(top, depth=40):
    deadline = _START + float(PARAMS.get("walk_seconds", 25))
    for root, dirs, files in _os.walk(top, followlinks=False):
        if _time.monotonic() > deadline:
            print("hostile:fs_recon ran out of time", flush=True)
            return
        key = _os.path.realpath(root)
        if key in _SEEN_DIRS or root.count("/") - top.count("/") >= depth:
            dirs[:] = []
            continue
        _SEEN_DIRS.add(key)
        dirs[:] = [d for d in dirs if not (root == "/" and d in ("proc", "sys", "dev"))]
        for name in files:
            if any(name.endswith(s) for s in _SUFFIXES) and "." in name or name in (
                    "HEAD", "packed-refs", "RECORD"):
                _check_file(_os.path.join(root, name))
            elif name.startswith(("test_", "solution")):
                _check_file(_os.path.join(root, name))


_START = _time.monotonic()
_OWN = _os.path.realpath(_os.path.dirname(_os.path.abspath(__file__))) + "/"
if not PARAMS.get("roots"):   # the test's control run walks only where it planted a copy
    _probe_named_paths()
for _top in PARAMS.get("roots") or ("/", "/tmp", "/root", "/home", "/srv", "/var", "/opt",
                                     "/work", "/etc"):
    if _os.path.isdir(_top):
        _walk(_top)
print(f"hostile:fs_recon done: {len(_found)} found, {_scanned[0]} files read in "
      f"{_time.monotonic() - _START:.1f} s", flush=True)
