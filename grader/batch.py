"""``grader batch``: grade a whole class, one grading process per submission, N at a time.

    grader batch SOURCE --out DIR [--jobs N] [--shard I/N] [--resume] [--exercise NAME ...]

SOURCE is a folder of submissions (each visible sub-folder or ``.zip`` is one) or a text file
listing local paths and git URLs, one per line. Each submission is graded by its own
``python -m grader grade`` process writing ``DIR/<id>/``: a submission that crashes, hangs or
exhausts the machine costs only its own row, and a batch stopped at any moment (Ctrl-C, a
killed CI job, a power cut) resumes with ``--resume`` because ``result.json`` is written
atomically and is the only proof that a submission is done. ``--shard I/N`` lets N machines
split one class deterministically; ``grader merge`` combines their outputs.

Exit status: 0 when the batch completed (whatever the scores), 2 for usage errors, 130 when
interrupted (rerun with --resume).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
try:  # POSIX; the student edition imports this module on Windows too (grader check)
    import fcntl
except ImportError:  # pragma: no cover - Windows: batches need POSIX anyway
    fcntl = None
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Iterable

from grader import assignment, gradebook
from grader.gradebook import ERROR_NAME, RESULT_NAME, SOURCE_NAME
from grader.locate import is_debris
from grader.results import Result

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130
DEFAULT_TIMEOUT = 30 * 60.0          # seconds for one submission, cloning included
LOG_NAME = "grader.log"              # stdout and stderr of the submission's grading process
LOCK_NAME = ".batch.lock"
MAX_ID_LENGTH = 80
LOG_TAIL_LINES = 40                  # of grader.log copied into error.txt

_SCHEME_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*")
_GIT_URL = re.compile(r"^(?:(?:https?|git|ssh|file|git\+ssh|ssh\+git)://|[\w.-]+@[\w.-]+:(?!//))")
_PASSWORD = re.compile(r"(://[^/:@]*):[^/@]*@")


class UsageError(Exception):
    """The batch cannot start (bad option, unreadable SOURCE, an --out in use): exit 2."""


class FetchError(Exception):
    """A git submission could not be cloned or has no commit to grade."""


# ---- what to grade ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Submission:
    id: str                # stable: derived from the name alone (the gradebook's student id)
    source: str            # a local path, or a git URL (without the @ref)
    kind: str              # "folder", "zip" or "git"
    ref: str | None = None  # git only: the commit, branch or tag given after '@'
    warnings: tuple[str, ...] = ()   # e.g. the same student as a folder and a zip
    name: str = ""         # the entry's own name ("Zoë Ünal (late)"), before safe_id


def safe_id(name: str) -> str:
    """A folder name anyone's file system and shell accept: ASCII letters, digits, '.', '_', '-'.

    Accents are folded (``Zoë Ünal`` -> ``Zoe_Unal``); anything else becomes ``_``.
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    return text[:MAX_ID_LENGTH].rstrip("._-") or "submission"


def assign_ids(names: list[str]) -> list[str]:
    """Filesystem-safe ids for ``names``, unique even on case-insensitive file systems
    (a clash gets ``-2``, ``-3``...). The caller fixes the order, so ids are deterministic."""
    taken: set[str] = set()
    ids = []
    for name in names:
        base = safe_id(name)
        candidate, n = base, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base[:MAX_ID_LENGTH - 6]}-{n}"
        taken.add(candidate.lower())
        ids.append(candidate)
    return ids


def is_git_url(text: str) -> bool:
    return bool(_GIT_URL.match(text))


def split_git_ref(line: str) -> tuple[str, str | None]:
    """``URL@ref`` -> (URL, ref). Only an '@' in the repository path counts, so the user part
    of ``git@host:org/repo`` or ``https://user@host/...`` is never taken for a ref."""
    authority = _SCHEME_URL.match(line)
    start = authority.end() if authority else line.index(":") + 1
    path = line[start:]
    if "@" not in path:
        return line, None
    path, ref = path.rsplit("@", 1)
    if not ref or not path:
        raise UsageError(f"{redact(line)}: nothing after '@' — write URL@<commit, branch or tag>")
    return line[:start] + path, ref


def repo_name(url: str) -> str:
    authority = _SCHEME_URL.match(url)
    path = url[authority.end():] if authority else url.split(":", 1)[-1]
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name.removesuffix(".git")


def redact(url: str) -> str:
    """A URL as it may be printed or stored: a password or token in it is replaced."""
    return _PASSWORD.sub(r"\1:***@", url)


