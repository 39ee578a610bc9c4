"""``grader batch SOURCE --out DIR --cluster ADDRESS``: the batch's gradings on a dask cluster.

The unit of work is the local batch's: one submission -> its result folder
(:meth:`grader.batch.Runner.grade`). Each becomes one ``dask.distributed`` task, which runs that
same code on a cluster worker — so the grading itself is, as locally, a separate ``python -m
grader grade`` process in the sandbox, and a crash, hang or memory bomb costs one submission.
The scheduler is dask's own (an existing engine: Slurm, Kubernetes or a laptop's LocalCluster;
see docs/CLUSTER.md); nothing here schedules.

Bytes in, bytes out — no shared file system is needed:

* the client sends each submission with its task (a folder as a tar archive keeping file
  times, a ``.zip`` as it is; a git URL is cloned by the worker, which then needs ``git``);
* the task grades into a private temporary folder on the worker and returns that result folder
  as a tar archive; the client writes it into ``DIR/<id>/``, ``result.json`` last and
  atomically, so the resume rule is exactly the local batch's: a submission is done when its
  ``result.json`` exists and parses. A killed client leaves at most unfinished folders, which
  ``--resume`` grades again; whatever its tasks were still computing is discarded.

A task that fails as a whole (a worker lost three times, an unpicklable reply) becomes that
submission's ``error.txt``, like any other failed grading. The gradebook is then written from
``DIR`` by the same code as for a local batch. Every worker needs this package (with its
dependencies) and bubblewrap, nothing else.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from grader.batch import (Options, Outcome, Progress, Runner, Submission, UsageError,
                          _write_error, _write_json, redact)
from grader.gradebook import ERROR_NAME, RESULT_NAME, SOURCE_NAME

_OPTION_FIELDS = {f.name for f in dataclasses.fields(Options)}
MAX_SUBMISSION_BYTES = 256 << 20     # a submission larger than this is not sent (error row)
STAGING_DIR = "grader-cluster"       # under the worker's temporary folder: one task each
CONNECT_TIMEOUT = "30s"


class ClusterError(UsageError):
    """The cluster cannot be reached or used: a usage error of the batch (exit status 2)."""


# ---- the client's side ------------------------------------------------------------------------

def pack_submission(sub: Submission) -> bytes | None:
    """What the worker needs to rebuild ``sub``: a tar of a folder (symbolic links kept as
    links, file times kept for the late policy), a zip's own bytes, None for a git URL."""
    if sub.kind == "git":
        return None
    path = Path(sub.source)
    if sub.kind == "zip":
        size = path.stat().st_size
        if size > MAX_SUBMISSION_BYTES:
            raise ValueError(f"{size >> 20} MiB: larger than the {MAX_SUBMISSION_BYTES >> 20} "
                             f"MiB a cluster task carries")
        return path.read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        tar.add(str(path), arcname=path.name, recursive=True)
    if buffer.tell() > MAX_SUBMISSION_BYTES:
        raise ValueError(f"{buffer.tell() >> 20} MiB compressed: larger than the "
                         f"{MAX_SUBMISSION_BYTES >> 20} MiB a cluster task carries")
    return buffer.getvalue()


def options_for_workers(options: Options) -> Options:
    """The batch's options without what only makes sense on this machine (its output folder,
    its paths to hide, its interpreter): each task fills those in on its worker."""
    return dataclasses.replace(options, out=Path("."), hide=(), command=())


def write_back(out: Path, sub: Submission, reply: dict[str, Any]) -> Outcome:
    """Unpack a task's result folder into ``out/<id>/``; ``result.json`` goes in last."""
    folder = out / sub.id
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    result_bytes = None
    with tarfile.open(fileobj=io.BytesIO(reply["files"]), mode="r:*") as tar:
        members = []
        for member in tar.getmembers():
            if member.name == RESULT_NAME and member.isfile():
                result_bytes = tar.extractfile(member).read()
            else:
                members.append(member)
        tar.extractall(folder, members=members, filter=_inside)
    _restore_source(folder, sub)
    text = str(reply["text"])
    worker_path = reply.get("target")
    if worker_path and worker_path != sub.source:
        # messages name the submission as the worker saw it: name it as this machine does
        text = text.replace(worker_path, sub.source)
        error = folder / ERROR_NAME
        if error.is_file():
            error.write_text(error.read_text(encoding="utf-8", errors="replace")
                             .replace(worker_path, sub.source), encoding="utf-8")
    if result_bytes is not None and reply["ok"]:
        tmp = folder / f".{RESULT_NAME}.tmp"
        tmp.write_bytes(result_bytes)
        os.replace(tmp, folder / RESULT_NAME)
    return Outcome(sub.id, bool(reply["ok"]), float(reply["seconds"]), text)


def _restore_source(folder: Path, sub: Submission) -> None:
    """source.json names where the submission came from here, not the worker's copy."""
    path = folder / SOURCE_NAME
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {"kind": sub.kind, "name": redact(sub.name)}
    info["source"] = redact(sub.source)
    _write_json(path, info)


def failed_task(out: Path, sub: Submission, reason: str, seconds: float) -> Outcome:
    """A task that did not come back: the submission's error row, as in a local batch."""
    folder = out / sub.id
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    info = {"source": redact(sub.source), "kind": sub.kind, "name": redact(sub.name)}
    _write_json(folder / SOURCE_NAME, info)
    _write_error(folder, reason)
    return Outcome(sub.id, False, seconds, reason)


