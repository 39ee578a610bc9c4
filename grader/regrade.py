"""``grader regrade RESULTS STUDENT...``: grade some students of a batch again, in place.

After a fix to a suite, or an accepted appeal: each named student's submission is graded again
from where the batch took it (``RESULTS/<id>/source.json``: the folder, zip or git URL and the
commit that was graded), with the batch's exercises, deadline and late policy
(``RESULTS/term.json``). Written-answer points already given are kept while the answer text is
unchanged (``grader grade`` carries them over). Then gradebook.csv, summary.html and
test_failures.csv are rebuilt. A student whose regrade fails keeps the earlier result, and the
command says so.

STUDENT is a folder name of RESULTS, or anything the roster matches (id, GitHub login, email).
"""
from __future__ import annotations

import argparse
import difflib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from grader import batch, gradebook
from grader.gradebook import ERROR_NAME, RESULT_NAME, SOURCE_NAME
from grader.term import Term

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
BACKUP_NAME = ".result.before-regrade.json"


class RegradeError(ValueError):
    """The regrade cannot start (unknown student, no recorded source, folder in use)."""


def resolve_students(results: Path, names: list[str], term: Term) -> list[str]:
    """Folder ids for ``names`` (folder names, or roster ids, logins, emails)."""
    folders = {p.name for p in gradebook.submission_dirs(results)}
    out, unknown = [], []
    for name in names:
        if name in folders:
            out.append(name)
            continue
        student = term.roster.match(name)
        if student is not None and student.folder in folders:
            out.append(student.folder)
        elif student is not None:
            raise RegradeError(f"{name}: {student.id} is on the roster but has no submission "
                               f"in {results} — grade it with grader batch --resume")
        else:
            unknown.append(name)
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(folders), n=1)
            hints.append(f"{name}" + (f" (did you mean {close[0]}?)" if close else ""))
        raise RegradeError(f"not in {results}: {', '.join(hints)}")
    return list(dict.fromkeys(out))


def submission_for(folder: Path) -> batch.Submission:
    """The batch submission ``folder`` was graded from, as source.json recorded it."""
    try:
        info = json.loads((folder / SOURCE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = None
    if not isinstance(info, dict) or not info.get("source") or not info.get("kind"):
        raise RegradeError(f"{folder.name}: no record of where the submission came from "
                           f"({SOURCE_NAME}); grade it with grader grade SUBMISSION --out "
                           f"{folder}")
    kind, source = str(info["kind"]), str(info["source"])
    if kind == "git":
        if "***" in source:
            raise RegradeError(f"{folder.name}: the git URL was stored without its password; "
                               f"regrade it from a batch list with the credentials")
        ref = info.get("commit") or info.get("ref")   # the very commit graded before
    else:
        ref = None
        if not Path(source).exists():
            raise RegradeError(f"{folder.name}: the submission {source} is gone")
    warnings = info.get("warnings") if isinstance(info.get("warnings"), list) else []
    return batch.Submission(folder.name, source, kind, ref, tuple(map(str, warnings)),
                            str(info.get("name") or folder.name))


def regrade(results: Path, names: list[str], *, jobs: int = 1, sandbox: str | None = None,
            timeout: float | None = None, progress: bool | None = None
            ) -> dict[str, Any]:
    """Regrade ``names`` in ``results``; returns {"outcomes", "kept", "gradebook", "summary"}."""
    results = Path(results)
    if not results.is_dir():
        raise RegradeError(f"{results}: not a batch output folder")
    term = Term.load(results)
    ids = resolve_students(results, names, term)
    subs = [submission_for(results / i) for i in ids]
    try:
        lock = batch.locked(results)
        lock.__enter__()
    except batch.UsageError as exc:
        raise RegradeError(str(exc)) from None
    try:
        for sub in subs:   # keep the earlier result until the new one exists
            previous = results / sub.id / RESULT_NAME
            if previous.is_file():
                shutil.copy2(previous, results / sub.id / BACKUP_NAME)
        options = batch.Options(
            out=results, jobs=max(1, jobs),
            threads=max(1, batch.available_cores() // max(1, jobs)),
            timeout=float(timeout or term.timeout or batch.DEFAULT_TIMEOUT),
            exercises=term.exercises, sandbox=sandbox or term.sandbox, deadline=None,
            hide=tuple(p for p in (Path(term.source) if term.source else None,
                                   results.resolve()) if p is not None), term=term)
        runner = batch.Runner(options)
        bar = batch.Progress(len(subs), progress)
        try:
            outcomes = batch.run_all(runner, subs, bar)
        finally:
            bar.close()
        kept = []
        for outcome in outcomes:
            folder = results / outcome.id
            backup = folder / BACKUP_NAME
            if not outcome.ok and backup.is_file():
                shutil.copy2(backup, folder / RESULT_NAME)
                (folder / ERROR_NAME).unlink(missing_ok=True)
                kept.append(outcome.id)
            backup.unlink(missing_ok=True)
        csv_path, html_path = gradebook.write_outputs(gradebook.collect([results]), results)
    finally:
        lock.__exit__(None, None, None)
    return {"outcomes": outcomes, "kept": kept, "gradebook": csv_path, "summary": html_path}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    r = subparsers.add_parser(
        "regrade", help="grade some students of a batch again, in place",
        description="Grade the named students of a batch output folder again from where the "
        "batch took their submissions, keeping written-answer points, then rebuild the "
        "gradebook and summary.")
    r.add_argument("results", metavar="RESULTS", help="the batch output folder")
    r.add_argument("students", nargs="+", metavar="STUDENT",
                   help="folder names, or roster ids / GitHub logins / emails")
    r.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="students graded at once (default 1)")
    r.add_argument("--sandbox", choices=("auto", "bubblewrap", "reduced"), default=None,
                   help="sandbox mode (default: as the batch)")
    r.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="wall time for one submission (default: as the batch)")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: only when stderr is a terminal)")
    r.set_defaults(func=run)
    return r


def run(args: argparse.Namespace) -> int:
    try:
        done = regrade(Path(args.results), args.students, jobs=args.jobs,
                       sandbox=args.sandbox, timeout=args.timeout, progress=args.progress)
    except (RegradeError, ValueError) as exc:
        print(f"grader regrade: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: the students not finished keep their earlier result",
              file=sys.stderr)
        return 130
    for outcome in done["outcomes"]:
        if outcome.ok:
            print(f"{outcome.id}: regraded, {outcome.text}")
        else:
            print(f"{outcome.id}: regrade failed ({outcome.text}); the earlier result is kept"
                  if outcome.id in done["kept"] else
                  f"{outcome.id}: regrade failed ({outcome.text})")
    print(f"gradebook: {done['gradebook']}\nsummary: {done['summary']}")
    return EXIT_OK if all(o.ok for o in done["outcomes"]) else EXIT_FAILED