def discover(source: Path, *, exclude: Iterable[Path] = ()) -> tuple[list[Submission], list[str]]:
    """The submissions in ``source`` sorted by id, and the entries that were ignored.

    A folder: each visible sub-folder and ``.zip`` file; archive debris (``__MACOSX``, ``._*``,
    ``.DS_Store``, ``Thumbs.db``) is never a student, and a student present both as a folder and
    as a ``.zip`` of the same name is one submission (the folder), with a warning. A text file:
    one local path (relative to the file) or git URL per line; ``#`` starts a comment. A local
    path ending in ``.git`` (a bare repository, optionally ``@ref``) is cloned like a URL.
    """
    excluded = {Path(p).resolve() for p in exclude}
    entries: list[tuple[str, str, str, str | None]] = []   # (name, source, kind, ref)
    ignored: list[str] = []
    warnings: dict[str, list[str]] = {}                    # source -> warnings
    if source.is_dir():
        for entry in sorted(source.iterdir(), key=lambda p: p.name):
            if entry.name.startswith(".") or is_debris(entry.name) \
                    or entry.resolve() in excluded:
                continue
            if entry.is_dir():
                entries.append((entry.name, str(entry), "folder", None))
            elif entry.suffix.lower() == ".zip":
                entries.append((entry.stem, str(entry), "zip", None))
            else:
                ignored.append(entry.name)
    elif source.is_file():
        try:
            lines = source.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{source}: cannot read the list of submissions ({exc})") from None
        for raw in lines:
            line = re.sub(r"(^|\s)#.*$", "", raw).strip()
            if not line:
                continue
            if is_git_url(line):
                url, ref = split_git_ref(line)
                entries.append((repo_name(url), url, "git", ref))
            else:
                path = Path(line).expanduser()
                path = path if path.is_absolute() else source.parent / path
                bare, _, ref = (str(path).rpartition("@") if "@" in path.name
                                else (str(path), "", ""))
                if Path(bare).suffix == ".git":   # a local bare repository, maybe @ref
                    entries.append((Path(bare).stem, bare, "git", ref or None))
                elif path.suffix.lower() == ".zip":
                    entries.append((path.stem, str(path), "zip", None))
                else:
                    entries.append((path.name, str(path), "folder", None))
    else:
        raise UsageError(f"{source}: no such folder or file — give a folder of submissions or "
                         f"a text file listing them")
    entries = _one_per_student(entries, warnings)
    # ids depend only on names (and, for equal names, on the source text), never on the order
    # the file system lists entries in: every machine of a sharded batch derives the same ids
    entries.sort(key=lambda e: (safe_id(e[0]).lower(), e[0], e[1], e[3] or ""))
    ids = assign_ids([e[0] for e in entries])
    subs = [Submission(i, src, kind, ref, tuple(warnings.get(src, ())), name)
            for i, (name, src, kind, ref) in zip(ids, entries)]
    return sorted(subs, key=lambda s: s.id), ignored


def _one_per_student(entries: list[tuple[str, str, str, str | None]],
                     warnings: dict[str, list[str]]) -> list[tuple[str, str, str, str | None]]:
    """A folder and a .zip with the same name (``alice/`` and ``alice.zip``: a zip unpacked
    next to itself) are one student: the folder is graded, the zip is left out with a
    warning. A folder with no file in it loses to the zip instead."""
    groups: dict[str, list[tuple[str, str, str, str | None]]] = {}
    for entry in entries:
        key = safe_id(entry[0]).lower() if entry[2] in ("folder", "zip") else entry[1]
        groups.setdefault(key, []).append(entry)
    kept = []
    for group in groups.values():
        folders = [e for e in group if e[2] == "folder"]
        zips = [e for e in group if e[2] == "zip"]
        if not folders or not zips or len(group) != len(folders) + len(zips):
            kept += group
            continue
        filled = [f for f in folders if _has_files(Path(f[1]))]
        keep = (filled or [zips[0]])[0]
        dropped = [e for e in group if e is not keep]
        kept.append(keep)
        what = "folder" if keep[2] == "folder" else "zip (the folder is empty)"
        warnings.setdefault(keep[1], []).append(
            f"the same student was submitted {len(group)} times "
            f"({', '.join(Path(e[1]).name + ('/' if e[2] == 'folder' else '') for e in group)}): "
            f"graded the {what} {Path(keep[1]).name}, ignored "
            f"{', '.join(Path(e[1]).name for e in dropped)}")
    return kept