def connect(address: str, timeout: str = CONNECT_TIMEOUT):
    """A dask client for ``address`` (``tcp://host:8786``, a scheduler file path, ...)."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--cluster needs dask.distributed: pip install 'dl-grader[cluster]'"
                           ) from None
    try:
        if address.endswith(".json") and Path(address).is_file():
            return Client(scheduler_file=address, timeout=timeout)
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"--cluster {address}: cannot reach the dask scheduler ({exc})"
                           ) from None


def run_all(options: Options, todo: list[Submission], progress: Progress, address: str, *,
            task: Callable[..., dict[str, Any]] | None = None, client=None) -> list[Outcome]:
    """Grade ``todo`` on the cluster at ``address``, writing each result folder as it arrives.

    At most a few tasks per worker thread are in flight at once, so the client never holds a
    whole class's submissions in memory. Ctrl-C cancels what is queued; a killed client leaves
    the rest for ``--resume``.
    """
    if not todo:
        return []
    from distributed import as_completed

    task = task or grade_task
    own = client is None
    client = connect(address) if own else client
    outcomes: list[Outcome] = []
    remote = options_for_workers(options)
    queue = list(todo)
    started: dict[str, float] = {}
    futures: dict[Any, Submission] = {}
    try:
        threads = sum(client.nthreads().values()) or 1
        window = max(4, 3 * threads)
        batch_id = uuid.uuid4().hex[:8]
        pending = as_completed()

        def submit_next() -> None:
            while queue and len(futures) < window:
                sub = queue.pop(0)
                started[sub.id] = time.monotonic()
                try:
                    payload = pack_submission(sub)
                except (OSError, ValueError) as exc:
                    outcome = failed_task(options.out, sub, f"the submission could not be sent "
                                          f"to the cluster: {exc}", 0.0)
                    outcomes.append(outcome)
                    progress.finished(outcome)
                    continue
                future = client.submit(task, sub, payload, remote, pure=False, retries=0,
                                       key=f"grade-{batch_id}-{sub.id}")
                futures[future] = sub
                pending.add(future)

        submit_next()
        for future in pending:
            sub = futures.pop(future)
            seconds = time.monotonic() - started[sub.id]
            try:
                reply = future.result()
            except Exception as exc:   # the task itself failed: this submission's error row
                reason = (f"the cluster task failed ({type(exc).__name__}: "
                          f"{str(exc)[:300]}); rerun with --resume to grade it again")
                outcome = failed_task(options.out, sub, reason, seconds)
            else:
                try:
                    outcome = write_back(options.out, sub, reply)
                except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
                    outcome = failed_task(options.out, sub, f"the result sent back by the "
                                          f"cluster could not be written ({exc})", seconds)
            future.release()
            outcomes.append(outcome)
            progress.finished(outcome)
            submit_next()
    except BaseException:
        with _quiet():
            client.cancel(list(futures))
        raise
    finally:
        if own:
            with _quiet():
                client.close(timeout=10)
    return outcomes


def _quiet():
    return contextlib.suppress(Exception)


def _inside(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """tarfile's "data" filter (no absolute paths, no '..', no links leaving the folder, no
    devices), skipping an offending member instead of failing the whole archive — as a
    local grading ignores a link that leads out of the submission."""
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError:
        return None


# ---- the worker's side ------------------------------------------------------------------------

def grade_task(sub: Submission, payload: bytes | None, options: Options) -> dict[str, Any]:
    """On a cluster worker: rebuild the submission in a private temporary folder, grade it with
    the batch's own :meth:`Runner.grade` (a sandboxed grading process), and return the result
    folder as a tar archive with the outcome."""
    parent = Path(tempfile.gettempdir()) / STAGING_DIR
    parent.mkdir(mode=0o700, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="task-", dir=parent))
    try:
        source, out = root / "src", root / "out"
        source.mkdir()
        target = _materialize(sub, payload, source)
        local = dataclasses.replace(
            # one grading per dask thread slot: the cluster's workers and threads are its
            # parallelism, so each grading gets one thread (as `--jobs N` on N cores)
            options, out=out, jobs=1, threads=1,
            # every task's submission and results on this machine are hidden from the student
            hide=(parent,),
            command=(sys.executable, "-m", "grader", "grade"),
            # a task grades one submission: no next one for a warm standby process to serve
            **({"pool": False} if "pool" in _OPTION_FIELDS else {}))
        outcome = Runner(local).grade(dataclasses.replace(sub, source=str(target)))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
            folder = out / sub.id
            for path in sorted(folder.iterdir()):
                tar.add(str(path), arcname=path.name, recursive=True)
        return {"ok": outcome.ok, "seconds": outcome.seconds, "text": outcome.text,
                "files": buffer.getvalue(), "host": socket.gethostname(),
                "target": str(target)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _materialize(sub: Submission, payload: bytes | None, dest: Path) -> Path:
    """The submission as a path on this worker, under its original name."""
    if sub.kind == "git":
        return Path(sub.source)               # Runner.grade clones it
    name = Path(sub.source).name
    if sub.kind == "zip":
        path = dest / name
        path.write_bytes(payload or b"")
        return path
    with tarfile.open(fileobj=io.BytesIO(payload or b""), mode="r:*") as tar:
        tar.extractall(dest, filter=_inside)
    return dest / name


def describe(client) -> str:
    """``3 worker(s), 6 thread(s)`` for the batch's opening line."""
    nthreads = client.nthreads()
    return f"{len(nthreads)} worker(s), {sum(nthreads.values())} thread(s)"

