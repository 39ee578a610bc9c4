"""What a batch remembers about the term: roster, deadline, late policy, how it graded.

``grader batch ... --roster R --deadline D --late-policy P --manifest M`` keeps these in its
output folder (``term.json`` and ``roster.csv``), so later commands on that folder — ``grader
regrade``, ``grader grades apply``, ``grader merge`` — rebuild the same gradebook without being
told again. After each submission is graded, :meth:`Term.after_grading` (in the batch process,
never in a student's worker) adds the ``late`` block to its result.json and keeps a copy of the
graded exercise files (``submitted/``) for the similarity report.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader import late_policy
from grader.files import write_atomic
from grader.roster import ROSTER_NAME, Roster, read_roster, write_roster

TERM_NAME = "term.json"
SNAPSHOT_DIR = "submitted"          # copies of the graded files, for grader similarity
MAX_SNAPSHOT_BYTES = 2 << 20        # per file


@dataclass
class Term:
    roster: Roster = field(default_factory=Roster)
    deadline: datetime | None = None       # the course deadline (aware)
    policy: late_policy.Policy = field(default_factory=late_policy.Policy)
    manifest_path: str | None = None
    manifest: dict[str, datetime] = field(default_factory=dict)
    exercises: list[str] | None = None
    sandbox: str | None = None
    timeout: float | None = None
    source: str = ""                       # the batch's SOURCE (for the record)
    shard: str | None = None               # "I/N" when this folder holds one shard

    # ---- building and keeping -------------------------------------------------------------
    @classmethod
    def from_options(cls, *, roster: str | None, deadline: str | None, policy: str | None,
                     manifest: str | None, exercises=None, sandbox=None, timeout=None,
                     source: str = "") -> "Term":
        """From command-line options; raises ValueError (RosterError, LatePolicyError)."""
        if policy and not deadline:
            raise late_policy.LatePolicyError("--late-policy needs --deadline")
        if manifest and not deadline:
            raise late_policy.LatePolicyError("--manifest needs --deadline")
        moment = None
        if deadline:
            moment = _aware(deadline)
        return cls(roster=read_roster(roster) if roster else Roster(), deadline=moment,
                   policy=late_policy.parse_policy(policy),
                   manifest_path=str(Path(manifest).resolve()) if manifest else None,
                   manifest=late_policy.read_manifest(manifest) if manifest else {},
                   exercises=list(exercises) if exercises else None, sandbox=sandbox,
                   timeout=timeout, source=source)

    def save(self, out: Path) -> None:
        out = Path(out)
        if self.roster:
            write_roster(self.roster, out / ROSTER_NAME)
        data = {"deadline": self.deadline.isoformat() if self.deadline else None,
                "late_policy": self.policy.spec, "manifest": self.manifest_path,
                "roster": ROSTER_NAME if self.roster else None, "exercises": self.exercises,
                "sandbox": self.sandbox, "timeout": self.timeout, "source": self.source,
                "shard": self.shard}
        write_atomic(out / TERM_NAME, json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, out: Path) -> "Term":
        """The term a batch kept in ``out`` (a plain one when it kept none)."""
        out = Path(out)
        try:
            data = json.loads((out / TERM_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        roster = out / ROSTER_NAME
        manifest = data.get("manifest")
        return cls(roster=read_roster(roster) if roster.is_file() else Roster(),
                   deadline=_aware(data["deadline"]) if data.get("deadline") else None,
                   policy=late_policy.parse_policy(data.get("late_policy")),
                   manifest_path=manifest,
                   manifest=late_policy.read_manifest(manifest)
                   if manifest and Path(manifest).is_file() else {},
                   exercises=data.get("exercises"), sandbox=data.get("sandbox"),
                   timeout=data.get("timeout"), source=data.get("source") or "",
                   shard=data.get("shard"))

    # ---- the batch's questions --------------------------------------------------------------
    def fetch_deadline(self, student_id: str) -> datetime | None:
        """Git sources: grade the last commit before the student's deadline — unless late work
        is accepted with a penalty (None: the newest commit is graded and its date decides)."""
        if self.deadline is None or (self.policy.accepted and self.policy.penalises):
            return None
        student = self.roster.by_folder().get(student_id)
        return late_policy.student_deadline(self.deadline, student.extension if student
                                            else "").astimezone(timezone.utc)

    def late_for(self, sub: Any, target: Path, info: dict[str, Any]) -> dict[str, Any]:
        student = self.roster.by_folder().get(sub.id)
        keys = [sub.id, sub.name] + ([student.id, student.github, student.email]
                                     if student else [])
        when, source = late_policy.submitted_at(
            student_keys=[k for k in keys if k], source=Path(target), kind=sub.kind,
            commit_date=info.get("commit_date"), manifest=self.manifest,
            zone=self.deadline.tzinfo if self.deadline else timezone.utc)
        return late_policy.late_block(when, source, self.deadline, self.policy,
                                      student.extension if student else "")

    def after_grading(self, sub: Any, target: Path, folder: Path, info: dict[str, Any]
                      ) -> None:
        """Snapshot the graded files; with a deadline, put the late block into result.json
        and rewrite the report. Runs in the batch process on files only."""
        from grader.results import Result

        result = Result.read(folder / "result.json")
        try:
            snapshot(result, Path(target), folder)
        except Exception as exc:  # noqa: BLE001 - a missing copy must not cost the grade
            print(f"warning: {sub.id}: no copy of the files for the similarity report "
                  f"({exc})", file=sys.stderr)
        if self.deadline is None:
            return
        result.late = self.late_for(sub, Path(target), info)
        result.total()
        result.write(folder / "result.json")
        from grader.answers import _rewrite_report

        _rewrite_report(result, folder)


def _aware(text: str) -> datetime:
    """An ISO 8601 moment keeping its own offset (local time when it has none)."""
    moment = late_policy.parse_moment(text, "--deadline")
    raw = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    return moment.astimezone(raw.tzinfo) if raw.tzinfo else moment.astimezone()


def snapshot(result: Any, target: Path, folder: Path) -> list[str]:
    """Copy each graded exercise file of ``target`` (a folder or .zip) into
    ``folder/submitted/``; symbolic links and files outside the submission are skipped."""
    from grader.submission import open_submission

    dest_root = folder / SNAPSHOT_DIR
    shutil.rmtree(dest_root, ignore_errors=True)
    files = [str(ex.file) for ex in result.exercises
             if ex.file and ex.status not in ("missing",)]
    if not files:
        return []
    copied = []
    with open_submission(target) as root:
        root = Path(root).resolve()
        for rel in files:
            path = root / rel
            try:
                inside = path.resolve().relative_to(root)
            except ValueError:
                continue
            if any((root / Path(*inside.parts[:i + 1])).is_symlink()
                   for i in range(len(inside.parts))):
                continue
            if not path.is_file() or path.stat().st_size > MAX_SNAPSHOT_BYTES:
                continue
            dest = dest_root / inside
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
            copied.append(str(inside))
    return copied


def carry_into(dirs: list[Path], out: Path) -> None:
    """``grader merge``: the first roster and term of ``dirs`` go into ``out`` (when it has
    none), no longer marked as a shard — the merged folder is the whole class."""
    out = Path(out)
    for directory in dirs:
        if (Path(directory) / ROSTER_NAME).is_file() and not (out / ROSTER_NAME).exists():
            shutil.copy2(Path(directory) / ROSTER_NAME, out / ROSTER_NAME)
        if (Path(directory) / TERM_NAME).is_file() and not (out / TERM_NAME).exists():
            try:
                data = json.loads((Path(directory) / TERM_NAME).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                data["shard"] = None
                write_atomic(out / TERM_NAME, json.dumps(data, indent=2) + "\n")