def _has_files(folder: Path) -> bool:
    try:
        return any(p.is_file() and not is_debris(p.name) for p in folder.rglob("*"))
    except OSError:
        return False


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UsageError(f"--shard {text!r}: write I/N with 1 <= I <= N, e.g. --shard 2/4")
    return int(match[1]), int(match[2])


def select_shard(subs: list[Submission], index: int, count: int) -> list[Submission]:
    """Shard ``index`` (1-based) of ``count``: the submissions whose position in the sorted
    list is ``index - 1`` modulo ``count`` — the same split on every machine."""
    return [s for position, s in enumerate(subs) if position % count == index - 1]


def parse_deadline(text: str) -> datetime:
    """An ISO 8601 moment; without a UTC offset it is this machine's local time."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--deadline {text!r}: not an ISO 8601 date and time "
                         f"(e.g. 2025-03-14T23:59:00+01:00)") from None
    return moment.astimezone(timezone.utc)


# ---- the output folder --------------------------------------------------------------------------

def is_done(folder: Path) -> bool:
    """A submission is done exactly when its result.json exists and parses."""
    try:
        Result.read(folder / RESULT_NAME)
    except ValueError:
        return False
    return True


def plan(out: Path, subs: list[Submission], resume: bool) -> tuple[list[Submission], list[Submission]]:
    """(to grade, already done). Without ``resume`` the output folder must be new or empty; with
    it, whatever a stopped run left half-written for a submission is deleted first."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(p.name != LOCK_NAME for p in out.iterdir()) and not resume:
        raise UsageError(f"--out {out} is not empty: add --resume to finish that batch (only "
                         f"submissions without a result.json are graded), or choose another --out")
    todo, done = [], []
    for sub in subs:
        folder = out / sub.id
        if resume and is_done(folder):
            done.append(sub)
            continue
        if folder.is_symlink() or folder.is_file():
            folder.unlink()
        elif folder.exists():
            shutil.rmtree(folder)
        todo.append(sub)
    return todo, done


@contextlib.contextmanager
def locked(out: Path):
    """Refuse a second batch writing into the same --out at the same time."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    with open(path, "w") as fh:
        try:
            if fcntl is None:
                raise UsageError("grader batch needs a POSIX system (Linux or macOS)")
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"--out {out}: another batch is writing there right now") from None
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


# ---- running the grading processes -------------------------------------------------------------

# Every child is started through this few-line launcher: on Linux it asks the kernel to
# SIGKILL it when the batch dies, then execs the real command (the request survives exec).
# So a killed batch leaves no grading running behind to write into the folder a resumed batch
# owns. Doing this in preexec_fn instead is unsafe in a process that runs threads.
_DIE_WITH_BATCH = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv[1]):  # the batch died before that took effect\n"
    "    sys.exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def _die_with_batch(cmd: list[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return cmd
    return [sys.executable, "-I", "-S", "-c", _DIE_WITH_BATCH, str(os.getpid()), *cmd]


@dataclass
class Options:
    out: Path
    jobs: int
    threads: int
    timeout: float
    exercises: list[str] | None
    sandbox: str | None
    deadline: datetime | None
    # classmates' submissions and results: no student's worker may read them
    hide: tuple[Path, ...] = ()
    # how one submission is graded; a separate interpreter, never this process
    command: tuple[str, ...] = (sys.executable, "-m", "grader", "grade")
    # roster, deadline and late policy (grader/term.py): applied after each grading
    term: "Term | None" = None
    # the next grading process starts ahead, warm (grader.pool.StandbyGraders); --no-pool
    pool: bool = True
    # standbys are forked from one warm template (grader.forkserver); GRADER_FORKSERVER=0
    fork: bool = field(default_factory=lambda: os.environ.get("GRADER_FORKSERVER", "1") != "0")


@dataclass
class Outcome:
    id: str
    ok: bool
    seconds: float
    text: str              # "36/36 (100.0 %)" or the reason grading failed


class Interrupted(Exception):
    """The batch is stopping; this submission is left for --resume."""


class Runner:
    """Grades submissions on ``jobs`` threads, each waiting on one child process at a time."""

    def __init__(self, options: Options):
        self.options = options
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen] = {}
        self._env = _child_env()
        self._standbys = None     # grader.pool.StandbyGraders, when the pool is on
        # the warm template the standbys are forked from (grader.forkserver); False: off
        self._template = None
        self._template_lock = threading.Lock()

    # -- grading processes started ahead (grader.pool) ---------------------------------------
    def expect(self, todo: list[Submission]) -> None:
        """``todo`` will be graded in this order: keep the next grading processes warm."""
        if self._use_standby():
            if todo:
                self._start_template()
            self._standby_graders().expect(
                [(sub.id, None if sub.kind == "git" else sub.source) for sub in todo])

    def close(self) -> None:
        if self._standbys is not None:
            self._standbys.close()
        with self._template_lock:
            if self._template:
                self._template.close()
            self._template = False

    def _use_standby(self) -> bool:
        return self.options.pool and self.options.command == Options.command

    def _standby_graders(self):
        if self._standbys is None:
            from grader.pool import StandbyGraders

            def popen(cmd: list[str]) -> subprocess.Popen:
                proc = self._fork(cmd)
                if proc is None:
                    proc = subprocess.Popen(_die_with_batch(cmd), stdin=subprocess.PIPE,
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, env=self._env,
                                            start_new_session=True)
                with self._lock:
                    self._running[proc.pid] = proc
                    if self.stopping.is_set():
                        _kill_group(proc)
                return proc

            def forget(proc: subprocess.Popen) -> None:
                with self._lock:
                    self._running.pop(proc.pid, None)

            self._standbys = StandbyGraders(popen, forget, ahead=self.options.jobs)
        return self._standbys

    def _fork(self, cmd: list[str]):
        """A grading process forked from the batch's warm template (grader/forkserver.py),
        or None: the template is off (GRADER_FORKSERVER=0), failed, or the command is not
        the grader's own."""
        prefix = list(Options.command[:3])       # python -m grader
        if not self.options.fork or cmd[:3] != prefix:
            return None
        with self._template_lock:
            if not self._template:
                return None
            try:
                return self._template.spawn(cmd[3:])
            except (OSError, ValueError):
                self._template.close()
                self._template = False            # plain processes from now on
                return None

    def _start_template(self) -> None:
        """Start the warm template (from the batch's main thread: a child asked to die with
        its parent dies with the *thread* that started it)."""
        from grader.forkserver import GradingTemplate

        def start(command: list[str], pass_fds: tuple[int, ...]) -> subprocess.Popen:
            return subprocess.Popen(_die_with_batch(command), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=self._env, start_new_session=True, pass_fds=pass_fds)
        with self._template_lock:
            if self._template is None and self.options.fork:
                try:
                    self._template = GradingTemplate(
                        start, list(self.options.exercises or assignment.EXERCISE_NAMES))
                except (OSError, ValueError):
                    self._template = False

    def _spawn_standby(self, cmd: list[str], target: Path, folder: Path, timeout: float) -> int:
        """Like _spawn, through a standby grading process (the same command, warmed up)."""
        if self.stopping.is_set():
            raise Interrupted
        graders = self._standby_graders()
        proc = graders.take(graders.command(cmd, str(target), str(folder)), folder.name,
                            str(target))
        graders.go(proc, str(folder), str(folder / LOG_NAME))
        try:
            proc.wait(timeout=max(timeout, 0.01))
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.wait()
            raise
        finally:
            with self._lock:
                self._running.pop(proc.pid, None)
        if self.stopping.is_set():
            raise Interrupted
        return proc.returncode

    # -- processes ---------------------------------------------------------------------------
    def _spawn(self, cmd: list[str], timeout: float, stdout: IO | int, env: dict[str, str]
               ) -> tuple[int, bytes]:
        """Run ``cmd`` to completion; its process group is killed on timeout or stop."""
        if self.stopping.is_set():
            raise Interrupted
        # a session (and process group) of its own: a timeout kills all it started
        proc = subprocess.Popen(_die_with_batch(cmd), stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        with self._lock:
            self._running[proc.pid] = proc
            if self.stopping.is_set():   # stop() ran between the check above and Popen
                _kill_group(proc)
        try:
            output, _ = proc.communicate(timeout=max(timeout, 0.01))
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise
        finally:
            with self._lock:
                self._running.pop(proc.pid, None)
        if self.stopping.is_set():
            raise Interrupted
        return proc.returncode, output or b""

    def stop(self) -> None:
        """Kill every running child; their submissions stay unfinished for --resume."""
        with self._lock:
            self.stopping.set()
            running = list(self._running.values())
        for proc in running:
            _kill_group(proc)

    # -- one submission ----------------------------------------------------------------------
    def grade(self, sub: Submission) -> Outcome:
        """Grade ``sub`` into ``out/<id>/``; anything that goes wrong becomes its error.txt."""
        started = time.monotonic()
        folder = self.options.out / sub.id
        folder.mkdir(parents=True, exist_ok=True)
        clone_root = None
        try:
            info = {"source": redact(sub.source), "kind": sub.kind,
                    "name": redact(sub.name)}
            if sub.warnings:
                info["warnings"] = list(sub.warnings)
            target = Path(sub.source)
            if sub.kind == "git":
                clone_root = Path(tempfile.mkdtemp(prefix="grader-batch-"))
                target = clone_root / sub.id   # the result's "submission" is then the id
                info.update(self._fetch(sub, target, started))
            _write_json(folder / SOURCE_NAME, info)
            reason = self._run_grader(target, folder, started)
            if reason is None and self.options.term is not None:
                self.options.term.after_grading(sub, target, folder, info)
        except FetchError as exc:
            reason = str(exc)
        except Interrupted:
            raise
        except Exception as exc:  # a bug here must cost one row, not the batch
            reason = f"the batch failed on this submission ({type(exc).__name__}: {exc})"
        finally:
            if clone_root is not None:
                shutil.rmtree(clone_root, ignore_errors=True)
        seconds = time.monotonic() - started
        if reason is None:
            try:
                result = Result.read(folder / RESULT_NAME)
            except ValueError as exc:
                reason = f"the grader exited normally but left no readable result.json ({exc})"
            else:
                return Outcome(sub.id, True, seconds, f"{result.score:g}/{result.max_score:g} "
                               f"({result.percent:.1f} %)")
        # a failed grading never counts as done, even if it got as far as result.json
        (folder / RESULT_NAME).unlink(missing_ok=True)
        _write_error(folder, reason)
        return Outcome(sub.id, False, seconds, reason)

    def _time_left(self, started: float, what: str) -> float:
        left = self.options.timeout - (time.monotonic() - started)
        if left <= 0:
            raise FetchError(f"timed out after {_duration(self.options.timeout)} "
                             f"(--timeout) while {what}")
        return left

    def _run_grader(self, target: Path, folder: Path, started: float) -> str | None:
        """None when ``grader grade`` succeeded, else why it did not."""
        o = self.options
        cmd = [*o.command, str(target), "--out", str(folder), "--threads", str(o.threads)]
        for name in o.exercises or ():
            cmd += ["--exercise", name]
        if o.sandbox:
            cmd += ["--sandbox", o.sandbox]
        for path in o.hide:
            cmd += ["--hide", str(path)]
        if not o.pool and o.command == Options.command:
            cmd.append("--no-pool")   # no warm workers in the grading process either
        with open(folder / LOG_NAME, "wb") as log:
            try:
                if self._use_standby():   # the process writes the log itself
                    code = self._spawn_standby(cmd, target, folder,
                                               self._time_left(started, "grading"))
                else:
                    code, _ = self._spawn(cmd, self._time_left(started, "grading"), log,
                                          self._env)
            except subprocess.TimeoutExpired:
                return (f"timed out: grading took longer than {_duration(o.timeout)} "
                        f"(--timeout); the grading process was killed")
        if code == 0:
            return None
        message = _grader_message(folder / LOG_NAME)
        if code == 2:
            return f"the submission could not be opened: {message or 'see grader.log'}"
        if code == 3:
            return f"internal error of the grader: {message or 'see grader.log'}"
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"the grading process was killed by {name}{hint}"
        return f"the grading process crashed (exit status {code}): {message or 'see grader.log'}"

    def _fetch(self, sub: Submission, dest: Path, started: float) -> dict[str, str]:
        """Clone ``sub`` into ``dest`` and check out the commit to grade: ``@ref`` if given,
        else the default branch; with --deadline, the last commit committed before it."""
        url = sub.source
        if shutil.which("git") is None:
            raise FetchError("git is not installed: cannot fetch git submissions")
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1",
               "GCM_INTERACTIVE": "never"}
        env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")

        def git(*args: str, what: str) -> str:
            try:
                code, output = self._spawn(["git", *args], self._time_left(started, what),
                                           subprocess.PIPE, env)
            except subprocess.TimeoutExpired:
                raise FetchError(f"timed out after {_duration(self.options.timeout)} "
                                 f"(--timeout) while {what}") from None
            text = output.decode(errors="replace").strip()
            if code != 0:
                lines = text.splitlines()
                why = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))),
                           lines[-1] if lines else f"exit status {code}")
                raise FetchError(f"{what} failed: {_hide_secret(why, url)}")
            return text

        git("-c", "protocol.ext.allow=never", "clone", "--quiet", "--no-checkout", "--",
            url, str(dest), what=f"cloning {redact(url)}")
        rev = sub.ref or "HEAD"
        commit = None
        for candidate in (rev, f"origin/{rev}"):
            try:
                commit = git("-C", str(dest), "rev-parse", "--verify", "--quiet",
                             f"{candidate}^{{commit}}", what=f"finding {rev}")
                break
            except FetchError:
                continue
        if not commit:
            raise FetchError(f"{redact(url)} has no commit, branch or tag {rev!r}")
        info = {"commit": commit}
        if sub.ref:
            info["ref"] = sub.ref
        deadline = self.options.deadline
        if self.options.term is not None and self.options.term.deadline is not None:
            deadline = self.options.term.fetch_deadline(sub.id)   # None: newest, marked late
        if deadline is not None:
            info["deadline"] = deadline.isoformat()
            commit = git("-C", str(dest), "rev-list", "-1",
                         f"--before=@{int(deadline.timestamp())}", commit,
                         what="finding the last commit before the deadline")
            if not commit:
                raise FetchError(f"no commit of {redact(url)} ({rev}) was made before the "
                                 f"deadline {deadline:%Y-%m-%d %H:%M UTC}")
            info["commit"] = commit
        git("-C", str(dest), "-c", "advice.detachedHead=false", "checkout", "--quiet",
            "--detach", commit, what=f"checking out {commit[:12]}")
        info["commit_date"] = git("-C", str(dest), "log", "-1", "--format=%cI", commit,
                                  what="reading the commit date")
        return info


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def _child_env() -> dict[str, str]:
    """The batch's environment, with this grader package first on the path: the children
    grade with exactly the code that runs the batch, installed or not."""
    env = dict(os.environ)
    root = str(assignment.PACKAGE_DIR.parent)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "")
                                                  .split(os.pathsep) if p and p != root])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _hide_secret(text: str, url: str) -> str:
    match = _PASSWORD.search(url)
    if match:
        secret = url[match.start(): match.end()].split(":", 2)[-1][:-1]
        text = text.replace(secret, "***") if secret else text
    return redact(text)


def _grader_message(log: Path) -> str:
    """The grader's own explanation (its last ``grader: ...`` line), if it gave one."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith("grader: "):
            return line[len("grader: "):].strip()
    return next((line.strip() for line in reversed(lines) if line.strip()), "")[:500]


def _write_error(folder: Path, reason: str) -> None:
    """error.txt: the reason on its first line (the gradebook's note), then the log's tail."""
    text = reason.strip() + "\n"
    log = folder / LOG_NAME
    if log.is_file():
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
        if tail:
            text += f"\nLast lines of {LOG_NAME}:\n" + "\n".join(tail) + "\n"
    tmp = folder / f".{ERROR_NAME}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / ERROR_NAME)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# ---- progress -----------------------------------------------------------------------------------

class Progress:
    """A tqdm bar with ETA on stderr when it is a terminal (or forced); one plain line per
    finished submission otherwise, so CI logs still show progress."""

    def __init__(self, total: int, enabled: bool | None):
        from tqdm import tqdm

        self.total, self.count = total, 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar = tqdm(total=total, file=sys.stderr, unit="submission", dynamic_ncols=True,
                        disable=not self.enabled or total == 0, smoothing=0.05,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} "
                                   "[{elapsed}<{remaining}{postfix}]")

    def finished(self, outcome: Outcome) -> None:
        self.count += 1
        line = (f"[{self.count}/{self.total}] {outcome.id}: "
                f"{outcome.text if outcome.ok else 'error — ' + outcome.text} "
                f"({_duration(outcome.seconds)})")
        if self.enabled:
            if not outcome.ok:
                self.bar.write(line, file=sys.stderr)
            self.bar.set_postfix_str(outcome.id[:24], refresh=False)
            self.bar.update(1)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        self.bar.close()


def run_all(runner: Runner, todo: list[Submission], progress: Progress) -> list[Outcome]:
    """Grade ``todo`` on ``jobs`` threads in sorted order; Ctrl-C or SIGTERM stops them all."""
    outcomes: list[Outcome] = []
    if not todo:
        return outcomes
    pool = cf.ThreadPoolExecutor(max_workers=min(runner.options.jobs, len(todo)),
                                 thread_name_prefix="grade")
    runner.expect(todo)
    pending = {pool.submit(runner.grade, sub) for sub in todo}
    try:
        while pending:
            finished, pending = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                try:
                    outcome = future.result()
                except Interrupted:
                    continue
                outcomes.append(outcome)
                progress.finished(outcome)
    except BaseException:
        runner.stop()
        pool.shutdown(wait=True, cancel_futures=True)
        runner.close()
        raise
    pool.shutdown(wait=True)
    runner.close()
    return outcomes


@contextlib.contextmanager
def sigterm_as_interrupt():
    """A CI runner cancelling the job sends SIGTERM: stop the children as Ctrl-C would."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (an embedding application): leave it alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---- the command --------------------------------------------------------------------------------

def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    b = subparsers.add_parser(
        "batch", help="grade a folder or list of submissions, in parallel and resumably",
        description="Grade every submission of SOURCE in its own process into DIR/<id>/, then "
        "write DIR/gradebook.csv and DIR/summary.html.")
    b.add_argument("source", metavar="SOURCE",
                   help="a folder of submissions (each sub-folder or .zip is one), or a text "
                   "file with one path or git URL per line (URL@ref picks a commit, branch "
                   "or tag; # starts a comment)")
    b.add_argument("--out", required=True, metavar="DIR", help="output folder")
    b.add_argument("--jobs", "-j", type=_jobs_arg, metavar="N", default=None,
                   help="submissions graded at once (default: the number of CPUs); 'auto' "
                   "picks it from the cores and the memory available, and says why")
    b.add_argument("--pool", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the next grading process and its workers started ahead, warm "
                   "(default: on; env GRADER_POOL=0 turns it off); see docs/BENCHMARKS.md")
    b.add_argument("--shard", metavar="I/N",
                   help="grade only shard I of N (1-based), for splitting a class across "
                   "machines; combine the outputs with `grader merge`")
    b.add_argument("--resume", action="store_true",
                   help="continue a stopped batch in DIR: submissions with a result.json are "
                   "kept, all others graded (again)")
    b.add_argument("--exercise", action="append", choices=assignment.EXERCISE_NAMES,
                   metavar="NAME", help="grade only this exercise (repeatable); one of "
                   f"{', '.join(assignment.EXERCISE_NAMES)}")
    b.add_argument("--sandbox", choices=("auto", "bubblewrap", "reduced"), default=None,
                   help="sandbox mode (default: bubblewrap when installed; env GRADER_SANDBOX)")
    b.add_argument("--deadline", metavar="ISO8601",
                   help="the deadline (e.g. 2026-12-01T23:59+01:00; without an offset, local "
                   "time). Without --late-policy: git sources are graded at their last commit "
                   "before it and the lateness of other submissions is reported, not "
                   "penalised. See docs/INSTRUCTORS.md")
    b.add_argument("--late-policy", metavar="SPEC",
                   help="with --deadline: e.g. 'grace=15m,per_day=10%%,cap=50%%', "
                   "'not_accepted' or 'none' (git sources are then graded at their newest "
                   "commit and its date decides)")
    b.add_argument("--manifest", metavar="CSV",
                   help="with --deadline: when each student submitted (columns student, "
                   "submitted_at); else git commit dates, else file times")
    b.add_argument("--roster", metavar="CSV",
                   help="the class roster (id, name, email, section, github, extension): "
                   "submissions take the roster's ids; students without one are listed as "
                   "'no submission'")
    b.add_argument("--timeout", type=float, metavar="SECONDS", default=DEFAULT_TIMEOUT,
                   help=f"wall time for one submission, cloning included (default "
                   f"{DEFAULT_TIMEOUT:g} s); a submission over it gets an error row")
    b.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: only when stderr is a terminal)")
    b.add_argument("--cluster", metavar="ADDRESS",
                   help="grade on a dask.distributed cluster (tcp://host:8786 or a scheduler "
                   "file), one task per submission; results come back to --out. Needs the "
                   "'cluster' extra; see docs/CLUSTER.md")
    b.set_defaults(func=run)
    return b


def _jobs_arg(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number or 'auto'") from None


def _options(args: argparse.Namespace) -> Options:
    from grader import pool as worker_pool

    pooled = worker_pool.enabled(getattr(args, "pool", None))
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs == "auto":
        jobs, why = worker_pool.plan_jobs(args.exercise, available_cores(), pooled)
        print(f"--jobs auto: {jobs} ({why})", file=sys.stderr)
    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: give at least 1")
    if not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout:g}: give a positive number of seconds")
    from grader.term import Term

    try:
        term = Term.from_options(
            roster=getattr(args, "roster", None), deadline=args.deadline,
            policy=getattr(args, "late_policy", None), manifest=getattr(args, "manifest", None),
            exercises=args.exercise, sandbox=args.sandbox, timeout=float(args.timeout),
            source=str(Path(args.source).resolve()))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return Options(out=Path(args.out), jobs=jobs, threads=max(1, available_cores() // jobs),
                   timeout=float(args.timeout), exercises=args.exercise, sandbox=args.sandbox,
                   deadline=parse_deadline(args.deadline) if args.deadline else None,
                   hide=(Path(args.source).resolve(), Path(args.out).resolve()), term=term,
                   pool=pooled)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        options = _options(args)
        shard = parse_shard(args.shard) if args.shard else (1, 1)
        subs, ignored = discover(Path(args.source), exclude=[options.out])
        if not subs:
            raise UsageError(f"{args.source}: no submissions found (expected sub-folders or "
                             f".zip files, or a list of paths and git URLs)")
        from grader.roster import assign

        subs, roster_warnings = assign(subs, options.term.roster)
        for warning in roster_warnings:
            print(f"warning: {warning}", file=sys.stderr)
        mine = select_shard(subs, *shard)
        if options.out.exists() and not options.out.is_dir():
            raise UsageError(f"--out {options.out}: exists and is not a folder")
        with locked(options.out), sigterm_as_interrupt():
            todo, done = plan(options.out, mine, args.resume)
            options.term.shard = args.shard
            options.term.save(options.out)
            _announce(args, options, mine, todo, done, ignored, shard, len(subs))
            runner = Runner(options)
            progress = Progress(len(todo), args.progress)
            try:
                if getattr(args, "cluster", None):   # grader/cluster.py: one dask task each
                    from grader import cluster

                    outcomes = cluster.run_all(options, todo, progress, args.cluster)
                else:
                    outcomes = run_all(runner, todo, progress)
            finally:
                progress.close()
            ids = {s.id for s in mine}
            rows = [r for r in gradebook.collect([options.out]) if r.id in ids]
            csv_path, html_path = gradebook.write_outputs(rows, options.out)
    except UsageError as exc:
        print(f"grader batch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: submissions still grading were stopped; finish with the same "
              "command and --resume", file=sys.stderr)
        return EXIT_INTERRUPTED

    others = len(gradebook.submission_dirs(options.out)) - len(rows)
    if others > 0:
        print(f"note: {others} folder(s) in {options.out} are not part of this batch and are "
              f"not in its gradebook", file=sys.stderr)
    counts = ", ".join(f"{sum(r.status == s for r in rows)} {s}"
                       for s in gradebook.ROW_STATUSES if any(r.status == s for r in rows))
    percents = [r.percent for r in rows if r.percent is not None]
    mean = f"; mean {sum(percents) / len(percents):.1f} %" if percents else ""
    failed = sum(not o.ok for o in outcomes)
    shard_text = f" (shard {shard[0]}/{shard[1]})" if args.shard else ""
    print(f"batch done in {_duration(time.monotonic() - started)}: {len(rows)} submission(s)"
          f"{shard_text} — {counts or 'none'}{mean}; graded now {len(outcomes)}"
          f"{f' ({failed} failed)' if failed else ''}, kept {len(done)}")
    print(f"gradebook: {csv_path}\nsummary: {html_path}")
    pending = sum(r.pending or 0 for r in rows)
    if pending:
        print(f"written answers to grade: {pending:g} point(s) — `grader answers {args.out}` "
              f"shows them side by side, `grader grades apply {args.out} answers.csv` records "
              f"the points (docs/INSTRUCTORS.md)")
    return EXIT_OK


def _announce(args, options: Options, mine, todo, done, ignored, shard, n_all: int) -> None:
    if ignored:
        print(f"ignored {len(ignored)} entr{'y' if len(ignored) == 1 else 'ies'} of "
              f"{args.source} that are neither folders nor .zip files: "
              f"{', '.join(ignored[:5])}{' ...' if len(ignored) > 5 else ''}", file=sys.stderr)
    for sub in mine:
        for warning in sub.warnings:
            print(f"warning: {sub.id}: {warning}", file=sys.stderr)
    if options.term is not None and options.term.deadline is not None:
        policy = options.term.policy
        print(f"deadline {options.term.deadline.isoformat()}: late policy "
              f"{policy.spec if policy.penalises else 'none (lateness reported only)'}",
              file=sys.stderr)
    shard_text = f" (shard {shard[0]}/{shard[1]} of {n_all})" if args.shard else ""
    print(f"grading {len(todo)} submission(s){shard_text}"
          f"{f', keeping {len(done)} already graded' if done else ''} "
          + (f"on the dask cluster {args.cluster}" if getattr(args, "cluster", None) else
             f"with {options.jobs} job(s) x {options.threads} thread(s)")
          + f" into {options.out}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """``python -m grader.batch ...``: the batch command on its own (same as ``grader batch``)."""
    parser = argparse.ArgumentParser(prog="grader")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    gradebook.add_parser_merge(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
